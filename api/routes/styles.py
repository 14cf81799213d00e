"""``/v1/styles``: the public built-ins and each tenant's own styles made from uploaded images.

A new style is stored as ``pending`` and its embedding is computed by a worker (``embed_style`` on
the light queue); only ``ready`` styles can be used in a job. Built-ins are listed and used like
any style but cannot be changed.
"""

from __future__ import annotations

from flask import Blueprint, Response
from spectree import Response as Responses
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth.bearer import current_tenant_id
from api.common import paginate, send_stored_object, visible_style, visible_styles
from api.extensions import app_settings, db, object_store, task_queue
from api.openapi import describe, spec
from api.routes.uploads import read_upload
from api.schemas import ErrorOut, StyleForm, StyleList, StyleListQuery, StyleOut, StylePatch
from api.serializers import style_out
from api.services.image_inputs import inspect_image
from api.services.new_styles import checked_name, commit_name_change, save_pending_style
from shared.db import Style, StyleKind, StyleStatus, new_id
from shared.errors import ConflictError, NotFoundError
from shared.keys import style_source_key
from shared.queue import enqueue_embed

bp = Blueprint("styles", __name__, url_prefix="/v1/styles")

_MISSING = {"HTTP_401": ErrorOut, "HTTP_404": ErrorOut}


def _own_style(session: Session, tenant_id: str, style_id: str) -> Style:
    """A style the tenant may change: its own (public ones are read-only for everyone)."""
    style = visible_style(session, tenant_id, style_id)
    if style.tenant_id is None:
        raise ConflictError(f"style {style_id} is a public built-in and cannot be changed")
    return style


@bp.get("")
@spec.validate(resp=Responses(HTTP_200=StyleList, HTTP_401=ErrorOut), tags=["styles"])
def list_styles(query: StyleListQuery) -> StyleList:
    """List the styles you can use: the 26 built-ins and your own, by name."""
    stmt = select(Style).where(visible_styles(current_tenant_id())).order_by(Style.name, Style.id)
    if query.q:
        stmt = stmt.where(Style.name.ilike(f"%{_escape_like(query.q)}%", escape="\\"))
    styles, total, next_offset = paginate(db.session, stmt, query)
    return StyleList(
        items=[style_out(s) for s in styles],
        total=total,
        limit=query.limit,
        offset=query.offset,
        next_offset=next_offset,
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@bp.get("/<style_id>")
@spec.validate(resp=Responses(HTTP_200=StyleOut, **_MISSING), tags=["styles"])
def get_style(style_id: str) -> StyleOut:
    """One style, with its status (``pending`` until a worker has embedded it)."""
    return style_out(visible_style(db.session, current_tenant_id(), style_id))


@bp.post("")
@spec.validate(
    resp=Responses(HTTP_201=StyleOut, HTTP_400=ErrorOut, HTTP_401=ErrorOut, HTTP_409=ErrorOut, HTTP_413=ErrorOut),
    tags=["styles"],
)
def create_style(form: StyleForm) -> tuple[StyleOut, int]:
    """Add a style from an image (a painting, a texture); it is ``pending`` until embedded."""
    settings, session, tenant_id = app_settings(), db.session, current_tenant_id()
    data = read_upload(form, settings)
    name = checked_name(session, tenant_id, form.name)
    info = inspect_image(data, settings)
    style_id = new_id()
    source_key = style_source_key(tenant_id, style_id)
    style = Style(
        id=style_id,
        tenant_id=tenant_id,
        name=name,
        kind=StyleKind.VECTOR,
        status=StyleStatus.PENDING,
        source_key=source_key,
        defaults={},
    )
    stored = (source_key, data, info.content_type)
    save_pending_style(session, object_store.storage, task_queue.celery, style, stored, enqueue_embed)
    return style_out(style), 201


@bp.patch("/<style_id>")
@spec.validate(resp=Responses(HTTP_200=StyleOut, HTTP_409=ErrorOut, **_MISSING), tags=["styles"])
def update_style(style_id: str, json: StylePatch) -> StyleOut:
    """Rename one of your styles or set the rendering defaults kept with it."""
    session, tenant_id = db.session, current_tenant_id()
    style = _own_style(session, tenant_id, style_id)
    if json.name is not None:
        style.name = checked_name(session, tenant_id, json.name, style_id=style.id)
    if json.defaults is not None:
        style.defaults = json.defaults.model_dump(exclude_none=True)
    commit_name_change(session, style.name)
    return style_out(style)


@bp.delete("/<style_id>")
@spec.validate(resp=Responses(HTTP_204=None, HTTP_409=ErrorOut, **_MISSING), tags=["styles"])
def delete_style(style_id: str) -> tuple[str, int]:
    """Delete one of your styles; jobs already submitted keep their copy of it and their outputs."""
    session = db.session
    style = _own_style(session, current_tenant_id(), style_id)
    for key in (style.source_key, style.thumbnail_key, style.network_key):
        if key:
            object_store.storage.delete(key)
    session.delete(style)
    session.commit()
    return "", 204


@bp.get("/<style_id>/thumbnail")
@describe(resp=Responses(HTTP_200=None, HTTP_302=None, **_MISSING), tags=["styles"])
def get_thumbnail(style_id: str) -> Response:
    """The style's thumbnail (JPEG): streamed, or a redirect to a presigned URL on S3 storage."""
    style = visible_style(db.session, current_tenant_id(), style_id)
    if not style.thumbnail_key:
        raise NotFoundError(f"style {style_id} has no thumbnail (yet)")
    return send_stored_object(object_store.storage, style.thumbnail_key, "image/jpeg", f"{style.name}.jpg")
