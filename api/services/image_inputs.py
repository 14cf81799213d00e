"""Image uploads: what the bytes are, checked before they are stored, so jobs only meet real images.

What a file is comes from its bytes (Pillow's and ``filetype``'s signature checks), never from its
name or the Content-Type the client sent: an HTML page named ``photo.jpg`` is refused as "not an
image". Why a service: the upload route, the style route and job submission (for images sent
through a presigned URL, whose ids carry ``PRESIGNED_PREFIX``) all check images the same way.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import filetype
from PIL import Image

from api.services.upload_records import MediaFacts
from shared.errors import BadInputError, LimitExceededError
from shared.images import load_image
from shared.settings import Settings

PRESIGNED_PREFIX = "presigned-"
# How much of a file is read for the markup check: an HTML or SVG file starts with "<" after at
# most a byte-order mark and some blank space.
_MARKUP_PROBE_BYTES = 512


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    format: str

    @property
    def content_type(self) -> str:
        return Image.MIME.get(self.format, "application/octet-stream")

    def facts(self) -> MediaFacts:
        return MediaFacts("image", self.content_type, self.width, self.height)


def check_upload_size(size: int, settings: Settings) -> None:
    """Refuse a file over ``max_upload_bytes`` (413)."""
    if size > settings.max_upload_bytes:
        raise LimitExceededError(
            f"the file is {size:,} bytes; the limit is {settings.max_upload_bytes:,}",
            details={"max_upload_bytes": settings.max_upload_bytes},
        )


def _looks_like_markup(data: bytes) -> bool:
    head = data[:_MARKUP_PROBE_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<")


def refuse_non_image(data: bytes) -> None:
    """400 naming what the file is when its bytes say it is not a raster image (markup, video, ...)."""
    if _looks_like_markup(data):
        raise BadInputError(
            "not an image: the file is text markup (HTML, SVG or XML); send a raster image such as JPEG, PNG or WebP",
            details={"detected": "text/markup"},
        )
    kind = filetype.guess(data)
    if kind is not None and not kind.mime.startswith("image/"):
        hint = "; upload videos with kind=video" if kind.mime.startswith("video/") else ""
        raise BadInputError(f"not an image: the file is {kind.mime}{hint}", details={"detected": kind.mime})


def inspect_image(data: bytes, settings: Settings) -> ImageInfo:
    """Decode ``data`` within the configured limits (413 if too large, 400 if not a usable image)."""
    check_upload_size(len(data), settings)
    if not data:
        raise BadInputError("the file is empty")
    refuse_non_image(data)
    image = load_image(data, settings.max_input_pixels, settings.min_input_side)
    with Image.open(io.BytesIO(data)) as img:  # header only: the format the bytes are in
        image_format = img.format or "unknown"
    return ImageInfo(image.width, image.height, image_format)
