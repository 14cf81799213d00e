"""The state of one video output: its segment items and the join item that waits for them.

Why in the database and not a Celery chord: chords on Redis have open bugs where the callback
never fires (see NOTES.md). Each segment's success is recorded with its job row locked, so the
transaction that records the last success is the only one that sees every segment done, and it
marks the join as dispatched; a segment that fails or is canceled ends the join too, so the job
always finishes. No torch here: the sweeper and the API's cancel path finish items too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import ItemRole, Job, JobItem, JobStatus

DISPATCHED = "join_dispatched"  # history event: the join's task was (to be) sent once
RESENT = "join_resent"  # history event: the sweep sent the join's task again


def group_items(session: Session, job_id: str, group_index: int, role: ItemRole) -> list[JobItem]:
    """The job's items of ``role`` in one output group, in position order."""
    query = (
        select(JobItem)
        .where(JobItem.job_id == job_id, JobItem.group_index == group_index, JobItem.role == role)
        .order_by(JobItem.position)
    )
    return list(session.scalars(query))


def segments_done(session: Session, job_id: str, group_index: int) -> bool:
    """Whether every segment of the group succeeded."""
    segments = group_items(session, job_id, group_index, ItemRole.SEGMENT)
    return bool(segments) and all(item.status == JobStatus.SUCCEEDED for item in segments)


def dispatch_join(session: Session, segment: JobItem, job: Job) -> JobItem | None:
    """The group's join item when ``segment`` was the last to succeed (marked dispatched), else None.

    Call in the transaction that records the segment's success, with the job row locked.
    """
    if not segments_done(session, job.id, segment.group_index):
        return None
    for join in group_items(session, job.id, segment.group_index, ItemRole.JOIN):
        dispatched = any(entry.get("event") == DISPATCHED for entry in join.history or [])
        if join.status == JobStatus.QUEUED and not dispatched:
            join.record_event(DISPATCHED, segment=segment.id)
            return join
    return None


def end_join_with_segment(session: Session, segment: JobItem, status: JobStatus, now: datetime) -> None:
    """A segment ended without output: its group's unfinished join can never run, so end it alike."""
    for join in group_items(session, segment.job_id, segment.group_index, ItemRole.JOIN):
        if JobStatus(join.status).finished:
            continue
        join.status = JobStatus.CANCELED if status == JobStatus.CANCELED else JobStatus.FAILED
        join.finished_at = now
        join.error = None if status == JobStatus.CANCELED else f"segment {segment.position} {status.value}"
        join.record_event(join.status, **({"error": join.error} if join.error else {}))


def stalled_joins(session: Session, now: datetime, timeout_s: float) -> list[JobItem]:
    """Dispatched joins still queued ``timeout_s`` after their last change, each marked as resent.

    Why: the last segment's worker sends the join after its transaction commits; a worker that dies
    between the commit and the send leaves a join nobody will run. Sending it again is safe: a claim
    skips an item that another delivery already runs or finished. Marking it touches ``updated_at``,
    so one join is resent at most once per ``timeout_s``. The caller commits.
    """
    cutoff = now - timedelta(seconds=timeout_s)
    query = select(JobItem).where(
        JobItem.role == ItemRole.JOIN, JobItem.status == JobStatus.QUEUED, JobItem.updated_at < cutoff
    )
    stalled = []
    for join in session.scalars(query.with_for_update(skip_locked=True)):
        if any(entry.get("event") == DISPATCHED for entry in join.history or []):
            join.record_event(RESENT)
            stalled.append(join)
    return stalled
