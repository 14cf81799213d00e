"""Cancel, pause and resume: state changes of a job that workers observe between items and tiles.

The job and item rows are locked (``SELECT ... FOR UPDATE`` on PostgreSQL) so a worker claiming
an item and a cancel cannot both win. Items that have not started are settled here; running
ones are left to their worker, which sees ``cancel_requested`` between tiles.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.common import job_items, tenant_job
from shared.db import Job, JobItem, JobStatus, utcnow
from shared.errors import ConflictError
from shared.webhooks.events import record_job_event

_NOT_STARTED = (JobStatus.QUEUED, JobStatus.PAUSED)


def _refuse_if_finished(job: Job, action: str) -> None:
    if JobStatus(job.status).finished:
        raise ConflictError(f"job {job.id} already {job.status}; it cannot be {action}", details={"status": job.status})


def cancel_job(session: Session, tenant_id: str, job_id: str) -> tuple[Job, list[JobItem]]:
    """Cancel every item not started yet; the job is canceled at once unless an item is running."""
    job = tenant_job(session, tenant_id, job_id, for_update=True)
    items = job_items(session, job.id, for_update=True)
    if job.status == JobStatus.CANCELED:
        return job, items
    _refuse_if_finished(job, "canceled")
    now = utcnow()
    job.cancel_requested = True
    for item in items:
        if item.status in _NOT_STARTED:
            item.status = JobStatus.CANCELED
            item.finished_at = now
            item.record_event("canceled")
    if not any(item.status == JobStatus.RUNNING for item in items):
        job.status = JobStatus.CANCELED
        job.finished_at = now
        record_job_event(session, job)
    session.commit()
    return job, items


def pause_job(session: Session, tenant_id: str, job_id: str) -> tuple[Job, list[JobItem]]:
    """Stop starting new items (running ones finish); workers skip items of a paused job."""
    job = tenant_job(session, tenant_id, job_id, for_update=True)
    if job.status != JobStatus.PAUSED:
        _refuse_if_finished(job, "paused")
        job.status = JobStatus.PAUSED
        session.commit()
    return job, job_items(session, job.id)


def resume_job(session: Session, tenant_id: str, job_id: str) -> tuple[Job, list[JobItem], list[JobItem]]:
    """Let a paused job run again; returns the job, its items, and the queued items to enqueue again.

    Nothing is to be enqueued when the job was not paused (resuming twice sends no duplicates).
    """
    job = tenant_job(session, tenant_id, job_id, for_update=True)
    items = job_items(session, job.id)
    if job.status != JobStatus.PAUSED:
        _refuse_if_finished(job, "resumed")
        return job, items, []
    started = any(item.started_at is not None or item.status != JobStatus.QUEUED for item in items)
    job.status = JobStatus.RUNNING if started else JobStatus.QUEUED
    session.commit()
    return job, items, [item for item in items if item.status == JobStatus.QUEUED]
