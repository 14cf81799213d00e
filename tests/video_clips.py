"""Video inputs for the video tests (not a test module): the cut fixtures and a generated sound-only file."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

FIXTURES = Path(__file__).parent / "fixtures"
CLIP = FIXTURES / "cockatoo_24f.mp4"  # 24 frames, 160 x 90, 20 fps, with MP3 audio (SOURCES.md)


def sine_tone_m4a() -> bytes:
    """Two seconds of a 440 Hz tone in AAC: a file with sound and no picture."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000)
        for start in range(0, 32000, 1024):
            t = (np.arange(start, start + 1024) / 16000).astype(np.float32)
            samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
            frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 16000, start, Fraction(1, 16000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()
