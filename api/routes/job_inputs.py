"""``GET /v1/jobs/<id>/items/<item_id>/input``: the picture an item started from, for before/after views.

Why a route of its own: the job page compares each output with its input, and the input is the
tenant's upload as stored (streamed, or a redirect to a presigned URL on S3), found through the
item so only the job's owner reaches it.
"""

from __future__ import annotations

from flask import Blueprint, Response
from spectree import Response as Responses
from sqlalchemy import select

from api.auth.bearer import current_tenant_id
from api.common import send_stored_object, tenant_job_item
from api.extensions import db, object_store
from api.openapi import describe
from api.schemas import ErrorOut
from shared.db import Upload

bp = Blueprint("job_inputs", __name__, url_prefix="/v1/jobs")


@bp.get("/<job_id>/items/<item_id>/input")
@describe(resp=Responses(HTTP_200=None, HTTP_302=None, HTTP_401=ErrorOut, HTTP_404=ErrorOut), tags=["jobs"])
def get_input(job_id: str, item_id: str) -> Response:
    """Download the input an item renders: streamed, or a redirect to a presigned URL on S3 storage."""
    session = db.session
    item = tenant_job_item(session, current_tenant_id(), job_id, item_id)
    upload = session.scalar(select(Upload).where(Upload.storage_key == item.input_key))
    mimetype = upload.content_type if upload is not None else "application/octet-stream"
    name = (upload.filename if upload is not None else "") or item.input_key.rsplit("/", 1)[-1]
    return send_stored_object(object_store.storage, item.input_key, mimetype, name)
