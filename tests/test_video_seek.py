"""Seeking to a segment's start gives exactly the frames of a decode from the first frame.

Why bit-exact: a video's segments are rendered by different workers and joined; a frame that
decodes differently after a seek would change the render and show at the join. The generated clips
have a key frame every 5 frames and B-frames; one is H.264 with open GOPs, whose non-IDR key frames
are not clean starts (``worker/video/keyframes.py``), so it must be read from frame 0.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from tests.video_clips import FIXTURES, make_clip
from worker.video.frames import decode_runs, frame_times, read_frames

GOP_5 = {
    "h264.mp4": ("libx264", {"x264-params": "keyint=5:min-keyint=5:bframes=2:scenecut=0"}),
    "h264_open_gop.mp4": ("libx264", {"x264-params": "keyint=5:min-keyint=5:bframes=2:open-gop=1:scenecut=0"}),
    "hevc.mkv": ("libx265", {"x265-params": "keyint=5:min-keyint=5:bframes=2:scenecut=0:log-level=error"}),
    "vp9.webm": ("libvpx-vp9", {"g": "5"}),
}


def assert_same_frames(path: Path, wanted: list[int], size: tuple[int, int] | None = None) -> None:
    from_start = list(read_frames(path, wanted, size, seek=False))
    seeking = list(read_frames(path, wanted, size))
    assert [index for index, _ in seeking] == [index for index, _ in from_start] == wanted
    for (index, expected), (_, frame) in zip(from_start, seeking, strict=True):
        np.testing.assert_array_equal(frame, expected, err_msg=f"frame {index}")


@pytest.mark.parametrize("name", list(GOP_5))
def test_a_seek_to_a_clean_key_frame_decodes_the_same_pixels(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    codec, options = GOP_5[name]
    path = make_clip(tmp_path / name, codec, None, frames=30, options=options)
    times = frame_times(path)
    runs = decode_runs(list(range(12, 30)), times)
    if name == "h264_open_gop.mp4":
        assert times.starts == [0]  # its I frames after the first are not IDR
        assert [(run.start, run.seek) for run in runs] == [(0, None)]
    else:
        assert times.starts == [0, 5, 10, 15, 20, 25]
        assert [(run.start, run.seek) for run in runs] == [(10, times.pts[10])]  # a real seek, 10 frames skipped
    with caplog.at_level(logging.DEBUG, logger="worker.video.frames"):
        assert_same_frames(path, list(range(12, 30)))
        assert_same_frames(path, [3, 4, 17, 28])  # sparse, as the clip statistics read: one pass per key frame
    assert "missed" not in caplog.text  # no seek fell back to decoding from the first frame
    if name != "h264_open_gop.mp4":
        assert "landed at frame 10" in caplog.text and "landed at frame 25" in caplog.text  # exactly, not before


def test_sparse_frames_are_read_in_one_pass_per_clean_key_frame(tmp_path: Path) -> None:
    codec, options = GOP_5["vp9.webm"]
    times = frame_times(make_clip(tmp_path / "vp9.webm", codec, None, frames=30, options=options))
    runs = decode_runs([3, 4, 17, 18, 28], times)
    assert [(run.start, run.frames) for run in runs] == [(0, [3, 4]), (15, [17, 18]), (25, [28])]
    assert decode_runs([4, 5, 6], times)[0].frames == [4, 5, 6]  # a key frame right after: no seek needed


@pytest.mark.parametrize("name", ["cockatoo_24f.mp4", "parking_lot_24f.mp4"])
def test_segments_of_the_fixtures_decode_the_same_after_a_seek(name: str) -> None:
    assert_same_frames(FIXTURES / name, list(range(8, 24)))


@pytest.mark.parametrize(
    ("name", "wanted", "starts"),
    [
        ("cockatoo_closeup.mp4", [*range(78, 90), 150], [76, 145]),  # x264 4:4:4, IDR frames at 76 and 145
        ("parking_lot_cars_overhead.mp4", [*range(118, 130), 301], [60, 300]),
    ],
)
def test_the_real_clips_decode_the_same_after_a_seek(
    data_dir: Path, name: str, wanted: list[int], starts: list[int]
) -> None:
    """Frames at small size (the comparison is of the decoder's output; swscale is deterministic)."""
    path = data_dir / "video" / name
    runs = decode_runs(wanted, frame_times(path))
    assert [run.start for run in runs] == starts and all(run.seek is not None for run in runs)
    assert_same_frames(path, wanted, (160, 90))
