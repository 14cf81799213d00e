"""Decoding cost of a video job's segments: seeking to clean key frames vs decoding from frame 0.

Why: each segment worker reads its own frames (overlap included) and the clip's statistics samples.
Decoding from the first frame made the total decode work grow with segments x frames; seeking to
the last clean key frame before each run of wanted frames (``worker/video/frames.py``) bounds each
segment's work by its length plus one key frame interval. The named baseline, measured in the same
run on the same clip, is ``read_frames(..., seek=False)`` (decode from frame 0). The frames of both
are checked to be equal before the times are printed.

    PYTHONPATH=. python -m benchmarks.video_decode --clip parking_lot_cars_overhead.mp4
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from shared.video.probe import probe_video
from shared.video.segments import plan_segments, sample_indices
from worker.video.frames import frame_times, output_size, read_frames

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "video"


def read_all(path: Path, wanted: list[list[int]], size: tuple[int, int], seek: bool) -> tuple[float, list[int]]:
    """Seconds to read every list of ``wanted`` frames, and a checksum per list."""
    started = time.perf_counter()
    sums = [sum(int(rgb[::7, ::7].sum()) for _, rgb in read_frames(path, frames, size, seek=seek)) for frames in wanted]
    return time.perf_counter() - started, sums


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", default="parking_lot_cars_overhead.mp4")
    parser.add_argument("--segment-frames", type=int, default=48)
    parser.add_argument("--overlap", type=int, default=8)
    parser.add_argument("--side", type=int, default=320, help="long side frames are converted at")
    args = parser.parse_args()
    path = VIDEOS / args.clip
    info = probe_video(path)
    size = output_size(info, args.side)
    segments = plan_segments(info.frames, args.segment_frames, args.overlap)
    reads = {
        "segment frames": [list(range(s.first_rendered, s.stop)) for s in segments],
        "clip statistics (8 samples)": [sample_indices(info.frames, 8)] * len(segments),
    }
    keys = frame_times(path).starts
    print(f"# {args.clip}: {info.frames} frames of {info.width} x {info.height} {info.codec}, clean starts {keys}")
    print(f"# {len(segments)} segments of {args.segment_frames} (+{args.overlap} overlap), converted at {size}")
    print(f"{'read, summed over all segments':<32} {'from frame 0 s':>14} {'seeking s':>10} {'ratio':>7}")
    for name, wanted in reads.items():
        base, base_sums = read_all(path, wanted, size, seek=False)
        ours, our_sums = read_all(path, wanted, size, seek=True)
        assert np.array_equal(base_sums, our_sums), "seeking changed the frames"
        print(f"{name:<32} {base:>14.2f} {ours:>10.2f} {ours / base:>7.2f}")


if __name__ == "__main__":
    main()
