"""The ``uploads`` rows: what a tenant sent, stored under a key the farm made from ids.

Why a row per upload: a job names its inputs by upload id, and the id is looked up among the
tenant's own rows, so neither a client's file name nor an id it made up ever becomes part of a
storage key (no path traversal, no reading another tenant's objects). The client's file name is
kept only sanitised, for display.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.utils import secure_filename

from shared.db import Upload, new_id
from shared.errors import BadInputError
from shared.keys import upload_key
from shared.storage import Storage

MAX_FILENAME_CHARS = 255  # the column's width
# A UUID, or a presigned upload's prefixed one: anything else cannot name a row, so it is not
# looked up at all (a NUL byte or a 10 kB "id" never reaches the database).
_UPLOAD_ID = re.compile(r"[A-Za-z0-9\-]{1,64}")


def is_upload_id(value: str) -> bool:
    """Whether ``value`` has the shape of an upload id."""
    return bool(_UPLOAD_ID.fullmatch(value))


@dataclass(frozen=True)
class MediaFacts:
    """What the bytes were found to hold (sniffed and decoded, never taken from the client)."""

    media: str  # image | video | network
    content_type: str
    width: int | None = None
    height: int | None = None
    frames: int | None = None


def safe_filename(name: str | None) -> str:
    """The client's file name reduced to ASCII letters, digits, ``._-`` (werkzeug's rules), or ""."""
    cleaned = secure_filename(name or "")
    if len(cleaned) > MAX_FILENAME_CHARS:
        stem, dot, extension = cleaned.rpartition(".")
        keep = MAX_FILENAME_CHARS - len(extension) - 1
        cleaned = f"{stem[:keep]}.{extension}" if dot and keep > 0 else cleaned[:MAX_FILENAME_CHARS]
    return cleaned


def store_upload(
    session: Session, storage: Storage, tenant_id: str, data: bytes, facts: MediaFacts, filename: str | None
) -> Upload:
    """Store ``data`` under a new farm-made key and record it; the committed row."""
    upload_id = new_id()
    key = upload_key(tenant_id, upload_id)
    storage.put_bytes(key, data, facts.content_type)  # first: a row never names a missing object
    upload = Upload(
        id=upload_id,
        tenant_id=tenant_id,
        storage_key=key,
        filename=safe_filename(filename),
        content_type=facts.content_type,
        media=facts.media,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        width=facts.width,
        height=facts.height,
        frames=facts.frames,
    )
    session.add(upload)
    session.commit()
    return upload


def reserve_upload(session: Session, tenant_id: str, upload_id: str, content_type: str | None) -> Upload:
    """Record an upload whose bytes the client will PUT to the store directly (checked when used)."""
    upload = Upload(
        id=upload_id,
        tenant_id=tenant_id,
        storage_key=upload_key(tenant_id, upload_id),
        content_type=content_type or "application/octet-stream",
        media="image",
    )
    session.add(upload)
    session.commit()
    return upload


def record_checked_bytes(upload: Upload, data: bytes, facts: MediaFacts) -> None:
    """Fill in what a presigned upload turned out to hold once it has been checked."""
    upload.size_bytes = len(data)
    upload.sha256 = hashlib.sha256(data).hexdigest()
    upload.content_type = facts.content_type
    upload.media = facts.media
    upload.width, upload.height, upload.frames = facts.width, facts.height, facts.frames


def tenant_uploads(session: Session, tenant_id: str, upload_ids: list[str]) -> list[Upload]:
    """The tenant's uploads named by ``upload_ids``, in that order; 400 naming the first one missing.

    Another tenant's upload is "not found" exactly like one that never existed.
    """
    wanted = {upload_id for upload_id in upload_ids if is_upload_id(upload_id)}
    rows = session.scalars(select(Upload).where(Upload.tenant_id == tenant_id, Upload.id.in_(wanted)))
    found = {row.id: row for row in rows}
    for upload_id in upload_ids:
        if upload_id not in found:
            raise BadInputError(f"upload {upload_id!r} not found", details={"input": upload_id})
    return [found[upload_id] for upload_id in upload_ids]
