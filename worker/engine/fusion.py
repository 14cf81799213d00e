"""Structure-adaptive fusion: give back the photo where the style destroyed its local structure.

``output = alpha·stylized + (1 - alpha)·photo`` with a per-pixel alpha. The structure measure is the local
SSIM of luminance (Wang et al., "Image quality assessment: from error visibility to structural
similarity", IEEE TIP 2004; 11×11 Gaussian window, sigma 1.5) between the stylized result and the
photo. Where it falls below ``TARGET_SSIM`` alpha drops in proportion to the shortfall, scaled by
``fidelity`` (0: alpha = 1, the plain stylized output; 1: alpha reaches 0 where no structure is left);
alpha is then smoothed with a wide Gaussian so the blend leaves no halos at edges.

The pass runs in bands of rows over the finished uint8 output, each read with a halo as wide as
both blurs, so every band equals the same rows of a whole-image computation: the result is the
same for any band height and for tiled and untiled renders, and the only float arrays are per band.
"""

from __future__ import annotations

import numpy as np

TARGET_SSIM = 0.6  # local structure at or above this keeps the full style
SSIM_WINDOW, SSIM_SIGMA = 11, 1.5  # Wang et al. 2004
SMOOTH_WINDOW, SMOOTH_SIGMA = 25, 4.0  # the alpha map's smoothing: wide enough that blends leave no halo
HALO = SSIM_WINDOW // 2 + SMOOTH_WINDOW // 2  # rows of context a band needs on each side
BAND_ROWS = 256
_C1, _C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _blur(x: np.ndarray, window: int, sigma: float) -> np.ndarray:
    import cv2  # here, not at the top: a render without fusion (and the worker's start) skips OpenCV's import

    return cv2.GaussianBlur(x, (window, window), sigma, borderType=cv2.BORDER_REFLECT_101)


def local_ssim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM of two float32 luminance planes in 0–255."""
    mu_a, mu_b = _blur(a, SSIM_WINDOW, SSIM_SIGMA), _blur(b, SSIM_WINDOW, SSIM_SIGMA)
    var_a = _blur(a * a, SSIM_WINDOW, SSIM_SIGMA) - mu_a * mu_a
    var_b = _blur(b * b, SSIM_WINDOW, SSIM_SIGMA) - mu_b * mu_b
    cov = _blur(a * b, SSIM_WINDOW, SSIM_SIGMA) - mu_a * mu_b
    return ((2 * mu_a * mu_b + _C1) * (2 * cov + _C2)) / ((mu_a * mu_a + mu_b * mu_b + _C1) * (var_a + var_b + _C2))


def fusion_weight(stylized: np.ndarray, photo: np.ndarray, fidelity: float) -> np.ndarray:
    """alpha (float32 [H, W]) for uint8 RGB rows of the stylized output and the photo, before cropping the halo."""
    structure = local_ssim(stylized.astype(np.float32) @ _LUMA, photo.astype(np.float32) @ _LUMA)
    shortfall = np.clip((TARGET_SSIM - structure) / TARGET_SSIM, 0.0, 1.0)
    return _blur(1.0 - np.float32(fidelity) * shortfall, SMOOTH_WINDOW, SMOOTH_SIGMA)


def fuse(output: np.ndarray, photo: np.ndarray, fidelity: float, band_rows: int = BAND_ROWS) -> np.ndarray:
    """Blend ``photo`` back into ``output`` (both uint8 [H, W, 3], same size) in place; returns ``output``."""
    if fidelity <= 0.0:
        return output
    height = output.shape[0]
    # A band's alpha needs the unfused rows of its halo; those above it were fused already, so the
    # previous band's copy (which holds them as they were) supplies them.
    previous: np.ndarray | None = None
    previous_top = 0
    for y0 in range(0, height, band_rows):
        y1 = min(y0 + band_rows, height)
        top, bottom = max(0, y0 - HALO), min(height, y1 + HALO)
        stylized = output[top:bottom].copy()
        if previous is not None:
            stylized[: y0 - top] = previous[top - previous_top : y0 - previous_top]
        alpha = fusion_weight(stylized, photo[top:bottom], fidelity)[y0 - top : y1 - top, :, None]
        band = stylized[y0 - top : y1 - top].astype(np.float32)
        mixed = band * alpha + photo[y0:y1].astype(np.float32) * (1.0 - alpha)
        output[y0:y1] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
        previous, previous_top = stylized, top
    return output
