"""The whole video path in one process: probe, clip statistics, segments in order, join.

Why: the farm runs the same steps spread over workers (``worker/jobs/segment_renderer.py``,
``worker/jobs/video_joiner.py``); this sequential form is the reference the farm's output is compared
with, and what the benchmark and a local render use.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shared.schemas.jobs import JobCreate
from shared.settings import Settings
from shared.video.output import VideoOutput, requested_output, resolve_output
from shared.video.probe import probe_video
from shared.video.segments import plan_segments
from worker.engine.render import RenderOptions, StyleEngine
from worker.engine.styles import StyleSpec
from worker.video.clip_stats import DEFAULT_SAMPLES, clip_style
from worker.video.frames import output_size
from worker.video.join import JoinResult, join_segments
from worker.video.segment_render import TemporalSettings, render_segment


@dataclass(frozen=True)
class VideoPlan:
    """How a clip is cut and encoded (the farm fills it from its ``video_*`` settings)."""

    segment_frames: int = 48
    overlap_frames: int = 8
    max_side: int | None = None
    container: str = "mp4"
    codec: str | None = None  # None: the container's default encoder
    crf: int = 18
    stats_samples: int = DEFAULT_SAMPLES
    temporal: TemporalSettings = field(default_factory=TemporalSettings)

    def output(self) -> VideoOutput:
        return resolve_output(self.container, self.codec, self.crf)


def render_video(
    engine: StyleEngine,
    source: str | Path,
    output: str | Path,
    style: StyleSpec,
    options: RenderOptions,
    plan: VideoPlan = VideoPlan(),
    progress: Callable[[int, int], None] | None = None,
) -> JoinResult:
    """Stylize ``source`` into ``output`` segment after segment, as the farm's workers would."""
    info = probe_video(source)
    size = output_size(info, plan.max_side)
    clip = clip_style(engine, source, info, size, style, options, plan.stats_samples)
    segments = plan_segments(info.frames, plan.segment_frames, plan.overlap_frames)
    with tempfile.TemporaryDirectory(prefix="stylefarm-video-") as workdir:
        paths = []
        for segment in segments:
            path = Path(workdir) / f"segment-{segment.index:05d}.mkv"
            render_segment(engine, source, info, segment, size, style, clip, options, path, plan.temporal)
            paths.append(path)
            if progress is not None:
                progress(segment.stop, info.frames)
        return join_segments(source, paths, output, video_output=plan.output())


def plan_from_settings(settings: Settings, options: RenderOptions, request: JobCreate) -> VideoPlan:
    """The farm's video plan: its ``video_*`` settings, output as the request asks within its size limit."""
    output = requested_output(settings, request)
    return VideoPlan(
        segment_frames=settings.video_segment_frames,
        overlap_frames=settings.video_overlap_frames,
        max_side=options.max_output_side,
        container=output.container,
        codec=output.codec,
        crf=output.crf,
        stats_samples=settings.video_stats_samples,
        temporal=TemporalSettings(settings.video_blend_strength, settings.video_flow_side),
    )
