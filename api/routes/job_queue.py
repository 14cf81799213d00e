"""``/v1/jobs/<id>/retry`` and ``/v1/jobs/<id>/queue``: retry a job's failures; its place in the queue and ETA."""

from __future__ import annotations

from flask import Blueprint
from pydantic import BaseModel, Field
from spectree import Response as Responses

from api.auth.bearer import current_tenant_id
from api.common import tenant_job
from api.extensions import app_settings, db, task_queue
from api.openapi import spec
from api.schemas import ErrorOut, JobOut
from api.serializers import job_out
from api.services.dispatch import send_items
from api.services.job_retry import retry_failed_items
from api.services.queue_estimate import estimate

bp = Blueprint("job_queue", __name__, url_prefix="/v1/jobs")

_MISSING = {"HTTP_401": ErrorOut, "HTTP_404": ErrorOut}


class QueueOut(BaseModel):
    """An estimate: earlier jobs' unfinished items are ahead; priorities and previews may overtake."""

    items_ahead: int = Field(description="Queued or running items of jobs submitted before this one (all tenants).")
    position: int = Field(description="``items_ahead + 1``: where this job's next item stands.")
    items_left: int = Field(description="This job's items not finished yet.")
    running_now: int = Field(description="Items rendering on the farm now.")
    mean_item_s: float | None = Field(description="Mean render seconds of the farm's recent items.")
    eta_s: float | None = Field(description="Estimated seconds until the job is done; null before any render.")


@bp.post("/<job_id>/retry")
@spec.validate(resp=Responses(HTTP_200=JobOut, HTTP_409=ErrorOut, HTTP_503=ErrorOut, **_MISSING), tags=["jobs"])
def retry(job_id: str) -> JobOut:
    """Queue a finished job's failed items again (succeeded outputs are kept); 409 if none failed."""
    job, items, to_enqueue = retry_failed_items(db.session, current_tenant_id(), job_id)
    send_items(task_queue.celery, app_settings(), job, len(items), to_enqueue)
    return job_out(job, items)


@bp.get("/<job_id>/queue")
@spec.validate(resp=Responses(HTTP_200=QueueOut, **_MISSING), tags=["jobs"])
def queue_position(job_id: str) -> QueueOut:
    """Where the job stands in the farm's queue and roughly when it will be done."""
    session = db.session
    job = tenant_job(session, current_tenant_id(), job_id)
    found = estimate(session, job, app_settings().queue_estimate_window_items)
    return QueueOut(
        items_ahead=found.items_ahead,
        position=found.items_ahead + 1,
        items_left=found.items_left,
        running_now=found.running_now,
        mean_item_s=found.mean_item_s,
        eta_s=found.eta_s,
    )
