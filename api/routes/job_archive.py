"""``GET /v1/jobs/<id>/archive``: every finished output of a job in one zip, streamed as it is built.

Why streamed: a job's outputs can add up to gigabytes; the zip is written entry by entry into
the response (stdlib ``zipfile`` on an unseekable sink uses data descriptors), so the API holds
one chunk at a time, never the archive. Images are already compressed, so entries are stored.
Entries are named as every download is (``shared/output_names.py``): ``<input>__<style>.<ext>``,
``-2``, ``-3``... when two outputs would share a name.
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from flask import Blueprint, Response, stream_with_context
from spectree import Response as Responses
from sqlalchemy.orm import Session

from api.auth.bearer import current_tenant_id
from api.common import job_items, tenant_job
from api.extensions import db, object_store
from api.openapi import describe
from api.schemas import ErrorOut
from api.serializers import input_names
from shared.db import ItemRole, JobItem, JobStatus
from shared.errors import NotFoundError
from shared.output_names import numbered, output_file_name, style_display_name
from shared.storage import Storage

bp = Blueprint("job_archive", __name__, url_prefix="/v1/jobs")

CHUNK_BYTES = 1 << 20


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


def archive_entries(session: Session, items: list[JobItem]) -> list[ArchiveEntry]:
    """The finished outputs among ``items`` (not video segments), with unique, descriptive entry names."""
    done = [
        item
        for item in items
        if item.status == JobStatus.SUCCEEDED and item.output_key and item.role != ItemRole.SEGMENT
    ]  # a video's segments are intermediate: its join item holds the video
    names = input_names(session, done)
    taken: set[str] = set()
    entries = []
    for item in sorted(done, key=lambda it: it.position):
        input_name = names.get(item.input_key) or item.input_key.rsplit("/", 1)[-1]
        name = output_file_name(input_name, style_display_name(item.style_ref), item.output_format)
        entries.append(ArchiveEntry(name=numbered(name, taken), key=item.output_key or "", size=item.output_bytes or 0))
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

    Entries are named ``<input>__<style>.<ext>`` (the items' ``file_name``); a 404 while no output is ready.
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
