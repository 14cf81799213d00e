"""Masks: where the style goes, read from an uploaded image, the photo's alpha, or estimated.

A mask is one uint8 plane at the output size (255 = inside). ``mode`` says what inside means:
``stylize`` paints the style inside and keeps the photo outside, ``keep`` the reverse. A feather
radius softens the edge; it is applied band by band with a halo as wide as the blur, so the result
is the same for any band height and no whole-image float copy is made. Several styles with one
mask each (regions) are cross-faded where their feathered masks overlap.

The automatic mask is OpenCV's GrabCut (Rother et al., "GrabCut: interactive foreground extraction
using iterated graph cuts", SIGGRAPH 2004) seeded with the image border as background: it needs no
weights and suits product shots on plain backgrounds. Its random initialisation is seeded, so it is
deterministic.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageOps

from shared.errors import BadInputError
from shared.images import ImageSource, load_image
from shared.mask_fit import check_mask_fits

MaskMode = Literal["stylize", "keep"]
MASK_MODES: tuple[str, ...] = ("stylize", "keep")
BAND_ROWS = 256  # rows composited at a time
AUTO_SIDE = 512  # GrabCut runs on a copy this long side at most (its cost grows with the pixels)
AUTO_ITERATIONS = 5
AUTO_MARGIN = 0.02  # the border strip seeded as background, as a fraction of each side


@dataclass(frozen=True)
class MaskSpec:
    """One mask: ``source`` is ``"alpha"``, ``"auto"`` or a grayscale image (path, bytes, array)."""

    source: ImageSource
    mode: MaskMode = "stylize"
    feather: int = 0

    def validate(self, max_feather: int = 256) -> None:
        if self.mode not in MASK_MODES:
            raise BadInputError(f"mask mode must be one of {', '.join(MASK_MODES)}, got {self.mode!r}")
        if not 0 <= self.feather <= max_feather:
            raise BadInputError(f"feather must be between 0 and {max_feather} px, got {self.feather}")


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)


def input_alpha(image: ImageSource, size: tuple[int, int]) -> np.ndarray | None:
    """The photo's own alpha channel at ``size`` (w, h), upright as the photo is; None without one."""
    if isinstance(image, np.ndarray):
        return _fit(image[..., 3], size) if image.ndim == 3 and image.shape[2] == 4 else None
    if isinstance(image, Image.Image):
        return _alpha_of(image, size)
    try:  # only the header is read unless the image has alpha
        with Image.open(io.BytesIO(image) if isinstance(image, bytes) else image) as img:
            return _alpha_of(img, size)
    except (OSError, ValueError):
        return None


def _alpha_of(img: Image.Image, size: tuple[int, int]) -> np.ndarray | None:
    if not _has_alpha(img):
        return None
    img = ImageOps.exif_transpose(img) or img
    return _fit(np.asarray(img.convert("RGBA"))[..., 3], size)


