"""Sending a job's items to the workers, on the queue the job's size and priority choose.

Why after the commit and here: a worker loads an item by id, so it must never receive one that is
not yet in the database; and when the broker is down a new job is withdrawn again (503), so a
retry with the same Idempotency-Key starts afresh instead of finding a job nobody will run.
"""

from __future__ import annotations

from collections.abc import Iterable

from celery import Celery
from sqlalchemy.orm import Session

from api.common import QueueUnavailableError, broker_errors
from api.services.job_submission import Submission, withdraw_job
from shared.db import ItemRole, Job, JobItem
from shared.queue import enqueue_render, render_queue
from shared.settings import Settings


def send_items(celery: Celery, settings: Settings, job: Job, items_total: int, items: Iterable[JobItem]) -> None:
    """Send ``items`` of ``job`` (``items_total`` in all, which picks the queue); 503 if the broker is down."""
    queue = render_queue(job.params, items_total, settings)
    with broker_errors():
        for item in items:
            enqueue_render(celery, item.id, queue)


def dispatch(session: Session, celery: Celery, settings: Settings, submission: Submission) -> None:
    """Send a newly made job's items (a video's join is sent by its last segment); withdraw the job if that fails."""
    if not submission.created:  # found by its Idempotency-Key: its items were sent the first time
        return
    to_send = [item for item in submission.items if item.role != ItemRole.JOIN]
    try:
        send_items(celery, settings, submission.job, len(submission.items), to_send)
    except QueueUnavailableError:
        withdraw_job(session, submission.job)
        raise
