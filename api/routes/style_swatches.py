"""``POST /v1/styles/builtin-swatches``: have workers render the built-ins' missing thumbnails.

Why on request: built-ins ship without pictures; the gallery asks for them the first time it
shows a built-in without one, and workers render each once on the light queue
(``worker/jobs/style_swatches.py``), one task per style so a render waits behind one swatch at most.
Asking again while they are being made only queues tasks that find nothing left to do.
"""

from __future__ import annotations

from flask import Blueprint
from pydantic import BaseModel, Field
from spectree import Response as Responses
from sqlalchemy import select

from api.common import broker_errors
from api.extensions import db, task_queue
from api.openapi import spec
from api.schemas import ErrorOut
from shared.db import Style, StyleKind
from shared.queue import enqueue_swatch

bp = Blueprint("style_swatches", __name__, url_prefix="/v1/styles")


class SwatchesOut(BaseModel):
    missing: int = Field(description="Built-in styles without a thumbnail; workers render them when above 0.")


@bp.post("/builtin-swatches")
@spec.validate(resp=Responses(HTTP_202=SwatchesOut, HTTP_401=ErrorOut, HTTP_503=ErrorOut), tags=["styles"])
def request_builtin_swatches() -> tuple[SwatchesOut, int]:
    """Render the thumbnails of the built-in styles that have none (a sample photo in each style)."""
    missing = db.session.scalars(
        select(Style.id)
        .where(Style.kind == StyleKind.BUILTIN, Style.tenant_id.is_(None), Style.thumbnail_key.is_(None))
        .order_by(Style.builtin_index)
    ).all()
    with broker_errors():
        for style_id in missing:
            enqueue_swatch(task_queue.celery, style_id)
    return SwatchesOut(missing=len(missing)), 202
