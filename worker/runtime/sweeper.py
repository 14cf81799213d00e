"""Find items whose worker stopped sending heartbeats, and queue them again.

Why: ``acks_late`` with ``reject_on_worker_lost`` hands a message back when a worker's child dies,
but not when the whole machine (or the worker's main process) dies; Redis then redelivers only
after the visibility timeout (hours, since it must exceed the longest render). The database
heartbeat notices within ``heartbeat_timeout_s``. Imports no torch: ``stylefarm up`` runs it in
its own process on a timer, and a worker runs it as the ``sweep_lost_items`` task from beat.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from celery import Celery
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from shared.db import JobItem, JobStatus, utcnow
from shared.db.session import make_engine, make_session_factory
from shared.queue import LIGHT_QUEUE, SWEEP_LOST_ITEMS, enqueue_render, make_celery
from shared.settings import Settings
from shared.webhooks.events import enqueue_stalled_deliveries, send_after_commit
from worker.runtime.job_state import lock_item_and_job, record_lost, settle_finished_jobs
from worker.runtime.video_groups import stalled_joins


def sweep_lost_items(session: Session, now: datetime, heartbeat_timeout_s: float) -> list[str]:
    """Mark running items with heartbeats older than the timeout as lost and queued again.

    Returns the ids to re-enqueue. Items lost on ``MAX_LOST_WORKERS`` distinct workers are
    failed instead, with the collected reasons. The caller commits.
    """
    cutoff = now - timedelta(seconds=heartbeat_timeout_s)
    stale = or_(JobItem.heartbeat_at < cutoff, JobItem.heartbeat_at.is_(None))
    # Ids first, then lock each job and item in the executor's order (job, item): no deadlocks.
    candidates = session.scalars(
        select(JobItem.id).where(JobItem.status == JobStatus.RUNNING, stale).order_by(JobItem.job_id, JobItem.id)
    ).all()
    requeued = []
    for item_id in candidates:
        locked = lock_item_and_job(session, item_id)
        if locked is None:
            continue
        item, job = locked
        if item.status != JobStatus.RUNNING or (item.heartbeat_at is not None and item.heartbeat_at >= cutoff):
            continue  # it finished or sent a heartbeat since the first look
        last = item.heartbeat_at.isoformat() if item.heartbeat_at else "never"
        if record_lost(session, item, job, now, f"worker {item.worker_id} stopped sending heartbeats (last {last})"):
            continue
        item.status = JobStatus.QUEUED
        item.worker_id = None
        item.heartbeat_at = None
        requeued.append(item.id)
    return requeued


def requeue_lost_items(sessions: sessionmaker[Session], app: Celery, heartbeat_timeout_s: float) -> list[str]:
    """Sweep and send a render task for each requeued item, in one transaction.

    Why send before the commit: if the broker is down, the send raises, the transaction rolls
    back and the items stay ``running`` with stale heartbeats for the next sweep; committing
    first would leave them ``queued`` with no message, lost. A worker that gets a message before
    the commit waits on the row locks held here (and finds the item queued), or, if the commit
    fails, takes the stale item over as it would any lost one.
    """
    send_after_commit(sessions, app)  # an item failed here may finish a job that has a webhook
    with sessions.begin() as session:
        requeued = sweep_lost_items(session, utcnow(), heartbeat_timeout_s)
        for item_id in requeued:
            enqueue_render(app, item_id)
        for join in stalled_joins(session, utcnow(), heartbeat_timeout_s):
            enqueue_render(app, join.id)
            requeued.append(join.id)
        settle_finished_jobs(session, utcnow())
    enqueue_stalled_deliveries(sessions, app, utcnow())  # webhook tasks that were never sent
    return requeued


def run_sweep_once(settings: Settings) -> list[str]:
    """One sweep with connections of its own, closed afterwards; for ``stylefarm up``'s timer."""
    database = make_engine(settings.database_url)
    app = make_celery(settings)
    try:
        return requeue_lost_items(make_session_factory(database), app, settings.heartbeat_timeout_s)
    finally:
        app.close()
        database.dispose()


def sweep_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """Celery beat entry: sweep every half heartbeat timeout, on the light queue.

    Run it with ``celery -A worker.celery_app beat`` (one beat per farm), or ``worker -B`` on a
    single-worker farm; ``stylefarm up`` calls ``run_sweep_once`` on its own timer instead.
    """
    return {
        "sweep-lost-items": {
            "task": SWEEP_LOST_ITEMS,
            "schedule": settings.heartbeat_timeout_s / 2,
            "options": {"queue": LIGHT_QUEUE, "expires": settings.heartbeat_timeout_s / 2},
        }
    }