def _fit(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A uint8 plane resized to ``size`` (w, h) when it is not that size already."""
    if (plane.shape[1], plane.shape[0]) == size:
        return np.ascontiguousarray(plane)
    return np.asarray(Image.fromarray(plane).resize(size, Image.Resampling.BILINEAR))


def grayscale_mask(source: ImageSource, photo_size: tuple[int, int], max_pixels: int) -> np.ndarray:
    """An uploaded mask image as one uint8 plane at ``photo_size``; 400 when its shape does not fit."""
    img = load_image(source, max_pixels, min_side=1)
    check_mask_fits(img.size, photo_size)
    return _fit(np.asarray(img.convert("L")), photo_size)


def auto_mask(photo: np.ndarray) -> np.ndarray:
    """The foreground of ``photo`` (uint8 RGB) by GrabCut seeded from its border: 255 inside, 0 outside."""
    import cv2  # imported when a mask needs it: renders without one (and the worker's start) skip it

    height, width = photo.shape[:2]
    scale = min(1.0, AUTO_SIDE / max(height, width))
    small = (
        photo
        if scale == 1.0
        else cv2.resize(
            photo, (max(8, round(width * scale)), max(8, round(height * scale))), interpolation=cv2.INTER_AREA
        )
    )
    h, w = small.shape[:2]
    mx, my = max(2, round(w * AUTO_MARGIN)), max(2, round(h * AUTO_MARGIN))
    labels = np.zeros((h, w), np.uint8)
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # GrabCut initialises its colour models with k-means on OpenCV's global generator
    try:
        cv2.grabCut(
            np.ascontiguousarray(small[..., ::-1]),
            labels,
            (mx, my, w - 2 * mx, h - 2 * my),
            background,
            foreground,
            AUTO_ITERATIONS,
            cv2.GC_INIT_WITH_RECT,
        )
    except cv2.error:  # a flat image: no colour model to fit, so no foreground to find
        return np.zeros((height, width), np.uint8)
    inside = np.where((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    if inside.shape != (height, width):
        inside = cv2.resize(inside, (width, height), interpolation=cv2.INTER_LINEAR)
        inside = np.where(inside >= 128, 255, 0).astype(np.uint8)
    return inside


def mask_plane(spec: MaskSpec, image: ImageSource, photo: np.ndarray, max_pixels: int) -> np.ndarray:
    """The mask of ``spec`` at the size of ``photo`` (the photo at output size, uint8 RGB)."""
    size = (photo.shape[1], photo.shape[0])
    if isinstance(spec.source, str) and spec.source == "alpha":
        alpha = input_alpha(image, size)
        if alpha is None:
            raise BadInputError("mask 'alpha' needs a photo with an alpha channel (a PNG or WebP with transparency)")
        return alpha
    if isinstance(spec.source, str) and spec.source == "auto":
        return auto_mask(photo)
    return grayscale_mask(spec.source, size, max_pixels)


def feather_kernel(feather: int) -> tuple[int, float]:
    """(kernel side, sigma) of the Gaussian that spreads a mask edge over about ``feather`` px each way."""
    return 2 * feather + 1, max(feather / 2.0, 0.5)


def feathered_rows(mask: np.ndarray, y0: int, y1: int, feather: int) -> np.ndarray:
    """Rows ``y0:y1`` of ``mask`` blurred by ``feather``, read with a halo so they match a whole-image blur."""
    if feather <= 0:
        return mask[y0:y1]
    import cv2

    top, bottom = max(0, y0 - feather), min(mask.shape[0], y1 + feather)
    side, sigma = feather_kernel(feather)
    blurred = cv2.GaussianBlur(mask[top:bottom], (side, side), sigma, borderType=cv2.BORDER_REFLECT_101)
    return blurred[y0 - top : y1 - top]


def composite(
    photo: np.ndarray,
    layers: Sequence[tuple[np.ndarray, np.ndarray]],
    mode: MaskMode,
    feather: int,
    out: np.ndarray,
    band_rows: int = BAND_ROWS,
) -> np.ndarray:
    """Paint each (stylized, mask) layer over ``photo`` into ``out`` (which may be a layer's own buffer).

    Each layer's weight is its feathered mask (``keep``: its complement). Where weights add up to
    more than 1 they are normalized, so neighbouring regions cross-fade; what they leave is the photo.
    A weight of exactly 0 or 1 gives exactly the photo or the layer's pixels.
    """
    height = photo.shape[0]
    for y0 in range(0, height, band_rows):
        y1 = min(y0 + band_rows, height)
        weights = []
        for _, mask in layers:
            w = feathered_rows(mask, y0, y1, feather).astype(np.float32) / 255.0
            weights.append(1.0 - w if mode == "keep" else w)
        total = np.sum(weights, axis=0)
        scale = 1.0 / np.maximum(total, 1.0)
        mixed = photo[y0:y1].astype(np.float32) * np.maximum(1.0 - total, 0.0)[..., None]
        for (layer, _), w in zip(layers, weights, strict=True):
            mixed += layer[y0:y1].astype(np.float32) * (w * scale)[..., None]
        out[y0:y1] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    return out


def with_alpha(pixels: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """RGB pixels and an alpha plane of the same size as one RGBA array."""
    return np.dstack((pixels, alpha))
