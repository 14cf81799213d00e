"""A small farm for the worker tests: a PostgreSQL schema, a Redis database, local storage,
settings shared with real ``celery worker`` processes, and helpers to seed jobs and wait on them.

Real services only: the tests start workers with the same command line ``stylefarm up`` uses and
watch the database, as the API does. Not a test module: fixtures in the test files wrap these.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from celery import Celery
from PIL import Image
from pydantic import SecretStr
from sqlalchemy import URL, update
from sqlalchemy.orm import Session, sessionmaker

from shared.db import Job, JobItem, JobStatus, Tenant, new_id
from shared.db.migrate import upgrade_to_head
from shared.db.session import make_engine, make_session_factory
from shared.keys import upload_key
from shared.queue import WORKER_QUEUES, enqueue_render, make_celery
from shared.schemas.jobs import JobCreate
from shared.schemas.style_refs import StyleComponentRef, StyleRef
from shared.settings import Settings
from shared.storage import Storage, storage_from_settings
from tests import process_groups

REPO = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("STYLEFARM_TEST_REDIS_URL", "redis://127.0.0.1:6379")
CLAIM_KEY = "stylefarm-test-claim"
# tests/conftest_api.py uses (and flushes) this one without claiming it: never claim it. Two checkouts
# running their suites at once on one Redis set it apart with STYLEFARM_TEST_API_REDIS_DB.
API_TESTS_REDIS_DB = int(os.environ.get("STYLEFARM_TEST_API_REDIS_DB", "13"))
BUILTIN_STYLE = 3


def builtin_ref(index: int = BUILTIN_STYLE) -> dict[str, Any]:
    """An item's ``style_ref`` as the API stores it for ``builtin:N``."""
    component = StyleComponentRef(weight=1.0, builtin=index, style_id=f"builtin:{index}")
    return StyleRef(label=f"builtin:{index}", components=[component]).model_dump()


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def wait_until(condition: Callable[[], Any], timeout_s: float, what: str, interval_s: float = 0.05) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval_s)
    pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")


def try_claim_redis_db() -> int | None:
    """A Redis database number no one else uses now (empty, then marked as ours), or None.

    Raises ``redis.ConnectionError`` when Redis is down. Shared with benchmarks/farm.py.
    """
    token = uuid.uuid4().hex
    numbers = [number for number in range(1, 16) if number != API_TESTS_REDIS_DB]
    random.shuffle(numbers)
    for number in numbers:
        client = redis.Redis.from_url(f"{REDIS_URL}/{number}")
        try:
            if client.set(CLAIM_KEY, token, nx=True, ex=3600) and client.dbsize() == 1:
                return number
        finally:
            client.close()
    return None


def claim_redis_db() -> int:
    """``try_claim_redis_db`` for tests: skips without Redis (fails under CI) or a free database."""
    try:
        number = try_claim_redis_db()
    except redis.ConnectionError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required under CI: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({exc.__class__.__name__})")
    if number is None:
        pytest.skip("no free Redis database (1-15) for this test session")
    return number


