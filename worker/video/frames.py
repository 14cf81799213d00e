"""Stream a clip's frames in and out with PyAV, one frame in memory at a time.

Why seeking only to clean key frames: frame indices and pixels must be the same on every worker,
whichever segment it renders, and the same as a decode from the first frame (see ``read_frames``
and ``keyframes.py``). Frames are resized by FFmpeg's swscale while converting to RGB.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from shared.errors import BadInputError
from shared.video.probe import VideoInfo
from shared.video.scheduling import scheduling_kept
from worker.video.keyframes import CleanStarts

log = logging.getLogger(__name__)

# Segment intermediates: FFV1 is lossless and keeps RGB exactly, so only the final join is lossy.
INTERMEDIATE_CODEC = "ffv1"
INTERMEDIATE_PIX_FMT = "bgr0"


def output_size(info: VideoInfo, max_side: int | None) -> tuple[int, int]:
    """(width, height) of the output: within ``max_side``, aspect kept, both even (4:2:0 needs it)."""
    scale = min(1.0, max_side / max(info.width, info.height)) if max_side else 1.0
    width = max(2, round(info.width * scale / 2) * 2)
    height = max(2, round(info.height * scale / 2) * 2)
    return width, height


@dataclass(frozen=True)
class FrameTimes:
    """Presentation timestamps and durations of a stream's frames, in presentation order.

    ``starts`` are the indices of the clean key frames, where decoding may begin (see ``keyframes.py``).
    """

    pts: list[int]
    durations: list[int]
    time_base: Fraction
    starts: list[int] = field(default_factory=list)

    def on_rate_grid(self, rate: Fraction) -> FrameTimes:
        """The same times in ticks of ``1 / rate`` when they are a constant ``rate`` rounded to this time base.

        Why: Matroska stores milliseconds, so 24 fps reads as 0, 42, 83, ... ms; copied as they are into
        MP4, the average rate becomes 23.9996. Frames that sit on the rate's grid are written on it.
        """
        tick = 1 / Fraction(rate)
        first = self.pts[0] * self.time_base / tick if self.pts else Fraction(0)
        exact = first.denominator == 1 and all(
            abs((pts * self.time_base - (first + index) * tick) / self.time_base) <= Fraction(1, 2)
            for index, pts in enumerate(self.pts)
        )
        if not exact or self.time_base == tick:
            return self
        start = int(first)
        return FrameTimes(list(range(start, start + len(self.pts))), [1] * len(self.pts), tick)


def frame_times(source: str | Path) -> FrameTimes:
    """The video frames' timestamps and clean key frames, read from the packets (demuxed, not decoded)."""
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        clean = CleanStarts(stream)
        packets = [(p.pts, p.duration or 0, clean(p)) for p in container.demux(stream) if p.size and p.pts is not None]
        time_base = Fraction(stream.time_base)
    packets.sort(key=lambda packet: packet[0])
    starts = [index for index, (_, _, starts_cleanly) in enumerate(packets) if starts_cleanly]
    return FrameTimes([p[0] for p in packets], [p[1] for p in packets], time_base, starts)


@dataclass
class DecodeRun:
    """Wanted frames decoded in one pass from the clean key frame ``start`` (``seek``: None from the file's start)."""

    start: int
    seek: int | None
    frames: list[int]


class _SeekMissed(Exception):
    """The seek did not land at or before the clean key frame (a container with a poor index)."""


def decode_runs(wanted: list[int], times: FrameTimes) -> list[DecodeRun]:
    """Group ``wanted`` (ascending) so a new pass, with its seek, starts only where it skips frames."""
    runs: list[DecodeRun] = []
    for index in wanted:
        at = bisect.bisect_right(times.starts, index) - 1
        start = times.starts[at] if at >= 0 else 0
        if runs and start <= runs[-1].frames[-1] + 1:
            runs[-1].frames.append(index)
        else:
            runs.append(DecodeRun(start, times.pts[start] if start > 0 else None, [index]))
    return runs


