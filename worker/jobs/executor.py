"""Render one job item: claim it, render with no session open, store the output, record the end.

Why a class behind a thin task: the task only maps Celery's retry state in; everything that
decides what happens to the item lives here and is the same under any queue (redash's
``tasks/queries/execution.py`` pattern). Every database touch is a short transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shared.db import Job, JobItem, JobStatus, utcnow
from shared.keys import output_key
from worker.engine.render import RenderCanceled
from worker.jobs import result_cache
from worker.jobs.encoding import encode_image
from worker.jobs.item_controls import controlled_render, with_item_settings, with_style_images
from worker.jobs.job_params import job_request, render_options, stored_style, style_spec
from worker.jobs.optimize_render import render_function
from worker.jobs.recolor_render import recolor_render
from worker.runtime.context import WorkerContext
from worker.runtime.failures import describe, is_transient
from worker.runtime.identity import current_worker_id, owner_is_gone
from worker.runtime.job_state import failure_reasons, finish_item, lock_item_and_job, record_lost, refresh_job_status
from worker.runtime.progress import Heartbeat, ItemProgress, ItemReassigned
from worker.runtime.shutdown import HandBack, hand_back_item, stop_check
from worker.runtime.stage_clock import StageClock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClaimedItem:
    """What the render needs, copied out of the rows before the session closes."""

    item_id: str
    job_id: str
    tenant_id: str
    position: int
    input_key: str
    style_ref: dict[str, Any]
    params: dict[str, Any]
    render_settings: dict[str, Any] | None = None  # the job's values with its style's defaults (issue 13)
    recolor_sources: dict[str, Any] | None = None  # issue 15: exemplar/hints keys of a colourised item


@dataclass(frozen=True)
class RenderedOutput:
    key: str
    size_bytes: int
    output_format: str
    width: int
    height: int
    cache_key: str | None = None
    cached_from: str | None = None  # the item whose stored output was reused instead of rendering
    timings: dict[str, float] | None = None  # seconds per stage (read, render, encode, store), for benchmarks


class ItemRenderer:
    """Runs one attempt at one item.

    Args:
        final_attempt: no Celery retry follows this attempt, so a transient error fails the item
            (with the reasons of the earlier attempts) instead of queueing it again.
    """

    def __init__(self, context: WorkerContext, item_id: str, *, final_attempt: bool = True) -> None:
        self.context = context
        self.sessions = context.sessions
        self.item_id = item_id
        self.final_attempt = final_attempt
        self.worker_id = current_worker_id()

    def run(self) -> JobStatus | None:
        """Render the item; returns its final status, or None when there was nothing to do.

        Raises what failed the item (after recording it), so Celery retries transient errors.
        """
        claimed = self._claim()
        if claimed is None:
            return None
        started = time.monotonic()
        try:
            with Heartbeat(self.sessions, self.item_id, self.worker_id, self.context.settings.heartbeat_interval_s):
                output = self._render_and_store(claimed)
        except ItemReassigned as exc:
            log.warning("stopped rendering: %s", exc)
            return None
        except RenderCanceled:
            return self._finish(JobStatus.CANCELED, reason="cancel requested")
        except HandBack:  # warm shutdown: queued again for another worker (worker/runtime/shutdown.py)
            self._hand_back()
            raise
        except Exception as exc:
            self._record_failure(exc)
            raise
        return self._succeed(output, time.monotonic() - started)

    def _claim(self) -> ClaimedItem | None:
        """Mark the item running on this worker, unless it is finished, canceled, paused or taken."""
        now = utcnow()
        with self.sessions.begin() as session:
            locked = lock_item_and_job(session, self.item_id)
            if locked is None:
                log.warning("item %s no longer exists", self.item_id)
                return None
            item, job = locked
            if JobStatus(item.status).finished:
                log.info("item %s is already %s", item.id, item.status)
                return None
            if job.cancel_requested:
                finish_item(session, item, job, JobStatus.CANCELED, now, reason="cancel requested")
                return None
            if item.status == JobStatus.RUNNING and not self._take_over(session, item, job, now):
                return None
            if job.status == JobStatus.PAUSED:
                item.status = JobStatus.QUEUED  # resuming the job enqueues it again
                return None
            item.status = JobStatus.RUNNING
            item.attempts += 1
            item.worker_id = self.worker_id
            item.started_at = item.heartbeat_at = now
            item.tiles_done = 0
            item.error = None
            item.record_event("started", worker_id=self.worker_id, attempt=item.attempts)
            refresh_job_status(session, job, now)
            return ClaimedItem(
                item.id,
                job.id,
                job.tenant_id,
                item.position,
                item.input_key,
                dict(item.style_ref),
                dict(job.params),
                item.render_settings,
                item.recolor_sources,
            )

    def _take_over(self, session: Session, item: JobItem, job: Job, now: datetime) -> bool:
        """Whether this worker may run an item an earlier claim left running (its owner is gone)."""
        timeout_s = self.context.settings.heartbeat_timeout_s
        if not owner_is_gone(item.worker_id, item.heartbeat_at, now, timeout_s, self.worker_id):
            log.info("item %s is running on %s; this delivery is a duplicate", item.id, item.worker_id)
            return False
        reason = f"worker {item.worker_id} stopped (taken over by {self.worker_id})"
        return not record_lost(session, item, job, now, reason)

    def _render_and_store(self, claimed: ClaimedItem) -> RenderedOutput:
        """Read the input, render it tile by tile, and write the output at its deterministic key."""
        ctx = self.context
        request, ref = job_request(claimed.params), stored_style(claimed.style_ref)  # validated once, here
        request = with_item_settings(request, claimed.render_settings)
        style = style_spec(ref, ctx.settings, ctx.storage) if ref.components else None  # None: colourised (issue 15)
        if style is not None and request.match_style_colors:
            style = with_style_images(style, ref, ctx.storage)
        options = render_options(ctx.settings, request)
        clock = StageClock()
        photo = ctx.storage.get_bytes(claimed.input_key)
        clock.lap("read")
        key = output_key(claimed.tenant_id, claimed.job_id, claimed.position, claimed.item_id, request.output_format)
        cache_key = result_cache.cache_key(photo, asdict(claimed), options)
        if ctx.settings.result_cache_enabled and (
            found := result_cache.reuse_output(ctx, claimed.tenant_id, cache_key, claimed.item_id, key)
        ):
            return RenderedOutput(
                key, found.size_bytes, found.output_format, found.width, found.height, cache_key, found.source_item_id
            )
        progress = ItemProgress(self.sessions, claimed.item_id, self.worker_id)
        render = controlled_render(ctx, request, ref, render_function(ctx, request, ref))  # fast or optimize
        render = recolor_render(ctx, request, claimed.recolor_sources, render)  # colour modes of issue 15
        pixels = render(
            photo, style, options, progress=progress.report, should_cancel=stop_check(progress.should_cancel)
        )
        clock.lap("render")
        data, content_type = encode_image(pixels, request.output_format, request.quality)
        clock.lap("encode")
        ctx.storage.put_bytes(key, data, content_type=content_type)  # a retry overwrites the same key
        clock.lap("store")
        height, width = pixels.shape[:2]
        return RenderedOutput(key, len(data), request.output_format, width, height, cache_key, timings=clock.laps)

    def _succeed(self, output: RenderedOutput, seconds: float) -> JobStatus | None:
        with self.sessions.begin() as session:
            locked = lock_item_and_job(session, self.item_id)
            if locked is None:
                return None
            item, job = locked
            if JobStatus(item.status).finished:
                return JobStatus(item.status)  # finished by another attempt meanwhile
            item.output_key = output.key
            item.output_bytes = output.size_bytes
            item.output_format = output.output_format
            item.width, item.height = output.width, output.height
            item.tiles_done = item.tiles_total
            item.cache_key, item.cached = output.cache_key, output.cached_from is not None
            # ``device`` and ``seconds`` of rendered items feed /metrics; a reused output names its source.
            how = {"cached_from": output.cached_from} if item.cached else {"device": str(self.context.engine.device)}
            how["seconds"] = round(seconds, 3)
            if output.timings:
                how["stages"] = output.timings
            finish_item(session, item, job, JobStatus.SUCCEEDED, utcnow(), worker_id=self.worker_id, **how)
            self._after_success(session, item, job)
        log.info("item %s rendered in %.2f s: %s", self.item_id, seconds, output.key)
        return JobStatus.SUCCEEDED

    def _after_success(self, session: Session, item: JobItem, job: Job) -> None:
        """Hook for subclasses: more work decided in the transaction that records the success."""

    def _finish(self, status: JobStatus, error: str | None = None, **event: Any) -> JobStatus | None:
        """Put our running item in a final state (left alone when it moved on without us)."""
        with self._owned_item() as owned:
            if owned is None:
                return None
            session, item, job = owned
            finish_item(session, item, job, status, utcnow(), error=error, worker_id=self.worker_id, **event)
        return status

    def _record_failure(self, exc: Exception) -> None:
        """Fail the item, or queue it again for Celery's retry when the error is transient."""
        message = describe(exc, self.context.settings.task_soft_time_limit_s)
        try:
            with self._owned_item() as owned:
                if owned is None:
                    return
                session, item, job = owned
                if is_transient(exc) and not self.final_attempt:
                    item.record_event("retry", worker_id=self.worker_id, error=message)
                    item.status = JobStatus.QUEUED
                    item.heartbeat_at = None
                    return
                if is_transient(exc):
                    message = f"gave up after {item.attempts} attempts: " + "; ".join([*failure_reasons(item), message])
                finish_item(session, item, job, JobStatus.FAILED, utcnow(), error=message, worker_id=self.worker_id)
        except SQLAlchemyError:  # the database may be what failed; the sweeper catches up later
            log.exception("could not record the failure of item %s (%s)", self.item_id, message)

    def _hand_back(self) -> None:
        with self._owned_item() as owned:
            if owned is not None:
                hand_back_item(owned[1], self.worker_id)

    @contextmanager
    def _owned_item(self) -> Iterator[tuple[Session, JobItem, Job] | None]:
        """A transaction with the job and item locked, or None when the item is no longer ours."""
        with self.sessions.begin() as session:
            locked = lock_item_and_job(session, self.item_id)
            if locked is None or locked[0].status != JobStatus.RUNNING or locked[0].worker_id != self.worker_id:
                yield None
            else:
                yield session, *locked
