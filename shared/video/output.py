"""Which container, video encoder and audio treatment a video job's output gets, checked against this FFmpeg.

Why in ``shared``: the API refuses an unknown or unavailable codec at submission (400 while the
client is there), and the join worker resolves the same choice when it writes the file. Whether a
container accepts a codec is asked of FFmpeg itself (open an in-memory muxer and write its header,
``avformat_write_header`` fails on a codec the muxer has no tag for), not kept in a hand-made table.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import av

from shared.errors import BadInputError
from shared.schemas.jobs import JobCreate
from shared.settings import Settings
from shared.video.scheduling import scheduling_kept

ContainerName = Literal["mp4", "mov", "mkv", "webm"]

# Our container names to FFmpeg's muxers, the MIME types a download is served with.
MUXERS: dict[str, str] = {"mp4": "mp4", "mov": "mov", "mkv": "matroska", "webm": "webm"}
CONTENT_TYPES: dict[str, str] = {
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "mkv": "video/x-matroska",
    "webm": "video/webm",
}
_H264 = ("libx264", "libopenh264", "mpeg4")
_VP9 = ("libvpx-vp9", "libvpx")
DEFAULT_VIDEO_CODECS: dict[str, tuple[str, ...]] = {"mp4": _H264, "mov": _H264, "mkv": _H264, "webm": _VP9}
# The audio encoder used when the input's audio cannot be copied into the container (mkv takes any).
FALLBACK_AUDIO_CODECS: dict[str, str] = {"mp4": "aac", "mov": "aac", "mkv": "libopus", "webm": "libopus"}
CRF_CODECS = {"libx264", "libx265", "libvpx-vp9", "libvpx", "libaom-av1", "libsvtav1"}
_PROBE_SIZE = 64  # width and height of the frame a codec is tried with


@dataclass(frozen=True)
class VideoOutput:
    """A job's output: ``container`` (our name), the video encoder ``codec`` and its ``crf`` quality."""

    container: str
    codec: str
    crf: int

    @property
    def muxer(self) -> str:
        return MUXERS[self.container]

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.container]

    def encoder_options(self) -> dict[str, str]:
        """Constant-quality options; libvpx needs a zero bitrate target for pure CRF mode."""
        if self.codec not in CRF_CODECS:
            return {}
        options = {"crf": str(self.crf)}
        if self.codec.startswith("libvpx"):
            options["b"] = "0"
        return options


def encoder_exists(codec: str) -> bool:
    """Whether this FFmpeg build has an encoder named ``codec``."""
    try:
        av.codec.Codec(codec, "w")
    except (av.FFmpegError, ValueError):
        return False
    return True


@lru_cache(maxsize=64)
def container_takes_video(container: str, codec: str) -> bool:
    """Whether this FFmpeg has the ``codec`` encoder and the container's muxer accepts its stream."""
    if container not in MUXERS or not encoder_exists(codec):
        return False
    try:
        with scheduling_kept(), av.open(io.BytesIO(), mode="w", format=MUXERS[container]) as out:
            stream = out.add_stream(codec, rate=25)
            stream.width = stream.height = _PROBE_SIZE
            stream.pix_fmt = "yuv420p"
            out.start_encoding()
    except (av.FFmpegError, ValueError):
        return False
    return True


def container_takes_audio(container: str, template: av.audio.stream.AudioStream) -> bool:
    """Whether the input audio stream ``template`` can be copied (packets unchanged) into ``container``."""
    try:
        with av.open(io.BytesIO(), mode="w", format=MUXERS[container]) as out:
            out.add_stream_from_template(template)
            out.start_encoding()
    except (av.FFmpegError, ValueError):
        return False
    return True


def resolve_output(container: str, codec: str | None, crf: int) -> VideoOutput:
    """The output for a request (or the settings): ``codec`` if given, else the container's first default.

    ``BadInputError`` (400) names the container or codec this FFmpeg cannot write.
    """
    if container not in MUXERS:
        raise BadInputError(f"unknown video container {container!r}; one of {', '.join(MUXERS)}")
    if codec is not None:
        if not encoder_exists(codec):
            raise BadInputError(f"video codec {codec!r} is unknown or has no encoder in this build")
        if not container_takes_video(container, codec):
            raise BadInputError(f"video codec {codec!r} cannot be written into a {container} file")
        return VideoOutput(container, codec, crf)
    for name in DEFAULT_VIDEO_CODECS[container]:
        if container_takes_video(container, name):
            return VideoOutput(container, name, crf)
    raise BadInputError(f"no video encoder for {container} is available in this build")


def requested_output(settings: Settings, request: JobCreate) -> VideoOutput:
    """The output a video job asked for, the farm's ``video_*`` settings filling what it left out."""
    crf = settings.video_crf if request.video_crf is None else request.video_crf
    return resolve_output(
        request.video_container or settings.video_container, request.video_codec or settings.video_codec, crf
    )
