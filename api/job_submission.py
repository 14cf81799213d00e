"""Turning a validated ``JobCreate`` into a job and its items, once per Idempotency-Key.

Everything is checked before anything is written: every input exists under the tenant's uploads
(and, when it came through a presigned URL, is a real image within limits) and every style
resolves to a ready one. The job and all its items are then written in one transaction; the
caller enqueues the items after the commit, so a worker never sees an item that is not there.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.common import job_items
from api.style_refs import resolve_style_groups
from api.uploads import PRESIGNED_PREFIX, check_upload_size, inspect_image, is_upload_id
from shared.db import Job, JobItem, JobStatus
from shared.errors import BadInputError, ConflictError, StyleFarmError
from shared.keys import upload_key
from shared.schemas.jobs import JobCreate
from shared.settings import Settings
from shared.storage import Storage


@dataclass
class Submission:
    job: Job
    items: list[JobItem]
    created: bool  # False: an earlier request with the same Idempotency-Key made this job


def _input_keys(storage: Storage, settings: Settings, tenant_id: str, upload_ids: list[str]) -> list[str]:
    """The storage key of each input, after checking it is one of the tenant's uploads."""
    keys = []
    checked: set[str] = set()
    for upload_id in upload_ids:
        key = upload_key(tenant_id, upload_id) if is_upload_id(upload_id) else None
        if key is None or not storage.exists(key):
            raise BadInputError(f"upload {upload_id!r} not found", details={"input": upload_id})
        if upload_id.startswith(PRESIGNED_PREFIX) and upload_id not in checked:
            _check_presigned_upload(storage, settings, key, upload_id)
        checked.add(upload_id)
        keys.append(key)
    return keys


def _check_presigned_upload(storage: Storage, settings: Settings, key: str, upload_id: str) -> None:
    """Apply the upload checks to an object a client PUT directly to the store."""
    try:
        check_upload_size(storage.size(key), settings)  # before reading a huge object just to refuse it
        inspect_image(storage.get_bytes(key), settings)
    except StyleFarmError as exc:
        raise type(exc)(f"upload {upload_id}: {exc.message}", details={"input": upload_id, **exc.details}) from None


def _existing(session: Session, tenant_id: str, idempotency_key: str, request: JobCreate) -> Submission | None:
    job = session.scalar(select(Job).where(Job.tenant_id == tenant_id, Job.idempotency_key == idempotency_key))
    if job is None:
        return None
    if job.params != request.model_dump(mode="json"):
        raise ConflictError("this Idempotency-Key was already used for a different request", details={"job_id": job.id})
    return Submission(job, job_items(session, job.id), created=False)


def submit_job(
    session: Session,
    storage: Storage,
    settings: Settings,
    tenant_id: str,
    request: JobCreate,
    idempotency_key: str | None = None,
) -> Submission:
    """The job for ``request``: made now, or found by ``idempotency_key`` (then ``created`` is False)."""
    if idempotency_key is not None and (found := _existing(session, tenant_id, idempotency_key, request)):
        return found
    input_keys = _input_keys(storage, settings, tenant_id, request.inputs)
    style_refs = resolve_style_groups(session, tenant_id, request.style_groups())
    job = Job(
        tenant_id=tenant_id,
        kind=request.kind,
        status=JobStatus.QUEUED,
        params=request.model_dump(mode="json"),
        priority=request.priority,
        idempotency_key=idempotency_key,
    )
    session.add(job)
    session.flush()  # the job id, for the items
    items = [
        JobItem(job_id=job.id, position=position, input_key=input_key, style_ref=ref.model_dump(mode="json"))
        for position, (input_key, ref) in enumerate((input_key, ref) for input_key in input_keys for ref in style_refs)
    ]
    session.add_all(items)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        if idempotency_key is not None and (found := _existing(session, tenant_id, idempotency_key, request)):
            return found  # a concurrent request with the same key won the race
        raise
    return Submission(job, items, created=True)


def withdraw_job(session: Session, job: Job) -> None:
    """Remove a job whose items could not be enqueued, so a retry with the same key starts afresh."""
    session.rollback()
    session.execute(delete(JobItem).where(JobItem.job_id == job.id))
    session.execute(delete(Job).where(Job.id == job.id))
    session.commit()
