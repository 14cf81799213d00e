"""Colour from hints: colourisation by optimisation (Levin, Lischinski and Weiss, SIGGRAPH 2004).

Neighbouring pixels with similar luminance should have similar colour: every pixel r without a
hint is asked to equal a weighted mean of its 3×3 neighbours, U(r) = Σ_s w_rs U(s), with
w_rs ∝ exp(-(Y_r - Y_s)² / 0.6 s_r²) (s_r² the luminance variance around r), while hinted pixels
keep the hint's chroma. With the variance of a pair taken as the mean of both pixels' (so W is
symmetric), those equations are the free rows of the graph Laplacian (D - W) U = 0: a sparse,
symmetric positive definite system per chroma channel, solved by conjugate gradients from coarse
to fine (a direct LU solve was measured 15-30 s at 480 px; this takes well under a second).

The system is solved at a working resolution (``solve_side``); the full-size chroma comes from
the guided filter's upsampling (``pipeline.py``), with the painted pixels set to their colour.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
import scipy.sparse as sp
from PIL import Image, UnidentifiedImageError
from scipy.sparse.linalg import LinearOperator, cg, splu

from shared.errors import BadInputError, LimitExceededError
from shared.hint_images import hints_problem
from worker.engine.recolor.luminance import rgb_to_chroma

_VARIANCE_FLOOR = 2e-6  # in (0–1 luminance)²: keeps the weights finite where the luminance is flat
# Scale of the variance in the affinity's denominator: Levin et al.'s published code uses 0.6 (a sharper
# cut at luminance edges than the Gaussian's 2, which leaked colour across edges in our tests).
_SPREAD_SCALE = 0.6
_GRAIN_FACTOR = 4.0  # the variance floor, in multiples of the median local variance
# ... and the ceiling: at a step edge Levin's local variance grows with the step itself, which caps the
# weight across any edge near exp(-7.5) and let colour leak around objects; a ceiling keeps edges closed.
_CEILING_FACTOR = 10.0
_PAINTED_ALPHA = 128
_MAX_ITERATIONS = 100  # conjugate-gradient steps per pyramid level above the coarsest
_ALL_SHIFTS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
_FORWARD_SHIFTS = [
    (0, 1),
    (1, -1),
    (1, 0),
    (1, 1),
]  # each neighbour pair of the 8-connected grid once  # a hint pixel counts as painted from half opacity up


@dataclass(frozen=True)
class Hints:
    """Painted strokes at some resolution: where (mask) and which chroma (Cb, Cr in 8-bit units)."""

    mask: np.ndarray  # [h, w] bool
    chroma: np.ndarray  # [h, w, 2] float32, zero where not painted

    @property
    def size(self) -> tuple[int, int]:
        return self.mask.shape[1], self.mask.shape[0]


def read_hints(data: bytes | str, photo_size: tuple[int, int], max_pixels: int) -> Image.Image:
    """The hints image as RGBA at the photo's size, or ``BadInputError`` saying what is wrong.

    A hints image is a transparent PNG (or WebP, TIFF) of the photo's size, or a uniformly
    scaled copy of it (a painter may work on a smaller canvas); strokes are its opaque pixels.
    """
    try:
        img = Image.open(io.BytesIO(data) if isinstance(data, bytes) else data)
        if img.width * img.height > max_pixels:
            pixels = img.width * img.height
            raise LimitExceededError(f"the hints image has {pixels:,} pixels; the limit is {max_pixels:,}")
        img.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadInputError(f"the hints file is not a readable image ({exc.__class__.__name__})") from None
    problem = hints_problem(img, photo_size)
    if problem is not None:
        raise BadInputError(problem)
    rgba = img.convert("RGBA")
    if rgba.size != photo_size:
        rgba = rgba.resize(photo_size, Image.Resampling.NEAREST)
    return rgba


def hints_at(rgba: np.ndarray, size: tuple[int, int] | None = None) -> Hints:
    """Mask and chroma of uint8 RGBA strokes, optionally area-averaged down to ``size``."""
    if size is not None and size != (rgba.shape[1], rgba.shape[0]):
        alpha = rgba[..., 3:4].astype(np.float32) / 255.0
        premultiplied = np.concatenate([rgba[..., :3] * alpha, alpha], axis=-1)
        small = np.stack(
            [np.asarray(Image.fromarray(premultiplied[..., c]).resize(size, Image.Resampling.BOX)) for c in range(4)],
            axis=-1,
        )
        coverage = small[..., 3]
        mask = coverage >= 0.5
        colour = small[..., :3] / np.maximum(coverage, 1e-6)[..., None]
    else:
        mask = rgba[..., 3] >= _PAINTED_ALPHA
        colour = rgba[..., :3].astype(np.float32)
    chroma = np.where(mask[..., None], rgb_to_chroma(colour), 0.0).astype(np.float32)
    return Hints(mask, chroma)


def _laplacian(guide: np.ndarray) -> sp.csr_matrix:
    """The graph Laplacian D - W of the 8-connected pixel grid with Levin's luminance affinities.

    w_rs = exp(-(Y_r - Y_s)² / 0.6 s²) with s² the mean of the two pixels' local variances, so W is
    symmetric and Levin's "U(r) = weighted mean of its neighbours" is row r of (D - W) U = 0.
    """
    height, width = guide.shape
    count = height * width
    padded = np.pad(guide, 1, mode="edge")
    around = np.stack([padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width] for dy, dx in _ALL_SHIFTS])
    variance = around.var(axis=0)
    # Film grain: differences at the level of the image's typical local variation count as similar,
    # or grain would block colour from spreading inside objects (Levin's floor alone assumes no noise).
    floor = max(_VARIANCE_FLOOR, _GRAIN_FACTOR * float(np.median(variance)))
    variance = np.clip(variance, floor, _CEILING_FACTOR * floor)
    index = np.arange(count).reshape(height, width)
    rows, cols, values = [], [], []
    for dy, dx in _FORWARD_SHIFTS:  # each pair once, then mirrored
        here = (slice(0, height - dy), slice(max(0, -dx), width - max(0, dx)))
        there = (slice(dy, height), slice(max(0, dx), width - max(0, -dx)))
        spread = 0.5 * (variance[here] + variance[there])
        weight = np.exp(-((guide[here] - guide[there]) ** 2) / (_SPREAD_SCALE * spread)).reshape(-1)
        rows.append(index[here].reshape(-1))
        cols.append(index[there].reshape(-1))
        values.append(weight)
    row, col, value = np.concatenate(rows), np.concatenate(cols), np.concatenate(values)
    affinity = sp.coo_matrix(
        (np.concatenate([value, value]), (np.concatenate([row, col]), np.concatenate([col, row]))), shape=(count, count)
    ).tocsr()
    degree = np.asarray(affinity.sum(axis=1)).reshape(-1)
    return (sp.diags(degree) - affinity).tocsr()


def _solve_level(guide: np.ndarray, hints: Hints, start: np.ndarray | None, tolerance: float) -> np.ndarray:
    """Chroma at one level: L_ff U_f = -L_fc U_c, by LU without ``start``, else by CG warm-started from it."""
    laplacian = _laplacian(guide)
    fixed = hints.mask.reshape(-1)
    free = ~fixed
    known = hints.chroma.reshape(-1, 2).astype(np.float64)
    system = laplacian[free][:, free].tocsr()
    coupling = laplacian[free][:, fixed]
    inverse_diagonal = 1.0 / np.maximum(system.diagonal(), 1e-12)
    precondition = LinearOperator(system.shape, matvec=lambda v: inverse_diagonal * v.reshape(-1), dtype=np.float64)
    solution = known.copy()
    right = -(coupling @ known[fixed])
    if start is None:  # the coarsest level: small enough to solve directly
        solution[free] = splu(system.tocsc(), permc_spec="MMD_AT_PLUS_A").solve(right)
        return solution.reshape(*guide.shape, 2)
    for channel in range(2):
        guess = start.reshape(-1, 2)[free, channel].astype(np.float64)
        solution[free, channel], _ = cg(
            system, right[:, channel], x0=guess, rtol=tolerance, maxiter=_MAX_ITERATIONS, M=precondition
        )
    return solution.reshape(*guide.shape, 2)


def solve(guide: np.ndarray, hints: Hints, coarsest_side: int = 128, tolerance: float = 1e-3) -> np.ndarray:
    """Chroma [h, w, 2] over the whole image from the hinted pixels (guide: luminance in 0–1).

    Coarse to fine: the coarsest level of a pyramid (halving down to ``coarsest_side``) is solved
    directly (sparse LU); each finer level starts from the level below, scaled up, so conjugate
    gradients only has to add the detail of its own level.
    """
    if guide.shape != hints.mask.shape:
        raise ValueError("guide and hints must have one size")
    if not hints.mask.any():
        raise BadInputError("the hints image has no painted pixels")
    sizes = [(guide.shape[1], guide.shape[0])]
    while max(sizes[-1]) > coarsest_side * 2:
        sizes.append((max(1, sizes[-1][0] // 2), max(1, sizes[-1][1] // 2)))
    solution = None
    for size in reversed(sizes):
        level_guide = cv2.resize(guide, size, interpolation=cv2.INTER_AREA) if size != sizes[0] else guide
        level_hints = _hints_resized(hints, size)
        start = (
            None if solution is None else cv2.resize(solution.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
        )
        solution = _solve_level(level_guide.astype(np.float64), level_hints, start, tolerance)
    assert solution is not None
    return solution.astype(np.float32)


def _hints_resized(hints: Hints, size: tuple[int, int]) -> Hints:
    if size == hints.size:
        return hints
    coverage = cv2.resize(hints.mask.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    summed = cv2.resize(hints.chroma * hints.mask[..., None], size, interpolation=cv2.INTER_AREA)
    mask = coverage >= 0.5
    chroma = np.where(mask[..., None], summed / np.maximum(coverage, 1e-6)[..., None], 0.0).astype(np.float32)
    return Hints(mask, chroma)
