"""A render killed at the hard time limit fails its item at once, with a message.

Why: at the soft limit the task itself raises and the executor fails the item; at the hard
limit the pool kills the child, so nothing in it runs again. The item would stay ``running``
until the sweeper saw its heartbeat go stale, and then be rendered again (and killed again).
Celery (5.4+) sends ``task_failure`` with ``TimeLimitExceeded`` from the worker's main process
for a hard timeout, before it stops the child: that is where the item is failed. The message
was acknowledged by then (``acks_on_failure_or_timeout``), so nothing redelivers it.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from celery import Task
from celery.exceptions import TimeLimitExceeded

from shared.db import JobStatus, utcnow
from shared.queue import RENDER_ITEM
from worker.runtime.context import get_context
from worker.runtime.job_state import finish_item, lock_item_and_job

log = logging.getLogger(__name__)


def hard_limit_message(limit_s: object) -> str:
    return f"exceeded the hard time limit of {limit_s} s; the render was stopped"


def fail_item_at_hard_limit(item_id: str, limit_s: object) -> bool:
    """Fail the item if it still runs on this host; True when it was failed."""
    with get_context().sessions.begin() as session:
        locked = lock_item_and_job(session, item_id)
        if locked is None:
            return False
        item, job = locked
        host = (item.worker_id or "").rpartition(":")[0]
        if item.status != JobStatus.RUNNING or host != socket.gethostname():
            return False  # finished meanwhile, or already taken over by another machine
        error = hard_limit_message(limit_s)
        finish_item(session, item, job, JobStatus.FAILED, utcnow(), error=error, worker_id=item.worker_id)
    return True


def on_task_failure(sender: Task | None = None, exception: BaseException | None = None, **kwargs: Any) -> None:
    """``task_failure`` receiver: act on a render's hard timeout only (soft ones are the executor's)."""
    if sender is None or sender.name != RENDER_ITEM or not isinstance(exception, TimeLimitExceeded):
        return
    args = kwargs.get("args") or []
    if not args:
        return
    limit_s = exception.args[0] if exception.args else "?"
    try:
        if fail_item_at_hard_limit(str(args[0]), limit_s):
            log.error("item %s failed: %s", args[0], hard_limit_message(limit_s))
    except Exception:  # never take the worker's main process down; the sweeper catches up later
        log.exception("could not fail item %s after its hard time limit", args[0])
