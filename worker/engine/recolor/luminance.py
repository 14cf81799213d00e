"""The scan's own luminance, read at its bit depth, and colour composed around it exactly.

"Y" here is Pillow's greyscale conversion (ITU-R BT.601 weights in 16-bit fixed point:
``(19595 R + 38470 G + 7471 B + 32768) >> 16``), so ``Image.convert("L")`` of an 8-bit output
gives back the input scan, and the same formula on a 16-bit output gives back a 16-bit scan.
The weights sum to 65536, so a grey pixel (v, v, v) has Y = v exactly; colour is added as
chroma offsets, pulled towards grey where it would leave the gamut (which keeps Y), rounded,
and the rounding is then corrected pixel by pixel among the 27 nearest integer colours.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from shared.images import ImageSource, load_image

LUMA_WEIGHTS = np.array([19595, 38470, 7471], dtype=np.int64)
# Y, Cb, Cr (BT.601, full range) → RGB offsets per unit of Cb and Cr.
_CHROMA_TO_RGB = np.array([[0.0, -0.344136, 1.772], [1.402, -0.714136, 0.0]], dtype=np.float32)
_RGB_TO_CHROMA = np.array([[-0.168736, 0.5], [-0.331264, -0.418688], [0.5, -0.081312]], dtype=np.float32)
_NEIGHBOURS = np.array([d for d in itertools.product((-1, 0, 1), repeat=3) if any(d)], dtype=np.int64)
BAND_ROWS = 256  # rows composed at once: bounds the temporary arrays for any width


@dataclass(frozen=True)
class Scan:
    """A scan's luminance at full resolution: uint8, or uint16 for 16-bit greyscale files."""

    luma: np.ndarray

    @property
    def top(self) -> int:
        return 65535 if self.luma.dtype == np.uint16 else 255

    @property
    def size(self) -> tuple[int, int]:
        return self.luma.shape[1], self.luma.shape[0]

    def guide(self) -> np.ndarray:
        """Luminance in 0–1 as float32: the guided filter's guide image."""
        return self.luma.astype(np.float32) / np.float32(self.top)

    def as_8bit(self) -> Scan:
        if self.luma.dtype == np.uint8:
            return self
        return Scan(((self.luma.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8))


def luma_of(rgb: np.ndarray) -> np.ndarray:
    """Y of uint8 or uint16 RGB [..., 3] by Pillow's fixed-point formula (same dtype back)."""
    y = (rgb.astype(np.int64) @ LUMA_WEIGHTS + 32768) >> 16
    return y.astype(rgb.dtype)


def rgb_to_chroma(rgb: np.ndarray) -> np.ndarray:
    """Cb, Cr (centred on 0, in 8-bit units) of uint8 RGB [..., 3] as float32 [..., 2]."""
    return rgb.astype(np.float32) @ _RGB_TO_CHROMA


def _sixteen_bit_grey(source: ImageSource) -> np.ndarray | None:
    """The pixels of a 16-bit greyscale file (upright), or None for anything else."""
    if isinstance(source, np.ndarray):
        return source if source.dtype == np.uint16 and source.ndim == 2 else None
    if isinstance(source, Image.Image):
        img = source
    else:
        import io

        img = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
    if not (img.mode.startswith("I;16") or img.mode == "I"):
        return None
    img = ImageOps.exif_transpose(img) or img
    values = np.asarray(img, dtype=np.int64)
    if img.mode == "I" and values.max() <= 255:
        return None
    return np.clip(values, 0, 65535).astype(np.uint16)


def load_scan(source: ImageSource, max_pixels: int, min_side: int = 16, max_side: int | None = None) -> Scan:
    """The scan's luminance; colour photos are converted (their Y), 16-bit greyscale kept 16-bit.

    Limits are checked by ``load_image`` before any pixel is decoded. ``max_side`` downsizes
    (Lanczos, in floating point) so the scan's long side is at most that.
    """
    rgb = load_image(source, max_pixels, min_side)
    deep = _sixteen_bit_grey(source)
    # Pillow's "L" conversion is the Y formula above, computed without whole-image int64 copies.
    luma = deep if deep is not None and deep.shape == (rgb.height, rgb.width) else np.asarray(rgb.convert("L"))
    del rgb
    if max_side and max(luma.shape) > max_side:
        scale = max_side / max(luma.shape)
        size = (max(1, round(luma.shape[1] * scale)), max(1, round(luma.shape[0] * scale)))
        resized = np.asarray(Image.fromarray(luma.astype(np.float32)).resize(size, Image.Resampling.LANCZOS))
        top = 65535 if luma.dtype == np.uint16 else 255
        luma = np.clip(resized + 0.5, 0, top).astype(luma.dtype)
    return Scan(np.ascontiguousarray(luma))


def _within_gamut(y: np.ndarray, offsets: np.ndarray, top: float) -> np.ndarray:
    """Scale each pixel's chroma offsets towards grey just enough that Y + offsets fits 0–top."""
    with np.errstate(divide="ignore", invalid="ignore"):
        room_up = np.where(offsets > 0, (top - y[..., None]) / offsets, np.inf)
        room_down = np.where(offsets < 0, y[..., None] / -offsets, np.inf)
    scale = np.minimum(np.minimum(room_up, room_down).min(axis=-1), 1.0)
    return offsets * np.clip(scale, 0.0, 1.0)[..., None]


def _exact_rounding(target: np.ndarray, wanted: np.ndarray, top: int) -> np.ndarray:
    """Integer RGB nearest to ``wanted`` whose Y is exactly ``target`` (grey where none is)."""
    best = np.clip(np.rint(wanted), 0, top).astype(np.int64)
    wrong = np.flatnonzero(((best @ LUMA_WEIGHTS + 32768) >> 16) != target)
    if wrong.size == 0:
        return best
    base, goal, want = best[wrong], target[wrong].astype(np.int64), wanted[wrong]
    chosen = np.repeat(goal[:, None], 3, axis=1)  # grey has Y == goal exactly: the fallback
    cost = np.full(wrong.size, np.inf)
    for step in _NEIGHBOURS:
        candidate = base + step
        fits = (candidate >= 0).all(axis=1) & (candidate <= top).all(axis=1)
        fits &= ((candidate @ LUMA_WEIGHTS + 32768) >> 16) == goal
        distance = ((candidate - want) ** 2).sum(axis=1)
        better = fits & (distance < cost)
        chosen[better], cost[better] = candidate[better], distance[better]
    best[wrong] = chosen
    return best


def compose_band(luma: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """RGB (luma's dtype) from the scan's Y and chroma [H, W, 2] in 8-bit units; Y kept exactly."""
    top = 65535 if luma.dtype == np.uint16 else 255
    scale = np.float32(top / 255.0)
    y = luma.astype(np.float32)
    offsets = _within_gamut(y, (chroma * scale) @ _CHROMA_TO_RGB, float(top))
    wanted = (y[..., None] + offsets).reshape(-1, 3)
    rgb = _exact_rounding(luma.reshape(-1).astype(np.int64), wanted, top)
    return rgb.reshape(*luma.shape, 3).astype(luma.dtype)
