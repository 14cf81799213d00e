"""Split a clip's frames into segments that workers render independently, and pick sample frames.

Why overlap: the temporal blender carries the previous output frame forward; a segment that
started cold would jump at the join. Rendering a few frames before its own range (and throwing
them away) lets each segment's first kept frame inherit nearly the same history as in one pass.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Segment:
    """Frames ``start`` (inclusive) to ``stop`` (exclusive) are this segment's output; the
    ``overlap`` frames before ``start`` are rendered only to warm up the blender."""

    index: int
    start: int
    stop: int
    overlap: int

    @property
    def first_rendered(self) -> int:
        return self.start - self.overlap

    @property
    def frames(self) -> int:
        return self.stop - self.start

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Segment:
        return cls(int(data["index"]), int(data["start"]), int(data["stop"]), int(data["overlap"]))


def plan_segments(frame_count: int, segment_frames: int, overlap: int) -> list[Segment]:
    """Cover ``0..frame_count`` with segments of ``segment_frames`` (the last may be shorter)."""
    if frame_count < 1 or segment_frames < 1 or overlap < 0:
        raise ValueError(f"cannot plan {frame_count} frames in segments of {segment_frames} (overlap {overlap})")
    segments = []
    for index, start in enumerate(range(0, frame_count, segment_frames)):
        segments.append(Segment(index, start, min(start + segment_frames, frame_count), min(overlap, start)))
    return segments


def sample_indices(frame_count: int, samples: int) -> list[int]:
    """``samples`` frame indices spread evenly over the clip (centres of equal parts), ascending."""
    count = max(1, min(samples, frame_count))
    return sorted({int((i + 0.5) * frame_count / count) for i in range(count)})
