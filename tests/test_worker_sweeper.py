"""The lost-item sweep, on the database alone (SQLite and PostgreSQL): no broker, no worker."""

from __future__ import annotations

from datetime import timedelta

from shared.db import Job, JobItem, JobStatus, Tenant, new_id, utcnow
from worker.runtime.job_state import settle_finished_jobs
from worker.runtime.sweeper import sweep_lost_items

TIMEOUT_S = 60.0


def _job_with_items(session, count: int) -> tuple[Job, list[JobItem]]:
    tenant = Tenant(id=new_id(), name=f"tenant-{new_id()}")
    job = Job(id=new_id(), tenant_id=tenant.id, kind="image", status=JobStatus.RUNNING)
    items = [
        JobItem(id=new_id(), job_id=job.id, position=i, input_key=f"uploads/{tenant.id}/{i}") for i in range(count)
    ]
    session.add(tenant)
    session.flush()
    session.add(job)
    session.flush()
    session.add_all(items)
    session.flush()
    return job, items


def _running_on(item: JobItem, worker_id: str, heartbeat_age_s: float) -> None:
    item.status = JobStatus.RUNNING
    item.worker_id = worker_id
    item.heartbeat_at = utcnow() - timedelta(seconds=heartbeat_age_s)
    item.record_event("started", worker_id=worker_id)


def test_sweep_requeues_items_with_stale_heartbeats_and_soft_fails_after_three_workers(db_session):
    job, (stale, fresh, queued) = _job_with_items(db_session, 3)
    _running_on(stale, "host-a:101", heartbeat_age_s=TIMEOUT_S + 5)
    _running_on(fresh, "host-a:102", heartbeat_age_s=1)
    db_session.flush()

    requeued = sweep_lost_items(db_session, utcnow(), TIMEOUT_S)
    db_session.commit()

    assert requeued == [stale.id]
    assert stale.status == JobStatus.QUEUED and stale.worker_id is None and stale.heartbeat_at is None
    lost = stale.history[-1]
    assert (
        lost["event"] == "lost" and lost["worker_id"] == "host-a:101" and "stopped sending heartbeats" in lost["error"]
    )
    assert fresh.status == JobStatus.RUNNING and fresh.worker_id == "host-a:102"
    assert queued.status == JobStatus.QUEUED and queued.history == []

    # The requeued item is lost again on a second and a third worker: then it is failed, not requeued.
    _running_on(stale, "host-b:201", heartbeat_age_s=TIMEOUT_S + 5)
    assert sweep_lost_items(db_session, utcnow(), TIMEOUT_S) == [stale.id]
    _running_on(stale, "host-c:301", heartbeat_age_s=TIMEOUT_S + 5)
    assert sweep_lost_items(db_session, utcnow(), TIMEOUT_S) == []
    db_session.commit()

    assert stale.status == JobStatus.FAILED and stale.finished_at is not None
    assert stale.error.startswith("gave up after losing 3 workers: ")
    for worker_id in ("host-a:101", "host-b:201", "host-c:301"):
        assert f"worker {worker_id} stopped sending heartbeats" in stale.error
    assert [e["event"] for e in stale.history][-2:] == ["lost", "failed"]
    # One item failed but others are still queued or running: the job is still running.
    assert job.status == JobStatus.RUNNING and job.finished_at is None


def test_sweep_finishes_the_job_when_the_soft_failed_item_was_its_last(db_session):
    job, (done, lost) = _job_with_items(db_session, 2)
    done.status = JobStatus.SUCCEEDED
    for number, worker_id in enumerate(("a:1", "b:2", "c:3")):
        _running_on(lost, worker_id, heartbeat_age_s=TIMEOUT_S + 1)
        db_session.flush()
        assert sweep_lost_items(db_session, utcnow(), TIMEOUT_S) == ([lost.id] if number < 2 else [])
    db_session.commit()

    assert lost.status == JobStatus.FAILED
    assert job.status == JobStatus.FAILED and job.error == "1 of 2 items failed" and job.finished_at is not None


def test_sweep_counts_distinct_workers_not_losses(db_session):
    _job, (item,) = _job_with_items(db_session, 1)
    for _ in range(4):  # the same worker (say, restarted with the same id) losing it is not a pattern
        _running_on(item, "host-b:7", heartbeat_age_s=TIMEOUT_S * 2)
        db_session.flush()
        assert sweep_lost_items(db_session, utcnow(), TIMEOUT_S) == [item.id]
    assert item.status == JobStatus.QUEUED
    assert [e["event"] for e in item.history].count("lost") == 4


def test_sweep_settles_a_job_whose_items_all_finished_while_it_stayed_running(db_session):
    """The state the cancel race used to leave: every item finished, the job still running."""
    job, (done, canceled) = _job_with_items(db_session, 2)
    stuck, _ = _job_with_items(db_session, 1)  # a job with a queued item is left alone
    done.status, canceled.status = JobStatus.SUCCEEDED, JobStatus.CANCELED
    job.cancel_requested = True
    db_session.flush()

    assert settle_finished_jobs(db_session, utcnow()) == [job.id]
    db_session.commit()

    assert job.status == JobStatus.CANCELED and job.finished_at is not None
    assert stuck.status == JobStatus.RUNNING
    assert settle_finished_jobs(db_session, utcnow()) == []
