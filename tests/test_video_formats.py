"""Containers and codecs: tiny generated clips in MOV, MKV, WebM (and AV1) rendered into each output container.

Every clip is generated here with PyAV's own encoders (16 frames of 64 x 36 at 24 fps with a sine
tone), so the file needs no fixture and runs in seconds. The output must keep the frame count, rate
and duration, and the sound: copied where the container takes the codec, re-encoded where not.
"""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from shared.errors import BadInputError
from shared.video.output import encoder_exists, resolve_output
from shared.video.probe import probe_video
from tests.video_clips import make_clip, video_engine  # noqa: F401 (a fixture)
from worker.engine.render import RenderOptions, StyleEngine
from worker.engine.styles import StyleComponent, StyleSpec
from worker.video.pipeline import VideoPlan, render_video

STYLE = StyleSpec((StyleComponent(1.0, builtin=3),))
PLAN = {"segment_frames": 8, "overlap_frames": 2, "stats_samples": 2}

# (input file, video encoder, audio encoder, output container, expected audio treatment)
CASES = [
    ("h264_aac.mov", "libx264", "aac", "mov", "copied"),
    ("hevc_opus.mkv", "libx265", "libopus", "mkv", "copied"),
    ("vp9_opus.webm", "libvpx-vp9", "libopus", "webm", "copied"),
    ("av1_opus.mkv", "libsvtav1", "libopus", "mp4", "copied"),
    ("vp9_opus.webm", "libvpx-vp9", "libopus", "mov", "reencoded"),  # MOV has no Opus tag: to AAC
    ("h264_aac.mov", "libx264", "aac", "webm", "reencoded"),  # WebM takes no AAC: to Opus
]


@pytest.mark.parametrize(
    ("name", "video_codec", "audio_codec", "container", "audio_mode"),
    CASES,
    ids=[f"{name}-to-{container}" for name, _, _, container, _ in CASES],
)
def test_each_container_and_codec_renders_with_its_timing_and_sound(
    engine: StyleEngine, tmp_path: Path, name: str, video_codec: str, audio_codec: str, container: str, audio_mode: str
) -> None:
    if not encoder_exists(video_codec):
        pytest.skip(f"this PyAV build has no {video_codec} encoder to make the input with")
    source = make_clip(tmp_path / name, video_codec, audio_codec)
    output = tmp_path / f"styled.{container}"
    result = render_video(engine, source, output, STYLE, RenderOptions(), VideoPlan(container=container, **PLAN))
    before, after = probe_video(source), probe_video(output)
    assert before.frames == 16
    assert (after.frames, after.fps) == (before.frames, before.fps)
    assert after.duration_s == pytest.approx(before.duration_s, abs=1e-3)  # Matroska keeps milliseconds
    with av.open(str(output)) as styled:
        assert styled.streams.audio, "the sound was lost"
        decoded = list(styled.decode(styled.streams.video[0], styled.streams.audio[0]))
        rate = styled.streams.audio[0].codec_context.sample_rate
    assert sum(isinstance(frame, av.VideoFrame) for frame in decoded) == 16
    seconds = sum(frame.samples for frame in decoded if isinstance(frame, av.AudioFrame)) / rate
    assert result.audio is not None and result.audio.mode == audio_mode
    if audio_mode == "copied":
        assert after.audio_codec == before.audio_codec
    else:
        assert after.audio_codec != before.audio_codec
    assert seconds == pytest.approx(before.duration_s, abs=0.05)  # the whole tone, up to the codec's padding
    assert after.container.startswith(DEMUXERS[container])


DEMUXERS = {"mp4": "mov", "mov": "mov", "mkv": "matroska", "webm": "matroska"}  # FFmpeg's demuxer names


def test_the_container_picks_its_default_encoder() -> None:
    assert resolve_output("mp4", None, 20).codec == "libx264"
    assert resolve_output("webm", None, 20).codec == "libvpx-vp9"
    assert resolve_output("webm", None, 20).encoder_options() == {"crf": "20", "b": "0"}


@pytest.mark.parametrize(
    ("container", "codec", "words"),
    [("avi", None, "unknown video container"), ("mp4", "nosuchcodec", "unknown"), ("webm", "libx264", "cannot be")],
)
def test_an_unwritable_output_is_refused_with_the_reason(container: str, codec: str | None, words: str) -> None:
    with pytest.raises(BadInputError) as refused:
        resolve_output(container, codec, 18)
    assert words in refused.value.message
