"""Read what a video file holds (streams, frame rate, frame count, duration, audio) without decoding it.

Why in ``shared``: the API checks an upload against the video limits at submission and must not
import the worker; the worker plans segments and writes its output from the same facts. Only the
container is demuxed (packets are counted, not decoded), so probing a long clip is cheap.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from shared.error_reasons import video_reason
from shared.errors import BadInputError, LimitExceededError

VideoSource = str | Path | bytes


@dataclass(frozen=True)
class VideoInfo:
    """The facts about one video that segmenting, rendering and joining rely on."""

    container: str
    codec: str
    width: int
    height: int
    fps: Fraction  # average frame rate
    frames: int  # video packets counted in the container (one per frame)
    duration_s: float  # of the video stream: from the first frame's start to the last frame's end
    time_base: Fraction
    sample_aspect_ratio: Fraction | None
    audio_codec: str | None  # None: no audio stream

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass(frozen=True)
class VideoLimits:
    """What a farm accepts: every bound is a setting (``max_video_*``)."""

    max_seconds: float
    max_frames: int
    max_pixels: int
    max_bytes: int


def _open(source: VideoSource) -> av.container.InputContainer:
    try:
        return av.open(io.BytesIO(source) if isinstance(source, bytes) else str(source), mode="r")
    except FileNotFoundError:
        raise BadInputError(f"video not found: {source}") from None
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise BadInputError(f"not a readable video: {video_reason(exc)}") from None


def probe_video(source: VideoSource) -> VideoInfo:
    """The facts of ``source``; ``BadInputError`` for corrupt, empty or audio-only files."""
    with _open(source) as container:
        if not container.streams.video:
            kind = "an audio-only file" if container.streams.audio else "a file without a video stream"
            raise BadInputError(f"the upload is {kind}; a video job needs a video stream")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        fps = stream.average_rate or stream.guessed_rate
        if not fps or fps <= 0 or not ctx.width or not ctx.height or stream.time_base is None:
            raise BadInputError("the video stream has no frame rate or size")
        audio = container.streams.audio[0] if container.streams.audio else None
        frames, first, end = 0, None, None
        try:
            for packet in container.demux(stream):
                if packet.size == 0 or packet.pts is None:
                    continue  # the flush packet, or a packet without a timestamp
                frames += 1
                first = packet.pts if first is None else min(first, packet.pts)
                end = max(end or packet.pts, packet.pts + (packet.duration or 0))
        except av.FFmpegError as exc:
            raise BadInputError(f"the video is corrupt after {frames} frames: {video_reason(exc)}") from None
        if frames == 0 or first is None or end is None:
            raise BadInputError("the video has no frames")
        return VideoInfo(
            container=container.format.name,
            codec=ctx.name,
            width=ctx.width,
            height=ctx.height,
            fps=Fraction(fps),
            frames=frames,
            duration_s=float((end - first) * stream.time_base),
            time_base=Fraction(stream.time_base),
            sample_aspect_ratio=Fraction(ctx.sample_aspect_ratio) if ctx.sample_aspect_ratio else None,
            audio_codec=audio.codec_context.name if audio is not None else None,
        )


def check_video_limits(info: VideoInfo, size_bytes: int, limits: VideoLimits) -> None:
    """Raise ``LimitExceededError`` (413) naming the first limit the video exceeds."""
    checks = [
        ("bytes", size_bytes, limits.max_bytes, "the file is too large"),
        ("seconds", info.duration_s, limits.max_seconds, "the video is too long"),
        ("frames", info.frames, limits.max_frames, "the video has too many frames"),
        ("pixels", info.pixels, limits.max_pixels, "the video's frames are too large"),
    ]
    for name, value, limit, message in checks:
        if value > limit:
            raise LimitExceededError(f"{message}: {value:g} {name}, at most {limit:g}", details={name: limit})
