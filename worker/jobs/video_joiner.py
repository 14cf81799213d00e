"""Join a video job's rendered segments into its output: the item the client downloads.

Runs only once every segment of its group succeeded (the last segment's worker sends it; an early
delivery, e.g. after a resume, finds the group unfinished and leaves the item queued). Progress
counts frames written; cancel is checked between frames.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from sqlalchemy.orm import Session

from shared.db import ItemRole, Job, JobItem
from shared.errors import BadInputError
from shared.keys import output_key
from worker.engine.render import RenderCanceled
from worker.jobs.executor import ClaimedItem, ItemRenderer, RenderedOutput
from worker.jobs.job_params import job_request, render_options
from worker.runtime.progress import ItemProgress
from worker.runtime.shutdown import stop_check
from worker.runtime.video_groups import group_items, segments_done
from worker.video.files import fetch
from worker.video.join import JoinResult, join_segments
from worker.video.pipeline import plan_from_settings

log = logging.getLogger(__name__)

AUDIO_EVENT = "audio"  # history event: the input's sound copied or re-encoded, and with which codecs


class VideoJoiner(ItemRenderer):
    """One attempt at one join item."""

    _joined: JoinResult | None = None  # set by the render, recorded in the item's history at success

    def _claim(self) -> ClaimedItem | None:
        with self.sessions() as session:
            item = session.get(JobItem, self.item_id)
            if item is not None and not segments_done(session, item.job_id, item.group_index):
                log.info("join %s: its segments are not all done yet; left queued", self.item_id)
                return None
        return super()._claim()

    def _segment_keys(self, claimed: ClaimedItem) -> list[str]:
        with self.sessions() as session:
            join = session.get(JobItem, claimed.item_id)
            assert join is not None
            segments = group_items(session, claimed.job_id, join.group_index, ItemRole.SEGMENT)
        keys = [item.output_key for item in segments if item.output_key]
        if len(keys) != len(segments) or not keys:
            raise BadInputError(f"join {claimed.item_id}: a segment has no stored output")
        return keys

    def _render_and_store(self, claimed: ClaimedItem) -> RenderedOutput:
        ctx = self.context
        request = job_request(claimed.params)
        plan = plan_from_settings(ctx.settings, render_options(ctx.settings, request), request)
        video_output = plan.output()
        progress = ItemProgress(self.sessions, claimed.item_id, self.worker_id)
        cancel = stop_check(progress.should_cancel)

        def report(done: int, total: int) -> None:
            if cancel():
                raise RenderCanceled("render canceled")
            progress.report(done, total)

        extension = video_output.container
        key = output_key(claimed.tenant_id, claimed.job_id, claimed.position, claimed.item_id, extension)
        with tempfile.TemporaryDirectory(prefix="stylefarm-join-") as scratch:
            folder = Path(scratch)
            source = fetch(ctx.storage, claimed.input_key, folder / "input")
            segments = [
                fetch(ctx.storage, segment_key, folder / f"segment-{index:05d}.mkv")
                for index, segment_key in enumerate(self._segment_keys(claimed))
            ]
            output = folder / f"output.{extension}"
            self._joined = join_segments(source, segments, output, video_output=video_output, progress=report)
            ctx.storage.put_file(key, output, content_type=video_output.content_type)  # a retry overwrites it
            size_bytes = output.stat().st_size
        return RenderedOutput(key, size_bytes, extension, self._joined.width, self._joined.height)

    def _after_success(self, session: Session, item: JobItem, job: Job) -> None:
        audio = self._joined.audio if self._joined is not None else None
        if audio is not None:
            item.record_event(AUDIO_EVENT, mode=audio.mode, source_codec=audio.source_codec, codec=audio.codec)
