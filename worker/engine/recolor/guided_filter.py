"""Edge-aware smoothing of chroma with the luminance as guide (He, Sun and Tang, ECCV 2010).

The guided filter models the output in every (2r+1)² window as a linear function of the guide,
q = a·I + b, with a = cov(I, p) / (var(I) + ε) and b = mean(p) - a·mean(I), then averages the
coefficients of the windows covering each pixel. Where the luminance is flat (var ≪ ε) chroma is
averaged; across a luminance edge (var ≫ ε) the chroma follows the edge. Box means come from
OpenCV's ``boxFilter`` (running sums: cost independent of r).

Full-size output uses the same model (He and Sun 2015, "Fast Guided Filter"): coefficients are
found at a working resolution, interpolated bilinearly and applied to the full-resolution guide,
band by band, so a 20-megapixel scan never holds more than its bands of float data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np


def box_mean(values: np.ndarray, radius: int) -> np.ndarray:
    """Mean over the (2r+1)² window around each pixel (mirror at the borders), per channel."""
    side = 2 * radius + 1
    return cv2.boxFilter(values, -1, (side, side), normalize=True, borderType=cv2.BORDER_REFLECT)


@dataclass(frozen=True)
class GuidedModel:
    """Per-pixel a (one per chroma channel) and b at the working resolution: q = a·I + b."""

    a: np.ndarray  # [h, w, C] float32
    b: np.ndarray  # [h, w, C] float32

    def apply(self, guide: np.ndarray) -> np.ndarray:
        """q for a guide of the model's own size."""
        return self.a * guide[..., None] + self.b

    def apply_rows(self, guide_rows: np.ndarray, y0: int, full_size: tuple[int, int]) -> np.ndarray:
        """q for rows ``y0...`` of the full-size guide: coefficients interpolated bilinearly."""
        width, height = full_size
        small_h, small_w = self.a.shape[:2]
        rows = guide_rows.shape[0]
        xs = ((np.arange(width, dtype=np.float32) + 0.5) * (small_w / width) - 0.5).astype(np.float32)
        ys = ((np.arange(y0, y0 + rows, dtype=np.float32) + 0.5) * (small_h / height) - 0.5).astype(np.float32)
        map_x = np.broadcast_to(xs[None, :], (rows, width)).copy()
        map_y = np.broadcast_to(ys[:, None], (rows, width)).copy()
        a = _remap(self.a, map_x, map_y)
        b = _remap(self.b, map_x, map_y)
        return a * guide_rows[..., None] + b


def _remap(values: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    out = cv2.remap(values, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out if out.ndim == 3 else out[..., None]


def fit(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> GuidedModel:
    """The guided filter's averaged coefficients for ``source`` [h, w, C] under ``guide`` [h, w].

    Args:
        radius: window radius in pixels of this resolution.
        eps: regularisation, in squared guide units (guide in 0–1): edges with a luminance step
            well above sqrt(eps) are kept, flatter areas smoothed.
    """
    guide = guide.astype(np.float32)
    source = source.astype(np.float32)
    mean_i = box_mean(guide, radius)[..., None]
    var_i = box_mean(guide * guide, radius)[..., None] - mean_i * mean_i
    mean_p = box_mean(source, radius).reshape(source.shape)
    cov_ip = box_mean(source * guide[..., None], radius).reshape(source.shape) - mean_i * mean_p
    a = cov_ip / (var_i + np.float32(eps))
    b = mean_p - a * mean_i
    return GuidedModel(box_mean(a, radius).reshape(a.shape), box_mean(b, radius).reshape(b.shape))


def guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Filter ``source`` [h, w, C] edge-aware under ``guide`` [h, w] (both of one size)."""
    return fit(guide, source, radius, eps).apply(guide.astype(np.float32))


def row_bands(height: int, rows: int) -> Iterator[tuple[int, int]]:
    for y0 in range(0, height, rows):
        yield y0, min(height, y0 + rows)
