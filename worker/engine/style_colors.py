"""Match a style image's colours to the photo's before its style vector is predicted.

Why: the style predictor summarises colour along with brush work, so a painting's palette follows
it into every photo. Transferring the photo's colour distribution onto the painting first keeps the
strokes and texture but takes the colour bias out: the linear colour transfer of Gatys et al.,
"Preserving Color in Neural Artistic Style Transfer" (2016, section 2.1): each style pixel
x becomes A (x - μ_s) + μ_p with A = Σ_p^½ Σ_s^-½, so the style image's mean and covariance of
RGB equal the photo's. A third way to keep the photo's colours, next to ``preserve`` and ``recolor``.
"""

from __future__ import annotations

import numpy as np

STAT_PIXELS = 65_536  # pixels sampled (on a regular grid) for each image's colour statistics
_EPS = 1e-3


def _sample(pixels: np.ndarray) -> np.ndarray:
    flat = pixels.reshape(-1, 3)
    step = max(1, len(flat) // STAT_PIXELS)
    return flat[::step].astype(np.float64)


def _sqrt_psd(cov: np.ndarray, power: float) -> np.ndarray:
    """``cov`` to the given power (±½) through its eigen-decomposition (symmetric, regularized)."""
    values, vectors = np.linalg.eigh(cov + _EPS * np.eye(3))
    return (vectors * np.maximum(values, _EPS) ** power) @ vectors.T


def match_colors(style: np.ndarray, photo: np.ndarray) -> np.ndarray:
    """``style`` (uint8 RGB) with the mean and covariance of ``photo``'s colours (uint8 RGB)."""
    s, p = _sample(style), _sample(photo)
    mu_s, mu_p = s.mean(axis=0), p.mean(axis=0)
    transform = _sqrt_psd(np.cov(p, rowvar=False), 0.5) @ _sqrt_psd(np.cov(s, rowvar=False), -0.5)
    moved = (style.reshape(-1, 3).astype(np.float32) - mu_s.astype(np.float32)) @ transform.T.astype(np.float32)
    moved += mu_p.astype(np.float32)
    return np.clip(moved + 0.5, 0, 255).astype(np.uint8).reshape(style.shape)
