"""How a failed attempt is classified and described on an item or a style.

Why one place: the render and embed tasks retry the same errors (Celery's ``autoretry_for``) and
must phrase the same failures alike, so a person reading ``item.error`` sees one vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import OperationalError

from shared.errors import StorageError, StyleFarmError

# Worth retrying later: storage unreachable, database connection lost.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (StorageError, OperationalError)


def is_transient(exc: BaseException) -> bool:
    """Whether the same attempt may succeed later (the task is then retried by Celery)."""
    return isinstance(exc, OperationalError) or (isinstance(exc, StyleFarmError) and exc.transient)


def describe(exc: BaseException, soft_time_limit_s: int) -> str:
    """A one-line message for a person: the farm's own message, or the exception's class and text."""
    if any(isinstance(link, SoftTimeLimitExceeded) for link in _chain(exc)):
        # Also when the limit landed inside a database call and its clean-up raised another error.
        return f"exceeded the time limit of {soft_time_limit_s} s"
    if isinstance(exc, StyleFarmError):
        return exc.message
    if isinstance(exc, OperationalError):
        return f"database unavailable: {exc.orig!r}"
    return f"internal error: {exc.__class__.__name__}: {exc}"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling, newest first."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
