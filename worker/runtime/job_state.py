"""Item state changes that also move their job: locking order, finishing, losses, job status.

Why here and not in the executor: the render executor, the sweeper and the cancel path all
finish items, and each must lock rows in the same order (job, then item) so two workers never
deadlock, and must recompute the job's aggregate status in the same transaction. No torch here:
the sweeper runs in the API's process too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from shared.db import ItemRole, Job, JobItem, JobStatus
from shared.webhooks.events import record_job_event
from worker.runtime.video_groups import end_join_with_segment

# Attempts that ended without a result on some worker; their "error" entries are the reasons.
UNFINISHED_ATTEMPT_EVENTS = ("lost", "retry")
MAX_LOST_WORKERS = 3  # an item that took down this many distinct workers is failed, not retried


def lock_item_and_job(session: Session, item_id: str) -> tuple[JobItem, Job] | None:
    """Load and lock (``FOR UPDATE`` on PostgreSQL) the job, then the item; None when gone."""
    job_id = session.scalar(select(JobItem.job_id).where(JobItem.id == item_id))
    if job_id is None:
        return None
    job = session.get(Job, job_id, with_for_update=True, populate_existing=True)
    item = session.get(JobItem, item_id, with_for_update=True, populate_existing=True)
    if job is None or item is None:
        return None
    return item, job


def finish_item(
    session: Session, item: JobItem, job: Job, status: JobStatus, now: datetime, error: str | None = None, **event: Any
) -> None:
    """Put ``item`` in a final ``status`` with a history event, then update its job."""
    item.status = status
    item.finished_at = now
    item.error = error
    item.record_event(status.value, **({"error": error} if error else {}), **event)
    if item.role == ItemRole.SEGMENT and status != JobStatus.SUCCEEDED:
        end_join_with_segment(session, item, status, now)  # a video's join cannot run without it
    refresh_job_status(session, job, now)


def failure_reasons(item: JobItem) -> list[str]:
    """The reasons of the item's earlier unfinished attempts, oldest first."""
    return [
        str(entry.get("error", entry["event"]))
        for entry in item.history or []
        if entry.get("event") in UNFINISHED_ATTEMPT_EVENTS
    ]


def record_lost(session: Session, item: JobItem, job: Job, now: datetime, reason: str) -> bool:
    """Record that the item's worker is gone; fail the item once it was lost on too many workers.

    Returns True when the item was failed. Why a limit: an item that crashes every worker it
    lands on (out of memory, a poison input) would otherwise take the farm down one worker at a time.
    """
    item.record_event("lost", worker_id=item.worker_id, error=reason)
    workers = {
        entry.get("worker_id")
        for entry in item.history or []
        if entry.get("event") in UNFINISHED_ATTEMPT_EVENTS and entry.get("worker_id")
    }
    if len(workers) < MAX_LOST_WORKERS:
        return False
    error = f"gave up after losing {len(workers)} workers: " + "; ".join(failure_reasons(item))
    finish_item(session, item, job, JobStatus.FAILED, now, error=error)
    return True


def refresh_job_status(session: Session, job: Job, now: datetime) -> None:
    """Derive the job's status from its items (call with the job row locked).

    All items finished: failed if any failed, else canceled if any was canceled, else succeeded.
    Otherwise the job is running while any item runs; a paused job stays paused.
    """
    statuses = list(session.scalars(select(JobItem.status).where(JobItem.job_id == job.id)))
    if statuses and all(JobStatus(status).finished for status in statuses):
        failed = statuses.count(JobStatus.FAILED)
        if failed:
            job.status = JobStatus.FAILED
            job.error = f"{failed} of {len(statuses)} items failed"
        elif JobStatus.CANCELED in statuses:
            job.status = JobStatus.CANCELED
        else:
            job.status = JobStatus.SUCCEEDED
        job.finished_at = job.finished_at or now
        record_job_event(session, job)  # the webhook, sent once this transaction commits
    elif JobStatus.RUNNING in statuses and job.status != JobStatus.PAUSED:
        job.status = JobStatus.RUNNING
    if JobStatus.RUNNING in statuses and job.started_at is None:
        job.started_at = now


def settle_finished_jobs(session: Session, now: datetime) -> list[str]:
    """Give its final status to every unfinished job whose items have all finished; returns their ids.

    Why: before SQLite took a write lock for ``FOR UPDATE``, a cancel and a worker finishing the
    last running item could each write half of the change, leaving such a job ``running`` forever.
    The sweep repairs any left from then in farms upgraded since.
    """
    unfinished = [status for status in JobStatus if not status.finished]
    open_item = exists().where(JobItem.job_id == Job.id, JobItem.status.in_(unfinished))
    any_item = exists().where(JobItem.job_id == Job.id)
    settled = []
    for job_id in session.scalars(select(Job.id).where(Job.status.in_(unfinished), any_item, ~open_item)):
        job = session.get(Job, job_id, with_for_update=True, populate_existing=True)
        if job is not None and not JobStatus(job.status).finished:
            refresh_job_status(session, job, now)
            settled.append(job_id)
    return settled
