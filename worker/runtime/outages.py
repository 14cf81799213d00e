"""A database outage never uses up an item's retries.

Why: Celery retries a transient error a bounded number of times, and the last attempt fails the
item with the reasons. But when the database itself is unreachable, that failure cannot be
recorded either: the item would stay ``queued`` (or ``running``) with no message left to move it,
a job accepted and never finished. So on the last attempt a database error asks Celery for one
more retry, after the longest backoff, for as long as the outage lasts; once the database answers
again, the item is finished or failed with its message as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from celery import Task
from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)


@contextmanager
def retrying_through_database_outages(task: Task, backoff_s: float) -> Iterator[None]:
    """Turn a database error on the last attempt into another retry ``backoff_s`` later."""
    try:
        yield
    except OperationalError as exc:
        retries = task.request.retries
        if retries < (task.max_retries or 0):
            raise  # Celery's own retries (autoretry_for) handle it
        log.warning("database unavailable on the last attempt; retrying in %.0f s: %s", backoff_s, exc.orig)
        raise task.retry(exc=exc, countdown=backoff_s, max_retries=retries + 1) from exc
