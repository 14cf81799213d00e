"""``/v1/jobs``: submit renders, follow their progress, control them and download the results."""

from __future__ import annotations

from flask import Blueprint, Response
from pydantic import BaseModel, ConfigDict, Field
from spectree import Response as Responses
from sqlalchemy import select

from api.auth.bearer import current_tenant_id
from api.common import (
    CONTENT_TYPES,
    paginate,
    send_stored_object,
    tenant_job_item,
    tenant_job_with_items,
)
from api.extensions import app_settings, db, object_store, task_queue
from api.openapi import describe, spec
from api.schemas import ErrorOut, JobList, JobListQuery, JobOut
from api.serializers import input_names, item_out, job_out, job_summaries
from api.services.dispatch import dispatch, send_items
from api.services.job_control import cancel_job, pause_job, resume_job
from api.services.job_submission import submit_job
from shared.db import Job, JobStatus
from shared.errors import NotFoundError
from shared.schemas.jobs import JobCreate

bp = Blueprint("jobs", __name__, url_prefix="/v1/jobs")

_MISSING = {"HTTP_401": ErrorOut, "HTTP_404": ErrorOut}
_CONTROL = Responses(HTTP_200=JobOut, HTTP_409=ErrorOut, **_MISSING)


class IdempotencyHeaders(BaseModel):
    model_config = ConfigDict(extra="allow")  # every other header of the request

    idempotency_key: str | None = Field(
        default=None,
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Retrying with the same key returns the job made by the first request (200, not 201).",
    )


@bp.post("")
@spec.validate(
    resp=Responses(
        HTTP_200=JobOut,
        HTTP_201=JobOut,
        HTTP_400=ErrorOut,
        HTTP_401=ErrorOut,
        HTTP_409=ErrorOut,
        HTTP_429=ErrorOut,  # the tenant's queue is full (api/auth/quotas.py)
        HTTP_503=ErrorOut,
    ),
    tags=["jobs"],
)
def create_job(json: JobCreate, headers: IdempotencyHeaders) -> tuple[JobOut, int]:
    """Submit a job: each input rendered in each style (``multi_style``) or in one style or blend."""
    session = db.session
    submission = submit_job(
        session, object_store.storage, app_settings(), current_tenant_id(), json, headers.idempotency_key
    )
    dispatch(session, task_queue.celery, app_settings(), submission)
    return job_out(submission.job, submission.items), 201 if submission.created else 200


@bp.get("")
@spec.validate(resp=Responses(HTTP_200=JobList, HTTP_401=ErrorOut), tags=["jobs"])
def list_jobs(query: JobListQuery) -> JobList:
    """Your jobs, newest first, optionally only those in one ``status``."""
    stmt = select(Job).where(Job.tenant_id == current_tenant_id()).order_by(Job.created_at.desc(), Job.id)
    if query.status:
        stmt = stmt.where(Job.status == query.status)
    session = db.session
    jobs, total, next_offset = paginate(session, stmt, query)
    return JobList(
        items=job_summaries(session, jobs), total=total, limit=query.limit, offset=query.offset, next_offset=next_offset
    )


@bp.get("/<job_id>")
@spec.validate(resp=Responses(HTTP_200=JobOut, **_MISSING), tags=["jobs"])
def get_job(job_id: str) -> JobOut:
    """A job's status and progress (items and tiles), with each item's result once it has one."""
    return job_out(*tenant_job_with_items(db.session, current_tenant_id(), job_id))


@bp.post("/<job_id>/cancel")
@spec.validate(resp=_CONTROL, tags=["jobs"])
def cancel(job_id: str) -> JobOut:
    """Cancel a job: items not started are canceled now, running ones stop between tiles."""
    return job_out(*cancel_job(db.session, current_tenant_id(), job_id))


@bp.post("/<job_id>/pause")
@spec.validate(resp=_CONTROL, tags=["jobs"])
def pause(job_id: str) -> JobOut:
    """Pause a job: no further item starts until it is resumed (running items finish)."""
    return job_out(*pause_job(db.session, current_tenant_id(), job_id))


@bp.post("/<job_id>/resume")
@spec.validate(resp=Responses(HTTP_200=JobOut, HTTP_409=ErrorOut, HTTP_503=ErrorOut, **_MISSING), tags=["jobs"])
def resume(job_id: str) -> JobOut:
    """Resume a paused job: its queued items are sent to the workers again."""
    job, items, to_enqueue = resume_job(db.session, current_tenant_id(), job_id)
    send_items(task_queue.celery, app_settings(), job, len(items), to_enqueue)
    return job_out(job, items)


@bp.get("/<job_id>/items/<item_id>/result")
@describe(resp=Responses(HTTP_200=None, HTTP_302=None, **_MISSING), tags=["jobs"])
def get_result(job_id: str, item_id: str) -> Response:
    """Download one item's output: streamed, or a redirect to a presigned URL on S3 storage."""
    session = db.session
    item = tenant_job_item(session, current_tenant_id(), job_id, item_id)
    if item.status != JobStatus.SUCCEEDED or not item.output_key:
        raise NotFoundError(f"item {item_id} has no result yet ({item.status})", details={"status": item.status})
    output_format = item.output_format or "png"
    name = item_out(item, input_names(session, [item]).get(item.input_key)).file_name or "output"
    mimetype = CONTENT_TYPES.get(output_format, "application/octet-stream")
    return send_stored_object(object_store.storage, item.output_key, mimetype, name)
