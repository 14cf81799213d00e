"""Colour controls applied to stylized pixels: preserve the photo's colours, or recolor it.

Both work in YCbCr (ITU-R BT.601, full range, as JPEG uses): *preserve colour* keeps the
stylized luminance and takes chroma from the photo (Gatys et al. 2016, "Preserving Color in
Neural Artistic Style Transfer"); *recolor* is the inverse — the photo's own luminance at full
resolution with the stylized image's chroma — which colourises archival black-and-white photos
while keeping every detail of the original. Functions work on uint8 tiles so whole images
never need float copies.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

ColorMode = Literal["stylized", "preserve", "recolor"]

_TO_YCBCR = np.array(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], dtype=np.float32
)
_FROM_YCBCR = np.linalg.inv(_TO_YCBCR).astype(np.float32)


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """uint8 or float RGB [..., 3] in 0–255 → float32 Y, Cb, Cr with chroma centred on 0."""
    return rgb.astype(np.float32) @ _TO_YCBCR.T


def ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    """Inverse of ``rgb_to_ycbcr``, rounded and clipped to uint8."""
    return np.clip(ycc @ _FROM_YCBCR.T + 0.5, 0, 255).astype(np.uint8)


def combine(stylized: np.ndarray, photo: np.ndarray, mode: ColorMode) -> np.ndarray:
    """Apply ``mode`` to a stylized tile and the matching photo tile (both uint8 [H, W, 3])."""
    if mode == "stylized":
        return stylized
    styl = rgb_to_ycbcr(stylized)
    orig = rgb_to_ycbcr(photo)
    if mode == "preserve":
        styl[..., 1:] = orig[..., 1:]
        return ycbcr_to_rgb(styl)
    orig[..., 1:] = styl[..., 1:]
    return ycbcr_to_rgb(orig)


def blend(stylized: np.ndarray, photo: np.ndarray, amount: float) -> np.ndarray:
    """Pixel blend: ``amount`` of the stylized tile over the photo (used for built-in strength)."""
    if amount >= 1.0:
        return stylized
    mixed = stylized.astype(np.float32) * amount + photo.astype(np.float32) * (1.0 - amount)
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
