"""The storage interface the API and workers write uploads, thumbnails and results through.

Why: one small interface lets a laptop run the farm on a folder and a cluster on S3 with no
code paths that know which one is behind it.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import BinaryIO

from shared.errors import BadInputError

MAX_KEY_LENGTH = 1024  # S3's own limit on a key, in bytes
_KEY_CHARS = re.compile(r"[A-Za-z0-9._=+\-/]+")


def validate_key(key: str) -> str:
    """Return ``key`` unchanged if it is a safe, farm-generated object key.

    Keys are made by the farm (``tenants/<id>/inputs/<uuid>.png``), never typed by users, so the
    rules are strict: relative, ``/``-separated, no empty, ``.`` or ``..`` segments, no segment
    starting with a dot (the local backend keeps its temporary files there), plain ASCII.
    """
    if not key or len(key.encode()) > MAX_KEY_LENGTH:
        raise BadInputError("a storage key must be 1 to 1024 bytes long", details={"key": key[:80]})
    if not _KEY_CHARS.fullmatch(key):
        raise BadInputError(f"storage key {key!r} has characters outside [A-Za-z0-9._=+-/]")
    if key.startswith("/") or any(not part or part.startswith(".") for part in key.split("/")):
        raise BadInputError(f"storage key {key!r} must be relative with no empty, '.' or '..' parts")
    return key


class Storage(ABC):
    """Object storage addressed by keys.

    Missing keys raise ``NotFoundError`` (except ``delete``, which is idempotent); failures of
    the medium or the network raise ``StorageError`` (transient: retry later).
    """

    @abstractmethod
    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Store ``data`` under ``key``, replacing any object there; readers never see half of it."""

    @abstractmethod
    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        """Store the file at ``path`` under ``key`` without reading it into memory at once."""

    @abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """The whole object."""

    @abstractmethod
    def open_read(self, key: str) -> BinaryIO:
        """A binary stream of the object; the caller closes it (``with storage.open_read(k) as f``)."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; removing a missing one is not an error."""

    @abstractmethod
    def size(self, key: str) -> int:
        """The object's size in bytes."""

    @abstractmethod
    def presigned_get_url(self, key: str, expires_s: int | None = None) -> str | None:
        """A time-limited URL a client can download from directly, or None if the backend has none."""

    @abstractmethod
    def presigned_put_url(self, key: str, expires_s: int | None = None, content_type: str | None = None) -> str | None:
        """A time-limited URL a client can upload to directly, or None if the backend has none."""