def settings_env(settings: Settings) -> dict[str, str]:
    """``STYLEFARM_*`` variables that make a child process read exactly ``settings``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("STYLEFARM_")}
    for name, value in settings.model_dump().items():
        if isinstance(value, SecretStr):
            value = value.get_secret_value()  # str() would give the masked "**********"
        if value is not None:
            env[f"STYLEFARM_{name.upper()}"] = str(value)
    return env


@dataclass
class WorkerProcess:
    """A ``celery worker`` (main process and one prefork child) in its own process group."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def start(cls, name: str, env: dict[str, str], log_dir: Path) -> WorkerProcess:
        log_path = log_dir / f"{name}.log"
        command = [
            sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker", "-Q", WORKER_QUEUES,
            "-c", "1", "--pool", "prefork", "-l", "info", "-n", f"{name}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        process_groups.remember(process.pid)
        return cls(name, process, log_path)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout_s: float = 60.0) -> float:
        """Seconds until the worker logged that it is ready to consume."""
        started = time.monotonic()

        def ready() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"worker {self.name} exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            return " ready." in self.log()

        wait_until(ready, timeout_s, f"worker {self.name} to start", interval_s=0.1)
        return time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL the main process and its children at once, as when a machine dies."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout_s: float = 20.0) -> None:
        """Warm shutdown (SIGTERM); SIGKILL the group if it does not stop in time."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                print(f"worker {self.name} did not stop in {timeout_s} s; killing it")
        self.kill()


@dataclass
class Farm:
    """Settings, database, storage and a sending Celery app, as the API would hold them."""

    settings: Settings
    sessions: sessionmaker[Session]
    storage: Storage
    app: Celery
    tenant_id: str
    log_dir: Path

    def start_worker(self, name: str) -> WorkerProcess:
        return WorkerProcess.start(name, settings_env(self.settings), self.log_dir)

    def add_item(
        self, photo: bytes, *, style_ref: dict[str, Any] | None = None, paused: bool = False, **params: Any
    ) -> str:
        """Store ``photo`` as an upload and create a one-item job for it (what the API does); the item id."""
        upload_id = new_id()
        self.storage.put_bytes(upload_key(self.tenant_id, upload_id), photo)
        request = JobCreate(inputs=[upload_id], styles=[{"style": f"builtin:{BUILTIN_STYLE}"}], **params)
        job = Job(
            id=new_id(),
            tenant_id=self.tenant_id,
            kind=request.kind,
            params=request.model_dump(),
            priority=request.priority,
            status=JobStatus.PAUSED if paused else JobStatus.QUEUED,
        )
        item = JobItem(
            id=new_id(),
            job_id=job.id,
            position=0,
            input_key=upload_key(self.tenant_id, upload_id),
            style_ref=style_ref or builtin_ref(),
        )
        with self.sessions.begin() as session:
            session.add(job)
            session.flush()
            session.add(item)
        return item.id

    def render(self, item_id: str) -> None:
        enqueue_render(self.app, item_id)

    def item(self, item_id: str) -> JobItem:
        with self.sessions() as session:
            item = session.get(JobItem, item_id)
            assert item is not None
            return item

    def job_of(self, item_id: str) -> Job:
        with self.sessions() as session:
            job = session.get(Job, self.item(item_id).job_id)
            assert job is not None
            return job

    def request_cancel(self, item_id: str) -> None:
        with self.sessions.begin() as session:
            session.execute(update(Job).where(Job.id == self.item(item_id).job_id).values(cancel_requested=True))

    def wait_for_item(self, item_id: str, condition: Callable[[JobItem], bool], timeout_s: float, what: str) -> JobItem:
        def check() -> JobItem | None:
            item = self.item(item_id)
            return item if condition(item) else None

        return wait_until(check, timeout_s, what)

    def wait_finished(self, item_id: str, timeout_s: float = 60.0) -> JobItem:
        return self.wait_for_item(
            item_id, lambda item: JobStatus(item.status).finished, timeout_s, "the item to finish"
        )


def _libpq(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def farm_settings(tmp_path_factory: pytest.TempPathFactory, **values: Any) -> Settings:
    """Settings for a farm in a fresh home: short heartbeats, CPU, one model cache per session."""
    home = tmp_path_factory.mktemp("farm")
    return Settings(
        home=home,
        # One conversion of the ONNX weights for the whole test session.
        model_cache_dir=tmp_path_factory.getbasetemp() / "model-cache",
        device="cpu",
        **{
            "heartbeat_interval_s": 1.0,
            "heartbeat_timeout_s": 3.0,
            "task_soft_time_limit_s": 60,
            "task_time_limit_s": 90,
            "visibility_timeout_s": 600,
            # Images within the thumbnail render in one pass; a small thumbnail makes these
            # sub-megapixel test photos tile, so cancel and kill land between tiles.
            "thumbnail_side": 256,
            "single_pass_pixels": 0,
            # Test workers share two cores with pytest and each other: one torch thread each.
            "torch_threads": 1,
            **values,
        },
    )


@contextlib.contextmanager
def farm_from_settings(settings: Settings) -> Iterator[Farm]:
    """Migrate the database, add a tenant, and hand out the farm; connections closed after."""
    settings.ensure_directories()
    upgrade_to_head(settings.database_url)
    database = make_engine(settings.database_url)
    sessions = make_session_factory(database)
    with sessions.begin() as session:
        tenant = Tenant(id=new_id(), name=f"tenant-{new_id()}")
        session.add(tenant)
    app = make_celery(settings)
    log_dir = settings.home / "logs"
    log_dir.mkdir()
    try:
        yield Farm(settings, sessions, storage_from_settings(settings), app, tenant.id, log_dir)
    finally:
        app.close()
        database.dispose()


@contextlib.contextmanager
def open_farm(
    tmp_path_factory: pytest.TempPathFactory, postgres_session_url: URL, broker_url: str | None = None, **values: Any
) -> Iterator[Farm]:
    """A farm on a fresh PostgreSQL schema and a claimed Redis database; both emptied after.

    ``broker_url`` replaces the claimed Redis database (a Redis server of the test's own);
    ``values`` are further settings.
    """
    schema = f"w_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(postgres_session_url), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = postgres_session_url.update_query_dict({"options": f"-csearch_path={schema}"})
    broker_url = broker_url or f"{REDIS_URL}/{claim_redis_db()}"
    database_url = url.render_as_string(hide_password=False)
    try:
        with farm_from_settings(
            farm_settings(tmp_path_factory, database_url=database_url, broker_url=broker_url, **values)
        ) as farm:
            yield farm
    finally:
        client = redis.Redis.from_url(broker_url)
        client.flushdb()
        client.close()
        with psycopg.connect(_libpq(postgres_session_url), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextlib.contextmanager
def running_worker(farm: Farm, name: str) -> Iterator[WorkerProcess]:
    """A worker process of ``farm``, ready to consume, stopped after (for module-scoped fixtures)."""
    worker = farm.start_worker(name)
    print(f"\nworker {name} ready in {worker.wait_ready():.1f} s")
    try:
        yield worker
    finally:
        worker.stop()
