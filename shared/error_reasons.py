"""Why a file could not be read, in words for the person who sent it (not the library's class name).

Pillow and PyAV say what failed with exception classes (``UnidentifiedImageError``,
``InvalidDataError``) that mean nothing to someone uploading a photo; these say what to do.
"""

from __future__ import annotations

from PIL import UnidentifiedImageError

IMAGE_FORMATS = "PNG, JPEG, WebP, TIFF, BMP or GIF"


def image_reason(exc: BaseException) -> str:
    """A short reason an image did not open: unknown format, cut short, or damaged."""
    text = str(exc).lower()
    if isinstance(exc, UnidentifiedImageError):
        return f"its format is not one this farm reads ({IMAGE_FORMATS})"
    if "truncated" in text or "broken data stream" in text:
        return "the file is cut short (an interrupted download or copy?)"
    return "the file is damaged or not an image"


def video_reason(exc: BaseException) -> str:
    """A short reason a video did not open or decode."""
    name = exc.__class__.__name__
    if name in {"InvalidDataError", "ValueError"}:
        return "its data is not a video this farm can decode (MP4, MOV, MKV or WebM)"
    if isinstance(exc, EOFError) or "eof" in str(exc).lower():
        return "the file is cut short"
    return "the file is damaged or not a video"
