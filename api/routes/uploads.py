"""``/v1/uploads``: input images, checked before they are stored so jobs only meet real images.

An upload is an ``uploads`` row and an object under ``upload_key(tenant, id)``, the id made by
the farm; a job names it by id. What a file is comes from its bytes (Pillow's and ``filetype``'s
signature checks), never from its name or the Content-Type the client sent: an HTML page named
``photo.jpg`` is refused as "not an image". The size is checked before anything is read into
memory: Flask refuses a body over ``MAX_CONTENT_LENGTH`` from its Content-Length (or while
streaming one without), and the file field is read no further than one byte past the limit.
Images sent through a presigned URL never pass through the API, so their ids carry
``PRESIGNED_PREFIX`` and a job checks those objects when it is submitted.
"""

from __future__ import annotations

from flask import Blueprint
from spectree import Response
from werkzeug.datastructures import FileStorage

from api.auth.bearer import current_tenant_id
from api.extensions import app_settings, db, object_store
from api.openapi import spec
from api.schemas import ErrorOut, PresignIn, PresignOut, StyleForm, UploadForm, UploadOut
from api.services.image_inputs import PRESIGNED_PREFIX, check_upload_size, inspect_image
from api.services.upload_records import reserve_upload, store_upload
from api.services.video_inputs import inspect_video
from shared.db import new_id
from shared.errors import BadInputError, ConflictError
from shared.keys import upload_key
from shared.settings import Settings

bp = Blueprint("uploads", __name__, url_prefix="/v1/uploads")


def upload_file(form: UploadForm | StyleForm | None) -> FileStorage:
    """The form's ``file`` field; ``form`` is None when the body was not a form at all."""
    file = form.file if form is not None else None
    if not isinstance(file, FileStorage):
        raise BadInputError("send the file as a multipart/form-data file field named 'file'")
    return file


def read_capped(file: FileStorage, settings: Settings) -> bytes:
    """The file's bytes, read no further than one byte over ``max_upload_bytes`` (then 413)."""
    data = file.stream.read(settings.max_upload_bytes + 1)
    check_upload_size(len(data), settings)
    return data


def read_upload(form: UploadForm | StyleForm | None, settings: Settings) -> bytes:
    """The bytes of the form's ``file`` field, within the size limit."""
    return read_capped(upload_file(form), settings)


@bp.post("")
@spec.validate(
    resp=Response(HTTP_201=UploadOut, HTTP_400=ErrorOut, HTTP_401=ErrorOut, HTTP_413=ErrorOut), tags=["uploads"]
)
def create_upload(form: UploadForm) -> tuple[UploadOut, int]:
    """Upload an input image (or, with ``kind=video``, a video for a video job).

    The image is decoded before it is stored: files that are not images, are damaged, or exceed
    the pixel or byte limits are refused with the reason.
    """
    settings = app_settings()
    file = upload_file(form)
    data = read_capped(file, settings)
    if form.kind == "video":
        return create_video_upload(data, file.filename, settings), 201
    info = inspect_image(data, settings)
    upload = store_upload(db.session, object_store.storage, current_tenant_id(), data, info.facts(), file.filename)
    return UploadOut(id=upload.id, width=info.width, height=info.height, bytes=len(data), format=info.format), 201


def create_video_upload(data: bytes, filename: str | None, settings: Settings) -> UploadOut:
    """Store a video after probing it (``api/services/video_inputs.py``)."""
    video = inspect_video(data, settings)
    upload = store_upload(db.session, object_store.storage, current_tenant_id(), data, video.facts(), filename)
    info = video.info
    return UploadOut(
        id=upload.id, width=info.width, height=info.height, bytes=len(data), format=video.format, frames=info.frames
    )


@bp.post("/presign")
@spec.validate(resp=Response(HTTP_201=PresignOut, HTTP_401=ErrorOut, HTTP_409=ErrorOut), tags=["uploads"])
def presign_upload(json: PresignIn) -> tuple[PresignOut, int]:
    """Get a URL to PUT a large input image to directly (S3 storage only).

    The image is checked when a job names it, not at upload time.
    """
    upload_id = PRESIGNED_PREFIX + new_id()
    tenant_id = current_tenant_id()
    url = object_store.storage.presigned_put_url(upload_key(tenant_id, upload_id), content_type=json.content_type)
    if url is None:
        raise ConflictError(
            "presigned uploads need S3 storage and this farm stores files locally; POST the file to /v1/uploads"
        )
    reserve_upload(db.session, tenant_id, upload_id, json.content_type)
    expires_in_s = app_settings().s3_presign_expiry_s
    headers = {"Content-Type": json.content_type} if json.content_type else {}
    return PresignOut(id=upload_id, url=url, headers=headers, expires_in_s=expires_in_s), 201
