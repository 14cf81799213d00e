"""Stream a clip's frames in and out with PyAV, one frame in memory at a time.

Why sequential decoding: frame indices and pixels must be the same on every worker, whichever
segment it renders (see ``read_frames``). Frames are resized by FFmpeg's swscale while converting to RGB.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from shared.errors import BadInputError
from shared.video_probe import VideoInfo

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
    """Presentation timestamps and durations of a stream's frames, in presentation order."""

    pts: list[int]
    durations: list[int]
    time_base: Fraction


def frame_times(source: str | Path) -> FrameTimes:
    """The video frames' timestamps, read from the packets (decode order sorted into presentation order)."""
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        packets = [(p.pts, p.duration or 0) for p in container.demux(stream) if p.size and p.pts is not None]
        time_base = Fraction(stream.time_base)
    packets.sort()
    return FrameTimes([pts for pts, _ in packets], [d for _, d in packets], time_base)


def read_frames(
    path: str | Path, indices: Iterable[int], size: tuple[int, int] | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(index, rgb uint8 [H, W, 3])`` for the wanted frame indices (ascending), at ``size``.

    Decodes from the first frame: H.264 files mark non-IDR intra frames as key frames, and frames
    decoded after seeking to one can differ from the same frames decoded from the start (tried on
    the shared cockatoo clip), which would break the equality of segment joins. Frames before the
    wanted ones are decoded but never converted, which is cheap next to stylizing.
    """
    wanted = sorted(set(indices))
    if not wanted:
        return
    width, height = size if size else (None, None)
    position = 0
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for index, frame in enumerate(container.decode(stream)):
                if index == wanted[position]:
                    yield index, frame.to_ndarray(format="rgb24", width=width, height=height)
                    position += 1
                    if position == len(wanted):
                        return
    except av.FFmpegError as exc:
        raise BadInputError(f"the video could not be decoded at frame {wanted[position]}: {exc}") from None
    raise BadInputError(f"the video ended before frame {wanted[position]} (expected by the probe)")


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
        self._container.mux(self.stream.encode(frame))
        self.frames += 1

    def close(self) -> None:
        self._container.mux(self.stream.encode(None))
        self._container.close()

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
