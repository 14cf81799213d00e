"""Who runs an item (``hostname:pid``), and whether the process that claimed it is gone.

Why: a message can reach a worker twice (a killed child's message handed back by its parent, a
sweeper's re-enqueue racing the original). The database row says who claimed the item; a new
claim is only taken over from an owner that has stopped, so one item never renders twice at once.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta


def current_worker_id() -> str:
    """This process as ``hostname:pid`` (a prefork child, not the worker's main process)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_is_gone(
    owner: str | None,
    heartbeat_at: datetime | None,
    now: datetime,
    heartbeat_timeout_s: float,
    me: str,
) -> bool:
    """Whether a running item's claim by ``owner`` can be taken over by ``me``.

    Gone means: no owner or no heartbeat; a heartbeat older than the timeout; this very process
    (its earlier attempt ended, as one process runs one task at a time); or a process of this
    host that no longer exists (a killed child whose parent handed the message back at once).
    """
    if owner is None or heartbeat_at is None or owner == me:
        return True
    if now - heartbeat_at > timedelta(seconds=heartbeat_timeout_s):
        return True
    host, _, pid = owner.rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and not _process_exists(int(pid))


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return True
