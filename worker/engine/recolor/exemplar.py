"""Colour from an exemplar: a colour photograph of similar content (Welsh, Ashikhmin and Mueller 2002).

Welsh et al. transfer colour to a greyscale image by matching luminance neighbourhoods: both
images go to Reinhard et al.'s decorrelated l-alpha-beta space (2001, "Color Transfer between Images"),
the exemplar's luminance is remapped to the target's mean and spread (Reinhard's global
statistics), and each target pixel takes the alpha, beta of the exemplar samples whose luminance and
local luminance variation are closest. We average the k nearest samples (a kd-tree over the
features) instead of taking one "best match", which removes most of the method's speckle before
the guided filter (``guided_filter.py``) does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from worker.engine.recolor.guided_filter import box_mean

# Reinhard et al. 2001: RGB → LMS, then log10 LMS → l-alpha-beta (decorrelated for natural images).
_RGB_TO_LMS = np.array([[0.3811, 0.5783, 0.0402], [0.1967, 0.7244, 0.0782], [0.0241, 0.1288, 0.8444]])
_LMS_TO_LAB = np.diag([1 / np.sqrt(3), 1 / np.sqrt(6), 1 / np.sqrt(2)]) @ np.array(
    [[1.0, 1.0, 1.0], [1.0, 1.0, -2.0], [1.0, -1.0, 0.0]]
)
_LAB_TO_LMS = np.linalg.inv(_LMS_TO_LAB)
_LMS_TO_RGB = np.linalg.inv(_RGB_TO_LMS)
_FLOOR = 1.0 / 255.0  # log of zero is undefined: black is nudged up to one code value


@dataclass(frozen=True)
class ExemplarOptions:
    """How the exemplar is matched.

    Args:
        samples: exemplar pixels on a jittered grid that targets are matched against (Welsh: ~200).
        neighbours: samples averaged per target pixel.
        window: radius of the neighbourhood whose luminance spread is the second feature.
        spread_weight: weight of that spread against the luminance itself (Welsh: equal).
    """

    samples: int = 4096
    neighbours: int = 8
    window: int = 2
    spread_weight: float = 1.0
    seed: int = 0


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 (or 0–255 float) RGB [..., 3] → Reinhard l-alpha-beta, float32."""
    lms = np.maximum(rgb.astype(np.float64) / 255.0 @ _RGB_TO_LMS.T, _FLOOR)
    return (np.log10(lms) @ _LMS_TO_LAB.T).astype(np.float32)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """Reinhard l-alpha-beta → RGB in 0–255 float32 (not clipped)."""
    lms = 10.0 ** (lab.astype(np.float64) @ _LAB_TO_LMS.T)
    return (lms @ _LMS_TO_RGB.T * 255.0).astype(np.float32)


def grey_l(luma: np.ndarray) -> np.ndarray:
    """The l-alpha-beta luminance of grey pixels (v, v, v) for v in 0–255: alpha = beta = 0 for greys."""
    lms = np.maximum(luma.astype(np.float64) / 255.0, _FLOOR)[..., None] * _RGB_TO_LMS.sum(axis=1)
    return (np.log10(lms) @ _LMS_TO_LAB.T)[..., 0].astype(np.float32)


def _features(l_channel: np.ndarray, window: int, spread_weight: float) -> np.ndarray:
    mean = box_mean(l_channel, window)
    spread = np.sqrt(np.maximum(box_mean(l_channel * l_channel, window) - mean * mean, 0.0))
    return np.stack([l_channel, spread * np.float32(spread_weight)], axis=-1).reshape(-1, 2)


def _jittered_grid(height: int, width: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """Flat indices of about ``count`` pixels, one at a random spot in each cell of a grid."""
    step = max(1.0, np.sqrt(height * width / count))
    ys = np.arange(0, height, step)
    xs = np.arange(0, width, step)
    grid_y = (ys[:, None] + rng.uniform(0, step, (ys.size, xs.size))).astype(np.int64).clip(0, height - 1)
    grid_x = (xs[None, :] + rng.uniform(0, step, (ys.size, xs.size))).astype(np.int64).clip(0, width - 1)
    return (grid_y * width + grid_x).reshape(-1)


def exemplar_chroma(
    luma: np.ndarray,
    exemplar: np.ndarray,
    options: ExemplarOptions | None = None,
    extra: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Cb, Cr (8-bit units, float32 [h, w, 2]) for the grey ``luma`` [h, w] (0–255) from ``exemplar``.

    ``exemplar`` is uint8 RGB at a comparable scale (its own size; it need not match the target's).
    ``extra``: further per-pixel features of the target and the exemplar ([h, w, d] each), appended
    to the luminance features (``benchmarks/recolor.py`` measures the style predictor's this way).
    """
    from worker.engine.recolor.luminance import rgb_to_chroma

    options = options or ExemplarOptions()
    source = rgb_to_lab(exemplar)
    target_l = grey_l(luma)
    source_l = source[..., 0]
    # Welsh's luminance remapping: the exemplar's l moved to the target's mean and spread.
    source_l = (source_l - source_l.mean()) * (target_l.std() / max(float(source_l.std()), 1e-6)) + target_l.mean()
    rng = np.random.default_rng(options.seed)
    picked = _jittered_grid(*source_l.shape, options.samples, rng)
    source_features = _features(source_l, options.window, options.spread_weight)
    source_colour = source[..., 1:].reshape(-1, 2)[picked]
    target_features = _features(target_l, options.window, options.spread_weight)
    if extra is not None:
        target_features = np.concatenate([target_features, extra[0].reshape(target_features.shape[0], -1)], axis=1)
        source_features = np.concatenate([source_features, extra[1].reshape(source_features.shape[0], -1)], axis=1)
    tree = cKDTree(source_features[picked])
    k = min(options.neighbours, len(picked))
    distance, index = tree.query(target_features, k=k, workers=-1)
    if k == 1:
        distance, index = distance[:, None], index[:, None]
    weights = 1.0 / (distance + 1e-3)
    alpha_beta = (source_colour[index] * weights[..., None]).sum(axis=1) / weights.sum(axis=1)[:, None]
    lab = np.concatenate([target_l.reshape(-1, 1), alpha_beta.astype(np.float32)], axis=1)
    rgb = lab_to_rgb(lab).reshape(*luma.shape, 3)
    return rgb_to_chroma(np.clip(rgb, 0, 255))
