"""``stylefarm up``: the whole farm on one machine, as real separate processes.

Migrates the database (which also registers the 26 built-in styles), then starts a Celery worker
process and the API under gunicorn, and runs the lost-item sweep on a timer until interrupted.
With no configuration this is SQLite, local files and kombu's filesystem broker under the home
folder; with ``STYLEFARM_*`` settings the same command runs against PostgreSQL, Redis and S3.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import requests

from shared.db.migrate import upgrade_to_head
from shared.queue import WORKER_QUEUES
from shared.settings import Settings


class StackError(RuntimeError):
    """A process of the stack did not start or died."""


class LocalStack:
    """The API and one worker as child processes, sharing ``settings``.

    ``started_groups`` holds the process group of every child any stack of this process started,
    so a test session can make sure none outlives it.
    """

    started_groups: ClassVar[set[int]] = set()

    def __init__(
        self, settings: Settings, port: int, log_dir: Path | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.settings = settings
        self.extra_env = env or {}
        self.port = port
        self.log_dir = log_dir or settings.home / "logs"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        env = {**os.environ, **self.extra_env}
        env["STYLEFARM_HOME"] = str(self.settings.home)
        return env

    def _spawn(self, name: str, args: list[str], nice: int = 0) -> None:
        """Start ``args`` in a process group of its own, so stopping it also ends its children
        (Celery's pool child, gunicorn's workers) even when the main process is killed; ``nice``
        lowers its priority (``nice(1)`` runs before the interpreter, so every child inherits it)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        command = ["nice", "-n", str(nice), *args] if nice else args
        with (self.log_dir / f"{name}.log").open("ab") as log:  # the child keeps its own descriptor
            self.processes[name] = subprocess.Popen(
                command, env=self._env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        LocalStack.started_groups.add(self.processes[name].pid)

    def start(self, timeout_s: float = 60.0, *, worker: bool = True) -> None:
        """Migrate, start the worker (unless ``worker`` is False) and the API, and wait until the API answers."""
        self.settings.ensure_directories()
        upgrade_to_head(self.settings.database_url)
        python = sys.executable
        if worker:
            self._spawn(
                "worker",
                [python, "-m", "celery", "-A", "worker.celery_app", "worker", "-Q", WORKER_QUEUES,
                 "--pool", "prefork", "--concurrency", str(self.settings.worker_concurrency), "--loglevel", "INFO"],
                nice=self.settings.worker_nice,
            )  # fmt: skip
        self._spawn(
            "api",
            [python, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.settings.api_workers),
             "--threads", str(self.settings.api_threads), "api.wsgi:app"],
        )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise StackError(f"the API did not answer on {self.url} within {timeout_s:.0f} s (see {self.log_dir})")

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise StackError(f"the {name} process exited with {process.returncode}; see {self.log_dir / name}.log")

    def sweep(self) -> list[str]:
        """Requeue items whose worker stopped sending heartbeats."""
        from worker.runtime.sweeper import run_sweep_once  # no torch: the sweeper only touches the database

        return run_sweep_once(self.settings)

    def run_forever(self) -> None:
        interval = self.settings.heartbeat_timeout_s / 2
        while True:
            self.check_alive()
            self.sweep()
            time.sleep(interval)

    def stop(self, timeout_s: float = 30.0) -> None:
        """Ask every process to stop (the worker hands its item back), then end their groups.

        Only the groups this stack started are signalled: each child leads its own group. A second
        Ctrl-C or SIGTERM meanwhile is ignored, so an impatient repeat cannot cut the stop short and
        leave children running (every wait is bounded, and SIGKILL ends what did not stop).
        """
        with _signals_ignored(signal.SIGINT, signal.SIGTERM):
            self._stop_children(timeout_s)

    def _stop_children(self, timeout_s: float) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=timeout_s)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)  # leftovers of a group whose leader has exited
            process.wait(timeout=10)


@contextlib.contextmanager
def _signals_ignored(*signums: signal.Signals) -> Iterator[None]:
    """Ignore ``signums`` inside the block (in the main thread: only it may set handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in signums}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def signals_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM and SIGINT as Ctrl-C while the stack runs in the foreground, so ``stop`` still runs.

    SIGINT too, explicitly: a process started in the background by a non-interactive shell (``cmd &``,
    ``nohup``) inherits SIGINT ignored, and Python then leaves it ignored, so Ctrl-C (or a
    supervisor's SIGINT) would not stop the farm.
    """

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, interrupt) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
