"""The video library on real clips: probing, stable segmented rendering, joins that keep timing and sound.

Fixtures are short excerpts of the shared clips (``tests/fixtures/SOURCES.md``), rendered small so
the whole file runs in seconds; the full clips are probed and decoded to check the probe itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from shared.errors import BadInputError, LimitExceededError
from shared.video.probe import VideoLimits, check_video_limits, probe_video
from shared.video.segments import Segment, plan_segments, sample_indices
from tests.onnx_reference import psnr
from tests.video_clips import FIXTURES, sine_tone_m4a, video_engine  # noqa: F401 (a fixture)
from worker.engine.render import RenderCanceled, RenderOptions, StyleEngine
from worker.engine.styles import StyleComponent, StyleSpec
from worker.video.clip_stats import clip_style
from worker.video.frames import output_size
from worker.video.pipeline import VideoPlan, render_video
from worker.video.segment_render import render_segment

CLIPS = ["cockatoo_24f.mp4", "parking_lot_24f.mp4"]
STYLE = StyleSpec((StyleComponent(1.0, builtin=3),))
MIN_PSNR_DB = 35.0


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def audio_payloads(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return []
        return [bytes(packet) for packet in container.demux(container.streams.audio[0]) if packet.size]


def test_segments_cover_every_frame_once_and_overlap_only_backwards() -> None:
    segments = plan_segments(100, 30, 8)
    assert [(s.start, s.stop, s.overlap) for s in segments] == [(0, 30, 0), (30, 60, 8), (60, 90, 8), (90, 100, 8)]
    assert Segment.from_json(segments[2].to_json()) == segments[2]
    assert sample_indices(100, 4) == [12, 37, 62, 87]
    assert sample_indices(3, 8) == [0, 1, 2]


@pytest.mark.parametrize("name", ["cockatoo_closeup.mp4", "parking_lot_cars_overhead.mp4"])
def test_probe_of_the_real_clips_agrees_with_decoding_them(data_dir: Path, name: str) -> None:
    path = data_dir / "video" / name
    info = probe_video(path)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        rate = stream.average_rate
    assert info.frames == frames
    assert info.fps == rate
    assert info.duration_s == pytest.approx(float(frames / rate), abs=1e-6)  # both clips have a constant rate
    assert info.audio_codec is not None


@pytest.mark.parametrize("name", ["cockatoo_closeup.mp4", "parking_lot_cars_overhead.mp4"])
def test_a_rendered_real_clip_keeps_frame_count_rate_duration_and_its_audio_packets(
    engine: StyleEngine, data_dir: Path, tmp_path: Path, name: str
) -> None:
    """The whole clip, in segments, at a 64 px long side (the timing does not depend on the size)."""
    source = data_dir / "video" / name
    output = tmp_path / "styled.mp4"
    result = render_video(engine, source, output, STYLE, RenderOptions(), VideoPlan(max_side=64))
    before, after = probe_video(source), probe_video(output)
    assert (after.frames, after.fps, after.duration_s) == (before.frames, before.fps, before.duration_s)
    with av.open(str(source)) as original, av.open(str(output)) as styled:
        # The container's, audio included: equal up to the audio encoder's priming delay, which the
        # input's edit list trims and a copied stream keeps (less than one AAC frame, 21 ms at 48 kHz).
        assert abs(styled.duration - original.duration) / av.time_base < 0.025
        assert sum(1 for _ in styled.decode(video=0)) == before.frames == result.frames
    assert (after.width, after.height) == (64, 36)
    assert after.audio_codec == before.audio_codec
    assert audio_payloads(output) == audio_payloads(source)  # copied, not re-encoded


def test_two_segments_equal_one_segment_except_where_the_overlap_blends(engine: StyleEngine, tmp_path: Path) -> None:
    source = FIXTURES / "cockatoo_24f.mp4"
    info = probe_video(source)
    size = output_size(info, None)
    options = RenderOptions()
    clip = clip_style(engine, source, info, size, STYLE, options)

    def render(segments: list[Segment]) -> list[np.ndarray]:
        frames = []
        for segment in segments:
            path = tmp_path / f"{len(segments)}-{segment.index}.mkv"
            render_segment(engine, source, info, segment, size, STYLE, clip, options, path)
            frames += decoded(path)  # lossless intermediates: exactly what was rendered
        return frames

    whole = render(plan_segments(info.frames, info.frames, 8))
    parts = render(plan_segments(info.frames, 12, 8))  # the second segment starts cold at frame 4
    assert len(whole) == len(parts) == info.frames
    for index in range(12):
        np.testing.assert_array_equal(parts[index], whole[index])
    quality = [psnr(parts[i], whole[i]) for i in range(12, info.frames)]
    assert min(quality) >= MIN_PSNR_DB, quality
    assert any(not np.array_equal(parts[i], whole[i]) for i in range(12, info.frames))  # the join is real


def test_cancel_stops_between_frames_and_progress_counts_frames(engine: StyleEngine, tmp_path: Path) -> None:
    source = FIXTURES / "parking_lot_24f.mp4"
    info = probe_video(source)
    size = output_size(info, 64)
    clip = clip_style(engine, source, info, size, STYLE, RenderOptions())
    progress: list[tuple[int, int]] = []
    asked = iter([False, False, True])
    with pytest.raises(RenderCanceled):
        render_segment(
            engine, source, info, Segment(1, 8, 20, 4), size, STYLE, clip, RenderOptions(), tmp_path / "s.mkv",
            progress=lambda done, total: progress.append((done, total)), should_cancel=lambda: next(asked),
        )  # fmt: skip
    assert progress == [(1, 16), (2, 16)]


def bad_videos() -> Iterator[tuple[str, bytes, str]]:
    clip = (FIXTURES / "cockatoo_24f.mp4").read_bytes()
    yield "audio only", sine_tone_m4a(), "audio-only"
    yield "truncated", clip[: len(clip) // 2], "not a readable video"
    yield "text", b"this is a shopping list, not a video\n" * 20, "not a readable video"


@pytest.mark.parametrize(("case", "data", "words"), list(bad_videos()), ids=[case for case, _, _ in bad_videos()])
def test_corrupt_and_audio_only_files_are_refused_with_the_reason(case: str, data: bytes, words: str) -> None:
    with pytest.raises(BadInputError) as refused:
        probe_video(data)
    assert words in refused.value.message


@pytest.mark.parametrize(
    ("limit", "value", "words"),
    [("max_seconds", 1.0, "too long"), ("max_frames", 20, "too many frames"), ("max_pixels", 10_000, "too large")],
)
def test_each_video_limit_is_enforced_with_a_clear_message(limit: str, value: float, words: str) -> None:
    info = probe_video(FIXTURES / "cockatoo_24f.mp4")  # 1.2 s, 24 frames of 160 x 90
    roomy = {"max_seconds": 60.0, "max_frames": 1000, "max_pixels": 10**6, "max_bytes": 10**9}
    check_video_limits(info, 20_000, VideoLimits(**roomy))
    with pytest.raises(LimitExceededError) as refused:
        check_video_limits(info, 20_000, VideoLimits(**{**roomy, limit: value}))
    assert words in refused.value.message
