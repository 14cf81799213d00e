"""A tenant's new style: its name checked, its file stored, the rows committed, its worker task sent.

Why one helper: image styles (``embed_style``), network styles (``validate_network``) and refined
versions (``refine_style``) are all created ``pending`` and made ``ready`` by a worker, so each has
the same duty when the queue is down: remove the rows and the stored file again (503), since
nothing would ever prepare the style and it must not stay pending forever.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from celery import Celery
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.common import QueueUnavailableError, broker_errors
from shared.db import Base, Style
from shared.errors import BadInputError, ConflictError
from shared.storage import Storage

RESERVED_NAME_PREFIX = "builtin"  # names of the public styles; a tenant's style would shadow them


def checked_name(session: Session, tenant_id: str, name: str, style_id: str | None = None) -> str:
    name = name.strip()
    if not name:
        raise BadInputError("a style name must not be blank")
    if name.lower().startswith(RESERVED_NAME_PREFIX):
        raise BadInputError(f"style names starting with {RESERVED_NAME_PREFIX!r} are reserved for the built-ins")
    if session.scalar(select(Style.id).where(Style.tenant_id.is_(None), Style.name == name)) is not None:
        raise BadInputError(f"{name!r} is the name of a built-in style; choose another")
    clash = session.scalar(select(Style.id).where(Style.tenant_id == tenant_id, Style.name == name))
    if clash is not None and clash != style_id:
        raise ConflictError(f"you already have a style named {name!r}", details={"style_id": clash})
    return name


def commit_name_change(session: Session, name: str) -> None:
    try:
        session.commit()
    except IntegrityError:  # a concurrent request took the name between the check and the commit
        session.rollback()
        raise ConflictError(f"you already have a style named {name!r}") from None


def save_pending_style(
    session: Session,
    storage: Storage,
    celery: Celery,
    style: Style,
    stored: tuple[str, bytes, str | None],
    enqueue: Callable[[Celery, str], None],
    *,
    rows: Sequence[Base] = (),
    task_arg: str | None = None,
) -> None:
    """Store the style's file, commit the ``pending`` style (and ``rows``), then ``enqueue`` its task.

    Args:
        stored: the storage key, bytes and content type of the file the worker will read.
        rows: rows created with the style (a refinement's job and item), removed with it when the
            queue is down.
        task_arg: what the task is sent (the style's id unless given: a refinement sends its item's).
    """
    key, data, content_type = stored
    storage.put_bytes(key, data, content_type)
    session.add_all([style, *rows])
    commit_name_change(session, style.name)
    try:
        with broker_errors():
            enqueue(celery, task_arg or style.id)
    except QueueUnavailableError:
        for row in [*reversed(rows), style]:
            session.delete(row)
            session.flush()
        session.commit()
        storage.delete(key)
        raise
