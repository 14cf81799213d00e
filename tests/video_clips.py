"""Video inputs for the video tests (not a test module): the cut fixtures, generated clips, and their engine."""

from __future__ import annotations

import io
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from shared.video.scheduling import scheduling_kept
from worker.engine.render import StyleEngine

FIXTURES = Path(__file__).parent / "fixtures"
CLIP = FIXTURES / "cockatoo_24f.mp4"  # 24 frames, 160 x 90, 20 fps, with MP3 audio (SOURCES.md)


@pytest.fixture(scope="module", name="engine")
def video_engine() -> Iterator[StyleEngine]:
    """One engine on one thread: on tiny frames, torch's thread hand-offs cost more than the convolutions."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield StyleEngine("cpu")
    torch.set_num_threads(threads)


def sine_tone_m4a() -> bytes:
    """Two seconds of a 440 Hz tone in AAC: a file with sound and no picture."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000)
        write_tone(container, stream, 32000, 1024)
    return buffer.getvalue()


def write_tone(container: av.container.OutputContainer, stream: av.AudioStream, total: int, chunk: int) -> None:
    """Encode and mux ``total`` samples of a 440 Hz mono sine at the stream's rate, ``chunk`` at a time."""
    rate = stream.codec_context.sample_rate
    for start in range(0, total, chunk):
        t = np.arange(start, min(start + chunk, total)) / rate
        samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
        frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def make_clip(
    path: Path,
    video_codec: str,
    audio_codec: str | None,
    frames: int = 16,
    size: tuple[int, int] = (64, 36),
    fps: int = 24,
    options: dict[str, str] | None = None,
) -> Path:
    """Write a tiny clip (a moving gradient; a sine tone as long as the picture) in ``path``'s container.

    ``options`` go to the video encoder (e.g. a short keyframe interval with B-frames for seeking tests).
    """
    width, height = size
    with scheduling_kept(), av.open(str(path), "w") as container:
        video = container.add_stream(video_codec, rate=fps, options=options or {})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = None
        if audio_codec is not None:
            audio = container.add_stream(audio_codec, rate=48000)
            audio.layout = "mono"
        x, y = np.meshgrid(np.arange(width), np.arange(height))
        for index in range(frames):
            value = (x * 4 + y * 2 + index * 9) % 256
            rgb = np.stack([value, (value + 85) % 256, 255 - value], axis=-1).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if audio is not None:
            write_tone(container, audio, 48000 * frames // fps, 960)
    return path
