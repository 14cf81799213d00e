"""Video uploads: probe the container before storing it, so a video job only meets real clips.

Why probe at upload: the frame count decides how a job is cut into segment items at submission,
and a clip over the limits (seconds, frames, pixels per frame, bytes) or one that is corrupt or
audio-only is refused with the reason while the client is still there.
"""

from __future__ import annotations

from dataclasses import dataclass

import filetype

from api.services.upload_records import MediaFacts
from shared.errors import BadInputError
from shared.settings import Settings
from shared.video.probe import VideoInfo, VideoLimits, check_video_limits, probe_video


def video_limits(settings: Settings) -> VideoLimits:
    return VideoLimits(
        max_seconds=settings.max_video_seconds,
        max_frames=settings.max_video_frames,
        max_pixels=settings.max_video_pixels,
        max_bytes=min(settings.max_video_bytes, settings.max_upload_bytes),
    )


@dataclass(frozen=True)
class VideoUpload:
    info: VideoInfo
    content_type: str

    @property
    def format(self) -> str:
        return self.content_type.rsplit("/", 1)[-1]

    def facts(self) -> MediaFacts:
        return MediaFacts("video", self.content_type, self.info.width, self.info.height, self.info.frames)


def inspect_video(data: bytes, settings: Settings) -> VideoUpload:
    """Probe ``data`` within the video limits (413 if over one, 400 if not a usable video)."""
    if not data:
        raise BadInputError("the file is empty")
    kind = filetype.guess(data)
    if kind is None or not (kind.mime.startswith("video/") or kind.mime.startswith("audio/")):
        raise BadInputError(f"not a video: the file is {kind.mime if kind else 'of an unknown type'}")
    info = probe_video(data)
    check_video_limits(info, len(data), video_limits(settings))
    return VideoUpload(info, kind.mime)
