"""``POST /v1/styles/networks``: a style that is a tenant's own trained network (TorchScript or ONNX).

Studios train their own feed-forward networks (a CycleGAN generator, a Johnson et al. network)
and want the farm to run them. The file is checked here only as far as the API can without torch
(size, format signature); it is stored, the style is ``pending``, and a worker loads it and tries
it on a probe image (``validate_network``) before it becomes ``ready`` or ``failed`` with the reason.
Once ready it is used in jobs like any style, but never blended with others.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, request
from spectree import Response as Responses
from werkzeug.datastructures import FileStorage

from api.auth.bearer import current_tenant_id
from api.extensions import app_settings, db, object_store, task_queue
from api.openapi import spec
from api.schemas import ErrorOut, NetworkStyleForm, StyleOut
from api.serializers import style_out
from api.services.network_files import recognise_network
from api.services.new_styles import checked_name, save_pending_style
from shared.db import Style, StyleKind, StyleStatus, new_id
from shared.errors import BadInputError, LimitExceededError
from shared.keys import style_network_key
from shared.queue import enqueue_validate_network
from shared.schemas.networks import NetworkOptions
from shared.settings import Settings

# Room for the multipart envelope (boundaries, part headers, the other fields) around the file.
ENVELOPE_BYTES = 64 * 1024
NETWORK_CONTENT_TYPE = "application/octet-stream"

bp = Blueprint("style_networks", __name__, url_prefix="/v1/styles/networks")


def _too_large(what: str, size: int, settings: Settings) -> LimitExceededError:
    return LimitExceededError(
        f"the {what} is {size:,} bytes; network files may be at most {settings.max_network_bytes:,}",
        details={"max_network_bytes": settings.max_network_bytes},
    )


@bp.before_request
def _network_sized_body() -> None:
    """Network files have their own byte limit, above or below the app-wide one for images."""
    settings = app_settings()
    limit = settings.max_network_bytes + ENVELOPE_BYTES
    if request.content_length is not None and request.content_length > limit:
        raise _too_large("request body", request.content_length, settings)
    request.max_content_length = limit


def read_network(form: NetworkStyleForm | None, settings: Settings) -> bytes:
    """The bytes of the form's ``network`` file, read no further than one byte over the limit."""
    file = form.network if form is not None else None
    if not isinstance(file, FileStorage):
        raise BadInputError("send the network as a multipart/form-data file field named 'network'")
    data = file.stream.read(settings.max_network_bytes + 1)
    if len(data) > settings.max_network_bytes:
        raise _too_large("network file", len(data), settings)
    if not data:
        raise BadInputError("the network file is empty")
    return data


@bp.post("")
@spec.validate(
    resp=Responses(HTTP_201=StyleOut, HTTP_400=ErrorOut, HTTP_401=ErrorOut, HTTP_409=ErrorOut, HTTP_413=ErrorOut),
    tags=["styles"],
)
def create_network_style(form: NetworkStyleForm) -> tuple[StyleOut, int]:
    """Add a style that runs your own network file; it is ``pending`` until a worker has tried it.

    The network takes an N×3×H×W float batch of RGB in 0–1 (or -1–1 with ``value_range``) and
    returns the same shape; see the README, "Bring-your-own networks".
    """
    settings, session, tenant_id = app_settings(), db.session, current_tenant_id()
    data = read_network(form, settings)
    network_format = recognise_network(data, form.format, settings.allowed_network_formats)
    name = checked_name(session, tenant_id, form.name)
    options = NetworkOptions(
        sha256=hashlib.sha256(data).hexdigest(), value_range=form.value_range, overlap=form.overlap
    )
    style_id = new_id()
    network_key = style_network_key(tenant_id, style_id)
    style = Style(
        id=style_id,
        tenant_id=tenant_id,
        name=name,
        kind=StyleKind.NETWORK,
        status=StyleStatus.PENDING,
        network_key=network_key,
        network_format=network_format,
        network_options=options.model_dump(),
        defaults={},
    )
    stored = (network_key, data, NETWORK_CONTENT_TYPE)
    save_pending_style(session, object_store.storage, task_queue.celery, style, stored, enqueue_validate_network)
    return style_out(style), 201
