"""Render one segment of a clip into a lossless intermediate file, frame by frame.

The engine stylizes each frame with the clip's statistics; the temporal blender stabilizes it;
the segment's overlap frames warm the blender up and are not written. Memory holds one frame (plus
the blender's previous one), whatever the clip's length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shared.video.probe import VideoInfo
from shared.video.segments import Segment
from worker.engine.render import CancelCheck, ClipStyle, RenderCanceled, RenderOptions, StyleEngine
from worker.engine.styles import StyleSpec
from worker.video.frames import FrameWriter, read_frames
from worker.video.temporal import TemporalBlender


@dataclass(frozen=True)
class TemporalSettings:
    """How strongly, and at what resolution, the previous output is carried along the flow."""

    blend_strength: float = 0.7
    flow_side: int = 640


def render_segment(
    engine: StyleEngine,
    source: str | Path,
    info: VideoInfo,
    segment: Segment,
    size: tuple[int, int],
    style: StyleSpec,
    clip: ClipStyle,
    options: RenderOptions,
    output: str | Path,
    temporal: TemporalSettings = TemporalSettings(),
    progress: Callable[[int, int], None] | None = None,
    should_cancel: CancelCheck | None = None,
) -> int:
    """Render ``segment``'s frames of ``source`` into ``output``; returns the frames written.

    ``progress(done, total)`` counts frames rendered (overlap included); ``should_cancel`` is asked
    between frames and raises ``RenderCanceled``.
    """
    blender = TemporalBlender(temporal.blend_strength, temporal.flow_side)
    total = segment.stop - segment.first_rendered
    with FrameWriter(output, size, info.fps) as writer:
        frames = read_frames(source, range(segment.first_rendered, segment.stop), size)
        for done, (index, frame) in enumerate(frames, 1):
            if should_cancel is not None and should_cancel():
                raise RenderCanceled("render canceled")
            stabilized = blender(frame, engine.render(frame, style, options, clip=clip))
            if index >= segment.start:
                writer.write(stabilized)
            if progress is not None:
                progress(done, total)
        return writer.frames
