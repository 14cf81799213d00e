"""``SELECT ... FOR UPDATE`` serializes state changes on SQLite as it does on PostgreSQL.

The job state machine (cancel, claim, finish) locks the job row before reading the item statuses
it derives the job's status from. PostgreSQL does that with a row lock; SQLite drops ``FOR UPDATE``
from the SQL, so ``shared.db.session`` takes SQLite's write lock instead. Here two real connections
interleave on purpose: the second locker must wait for the first and read what it wrote.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from shared.db import Job, JobStatus, Tenant
from shared.db.base import Base, new_id
from shared.db.session import make_engine, make_session_factory

HOLD_S = 0.4


def test_a_locking_read_waits_for_the_lock_holder_and_sees_its_write(database_url):
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    sessions = make_session_factory(engine)
    try:
        with sessions.begin() as session:
            tenant = Tenant(id=new_id(), name="locks")
            job = Job(id=new_id(), tenant_id=tenant.id, kind="multi_style", params={}, status=JobStatus.RUNNING)
            session.add(tenant)
            session.flush()
            session.add(job)
        locked = threading.Event()
        seen: dict[str, object] = {}

        def holder() -> None:
            with sessions.begin() as session:
                row = session.scalar(select(Job).where(Job.id == job.id).with_for_update())
                locked.set()
                time.sleep(HOLD_S)
                row.status = JobStatus.CANCELED

        def second_locker() -> None:
            locked.wait(5)
            started = time.monotonic()
            with sessions.begin() as session:
                row = session.scalar(select(Job).where(Job.id == job.id).with_for_update())
                seen["status"], seen["waited_s"] = row.status, time.monotonic() - started

        threads = [threading.Thread(target=holder), threading.Thread(target=second_locker)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        print(f"{engine.dialect.name}: second locker waited {seen['waited_s']:.2f} s, read {seen['status']}")
        assert seen["status"] == JobStatus.CANCELED  # without the lock it reads "running" at once
        assert seen["waited_s"] >= HOLD_S * 0.5
    finally:
        engine.dispose()