def _decode_run(
    path: str | Path, run: DecodeRun, times: FrameTimes, size: tuple[int, int] | None
) -> Iterator[tuple[int, np.ndarray]]:
    """Decode ``run``: counting frames from the file's start, or after the seek, telling them by timestamp."""
    width, height = size if size else (None, None)
    index_of = {pts: index for index, pts in enumerate(times.pts)}
    position = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if run.seek is not None:
            next(container.decode(stream), None)  # the decoder's stream-start state first (see read_frames)
            container.seek(run.seek, backward=True, any_frame=False, stream=stream)
        for count, frame in enumerate(container.decode(stream)):
            index = count if run.seek is None else index_of.get(frame.pts, -1)
            if count == 0 and run.seek is not None:
                log.debug("%s: the seek to frame %d landed at frame %d", path, run.start, index)
                if not 0 <= index <= run.start:
                    raise _SeekMissed
            wanted = run.frames[position]
            if index < wanted:
                continue  # decoded (references need it) but never converted
            if index > wanted:
                raise BadInputError(f"the video skipped frame {wanted} while decoding")
            yield index, frame.to_ndarray(format="rgb24", width=width, height=height)
            position += 1
            if position == len(run.frames):
                return
    raise BadInputError(f"the video ended before frame {run.frames[position]} (expected by the probe)")


def read_frames(
    path: str | Path, indices: Iterable[int], size: tuple[int, int] | None = None, *, seek: bool = True
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(index, rgb uint8 [H, W, 3])`` for the wanted frame indices (ascending), at ``size``.

    Each run of wanted frames is decoded from the last clean key frame at or before it, reached by a
    seek where that skips frames (``seek=False``: always from the first frame). A clean key frame
    resets the decoder's references, so the pixels are those of a decode from the first frame; after
    a seek, frames are told apart by their timestamps. A seek that lands past the key frame falls
    back to decoding from the first frame. Frames between the wanted ones are decoded, not converted.

    The first frame is decoded before any seek: FFmpeg's H.264 decoder keeps what the stream's first
    packet told it (x264 writes its version in an SEI there, which turns on workarounds for old x264
    builds); without it, every frame of the shared cockatoo clip (4:4:4, x264) decoded after a seek,
    IDR frames included, came out different. With it they are bit-exact (``tests/test_video_seek.py``).
    """
    wanted = sorted(set(indices))
    if not wanted:
        return
    times = frame_times(path)
    runs = decode_runs(wanted, times) if seek else [DecodeRun(0, None, wanted)]
    for run in runs:
        try:
            try:
                yield from _decode_run(path, run, times, size)
            except _SeekMissed:
                log.info("%s: the seek to frame %d missed; decoding from the first frame", path, run.start)
                yield from _decode_run(path, DecodeRun(0, None, run.frames), times, size)
        except av.FFmpegError as exc:
            raise BadInputError(f"the video could not be decoded near frame {run.frames[0]}: {exc}") from None


class FrameWriter:
    """Encode RGB frames into a file, frame by frame (a context manager that finalizes the file).

    Args:
        rate: frames per second written in the stream.
        codec/pix_fmt/options: the encoder; defaults write a lossless FFV1 intermediate.
    """

    def __init__(
        self,
        path: str | Path,
        size: tuple[int, int],
        rate: Fraction,
        codec: str = INTERMEDIATE_CODEC,
        pix_fmt: str = INTERMEDIATE_PIX_FMT,
        options: dict[str, str] | None = None,
    ) -> None:
        self._container = av.open(str(path), mode="w")
        self.stream = self._container.add_stream(codec, rate=rate, options=options or {})
        self.stream.width, self.stream.height = size
        self.stream.pix_fmt = pix_fmt
        self.frames = 0

    def write(self, rgb: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = self.frames
        frame.time_base = Fraction(1) / self.stream.codec_context.framerate
        with scheduling_kept():
            self._container.mux(self.stream.encode(frame))
        self.frames += 1

    def close(self) -> None:
        with scheduling_kept():
            self._container.mux(self.stream.encode(None))
            self._container.close()

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
