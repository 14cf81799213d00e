"""Render one segment item of a video job: a range of frames into a lossless file in storage.

Reuses ``ItemRenderer``'s claim, heartbeat, progress and finish; only what is rendered differs.
Progress counts frames (``tiles_done``/``tiles_total``) and cancel is checked between frames. The
transaction recording this segment's success decides whether it was the group's last one; if so
the join item is sent to the queue once that transaction has committed (``worker/video_groups``).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from celery import Celery
from sqlalchemy.orm import Session

from shared.db import Job, JobItem, JobStatus
from shared.errors import BadInputError
from shared.keys import video_segment_key
from shared.queue import enqueue_render, render_queue
from shared.video.probe import probe_video
from shared.video.segments import Segment
from worker.jobs.executor import ClaimedItem, ItemRenderer, RenderedOutput
from worker.jobs.job_params import job_request, render_options, stored_style, style_spec
from worker.runtime.context import WorkerContext
from worker.runtime.progress import ItemProgress
from worker.runtime.shutdown import stop_check
from worker.runtime.video_groups import dispatch_join
from worker.video.clip_stats import clip_style
from worker.video.files import fetch
from worker.video.frames import output_size
from worker.video.pipeline import plan_from_settings
from worker.video.segment_render import render_segment

log = logging.getLogger(__name__)

SEGMENT_FORMAT = "mkv"


def item_segment(context: WorkerContext, item_id: str) -> tuple[Segment, int]:
    """The item's frame range and output group, as planned at submission."""
    with context.sessions() as session:
        item = session.get(JobItem, item_id)
        if item is None or not item.segment:
            raise BadInputError(f"item {item_id} has no video segment")
        try:
            return Segment.from_json(item.segment), item.group_index
        except (KeyError, TypeError, ValueError):
            raise BadInputError(f"item {item_id} has an invalid video segment: {item.segment}") from None


class SegmentRenderer(ItemRenderer):
    """One attempt at one segment item; ``app`` sends the join when this segment completes its group."""

    def __init__(self, context: WorkerContext, item_id: str, *, final_attempt: bool = True, app: Celery) -> None:
        super().__init__(context, item_id, final_attempt=final_attempt)
        self.app = app
        self._join: tuple[str, str] | None = None  # (join item id, queue) decided at success

    def run(self) -> JobStatus | None:
        status = super().run()
        if self._join is not None:
            join_id, queue = self._join
            enqueue_render(self.app, join_id, queue)
            log.info("segment %s completed its group; join %s sent", self.item_id, join_id)
        return status

    def _render_and_store(self, claimed: ClaimedItem) -> RenderedOutput:
        ctx = self.context
        segment, group_index = item_segment(ctx, claimed.item_id)
        request = job_request(claimed.params)
        style = style_spec(stored_style(claimed.style_ref), ctx.settings, ctx.storage)
        options = render_options(ctx.settings, request)
        plan = plan_from_settings(ctx.settings, options, request)
        progress = ItemProgress(self.sessions, claimed.item_id, self.worker_id)
        key = video_segment_key(claimed.tenant_id, claimed.job_id, group_index, segment.index, claimed.item_id)
        with tempfile.TemporaryDirectory(prefix="stylefarm-segment-") as scratch:
            source = fetch(ctx.storage, claimed.input_key, Path(scratch) / "input")
            info = probe_video(source)
            size = output_size(info, plan.max_side)
            clip = clip_style(ctx.engine, source, info, size, style, options, plan.stats_samples)
            output = Path(scratch) / f"segment.{SEGMENT_FORMAT}"
            render_segment(
                ctx.engine, source, info, segment, size, style, clip, options, output, plan.temporal,
                progress=progress.report, should_cancel=stop_check(progress.should_cancel),
            )  # fmt: skip
            ctx.storage.put_file(key, output, content_type="video/x-matroska")  # a retry overwrites it
            size_bytes = output.stat().st_size
        return RenderedOutput(key, size_bytes, SEGMENT_FORMAT, size[0], size[1])

    def _after_success(self, session: Session, item: JobItem, job: Job) -> None:
        join = dispatch_join(session, item, job)
        if join is not None:
            self._join = (join.id, render_queue(job.params, 1, self.context.settings))
