"""Helpers every blueprint shares: the API's own errors, tenant-scoped lookups, pagination, files.

Why here: each resource module stays about its resource; "another tenant's job is a 404" and
"how a page of results is cut" are decided once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, TypeVar

from flask import Response, redirect, send_file
from kombu.exceptions import OperationalError as BrokerOperationalError
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, joinedload

from api.schemas import Page
from shared.db import Job, JobItem, Style
from shared.errors import NotFoundError, StyleFarmError
from shared.storage import Storage

T = TypeVar("T")

# Ids are UUIDs (``builtin:N`` for public styles); anything else cannot name a row, so it is
# refused before it reaches a query or a storage key.
_ID = re.compile(r"[A-Za-z0-9:_\-]{1,64}")

CONTENT_TYPES = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "tiff": "image/tiff",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "mkv": "video/x-matroska",
    "webm": "video/webm",
}


class UnauthorizedError(StyleFarmError):
    """No API key, or one that is unknown, revoked or of a disabled tenant."""

    status = 401
    code = "unauthorized"
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": 'Bearer realm="stylefarm"'}


class DatabaseUnavailableError(StyleFarmError):
    """The database did not answer; the request can be retried."""

    status = 503
    code = "database_unavailable"
    transient = True


class QueueUnavailableError(StyleFarmError):
    """The broker did not accept a task; the request can be retried."""

    status = 503
    code = "queue_unavailable"
    transient = True


def is_valid_id(value: str) -> bool:
    """Whether ``value`` could be a row id (UUID or ``builtin:N``)."""
    return bool(_ID.fullmatch(value))


def tenant_job(session: Session, tenant_id: str, job_id: str, *, for_update: bool = False) -> Job:
    """The tenant's job ``job_id``; a 404 when it is missing or another tenant's (we do not say which)."""
    stmt = select(Job).where(Job.id == job_id, Job.tenant_id == tenant_id)
    if for_update:  # populate_existing: a row read earlier in this request is read again under the lock
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    job = session.scalar(stmt) if is_valid_id(job_id) else None
    if job is None:
        raise NotFoundError(f"job {job_id} not found")
    return job


def tenant_job_item(session: Session, tenant_id: str, job_id: str, item_id: str) -> JobItem:
    """Item ``item_id`` of the tenant's job ``job_id``; a 404 when either is missing (or another tenant's)."""
    job = tenant_job(session, tenant_id, job_id)
    item = session.scalar(select(JobItem).where(JobItem.id == item_id, JobItem.job_id == job.id))
    if item is None:
        raise NotFoundError(f"item {item_id} of job {job_id} not found")
    return item


def tenant_job_with_items(session: Session, tenant_id: str, job_id: str) -> tuple[Job, list[JobItem]]:
    """The tenant's job and its items in one round trip, items' history left unread.

    Why: a job's status is what clients poll; two queries and a JSON history per item doubled its cost.
    """
    stmt = (
        select(Job)
        .where(Job.id == job_id, Job.tenant_id == tenant_id)
        .options(joinedload(Job.items).defer(JobItem.history))
    )
    job = session.scalars(stmt).unique().first() if is_valid_id(job_id) else None
    if job is None:
        raise NotFoundError(f"job {job_id} not found")
    return job, list(job.items)


def job_items(session: Session, job_id: str, *, for_update: bool = False) -> list[JobItem]:
    """The items of a job in position order (relationships are ``lazy="raise"``: this is the query)."""
    stmt = select(JobItem).where(JobItem.job_id == job_id).order_by(JobItem.position)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return list(session.scalars(stmt))


def visible_styles(tenant_id: str) -> Any:
    """The condition for styles a tenant may see and use: the public built-ins and its own."""
    return or_(Style.tenant_id.is_(None), Style.tenant_id == tenant_id)


def visible_style(session: Session, tenant_id: str, style_id: str) -> Style:
    """A style the tenant may see, by id; a 404 otherwise."""
    style = None
    if is_valid_id(style_id):
        style = session.scalar(select(Style).where(Style.id == style_id, visible_styles(tenant_id)))
    if style is None:
        raise NotFoundError(f"style {style_id} not found")
    return style


def paginate(session: Session, stmt: Select[tuple[T]], page: Page) -> tuple[list[T], int, int | None]:
    """One page of ``stmt`` (already ordered): its rows, the total count and the next offset or None."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = list(session.scalars(stmt.limit(page.limit).offset(page.offset)))
    next_offset = page.offset + len(rows) if page.offset + len(rows) < total else None
    return rows, total, next_offset


def send_stored_object(storage: Storage, key: str, mimetype: str, download_name: str) -> Response:
    """A redirect to a presigned URL where the storage has them (S3), else the bytes streamed from it."""
    url = storage.presigned_get_url(key)
    if url is not None:
        return redirect(url, code=302)
    size = storage.size(key)
    response = send_file(storage.open_read(key), mimetype=mimetype, download_name=download_name)
    response.content_length = size
    return response


@contextmanager
def broker_errors() -> Iterator[None]:
    """Turn a broker that refuses or cannot be reached into a 503 the client may retry."""
    try:
        yield
    except (BrokerOperationalError, OSError) as exc:
        raise QueueUnavailableError(
            f"the task queue did not accept the work ({exc.__class__.__name__}); retry later"
        ) from exc
