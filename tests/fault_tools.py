"""Things the fault tests break on purpose: a Redis server, and TCP paths to PostgreSQL and S3.

Each is the test's own, on its own loopback port, so breaking it never touches the services
other tests (and other people) share: the machine's PostgreSQL and the session's S3 server keep
running while a proxy in front of them refuses connections, and the Redis server is a process
started here. Also a sweeper on a timer, as ``stylefarm up`` runs one. Not a test module.
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from api.app import create_app
from api.auth.keys import create_api_key
from api.extensions import db, dispose
from shared.db import JobItem, JobStatus, Tenant
from shared.settings import Settings
from tests.conftest_api import upload
from tests.conftest_farm import free_port
from tests.worker_farm import BUILTIN_STYLE, Farm, WorkerProcess, png_bytes, wait_until
from worker.runtime.sweeper import run_sweep_once

log = logging.getLogger(__name__)


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Workers started meanwhile run torch on one thread (``OMP_NUM_THREADS``, read at start).

    Why: on a machine shared with other test runs, OpenMP's spinning threads in every worker slow
    a tile by an order of magnitude, and the kill and limit tests aim at renders in progress.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMP_NUM_THREADS", "1")
        yield


def distinct_photos(source: Path, count: int, size: tuple[int, int]) -> list[bytes]:
    """``count`` PNGs of ``source`` at ``size``, each with one pixel changed so none is a cache hit."""
    base = Image.open(source).convert("RGB").resize(size)
    photos = []
    for number in range(count):
        image = base.copy()
        image.putpixel((number % size[0], 0), (number % 256, 255 - number % 256, 7))
        photos.append(png_bytes(image))
    return photos


def count_items(farm: Farm, status: JobStatus) -> int:
    """How many of the farm's items have ``status`` now."""
    with farm.sessions() as session:
        return session.scalar(select(func.count()).select_from(JobItem).where(JobItem.status == status)) or 0


def wait_all_finished(
    farm: Farm, item_ids: Sequence[str], timeout_s: float, workers: Sequence[WorkerProcess] = ()
) -> dict[str, JobItem]:
    """Every item once all are finished; on timeout, fail with the unfinished ones and the worker logs."""
    deadline = time.monotonic() + timeout_s
    while True:
        with farm.sessions() as session:
            items = {item.id: item for item in session.scalars(select(JobItem).where(JobItem.id.in_(item_ids)))}
        unfinished = [item for item in items.values() if not JobStatus(item.status).finished]
        if len(items) == len(item_ids) and not unfinished:
            return items
        if time.monotonic() > deadline:
            states = "\n".join(
                f"{item.id}: {item.status} on {item.worker_id}, {[e['event'] for e in item.history or []]}"
                for item in unfinished
            )
            logs = "\n".join(f"--- {worker.name} ---\n{_unusual_lines(worker.log())[-6000:]}" for worker in workers)
            pytest.fail(f"{len(unfinished)} items unfinished after {timeout_s:.0f} s:\n{states}\n{logs}")
        time.sleep(0.1)


def _unusual_lines(log: str) -> str:
    """A worker log without the lines every successful render writes."""
    routine = ("rendered in", "succeeded in", "] received")
    return "\n".join(line for line in log.splitlines() if not any(word in line for word in routine))


def decodes(data: bytes) -> tuple[int, int]:
    """The size of a stored output, after decoding every pixel (raises on a truncated file)."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.size


@dataclass
class RedisServer:
    """A ``redis-server`` of the test's own, with append-only persistence in ``folder``."""

    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10.0) -> float:
        """Start (or restart) the server; seconds until it answers PING."""
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError("redis-server is not installed")
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [
            executable, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
            "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "no",
        ]  # fmt: skip
        started = time.monotonic()
        with (self.folder / "redis.log").open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        wait_until(self._answers, timeout_s, f"redis-server on port {self.port}", interval_s=0.05)
        return time.monotonic() - started

    def crash(self) -> None:
        """SIGKILL the server, as a crashed machine: what was fsynced to the AOF survives."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def _answers(self) -> bool:
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False
        finally:
            client.close()


class TcpProxy:
    """A loopback TCP relay to ``upstream`` that can be cut (new connections refused, open ones
    dropped) and restored on the same port, as a database server that goes away and comes back."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.connections = 0
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), name="proxy-accept", daemon=True)
        self._acceptor.start()

    def cut(self) -> None:
        """Refuse new connections and reset the open ones."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _close(sock)

    def restore(self) -> None:
        self.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._sockets.update((client, server))
                self.connections += 1
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), name="proxy-pump", daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                _close(sock)
            with self._lock:
                self._sockets.difference_update((source, target))


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@dataclass
class FarmApi:
    """The REST API on a farm's database, broker and storage, in this process (Flask's test client),
    with a key of the farm's tenant."""

    app: Flask
    client: FlaskClient
    headers: dict[str, str]

    def upload(self, photo: bytes) -> str:
        response = upload(self.client, self.headers, photo)
        assert response.status_code == 201, response.get_json()
        return str(response.get_json()["id"])

    def submit(self, upload_id: str, idempotency_key: str) -> TestResponse:
        body = {"inputs": [upload_id], "styles": [{"style": f"builtin:{BUILTIN_STYLE}"}]}
        return self.client.post("/v1/jobs", json=body, headers={**self.headers, "Idempotency-Key": idempotency_key})


@contextlib.contextmanager
def farm_api(farm: Farm) -> Iterator[FarmApi]:
    settings = farm.settings
    app = create_app(
        {
            "home": str(settings.home),
            "database_url": settings.database_url,
            "broker_url": settings.broker_url,
            "storage_root": str(settings.storage_root),
            "TESTING": True,
        }
    )
    try:
        with farm.sessions() as session:
            tenant_name = session.scalar(select(Tenant.name).where(Tenant.id == farm.tenant_id))
        with app.app_context():
            key = create_api_key(db.session, str(tenant_name))
        yield FarmApi(app, app.test_client(), {"Authorization": f"Bearer {key}"})
    finally:
        dispose(app)


class SweeperLoop:
    """``run_sweep_once`` every ``interval_s`` in a thread, as ``stylefarm up`` does; errors are
    counted (the broker or the database may be the thing a test broke), never raised."""

    def __init__(self, settings: Settings, interval_s: float = 0.5) -> None:
        self.settings = settings
        self.interval_s = interval_s
        self.requeued: list[str] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sweeper", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.requeued += run_sweep_once(self.settings)
            except Exception as exc:  # a broken service: try again next round
                self.errors.append(f"{exc.__class__.__name__}: {exc}")

    @contextlib.contextmanager
    def running(self) -> Iterator[SweeperLoop]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=30)
