"""What a running item tells the database while it renders: tiles done, heartbeats, cancel checks.

Why short transactions with a guard: the render holds no session; each write is its own
transaction that only touches the row while this worker still owns it, so a sweeper that has
handed the item to another worker stops this one instead of two workers writing the same row.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from shared.db import Job, JobItem, JobStatus, utcnow

log = logging.getLogger(__name__)

MIN_WRITE_INTERVAL_S = 0.5  # progress writes and cancel checks, at most this often


class ItemReassigned(Exception):
    """The item is no longer running on this worker (swept as lost, or finished elsewhere)."""


def touch_item(sessions: sessionmaker[Session], item_id: str, worker_id: str, **values: Any) -> bool:
    """Update the item (and its heartbeat) if this worker still runs it; False when it does not."""
    with sessions.begin() as session:
        result = session.execute(
            update(JobItem)
            .where(JobItem.id == item_id, JobItem.worker_id == worker_id, JobItem.status == JobStatus.RUNNING)
            .values(heartbeat_at=utcnow(), **values)
        )
    return bool(result.rowcount)  # type: ignore[attr-defined]


class ItemProgress:
    """The engine's ``progress`` and ``should_cancel`` callbacks for one item, throttled.

    Args:
        min_interval_s: least time between two writes (or two cancel checks); the last tile's
            progress is always written.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        item_id: str,
        worker_id: str,
        min_interval_s: float = MIN_WRITE_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self.item_id = item_id
        self.worker_id = worker_id
        self.min_interval_s = min_interval_s
        self.clock = clock
        self._last_write = -float("inf")
        self._last_check = -float("inf")

    def report(self, done: int, total: int) -> None:
        """Record ``done`` of ``total`` tiles; raises ItemReassigned when the item moved on."""
        now = self.clock()
        if done < total and now - self._last_write < self.min_interval_s:
            return
        self._last_write = now
        if not touch_item(self.sessions, self.item_id, self.worker_id, tiles_done=done, tiles_total=total):
            raise ItemReassigned(f"item {self.item_id} is no longer running on {self.worker_id}")

    def should_cancel(self) -> bool:
        """Whether the job's cancel was requested (checked at most every ``min_interval_s``)."""
        now = self.clock()
        if now - self._last_check < self.min_interval_s:
            return False
        self._last_check = now
        with self.sessions() as session:
            row = session.execute(
                select(Job.cancel_requested, JobItem.status, JobItem.worker_id)
                .join(JobItem, JobItem.job_id == Job.id)
                .where(JobItem.id == self.item_id)
            ).one_or_none()
        if row is None or row.status != JobStatus.RUNNING or row.worker_id != self.worker_id:
            raise ItemReassigned(f"item {self.item_id} is no longer running on {self.worker_id}")
        return bool(row.cancel_requested)


class Heartbeat:
    """A daemon thread bumping ``heartbeat_at`` every ``interval_s`` while a render runs.

    Why besides tile progress: one large tile (or the thumbnail statistics pass) can take longer
    than the sweeper's timeout. Failures are logged, not raised: the render's own writes surface them.
    """

    def __init__(self, sessions: sessionmaker[Session], item_id: str, worker_id: str, interval_s: float) -> None:
        self.sessions = sessions
        self.item_id = item_id
        self.worker_id = worker_id
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{item_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                if not touch_item(self.sessions, self.item_id, self.worker_id):
                    return  # no longer ours; the render's next progress write stops it
            except SQLAlchemyError as exc:
                log.warning("heartbeat of item %s failed: %s", self.item_id, exc)
