"""What makes a hints image usable for a photo, checked alike by the API (400) and the worker.

A hints image holds coloured strokes on transparency (issue 15, ``worker/engine/recolor/hints.py``):
it must have an alpha channel and the photo's shape, at the photo's size or uniformly scaled (the
web page's painter may work on a smaller canvas).
"""

from __future__ import annotations

from PIL import Image

ASPECT_TOLERANCE = 0.01


def hints_problem(img: Image.Image, photo_size: tuple[int, int]) -> str | None:
    """Why ``img`` cannot be the hints of a photo of ``photo_size`` (width, height), or None."""
    if "A" not in img.getbands() and "transparency" not in img.info:
        return "the hints image has no transparency: paint strokes on a transparent PNG"
    width, height = photo_size
    if abs(img.width / img.height - width / height) > ASPECT_TOLERANCE * (width / height):
        return f"the hints image is {img.width}×{img.height}, which is not the shape of the photo ({width}×{height})"
    return None
