"""A PNG encoder for 8-bit RGB renders: one vectorised filter and zlib, about twice as fast as Pillow's.

Why: encoding is CPU the worker takes from the next render. Pillow picks a filter per row (trying
several), which costs as much as the compression itself; the PNG "Up" filter (each byte minus the
one above, PNG spec section 9.2) computed by numpy over whole bands, then zlib at level 1, encoded a
1.5 MP render in about half Pillow's time (level 1) for files ~6 % larger (benchmarks/catalogue.py,
worker stages). Rows go in bands, in order, so a caller holding part of an image can push it early.
The output is a plain, baseline PNG (IHDR, IDAT, IEND) that every decoder reads.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
FILTER_NONE, FILTER_UP = 0, 2


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


class PngRgbWriter:
    """Encode a ``width`` × ``height`` RGB image pushed as row bands (uint8 [rows, width, 3]), top to bottom."""

    def __init__(self, width: int, height: int, level: int = 1) -> None:
        if width < 1 or height < 1:
            raise ValueError(f"a PNG needs at least one pixel, not {width}x{height}")
        self.width, self.height = width, height
        self.rows_done = 0
        self._previous: np.ndarray | None = None  # last row of the previous band, for the Up filter
        self._zlib = zlib.compressobj(level)
        self._parts = [SIGNATURE, _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))]
        self._compressed: list[bytes] = []

    def write(self, band: np.ndarray) -> None:
        """Filter and compress the next rows."""
        if band.dtype != np.uint8 or band.ndim != 3 or band.shape[1:] != (self.width, 3):
            raise ValueError(f"expected uint8 rows of shape (n, {self.width}, 3), got {band.dtype} {band.shape}")
        if self.rows_done + band.shape[0] > self.height:
            raise ValueError(f"more than {self.height} rows written")
        rows = band.reshape(band.shape[0], self.width * 3)
        filtered = np.empty((rows.shape[0], rows.shape[1] + 1), dtype=np.uint8)
        filtered[:, 0] = FILTER_UP
        np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])  # uint8 arithmetic wraps, as PNG wants
        if self._previous is None:
            filtered[0, 0] = FILTER_NONE
            filtered[0, 1:] = rows[0]
        else:
            np.subtract(rows[0], self._previous, out=filtered[0, 1:])
        self._previous = rows[-1].copy()
        self._compressed.append(self._zlib.compress(filtered.data))
        self.rows_done += rows.shape[0]

    def finish(self) -> bytes:
        """The whole file; every row must have been written."""
        if self.rows_done != self.height:
            raise ValueError(f"{self.rows_done} of {self.height} rows written")
        self._compressed.append(self._zlib.flush())
        return b"".join([*self._parts, _chunk(b"IDAT", b"".join(self._compressed)), _chunk(b"IEND", b"")])


def encode_png_rgb(pixels: np.ndarray, level: int = 1, band_rows: int = 256) -> bytes:
    """``pixels`` (uint8 [H, W, 3]) as PNG bytes, filtered and compressed band by band."""
    height, width = pixels.shape[:2]
    writer = PngRgbWriter(width, height, level)
    for top in range(0, height, band_rows):
        writer.write(np.ascontiguousarray(pixels[top : top + band_rows]))
    return writer.finish()
