"""Encode rendered pixels in memory for object storage, in the formats jobs may ask for."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from shared.keys import OUTPUT_EXTENSIONS
from worker.render_cli import OUTPUT_FORMATS


def pil_format(output_format: str) -> str:
    """Pillow's name for a job's ``output_format`` (``png``, ``jpeg``, ``webp``, ``tiff``)."""
    return OUTPUT_FORMATS["." + OUTPUT_EXTENSIONS[output_format]]


def encode_image(pixels: np.ndarray | Image.Image, output_format: str, quality: int = 92) -> tuple[bytes, str]:
    """The encoded bytes and their content type; ``quality`` applies to JPEG and WebP."""
    fmt = pil_format(output_format)
    image = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({"quality": quality} if fmt in ("JPEG", "WEBP") else {}))
    return buffer.getvalue(), Image.MIME[fmt]
