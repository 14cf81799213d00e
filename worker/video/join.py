"""Join rendered segments, in order, into the final video and copy the original's sound into it.

Why re-encode here and not per segment: segments are lossless intermediates, so the one lossy
encode happens once, with one rate control, and segment borders cannot show as encoder restarts.
Each output frame takes the presentation timestamp and duration of the input frame it came from
(read from the input's packets, not decoded), so frame count, frame rate and duration match the
input exactly. The audio stream is copied packet by packet where the output container takes its
codec, else re-encoded once (``worker/video/audio.py``); either way interleaved by time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from shared.errors import BadInputError
from shared.video.output import VideoOutput, resolve_output
from shared.video.scheduling import scheduling_kept
from worker.video.audio import AudioTrack, add_audio_track, audio_packets
from worker.video.frames import FrameTimes, frame_times


@dataclass(frozen=True)
class JoinResult:
    frames: int
    width: int
    height: int
    audio: AudioTrack | None  # how the input's sound was carried over (None: the input has none)

    @property
    def has_audio(self) -> bool:
        return self.audio is not None


def _segment_frames(paths: Sequence[str | Path]) -> Iterator[np.ndarray]:
    for path in paths:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                yield frame.to_ndarray(format="rgb24")


def join_segments(
    source: str | Path,
    segments: Sequence[str | Path],
    output: str | Path,
    *,
    video_output: VideoOutput | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> JoinResult:
    """Write ``segments``' frames, in order, into ``output`` with ``source``'s timing and audio.

    ``video_output`` is the container and encoder (default: MP4 with the first H.264 encoder found).
    """
    video_output = video_output or resolve_output("mp4", None, 18)
    with av.open(str(source)) as original:
        in_video = original.streams.video[0]
        rate = in_video.average_rate or in_video.guessed_rate
        times = frame_times(source).on_rate_grid(rate)
        total = len(times.pts)
        sar = in_video.codec_context.sample_aspect_ratio
        with scheduling_kept(), av.open(str(output), mode="w", format=video_output.muxer) as out:
            video = out.add_stream(video_output.codec, rate=rate, options=video_output.encoder_options())
            video.time_base = times.time_base
            video.pix_fmt = "yuv420p"
            audio = add_audio_track(out, original, video_output)
            written = _encode_all(out, video, audio, source, segments, times, sar, progress)
    if written != total:
        raise BadInputError(f"the segments hold {written} frames, the input {total}")
    return JoinResult(written, video.width, video.height, audio)


def _encode_all(
    out: av.container.OutputContainer,
    video: av.VideoStream,
    audio: AudioTrack | None,
    source: str | Path,
    segments: Sequence[str | Path],
    times: FrameTimes,
    sar: Fraction | None,
    progress: Callable[[int, int], None] | None,
) -> int:
    total = len(times.pts)
    pending = audio_packets(source, audio) if audio is not None else iter(())
    next_audio = next(pending, None)

    def mux_audio_until(seconds: float | None) -> None:
        nonlocal next_audio
        while next_audio is not None and (seconds is None or next_audio.dts * next_audio.time_base <= seconds):
            next_audio.stream = audio.stream
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
