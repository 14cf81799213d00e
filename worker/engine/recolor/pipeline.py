"""One path for every recolour mode: chroma at a working size, guided to full size, exact luminance.

Modes differ only in where the working-size chroma comes from: an exemplar photo
(``exemplar.py``), painted hints (``hints.py``), both (the hints correct the exemplar's colours),
or a stylized render (today's painterly ``recolor`` colour mode, whose chroma follows brush
strokes until the guided filter makes it follow the photo's edges). The full-size pass runs in
bands of rows, so memory is the scan, the output and a few working-size arrays: a plan of what
that costs is checked against ``memory_limit_mb`` before any work starts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from shared.errors import LimitExceededError, RenderCanceled
from worker.engine.recolor import guided_filter
from worker.engine.recolor import hints as hint_solver
from worker.engine.recolor.exemplar import ExemplarOptions, exemplar_chroma
from worker.engine.recolor.luminance import BAND_ROWS, Scan, compose_band, luma_of, rgb_to_chroma

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]
# (grey target, grey exemplar) → per-pixel features of each, matched along with luminance statistics.
PixelFeatures = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
# Bytes per working-size pixel (guide, chroma, filter terms) and per solved pixel (matrix and
# SuperLU factors of a 9-point system, measured on 640 × 480: about 0.9 KB).
_WORKING_BYTES_PER_PIXEL = 120
_SOLVE_BYTES_PER_PIXEL = 1000
_BAND_BYTES_PER_PIXEL = 160


@dataclass(frozen=True)
class RecolorOptions:
    """How to recolour. Every limit has a default; the farm fills them from its settings.

    Args:
        chroma_smoothing: 0 keeps chroma as computed (interpolated to full size); 1 smooths
            strongly. Sets the guided filter's window and edge threshold (``smoothing_params``).
        working_side: long side at which chroma is formed and the filter is fitted.
        hint_solve_side: long side at which the hint system is solved.
        keep_16bit: a 16-bit greyscale scan gives a 16-bit output (for PNG and TIFF).
        memory_limit_mb: what one recolour may hold; a plan above it is refused before starting.
    """

    chroma_smoothing: float = 0.5
    working_side: int = 1024
    hint_solve_side: int = 640
    keep_16bit: bool = True
    memory_limit_mb: int = 2048
    exemplar: ExemplarOptions = field(default_factory=ExemplarOptions)


def smoothing_params(smoothing: float, long_side: int) -> tuple[int, float]:
    """(radius in working pixels, eps in squared 0–1 luminance) for a ``chroma_smoothing`` value."""
    radius = max(1, round(smoothing * long_side / 48))
    eps = (0.01 + 0.09 * smoothing) ** 2
    return radius, eps


def working_size(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, long_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-average down (or bilinear up) to ``size`` (width, height); same dtype."""
    if (values.shape[1], values.shape[0]) == size:
        return values
    shrinking = size[0] < values.shape[1]
    out = cv2.resize(values, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return out if out.ndim == values.ndim else out[..., None]


def plan_memory(scan: Scan, options: RecolorOptions, hints: bool, solve_pixels: int) -> int:
    """Bytes a recolour of ``scan`` holds at its peak (whole-image arrays plus working arrays)."""
    width, height = scan.size
    work_w, work_h = working_size(scan.size, options.working_side)
    whole = width * height * scan.luma.itemsize * (4 + (4 if hints else 0))  # scan, output, RGBA hints
    return (
        whole
        + work_w * work_h * _WORKING_BYTES_PER_PIXEL
        + (solve_pixels * _SOLVE_BYTES_PER_PIXEL if hints else 0)
        + BAND_ROWS * width * _BAND_BYTES_PER_PIXEL
    )


def _check_memory(scan: Scan, options: RecolorOptions, hints: bool) -> int:
    """The hint solve side that fits the memory limit (halved until it does); refuse if none does."""
    limit = options.memory_limit_mb * 1024 * 1024
    solve_side = min(options.hint_solve_side, options.working_side)
    while True:
        solve_w, solve_h = working_size(scan.size, solve_side)
        needed = plan_memory(scan, options, hints, solve_w * solve_h)
        if needed <= limit:
            return solve_side
        if not hints or solve_side <= 64:
            raise LimitExceededError(
                f"recolouring this {scan.size[0]}×{scan.size[1]} scan needs about {needed // 2**20:,} MB; "
                f"the limit is {options.memory_limit_mb:,} MB (setting recolor_memory_limit_mb)"
            )
        solve_side //= 2


@dataclass
class _Sources:
    exemplar: np.ndarray | None = None  # uint8 RGB
    hints: np.ndarray | None = None  # uint8 RGBA at the scan's size
    stylized: np.ndarray | None = None  # uint8 RGB at the scan's size


def _working_chroma(
    guide: np.ndarray,
    luma8: np.ndarray,
    sources: _Sources,
    options: RecolorOptions,
    solve_side: int,
    features: PixelFeatures | None,
) -> np.ndarray:
    """Chroma [h, w, 2] at the working size from whichever sources were given."""
    size = (guide.shape[1], guide.shape[0])
    chroma = np.zeros((*guide.shape, 2), dtype=np.float32)
    if sources.stylized is not None:
        chroma = rgb_to_chroma(resize(sources.stylized, size))
    if sources.exemplar is not None:
        example = sources.exemplar
        scale = math.sqrt(guide.size / (example.shape[0] * example.shape[1]))
        if scale < 1.0:
            example = resize(
                example, working_size((example.shape[1], example.shape[0]), round(max(example.shape[:2]) * scale))
            )
        extra = None if features is None else features(luma8, luma_of(example).astype(np.float32))
        chroma = exemplar_chroma(luma8, example, options.exemplar, extra)
    if sources.hints is not None:
        solve_size = working_size(size, solve_side)
        strokes = hint_solver.hints_at(sources.hints, solve_size)
        prior = resize(chroma, solve_size)
        wanted = hint_solver.Hints(strokes.mask, np.where(strokes.mask[..., None], strokes.chroma - prior, 0.0))
        correction = hint_solver.solve(resize(guide, solve_size), wanted)
        chroma = chroma + resize(correction.astype(np.float32), size)
    return chroma


def _model(guide: np.ndarray, chroma: np.ndarray, smoothing: float) -> guided_filter.GuidedModel:
    if smoothing <= 0:
        return guided_filter.GuidedModel(np.zeros_like(chroma), chroma)
    radius, eps = smoothing_params(smoothing, max(guide.shape))
    return guided_filter.fit(guide, chroma, radius, eps)


def recolor(
    scan: Scan,
    options: RecolorOptions,
    *,
    exemplar: np.ndarray | None = None,
    hints: np.ndarray | None = None,
    stylized: np.ndarray | None = None,
    progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
    features: PixelFeatures | None = None,
) -> np.ndarray:
    """The scan in colour, [H, W, 3] of the scan's dtype (uint16 for 16-bit scans with ``keep_16bit``).

    Give ``exemplar`` (RGB), ``hints`` (RGBA strokes at the scan's size), both, or ``stylized``
    (an RGB render of the scan at its size). Every output pixel's Y equals the scan's. ``features``
    adds per-pixel features to the exemplar match (``predictor_features.py``).
    """
    if not options.keep_16bit:
        scan = scan.as_8bit()
    solve_side = _check_memory(scan, options, hints is not None)
    width, height = scan.size
    bands = list(guided_filter.row_bands(height, BAND_ROWS))
    total = len(bands) + 1
    size = working_size(scan.size, options.working_side)
    small_luma = resize(scan.luma, size)
    guide = small_luma.astype(np.float32) / np.float32(scan.top)
    luma8 = guide * np.float32(255.0)
    if stylized is not None and stylized.shape[:2] != scan.luma.shape:
        stylized = resize(stylized, scan.size)
    sources = _Sources(exemplar, hints, stylized)
    # A render's own chroma, unsmoothed, is used as it is at full size (today's recolor).
    as_rendered = stylized is not None and options.chroma_smoothing <= 0 and exemplar is None and hints is None
    model = None
    if not as_rendered:
        chroma = _working_chroma(guide, luma8, sources, options, solve_side, features)
        model = _model(guide, chroma, options.chroma_smoothing)
    if progress is not None:
        progress(1, total)
    output = np.empty((height, width, 3), dtype=scan.luma.dtype)
    for done, (y0, y1) in enumerate(bands, start=2):
        if should_cancel is not None and should_cancel():
            raise RenderCanceled("recolour canceled")
        rows = scan.luma[y0:y1]
        if model is None:
            chroma = rgb_to_chroma(stylized[y0:y1])
        else:
            chroma = model.apply_rows(rows.astype(np.float32) / np.float32(scan.top), y0, scan.size)
        if hints is not None:  # painted pixels keep their own colour at full resolution
            painted = hint_solver.hints_at(hints[y0:y1])
            chroma = np.where(painted.mask[..., None], painted.chroma, chroma)
        output[y0:y1] = compose_band(rows, chroma)
        if progress is not None:
            progress(done, total)
    return output
