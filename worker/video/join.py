"""Join rendered segments, in order, into the final video and copy the original's sound into it.

Why re-encode here and not per segment: segments are lossless intermediates, so the one lossy
encode happens once, with one rate control, and segment borders cannot show as encoder restarts.
Each output frame takes the presentation timestamp and duration of the input frame it came from
(read from the input's packets, not decoded), so frame count, frame rate and duration match the
input exactly. The audio stream is copied packet by packet (no re-encoding), interleaved by time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from shared.errors import BadInputError
from worker.video.frames import FrameTimes, frame_times

DEFAULT_CODECS = ("libx264", "libopenh264", "mpeg4")  # first one this PyAV build can encode
CRF_CODECS = {"libx264", "libx265", "libvpx-vp9", "libaom-av1", "libsvtav1"}


@dataclass(frozen=True)
class JoinResult:
    frames: int
    width: int
    height: int
    has_audio: bool


def pick_codec(wanted: str | None) -> str:
    """``wanted`` if this FFmpeg build encodes it, else the first available default."""
    available = av.codecs_available
    for name in ([wanted] if wanted else []) + list(DEFAULT_CODECS):
        if name in available:
            return name
    raise BadInputError(f"no video encoder available (asked for {wanted!r})")


def _segment_frames(paths: Sequence[str | Path]) -> Iterator[np.ndarray]:
    for path in paths:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                yield frame.to_ndarray(format="rgb24")


def _audio_packets(source: str | Path) -> Iterator[av.Packet]:
    with av.open(str(source)) as container:
        if not container.streams.audio:
            return
        for packet in container.demux(container.streams.audio[0]):
            if packet.size and packet.dts is not None:
                yield packet


def join_segments(
    source: str | Path,
    segments: Sequence[str | Path],
    output: str | Path,
    *,
    codec: str | None = None,
    crf: int = 18,
    container_format: str = "mp4",
    progress: Callable[[int, int], None] | None = None,
) -> JoinResult:
    """Write ``segments``' frames, in order, into ``output`` with ``source``'s timing and audio."""
    times = frame_times(source)
    total = len(times.pts)
    with av.open(str(source)) as original:
        in_video = original.streams.video[0]
        rate = in_video.average_rate or in_video.guessed_rate
        sar = in_video.codec_context.sample_aspect_ratio
        with av.open(str(output), mode="w", format=container_format) as out:
            name = pick_codec(codec)
            options = {"crf": str(crf)} if name in CRF_CODECS else {}
            video = out.add_stream(name, rate=rate, options=options)
            video.time_base = times.time_base
            video.pix_fmt = "yuv420p"
            audio = out.add_stream_from_template(original.streams.audio[0]) if original.streams.audio else None
            written = _encode_all(out, video, audio, source, segments, times, sar, progress)
    if written != total:
        raise BadInputError(f"the segments hold {written} frames, the input {total}")
    return JoinResult(written, video.width, video.height, audio is not None)


def _encode_all(
    out: av.container.OutputContainer,
    video: av.VideoStream,
    audio: av.AudioStream | None,
    source: str | Path,
    segments: Sequence[str | Path],
    times: FrameTimes,
    sar: Fraction | None,
    progress: Callable[[int, int], None] | None,
) -> int:
    total = len(times.pts)
    pending = _audio_packets(source) if audio is not None else iter(())
    next_audio = next(pending, None)

    def mux_audio_until(seconds: float | None) -> None:
        nonlocal next_audio
        while next_audio is not None and (seconds is None or next_audio.dts * next_audio.time_base <= seconds):
            next_audio.stream = audio
            out.mux(next_audio)
            next_audio = next(pending, None)

    def mux_video(packets: list[av.Packet]) -> None:
        for packet in packets:
            if packet.dts is not None:
                mux_audio_until(float(packet.dts * packet.time_base))
            out.mux(packet)

    written = 0
    for index, rgb in enumerate(_segment_frames(segments)):
        if index >= total:
            raise BadInputError(f"the segments hold more frames than the input's {total}")
        if written == 0:
            video.height, video.width = rgb.shape[:2]
            if sar:
                video.codec_context.sample_aspect_ratio = sar
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts, frame.time_base = times.pts[index], times.time_base
        frame.duration = times.durations[index]
        mux_video(video.encode(frame))
        written += 1
        if progress is not None:
            progress(written, total)
    mux_video(video.encode(None))
    mux_audio_until(None)
    return written
