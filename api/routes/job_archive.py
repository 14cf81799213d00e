"""``GET /v1/jobs/<id>/archive``: every finished output of a job in one zip, streamed as it is built.

Why streamed: a job's outputs can add up to gigabytes; the zip is written entry by entry into
the response (stdlib ``zipfile`` on an unseekable sink uses data descriptors), so the API holds
one chunk at a time, never the archive. Images are already compressed, so entries are stored.
Entry names say what each file is: position, input file name and style label.
"""

from __future__ import annotations

import re
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from flask import Blueprint, Response, stream_with_context
from spectree import Response as Responses
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth.bearer import current_tenant_id
from api.common import job_items, tenant_job
from api.extensions import db, object_store
from api.openapi import describe
from api.schemas import ErrorOut
from shared.db import ItemRole, JobItem, JobStatus, Upload
from shared.errors import NotFoundError
from shared.keys import OUTPUT_EXTENSIONS
from shared.storage import Storage

bp = Blueprint("job_archive", __name__, url_prefix="/v1/jobs")

CHUNK_BYTES = 1 << 20
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


@dataclass(frozen=True)
class ArchiveEntry:
    """One output to put in the archive, under ``name``."""

    name: str
    key: str
    size: int


class _ChunkSink:
    """A write-only file for ``zipfile``: collects what is written until the stream takes it."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: chunks leave through ``take``."""

    def take(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data


def safe_name_part(text: str, fallback: str) -> str:
    """``text`` reduced to characters safe in a file name on every system (``fallback`` if none are)."""
    cleaned = _UNSAFE.sub("_", text).strip("._")[:80]
    return cleaned or fallback


def _input_names(session: Session, items: list[JobItem]) -> dict[str, str]:
    """The client's file name (without extension) of each input key that has an upload record."""
    keys = {item.input_key for item in items}
    rows = session.execute(select(Upload.storage_key, Upload.filename).where(Upload.storage_key.in_(keys)))
    return {key: PurePosixPath(filename).stem for key, filename in rows if filename}


def archive_entries(session: Session, items: list[JobItem]) -> list[ArchiveEntry]:
    """The finished outputs among ``items`` (not video segments), with unique, descriptive entry names."""
    done = [
        item
        for item in items
        if item.status == JobStatus.SUCCEEDED and item.output_key and item.role != ItemRole.SEGMENT
    ]  # a video's segments are intermediate: its join item holds the video
    names = _input_names(session, done)
    entries = []
    for item in done:
        stem = names.get(item.input_key) or item.input_key.rsplit("/", 1)[-1]
        label = str((item.style_ref or {}).get("label", "style"))
        output_format = item.output_format or "png"
        extension = OUTPUT_EXTENSIONS.get(output_format, output_format)
        name = f"{item.position:04d}-{safe_name_part(stem, 'input')}-{safe_name_part(label, 'style')}.{extension}"
        entries.append(ArchiveEntry(name=name, key=item.output_key or "", size=item.output_bytes or 0))
    return entries


def stream_zip(storage: Storage, entries: list[ArchiveEntry]) -> Iterator[bytes]:
    """The zip of ``entries`` read from ``storage``, yielded in chunks as it is written."""
    sink = _ChunkSink()
    stamp = time.gmtime()[:6]
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED) as archive:  # type: ignore[arg-type]
        for entry in entries:
            info = zipfile.ZipInfo(entry.name, date_time=stamp)
            info.file_size = entry.size  # lets zipfile choose ZIP64 up front for outputs over 2 GiB
            with storage.open_read(entry.key) as source, archive.open(info, mode="w") as target:
                while chunk := source.read(CHUNK_BYTES):
                    target.write(chunk)
                    yield sink.take()
            yield sink.take()
    yield sink.take()  # the central directory, written on close


@bp.get("/<job_id>/archive")
@describe(resp=Responses(HTTP_200=None, **{"HTTP_401": ErrorOut, "HTTP_404": ErrorOut}), tags=["jobs"])
def job_archive(job_id: str) -> Response:
    """Download the job's finished outputs as one zip (``application/zip``), streamed.

    Entries are named ``<position>-<input name>-<style>.<ext>``; a 404 while no output is ready.
    """
    session = db.session
    job = tenant_job(session, current_tenant_id(), job_id)
    entries = archive_entries(session, job_items(session, job.id))
    if not entries:
        raise NotFoundError(f"job {job_id} has no finished outputs yet ({job.status})", details={"status": job.status})
    session.close()  # the stream reads storage only
    response = Response(stream_with_context(stream_zip(object_store.storage, entries)), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{job.id}.zip"'
    return response
