"""Turning a validated ``JobCreate`` into a job and its items, once per Idempotency-Key.

Everything is checked before anything is written: every input exists under the tenant's uploads
(and, when it came through a presigned URL, is a real image within limits) and every style
resolves to a ready one. The job and all its items are then written in one transaction; the
caller dispatches the items after the commit (``dispatch.py``), so a worker never sees an item that
is not there.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth.quotas import reserve_queue_room
from api.common import job_items
from api.services.image_inputs import PRESIGNED_PREFIX, check_upload_size, inspect_image
from api.services.job_controls import checked_mask_keys, item_settings
from api.services.optimize_checks import check_optimize_request
from api.services.recolor_sources import recolor_sources
from api.services.style_refs import resolve_style_groups
from api.services.upload_records import record_checked_bytes, tenant_uploads
from api.services.video_submission import video_job_items
from shared.db import Job, JobItem, JobStatus, Upload
from shared.errors import BadInputError, ConflictError, StyleFarmError
from shared.schemas.jobs import JobCreate
from shared.schemas.style_refs import StyleRef
from shared.settings import Settings
from shared.storage import Storage
from shared.video.output import requested_output
from shared.webhooks.targets import check_webhook_target

COLORIZED = StyleRef(label="colorized", components=[])  # the "style" of items coloured from exemplars or hints


@dataclass
class Submission:
    job: Job
    items: list[JobItem]
    created: bool  # False: an earlier request with the same Idempotency-Key made this job


def _inputs(
    session: Session, storage: Storage, settings: Settings, tenant_id: str, upload_ids: list[str]
) -> list[Upload]:
    """The upload of each input, in order, after checking it is one of the tenant's uploads."""
    uploads = tenant_uploads(session, tenant_id, upload_ids)
    for upload in {upload.id: upload for upload in uploads}.values():
        if upload.id.startswith(PRESIGNED_PREFIX):  # every time: its URL may be used again until it expires
            _check_presigned_upload(storage, settings, upload)
    return uploads


def _check_presigned_upload(storage: Storage, settings: Settings, upload: Upload) -> None:
    """Apply the upload checks to an object a client PUT directly to the store, and record what it holds."""
    if not storage.exists(upload.storage_key):
        raise BadInputError(
            f"upload {upload.id!r} not found (nothing was PUT to its URL)", details={"input": upload.id}
        )
    try:
        check_upload_size(storage.size(upload.storage_key), settings)  # before reading a huge object to refuse it
        data = storage.get_bytes(upload.storage_key)
        record_checked_bytes(upload, data, inspect_image(data, settings).facts())
    except StyleFarmError as exc:
        raise type(exc)(f"upload {upload.id}: {exc.message}", details={"input": upload.id, **exc.details}) from None


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
    if request.callback_url is not None:
        check_webhook_target(request.callback_url, allow_private=settings.webhook_allow_private)
    uploads = _inputs(session, storage, settings, tenant_id, request.inputs)
    # A colourised job (issue 15) has one item per input, coloured from its exemplar and/or hints.
    style_refs = [COLORIZED] if request.colorizes else resolve_style_groups(session, tenant_id, request.style_groups())
    masks = checked_mask_keys(session, tenant_id, request, uploads)  # 400 for a mask that does not fit
    style_refs = [ref.model_copy(update={"masks": masks}) for ref in style_refs]
    colour_sources = recolor_sources(session, storage, tenant_id, request, uploads)
    if request.method == "optimize":
        check_optimize_request(request.kind, request.optimize, style_refs, settings)
    job = Job(
        tenant_id=tenant_id,
        kind=request.kind,
        status=JobStatus.QUEUED,
        params=request.model_dump(mode="json"),
        priority=request.priority,
        idempotency_key=idempotency_key,
        callback_url=request.callback_url,
    )
    session.add(job)
    session.flush()  # the job id, for the items
    if request.kind == "video":  # segments and a join per output (api/services/video_submission.py)
        requested_output(settings, request)  # 400 for a container or codec this FFmpeg cannot write
        items = video_job_items(settings, job.id, uploads, style_refs)
    else:
        items = [
            JobItem(
                job_id=job.id,
                position=position,
                input_key=upload.storage_key,
                style_ref=ref.model_dump(mode="json"),
                render_settings=item_settings(session, request, ref),
                recolor_sources=None if colour_sources is None else colour_sources[position],  # one item per input
            )
            for position, (upload, ref) in enumerate((upload, ref) for upload in uploads for ref in style_refs)
        ]
    reserve_queue_room(session, settings, tenant_id, len(items))  # 429 when the tenant's queue is full
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
