"""ItemRenderer's decisions that need no render: retries, time limits, duplicate deliveries.

In-process on a real database (SQLite and PostgreSQL); the storage fails on purpose the way a
real one does (``StorageError`` is what both backends raise when the medium or network fails).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from shared.db import Base, Job, JobItem, JobStatus, Tenant, new_id, utcnow
from shared.db.migrate import upgrade_to_head
from shared.db.session import make_engine, make_session_factory
from shared.errors import StorageError
from shared.queue import RENDER_ITEM
from shared.schemas.jobs import JobCreate
from shared.settings import Settings
from shared.storage import LocalStorage
from tests.worker_farm import builtin_ref
from worker.factory import create_worker_app
from worker.jobs.executor import ItemRenderer
from worker.runtime.context import WorkerContext, get_context, reset_context
from worker.tasks import MAX_RETRIES


class FailingStorage(LocalStorage):
    """Local storage whose reads raise ``error``."""

    def __init__(self, root, error: BaseException) -> None:
        super().__init__(root)
        self.error = error

    def get_bytes(self, key: str) -> bytes:
        raise self.error


@pytest.fixture
def make_context(database_url, tmp_path):
    database = make_engine(database_url)
    Base.metadata.create_all(database)
    settings = Settings(home=tmp_path, database_url=database_url.render_as_string(hide_password=False))

    def make(error: BaseException) -> WorkerContext:
        return WorkerContext(settings, database, make_session_factory(database), FailingStorage(tmp_path, error))

    yield make
    database.dispose()


def _add_item(context: WorkerContext) -> str:
    tenant = Tenant(id=new_id(), name=f"tenant-{new_id()}")
    params = JobCreate(inputs=["upload"], styles=[{"style": "builtin:3"}]).model_dump()
    job = Job(id=new_id(), tenant_id=tenant.id, kind="image", params=params)
    item = JobItem(id=new_id(), job_id=job.id, input_key=f"uploads/{tenant.id}/upload", style_ref=builtin_ref())
    with context.sessions.begin() as session:
        for row in (tenant, job, item):
            session.add(row)
            session.flush()
    return item.id


def _item(context: WorkerContext, item_id: str) -> JobItem:
    with context.sessions() as session:
        return session.get(JobItem, item_id)


def test_transient_storage_error_queues_the_item_for_retry_then_fails_with_collected_reasons(make_context):
    context = make_context(StorageError("S3 could not download: timeout"))
    item_id = _add_item(context)

    with pytest.raises(StorageError):
        ItemRenderer(context, item_id, final_attempt=False).run()
    item = _item(context, item_id)
    assert item.status == JobStatus.QUEUED and [e["event"] for e in item.history] == ["started", "retry"]

    with pytest.raises(StorageError):
        ItemRenderer(context, item_id, final_attempt=True).run()
    item = _item(context, item_id)
    assert item.status == JobStatus.FAILED and item.attempts == 2
    assert item.error == "gave up after 2 attempts: S3 could not download: timeout; S3 could not download: timeout"
    with context.sessions() as session:
        assert session.get(Job, item.job_id).status == JobStatus.FAILED


def test_soft_time_limit_fails_the_item_with_the_limit(make_context):
    context = make_context(SoftTimeLimitExceeded())
    item_id = _add_item(context)

    with pytest.raises(SoftTimeLimitExceeded):
        ItemRenderer(context, item_id).run()
    item = _item(context, item_id)
    assert item.status == JobStatus.FAILED
    assert item.error == f"exceeded the time limit of {context.settings.task_soft_time_limit_s} s"


def test_a_second_delivery_of_an_item_running_elsewhere_does_nothing(make_context):
    context = make_context(AssertionError("a duplicate delivery must not read the input"))
    item_id = _add_item(context)
    with context.sessions.begin() as session:
        item = session.get(JobItem, item_id)
        item.status, item.worker_id, item.heartbeat_at = JobStatus.RUNNING, "other-host:42", utcnow()

    assert ItemRenderer(context, item_id).run() is None
    item = _item(context, item_id)
    assert item.status == JobStatus.RUNNING and item.worker_id == "other-host:42" and item.history == []

    # Once its heartbeat is stale, the next delivery takes it over (and records the loss).
    with context.sessions.begin() as session:
        session.get(JobItem, item_id).heartbeat_at = utcnow() - timedelta(hours=1)
    with pytest.raises(AssertionError):
        ItemRenderer(context, item_id).run()
    events = [(e["event"], e.get("worker_id")) for e in _item(context, item_id).history]
    assert events[0] == ("lost", "other-host:42") and events[1][0] == "started"


def test_render_item_task_retries_transient_errors_then_fails_the_item(tmp_path):
    """Celery's autoretry and the executor agree: MAX_RETRIES retries, then the item fails once."""
    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path}/farm.db", broker_url="filesystem://")
    app = create_worker_app(settings)
    app.conf.task_always_eager = True  # retries run at once, in this process
    upgrade_to_head(settings.database_url)
    context = get_context()
    try:
        context.storage = FailingStorage(tmp_path, StorageError("S3 could not download: timeout"))
        item_id = _add_item(context)
        result = app.tasks[RENDER_ITEM].apply(args=[item_id])
        item = _item(context, item_id)
    finally:
        context.database.dispose()
        reset_context()

    assert result.failed() and isinstance(result.result, StorageError)
    assert item.status == JobStatus.FAILED and item.attempts == MAX_RETRIES + 1
    assert [e["event"] for e in item.history].count("retry") == MAX_RETRIES
    assert item.error.startswith(f"gave up after {MAX_RETRIES + 1} attempts: S3 could not download: timeout;")
