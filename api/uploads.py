"""``/v1/uploads``: input images, checked before they are stored so jobs only meet real images.

An upload is an object under ``upload_key(tenant, id)``; a job names it by id. Images sent
through a presigned URL never pass through the API, so their ids carry ``PRESIGNED_PREFIX`` and
a job checks those objects when it is submitted.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from flask import Blueprint
from PIL import Image
from spectree import Response
from werkzeug.datastructures import FileStorage

from api.auth import current_tenant_id
from api.extensions import app_settings, object_store
from api.openapi import spec
from api.schemas import ErrorOut, PresignIn, PresignOut, StyleForm, UploadForm, UploadOut
from shared.db import new_id
from shared.errors import BadInputError, ConflictError, LimitExceededError
from shared.images import load_image
from shared.keys import upload_key
from shared.settings import Settings

PRESIGNED_PREFIX = "presigned-"
_UPLOAD_ID = re.compile(r"[A-Za-z0-9\-]{1,80}")  # a UUID, or a presigned upload's prefixed one

bp = Blueprint("uploads", __name__, url_prefix="/v1/uploads")


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    format: str

    @property
    def content_type(self) -> str:
        return Image.MIME.get(self.format, "application/octet-stream")


def is_upload_id(value: str) -> bool:
    """Whether ``value`` has the shape of an upload id (so it can go into a storage key)."""
    return bool(_UPLOAD_ID.fullmatch(value))


def check_upload_size(size: int, settings: Settings) -> None:
    """Refuse a file over ``max_upload_bytes`` (413)."""
    if size > settings.max_upload_bytes:
        raise LimitExceededError(
            f"the file is {size:,} bytes; the limit is {settings.max_upload_bytes:,}",
            details={"max_upload_bytes": settings.max_upload_bytes},
        )


def inspect_image(data: bytes, settings: Settings) -> ImageInfo:
    """Decode ``data`` within the configured limits (413 if too large, 400 if not a usable image)."""
    check_upload_size(len(data), settings)
    if not data:
        raise BadInputError("the file is empty")
    image = load_image(data, settings.max_input_pixels, settings.min_input_side)
    with Image.open(io.BytesIO(data)) as img:  # header only: the format the client sent
        image_format = img.format or "unknown"
    return ImageInfo(image.width, image.height, image_format)


def read_upload(form: UploadForm | StyleForm | None, settings: Settings) -> bytes:
    """The bytes of the form's ``file`` field, read no further than one byte over the limit.

    ``form`` is None when the body was not a form at all (spectree validates forms only).
    """
    file = form.file if form is not None else None
    if not isinstance(file, FileStorage):
        raise BadInputError("send the image as a multipart/form-data file field named 'file'")
    return file.stream.read(settings.max_upload_bytes + 1)


@bp.post("")
@spec.validate(
    resp=Response(HTTP_201=UploadOut, HTTP_400=ErrorOut, HTTP_401=ErrorOut, HTTP_413=ErrorOut), tags=["uploads"]
)
def create_upload(form: UploadForm) -> tuple[UploadOut, int]:
    """Upload an input image.

    The image is decoded before it is stored: files that are not images, are damaged, or exceed
    the pixel or byte limits are refused with the reason.
    """
    settings = app_settings()
    data = read_upload(form, settings)
    info = inspect_image(data, settings)
    upload_id = new_id()
    object_store.storage.put_bytes(upload_key(current_tenant_id(), upload_id), data, info.content_type)
    return UploadOut(id=upload_id, width=info.width, height=info.height, bytes=len(data), format=info.format), 201


@bp.post("/presign")
@spec.validate(resp=Response(HTTP_201=PresignOut, HTTP_401=ErrorOut, HTTP_409=ErrorOut), tags=["uploads"])
def presign_upload(json: PresignIn) -> tuple[PresignOut, int]:
    """Get a URL to PUT a large input image to directly (S3 storage only).

    The image is checked when a job names it, not at upload time.
    """
    upload_id = PRESIGNED_PREFIX + new_id()
    key = upload_key(current_tenant_id(), upload_id)
    storage = object_store.storage
    url = storage.presigned_put_url(key, content_type=json.content_type)
    if url is None:
        raise ConflictError(
            "presigned uploads need S3 storage and this farm stores files locally; POST the file to /v1/uploads"
        )
    expires_in_s = app_settings().s3_presign_expiry_s
    headers = {"Content-Type": json.content_type} if json.content_type else {}
    return PresignOut(id=upload_id, url=url, headers=headers, expires_in_s=expires_in_s), 201
