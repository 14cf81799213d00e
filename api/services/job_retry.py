"""Retry a finished job's failed items: each goes back to the queue as if new, the rest stay as they are.

Why not resubmit: the inputs, styles and parameters are already recorded, and the succeeded
outputs stay where they are, so only the failures cost render time again. A video's segments and
join depend on each other, so a failed video is resubmitted instead (409 here).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.common import job_items, tenant_job
from shared.db import ItemRole, Job, JobItem, JobStatus
from shared.errors import ConflictError


def retry_failed_items(session: Session, tenant_id: str, job_id: str) -> tuple[Job, list[JobItem], list[JobItem]]:
    """Queue the failed items of a finished job again; returns the job, its items and those to enqueue."""
    job = tenant_job(session, tenant_id, job_id, for_update=True)
    items = job_items(session, job.id, for_update=True)
    failed = [item for item in items if item.status == JobStatus.FAILED]
    if not JobStatus(job.status).finished:
        raise ConflictError(
            f"job {job.id} is still {job.status}; retry it once it has finished", details={"status": job.status}
        )
    if not failed:
        raise ConflictError(f"job {job.id} has no failed items to retry", details={"status": job.status})
    if any(item.role != ItemRole.RENDER for item in items):
        raise ConflictError("a video job is retried by submitting it again", details={"status": job.status})
    for item in failed:
        item.record_event("retried", previous_error=item.error)
        item.status = JobStatus.QUEUED
        item.error = None
        item.attempts = 0
        item.tiles_done = 0
        item.worker_id = None
        item.heartbeat_at = None
        item.started_at = None
        item.finished_at = None
    job.status = JobStatus.RUNNING if len(failed) < len(items) else JobStatus.QUEUED
    job.error = None
    job.finished_at = None
    job.cancel_requested = False
    session.commit()
    return job, items, failed
