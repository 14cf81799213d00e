"""One set of instance-norm statistics for a whole clip, from frames sampled across it.

Why sampled frames of the whole clip: every segment worker must normalize with the same numbers
(or the joins would show), so the samples depend only on the clip, never on the segment; and
pooling over frames spread in time keeps a scene change or a dark frame from setting the look.
The samples are read with seeks (``read_frames``: one decoding pass per clean key frame before a
sample), so each segment worker pays for a few short passes, not a decode of the whole clip.
"""

from __future__ import annotations

from pathlib import Path

from shared.video.probe import VideoInfo
from shared.video.segments import sample_indices
from worker.engine.render import ClipStyle, RenderOptions, StyleEngine
from worker.engine.styles import StyleSpec
from worker.video.frames import read_frames

DEFAULT_SAMPLES = 8


def clip_style(
    engine: StyleEngine,
    source: str | Path,
    info: VideoInfo,
    size: tuple[int, int],
    style: StyleSpec,
    options: RenderOptions,
    samples: int = DEFAULT_SAMPLES,
) -> ClipStyle:
    """``style`` prepared with statistics pooled over ``samples`` frames of ``source`` at ``size``."""
    frames = [rgb for _, rgb in read_frames(source, sample_indices(info.frames, samples), size)]
    return engine.clip_style(frames, style, options)
