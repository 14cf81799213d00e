"""``POST /v1/styles/<id>/refine``: tune a style's vector; the result is a new version of the style.

Why a job: refinement runs the networks (a worker's business) for tens of seconds, so the API
records a ``refine_style`` job with one item (progress = iterations) and a new ``pending`` style
(``version`` = the newest version + 1, ``parent_id`` = the refined style) that the worker fills
in and marks ``ready``. The new style's id is in the response and in the job's ``params``
(``refined_style_id``). The new version gets its own copy of the style image, so it can still be
used with method optimize after the parent is deleted.
"""

from __future__ import annotations

from flask import Blueprint
from pydantic import BaseModel
from spectree import Response as Responses
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth.bearer import current_tenant_id
from api.common import visible_style
from api.extensions import app_settings, db, object_store, task_queue
from api.openapi import spec
from api.schemas import ErrorOut, JobOut, StyleOut
from api.serializers import job_out, style_out
from api.services.new_styles import checked_name, save_pending_style
from api.services.style_refs import component_ref
from shared.db import Job, JobItem, JobKind, JobStatus, Style, StyleKind, StyleStatus, new_id
from shared.errors import BadInputError
from shared.keys import style_source_key
from shared.queue import enqueue_refine
from shared.schemas.optimize import RefineCreate
from shared.schemas.style_refs import StyleRef

bp = Blueprint("style_refine", __name__, url_prefix="/v1/styles")


class RefineOut(BaseModel):
    job: JobOut
    style: StyleOut


def _refinable(session: Session, tenant_id: str, style_id: str) -> Style:
    style = visible_style(session, tenant_id, style_id)
    if style.kind != StyleKind.VECTOR or style.tenant_id is None:
        raise BadInputError("only your own image styles can be refined (built-in and network styles have no image)")
    if style.status != StyleStatus.READY or style.vector is None or style.source_key is None:
        raise BadInputError(f"style {style_id} is not ready ({style.status})")
    return style


def _next_version(session: Session, parent: Style) -> int:
    newest = session.scalar(select(func.max(Style.version)).where(Style.parent_id == parent.id))
    return max(parent.version, newest or 0) + 1


@bp.post("/<style_id>/refine")
@spec.validate(
    resp=Responses(HTTP_202=RefineOut, HTTP_400=ErrorOut, HTTP_401=ErrorOut, HTTP_404=ErrorOut, HTTP_409=ErrorOut),
    tags=["styles"],
)
def refine_style(style_id: str, json: RefineCreate) -> tuple[RefineOut, int]:
    """Refine a style's vector on sample crops; returns the job and the new (pending) style version."""
    settings, session, tenant_id = app_settings(), db.session, current_tenant_id()
    if json.iterations > settings.refine_max_iterations:
        raise BadInputError(f"refinement iterations are limited to {settings.refine_max_iterations}")
    parent = _refinable(session, tenant_id, style_id)
    version = _next_version(session, parent)
    name = checked_name(session, tenant_id, json.name or f"{parent.name} v{version}")
    child_id = new_id()
    storage = object_store.storage
    source_key = style_source_key(tenant_id, child_id)
    child = Style(
        id=child_id,
        tenant_id=tenant_id,
        name=name,
        kind=StyleKind.VECTOR,
        status=StyleStatus.PENDING,
        source_key=source_key,
        defaults=dict(parent.defaults or {}),
        version=version,
        parent_id=parent.id,
    )
    params = {"kind": JobKind.REFINE_STYLE.value, "style_id": parent.id, "refined_style_id": child_id}
    job = Job(
        id=new_id(),
        tenant_id=tenant_id,
        kind=JobKind.REFINE_STYLE,
        status=JobStatus.QUEUED,
        params=params | json.model_dump(),
    )
    ref = StyleRef(label=parent.name, components=[component_ref(parent, 1.0)], name=parent.name)
    item = JobItem(id=new_id(), job_id=job.id, position=0, input_key=source_key, style_ref=ref.model_dump(mode="json"))
    stored = (source_key, storage.get_bytes(parent.source_key or ""), None)
    save_pending_style(
        session, storage, task_queue.celery, child, stored, enqueue_refine, rows=[job, item], task_arg=item.id
    )
    return RefineOut(job=job_out(job, [item]), style=style_out(child)), 202
