"""Hostile, damaged and odd input files, made in memory for the bad-input tests.

Why generated: each file is exactly the case it names (a bomb's header, a CMYK JPEG, an
EXIF-rotated photo), small, and needs no binary fixture in the repository. Valid odd formats
all show one ``pattern()`` — an asymmetric picture, so a rotation or a colour mix-up shows.
"""

from __future__ import annotations

import io
import struct
import zlib

import av
import numpy as np
from PIL import Image

WIDTH, HEIGHT = 96, 64  # landscape: a portrait output means the EXIF rotation was missed
EXIF_ORIENTATION = 0x0112
ROTATE_90_CW = 6  # EXIF orientation 6: the stored raster is shown turned 90° clockwise


def pattern() -> np.ndarray:
    """An asymmetric RGB picture: gradients, a red block top-left and a blue bar along the bottom."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    rgb = np.stack([x * 255 // (WIDTH - 1), y * 255 // (HEIGHT - 1), (x + y) * 255 // (WIDTH + HEIGHT - 2)], axis=-1)
    rgb[4:24, 4:36] = (230, 20, 20)
    rgb[HEIGHT - 10 :, :] = (20, 40, 220)
    return rgb.astype(np.uint8)


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png() -> bytes:
    return encode(Image.fromarray(pattern()), "PNG")


def jpeg() -> bytes:
    return encode(Image.fromarray(pattern()), "JPEG", quality=95)


def exif_rotated_jpeg() -> bytes:
    """The pattern stored turned a quarter counter-clockwise, with EXIF saying "show it turned clockwise"."""
    stored = Image.fromarray(pattern()).transpose(Image.Transpose.ROTATE_90)  # HEIGHT × WIDTH on disk
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = ROTATE_90_CW
    return encode(stored, "JPEG", quality=95, exif=exif.tobytes())


def cmyk_jpeg() -> bytes:
    return encode(Image.fromarray(pattern()).convert("CMYK"), "JPEG", quality=95)


def luminance16() -> np.ndarray:
    """The pattern's grey levels on the full 16-bit scale (0-65535)."""
    grey = np.asarray(Image.fromarray(pattern()).convert("L"), dtype=np.uint16)
    return grey * 257


def grey16_png() -> bytes:
    return encode(Image.fromarray(luminance16()), "PNG")


def palette_png() -> bytes:
    return encode(Image.fromarray(pattern()).quantize(colors=32), "PNG")


def alpha_png() -> bytes:
    """The pattern, fully transparent in its left quarter and opaque elsewhere."""
    rgba = np.dstack([pattern(), np.full((HEIGHT, WIDTH), 255, np.uint8)])
    rgba[:, : WIDTH // 4, 3] = 0
    return encode(Image.fromarray(rgba, "RGBA"), "PNG")


FRAME_COLOURS = [(220, 30, 30), (30, 220, 30), (30, 30, 220)]


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (WIDTH, HEIGHT), colour) for colour in FRAME_COLOURS]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def one_pixel_png() -> bytes:
    return encode(Image.new("RGB", (1, 1), (10, 20, 30)), "PNG")


def truncated(data: bytes, fraction: float = 0.5) -> bytes:
    return data[: int(len(data) * fraction)]


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bomb_png(side: int = 50_000, rows: int = 64) -> bytes:
    """A decompression bomb as it starts: a ``side`` × ``side`` 8-bit greyscale header and its first rows.

    Decoded, the whole image would take side² bytes (2.5 GB at 50,000); the refusal must come
    from the header, before a single row is inflated.
    """
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    first_rows = zlib.compress(b"\0" * ((side + 1) * rows), 9)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", first_rows)


HTML = b"<!DOCTYPE html>\n<html><body><script>alert(1)</script></body></html>\n"
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="96" height="64"><rect/></svg>\n'


def mp4(frames: int) -> bytes:
    """An MPEG-4 clip of ``frames`` flat grey frames (0: a valid container with no frames at all)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=24)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        container.start_encoding()  # the header is written even when no frame follows
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((HEIGHT, WIDTH, 3), 40 * index, np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()
