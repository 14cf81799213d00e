"""Warm shutdown hands the running item back instead of finishing a long render first.

Why: Celery's warm shutdown (SIGTERM) waits for every running task, and a render may take an
hour, longer than a deploy or an autoscaler waits before it kills the machine anyway. So the
worker's main process, when it starts shutting down, sends ``HAND_BACK_SIGNAL`` to each pool
child that runs a task; the child's handler only raises a flag, the render checks it between
tiles (where the engine already checks for a cancel), puts the item back to ``queued`` and
raises ``HandBack``; the task turns that into Celery's ``Reject(requeue=True)``, so the broker
gives the message to another worker at once. A render without tiles simply finishes.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Any

from celery.exceptions import Reject
from celery.worker import state

from shared.db import JobItem, JobStatus

log = logging.getLogger(__name__)

# Free in a prefork child: Celery resets TERM/HUP/USR1 there and only uses USR2 for its remote
# debugger, when CELERY_RDBSIG is set.
HAND_BACK_SIGNAL = signal.SIGUSR2

_requested = threading.Event()


class HandBack(Exception):
    """The worker is shutting down: the item was put back to ``queued`` for another worker."""


def install_child_handler(**_: Any) -> None:
    """In a new pool child (``worker_process_init``): note a hand-back request, nothing more."""
    _requested.clear()
    signal.signal(HAND_BACK_SIGNAL, _on_hand_back_signal)


def _on_hand_back_signal(_signum: int, _frame: FrameType | None) -> None:
    _requested.set()


def signal_busy_children(**_: Any) -> None:
    """In the main process (``worker_shutting_down``): ask each child running a task to hand it back."""
    pids = {request.worker_pid for request in list(state.active_requests) if request.worker_pid}
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, HAND_BACK_SIGNAL)
    if pids:
        log.warning("shutting down: asked pool processes %s to hand their items back", sorted(pids))


def hand_back_requested() -> bool:
    return _requested.is_set()


def stop_check(should_cancel: Callable[[], bool]) -> Callable[[], bool]:
    """The engine's ``should_cancel`` callback, raising ``HandBack`` once a shutdown asked for it."""

    def check() -> bool:
        if hand_back_requested():
            raise HandBack("the worker is shutting down")
        return should_cancel()

    return check


def hand_back_item(item: JobItem, worker_id: str) -> None:
    """Put a running item of this worker back to ``queued`` (call with its job and item locked).

    The job keeps its status: other items may run, and the next claim marks it running anyway.
    """
    item.status = JobStatus.QUEUED
    item.worker_id = None
    item.heartbeat_at = None
    item.tiles_done = 0
    item.record_event("handed_back", worker_id=worker_id)


@contextmanager
def handing_back() -> Iterator[None]:
    """Turn ``HandBack`` into Celery's requeueing reject (acks_late: the message goes back)."""
    try:
        yield
    except HandBack as exc:
        raise Reject(str(exc), requeue=True) from exc
