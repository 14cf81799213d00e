"""A video output's items in the database: the join is dispatched exactly once, and never waits forever."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from shared.db import ItemRole, Job, JobItem, JobStatus, Tenant, utcnow
from shared.video.segments import plan_segments
from worker.runtime.job_state import finish_item
from worker.runtime.video_groups import DISPATCHED, RESENT, dispatch_join, stalled_joins


def video_job(session: Session, segments: int = 3) -> tuple[Job, list[JobItem], JobItem]:
    tenant = Tenant(name="studio")
    session.add(tenant)
    session.flush()
    job = Job(tenant_id=tenant.id, kind="video", status=JobStatus.RUNNING)
    session.add(job)
    session.flush()
    parts = [
        JobItem(job_id=job.id, position=s.index, role=ItemRole.SEGMENT, segment=s.to_json(), input_key="in")
        for s in plan_segments(segments * 10, 10, 4)
    ]
    join = JobItem(job_id=job.id, position=segments, role=ItemRole.JOIN, input_key="in")
    session.add_all([*parts, join])
    session.flush()
    return job, parts, join


def test_only_the_last_segment_to_succeed_dispatches_the_join_and_only_once(db_session: Session) -> None:
    job, parts, join = video_job(db_session)
    dispatched = []
    for part in parts:
        finish_item(db_session, part, job, JobStatus.SUCCEEDED, utcnow())
        dispatched.append(dispatch_join(db_session, part, job))
    assert dispatched == [None, None, join]
    assert dispatch_join(db_session, parts[-1], job) is None  # a second look (a redelivery) sends nothing
    assert [entry["event"] for entry in join.history].count(DISPATCHED) == 1
    assert join.status == JobStatus.QUEUED and job.status == JobStatus.RUNNING  # the join still has to run


def test_a_failed_segment_fails_the_join_so_the_job_finishes(db_session: Session) -> None:
    job, parts, join = video_job(db_session)
    finish_item(db_session, parts[0], job, JobStatus.SUCCEEDED, utcnow())
    finish_item(db_session, parts[1], job, JobStatus.FAILED, utcnow(), error="corrupt frame")
    assert (join.status, join.error) == (JobStatus.FAILED, "segment 1 failed")
    finish_item(db_session, parts[2], job, JobStatus.SUCCEEDED, utcnow())
    assert dispatch_join(db_session, parts[2], job) is None
    assert job.status == JobStatus.FAILED


def test_a_canceled_segment_cancels_the_join(db_session: Session) -> None:
    job, parts, join = video_job(db_session, segments=2)
    finish_item(db_session, parts[0], job, JobStatus.CANCELED, utcnow(), reason="cancel requested")
    finish_item(db_session, parts[1], job, JobStatus.CANCELED, utcnow(), reason="cancel requested")
    assert join.status == JobStatus.CANCELED
    assert job.status == JobStatus.CANCELED


def test_a_dispatched_join_left_queued_is_resent_by_the_sweep_once_per_timeout(db_session: Session) -> None:
    """The last segment's worker died between its commit and sending the join: the sweep sends it."""
    job, parts, join = video_job(db_session, segments=2)
    for part in parts:
        finish_item(db_session, part, job, JobStatus.SUCCEEDED, utcnow())
        dispatch_join(db_session, part, job)
    db_session.flush()
    assert stalled_joins(db_session, utcnow(), timeout_s=60) == []  # just dispatched: its sender may be alive
    later = utcnow() + timedelta(seconds=61)
    assert stalled_joins(db_session, later, timeout_s=60) == [join]
    db_session.flush()
    assert [entry["event"] for entry in join.history][-1] == RESENT
    # Resending touched it: half a timeout after the resend it is left alone.
    assert stalled_joins(db_session, utcnow() + timedelta(seconds=30), timeout_s=60) == []


def test_an_undispatched_join_is_not_resent(db_session: Session) -> None:
    job, parts, _join = video_job(db_session, segments=2)
    finish_item(db_session, parts[0], job, JobStatus.SUCCEEDED, utcnow())
    db_session.flush()
    assert stalled_joins(db_session, utcnow() + timedelta(hours=1), timeout_s=60) == []
