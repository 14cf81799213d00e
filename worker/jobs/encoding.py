"""Encode rendered pixels in the formats jobs and the CLI may ask for, with one set of options.

PNG uses zlib level 1: on a 4-megapixel render Pillow's default level 6 took 1.3 s against 0.3 s
for level 1, for files about 15% smaller (benchmarks/farm.py); a render farm's outputs are
written once and usually re-encoded downstream, so the time matters more than the bytes. RGB
renders go through ``png_writer`` (one filter, vectorised), which halves that again.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from shared.errors import BadInputError
from shared.keys import OUTPUT_EXTENSIONS
from worker.jobs.png_writer import encode_png_rgb

# File suffix → Pillow format name.
OUTPUT_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".tif": "TIFF", ".tiff": "TIFF"}


def pil_format(output_format: str) -> str:
    """Pillow's name for a job's ``output_format`` (``png``, ``jpeg``, ``webp``, ``tiff``)."""
    return OUTPUT_FORMATS["." + OUTPUT_EXTENSIONS[output_format]]


def _save_options(fmt: str, quality: int) -> dict[str, Any]:
    if fmt in ("JPEG", "WEBP"):
        return {"quality": quality}
    if fmt == "PNG":
        return {"compress_level": 1}
    return {}


def _deep_bytes(pixels: np.ndarray, fmt: str) -> bytes:
    """16-bit RGB as PNG or TIFF (OpenCV writes 16 bits per channel; Pillow's RGB is 8-bit only)."""
    import cv2

    if fmt not in ("PNG", "TIFF"):
        raise BadInputError(f"{fmt} cannot hold 16 bits per channel; use png or tiff")
    ok, encoded = cv2.imencode(".png" if fmt == "PNG" else ".tiff", np.ascontiguousarray(pixels[..., ::-1]))
    if not ok:
        raise BadInputError(f"could not encode a 16-bit {fmt}")
    return encoded.tobytes()


def _is_deep(pixels: np.ndarray | Image.Image) -> bool:
    return isinstance(pixels, np.ndarray) and pixels.dtype == np.uint16


def _is_rgb8(pixels: np.ndarray | Image.Image) -> bool:
    """A render's array (uint8 [H, W, 3]): what the fast PNG writer takes."""
    return isinstance(pixels, np.ndarray) and pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3


def _as_image(pixels: np.ndarray | Image.Image) -> Image.Image:
    return pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)


def encode_image(pixels: np.ndarray | Image.Image, output_format: str, quality: int = 92) -> tuple[bytes, str]:
    """The encoded bytes and their content type; ``quality`` applies to JPEG and WebP."""
    fmt = pil_format(output_format)
    if _is_deep(pixels):  # a 16-bit scan recoloured (worker/engine/recolor)
        return _deep_bytes(pixels, fmt), Image.MIME[fmt]  # type: ignore[arg-type]
    if fmt == "PNG" and _is_rgb8(pixels):
        return encode_png_rgb(pixels), Image.MIME[fmt]  # type: ignore[arg-type]
    buffer = io.BytesIO()
    _as_image(pixels).save(buffer, format=fmt, **_save_options(fmt, quality))
    return buffer.getvalue(), Image.MIME[fmt]


def save_image(pixels: np.ndarray | Image.Image, output: Path, quality: int = 92) -> None:
    """Write a file in the format its extension names."""
    fmt = OUTPUT_FORMATS.get(output.suffix.lower())
    if fmt is None:
        raise BadInputError(f"unknown output format {output.suffix!r}; use one of {', '.join(OUTPUT_FORMATS)}")
    output.parent.mkdir(parents=True, exist_ok=True)
    if _is_deep(pixels):
        output.write_bytes(_deep_bytes(pixels, fmt))  # type: ignore[arg-type]
        return
    if fmt == "PNG" and _is_rgb8(pixels):
        output.write_bytes(encode_png_rgb(pixels))  # type: ignore[arg-type]
        return
    _as_image(pixels).save(output, format=fmt, **_save_options(fmt, quality))
