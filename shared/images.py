"""Open user images safely: size checks before decoding, upright orientation, plain RGB.

Used by the API (to refuse bad uploads at submission) and by the engine (to read inputs).
Pillow reads only the header on ``open``, so the pixel limit is checked before any pixel is
decoded — a 50,000 × 50,000 "decompression bomb" is refused without allocating 7.5 GB.

What odd inputs become (Pillow modes, https://pillow.readthedocs.io/en/stable/handbook/concepts.html):
EXIF-rotated photos are turned upright; CMYK becomes RGB; 16-bit greyscale is scaled to 8 bits
(65535 → 255), 16-bit colour PNGs keep Pillow's 8-bit reading; palette images become RGB;
transparency is composited on white (a style network has no alpha channel, and white is what
a transparent image shows on a page); animated images (GIF, APNG, WebP) use their first frame,
as a still photo is what a style render makes.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from shared.error_reasons import image_reason
from shared.errors import BadInputError, LimitExceededError

ImageSource = str | Path | bytes | Image.Image | np.ndarray


@contextmanager
def _our_pixel_limit() -> Iterator[None]:
    """Silence Pillow's decompression-bomb warning: ``max_pixels`` is checked here instead."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        yield


def _open(source: ImageSource) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, np.ndarray):
        if (
            source.ndim not in (2, 3)
            or source.dtype != np.uint8
            or (source.ndim == 3 and source.shape[2] not in (3, 4))
        ):
            raise BadInputError(
                f"an image array must be uint8 [H, W], [H, W, 3] or [H, W, 4], got {source.dtype} {source.shape}"
            )
        return Image.fromarray(source)
    try:
        with _our_pixel_limit():
            return Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
    except FileNotFoundError:
        raise BadInputError(f"image not found: {source}") from None
    except (UnidentifiedImageError, OSError) as exc:
        name = "the uploaded data" if isinstance(source, bytes) else str(source)
        raise BadInputError(f"{name} is not a readable image: {image_reason(exc)}") from None


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode.startswith("I;16") or img.mode == "I":
        # 16-bit grayscale: scale 0-65535 to 0-255 rather than clipping at 255. A 32-bit "I"
        # image is scaled the same way when its values need 16 bits and kept when they fit in 8.
        arr = np.asarray(img, dtype=np.float64)
        top = 255.0 if img.mode == "I" and arr.max() <= 255 else 65535.0
        img = Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8))
    if img.mode in ("RGBA", "LA", "P", "PA") or "transparency" in img.info:
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    return img.convert("RGB")


def load_image(source: ImageSource, max_pixels: int, min_side: int = 16) -> Image.Image:
    """Decode ``source`` into an upright RGB image, enforcing the pixel limits.

    Raises ``LimitExceededError`` for too many pixels and ``BadInputError`` for anything
    unreadable, truncated or too small. Animated images use their first frame.
    """
    try:
        img = _open(source)
    except Image.DecompressionBombError as exc:  # Pillow's own guard, at twice its MAX_IMAGE_PIXELS
        raise LimitExceededError(f"image has far more pixels than the limit of {max_pixels:,} ({exc})") from None
    width, height = img.size
    if width * height > max_pixels:
        raise LimitExceededError(f"image is {width}×{height} = {width * height:,} pixels; the limit is {max_pixels:,}")
    if min(width, height) < min_side:
        raise BadInputError(f"image is {width}×{height}; both sides must be at least {min_side} px")
    try:
        with _our_pixel_limit():
            img.load()
            img = ImageOps.exif_transpose(img) or img
            rgb = _to_rgb(img)
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadInputError(f"image data is damaged or truncated ({exc})") from None
    return rgb
