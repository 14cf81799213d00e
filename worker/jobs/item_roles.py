"""Which executor runs a job item, by the item's role (render an image, a video segment, a join).

Why one task for every role: the API, resume and the sweeper all send ``render_item`` with just an
id; the worker looks the role up, so a lost segment or join is requeued like any other item.
"""

from __future__ import annotations

from celery import Celery
from sqlalchemy import select

from shared.db import ItemRole, Job, JobItem, JobKind
from worker.jobs.executor import ItemRenderer
from worker.runtime.context import WorkerContext


def item_executor(context: WorkerContext, item_id: str, *, final_attempt: bool, app: Celery) -> ItemRenderer:
    """The executor for ``item_id`` (a plain ``ItemRenderer`` when the item is gone: it says so)."""
    with context.sessions() as session:
        role = session.scalar(select(JobItem.role).where(JobItem.id == item_id))
        kind = session.scalar(select(Job.kind).join(JobItem, JobItem.job_id == Job.id).where(JobItem.id == item_id))
    if kind == JobKind.REFINE_STYLE:  # a refine item sent again as render_item (sweeper, resume)
        from worker.jobs.style_refiner import StyleRefiner

        return StyleRefiner(context, item_id, final_attempt=final_attempt)
    if role == ItemRole.SEGMENT:
        from worker.jobs.segment_renderer import SegmentRenderer

        return SegmentRenderer(context, item_id, final_attempt=final_attempt, app=app)
    if role == ItemRole.JOIN:
        from worker.jobs.video_joiner import VideoJoiner

        return VideoJoiner(context, item_id, final_attempt=final_attempt)
    return ItemRenderer(context, item_id, final_attempt=final_attempt)
