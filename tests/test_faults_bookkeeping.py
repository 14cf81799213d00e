"""The bookkeeping the fault tests rely on, checked without workers: how a time limit that landed
inside a database call is described, and a sweep whose broker is down losing nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from kombu.exceptions import OperationalError as BrokerOperationalError
from sqlalchemy.exc import ProgrammingError

from shared.db import Base, Job, JobItem, JobStatus, Tenant, new_id, utcnow
from shared.db.session import make_engine, make_session_factory
from shared.queue import make_celery
from shared.settings import Settings
from tests.conftest_farm import free_port
from worker.runtime.failures import describe
from worker.runtime.sweeper import requeue_lost_items

pytestmark = pytest.mark.faults


def test_a_soft_limit_inside_a_database_call_is_described_as_the_time_limit():
    try:
        try:
            raise SoftTimeLimitExceeded()
        except SoftTimeLimitExceeded as exc:  # the clean-up of the interrupted call fails in turn
            raise ProgrammingError("ROLLBACK", {}, Exception("connection in transaction status ACTIVE")) from exc
    except ProgrammingError as error:
        assert describe(error, 30) == "exceeded the time limit of 30 s"
    assert describe(ProgrammingError("SELECT", {}, Exception("boom")), 30).startswith("internal error: ")


def test_a_sweep_with_the_broker_down_leaves_lost_items_for_the_next_sweep(database_url, tmp_path):
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    sessions = make_session_factory(engine)
    tenant = Tenant(id=new_id(), name=f"tenant-{new_id()}")
    job = Job(id=new_id(), tenant_id=tenant.id, kind="image", status=JobStatus.RUNNING)
    item = JobItem(id=new_id(), job_id=job.id, position=0, input_key=f"uploads/{tenant.id}/x")
    item.status, item.worker_id = JobStatus.RUNNING, "gone-host:1"
    item.heartbeat_at = utcnow() - timedelta(seconds=120)
    with sessions.begin() as session:
        session.add(tenant)
        session.flush()
        session.add(job)
        session.flush()
        session.add(item)
    nowhere = make_celery(Settings(home=tmp_path, broker_url=f"redis://127.0.0.1:{free_port()}/0"))
    nowhere.conf.broker_connection_max_retries = 1
    try:
        with pytest.raises((BrokerOperationalError, OSError)):
            requeue_lost_items(sessions, nowhere, heartbeat_timeout_s=60)
        with sessions() as session:
            kept = session.get(JobItem, item.id)
            # Still running with its stale heartbeat (not queued with no message): the next sweep retries.
            assert kept is not None and kept.status == JobStatus.RUNNING and kept.worker_id == "gone-host:1"
            assert [entry["event"] for entry in kept.history or []] == []
    finally:
        nowhere.close()
        engine.dispose()
