"""AV1 encodes leave the encoding thread at its scheduling policy (shared/video/scheduling.py).

As root, SVT-AV1 switched the thread driving it to real-time ``SCHED_FIFO`` 99 and left it there;
the processes started afterwards inherited it (in CI: the farms of every later test).
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from shared.video.output import container_takes_video, encoder_exists
from shared.video.scheduling import current_scheduling, scheduling_kept
from worker.video.frames import FrameWriter

AV1 = "libsvtav1"


def _frames(count: int) -> list[np.ndarray]:
    return [np.full((64, 64, 3), 40 * index, np.uint8) for index in range(count)]


def test_the_wheel_has_the_av1_encoder_these_tests_are_about():
    assert encoder_exists(AV1)


def test_an_av1_output_leaves_the_worker_thread_as_it_was(tmp_path):
    before = current_scheduling()
    with FrameWriter(tmp_path / "out.mkv", (64, 64), Fraction(24), codec=AV1, pix_fmt="yuv420p") as writer:
        for frame in _frames(4):
            writer.write(frame)
            assert current_scheduling() == before
    assert current_scheduling() == before
    with av.open(str(tmp_path / "out.mkv")) as written:
        assert written.streams.video[0].codec_context.name in ("libdav1d", "av1", "libaom-av1")
        assert sum(1 for _ in written.decode(video=0)) == 4


def test_the_api_checking_an_av1_output_keeps_its_thread_as_it_was():
    container_takes_video.cache_clear()
    before = current_scheduling()
    assert container_takes_video("mkv", AV1)
    assert current_scheduling() == before


def test_the_guard_puts_back_what_the_encoder_changed(tmp_path):
    """A raw PyAV encode inside the guard: whatever the encoder did to the thread (as root, real-time
    priority; unprivileged, nothing), the thread leaves the block as it entered it."""
    before = current_scheduling()
    with scheduling_kept(), av.open(str(tmp_path / "raw.mkv"), "w") as container:
        stream = container.add_stream(AV1, rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for frame in _frames(3):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    assert current_scheduling() == before
