"""The input's sound for the output file: its packets copied when the container takes the codec, else re-encoded.

Why copy first: a stream copy keeps the audio bit for bit and costs nothing. Some pairs cannot be
copied (Vorbis or Opus from WebM into MOV, AAC into WebM); those are decoded and encoded once
with the container's usual codec (``FALLBACK_AUDIO_CODECS``), resampled by PyAV as the encoder needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av

from shared.video.output import FALLBACK_AUDIO_CODECS, VideoOutput, container_takes_audio

OPUS_RATE = 48_000  # the only input rates libopus takes are divisors of 48 kHz; 48 kHz always works


@dataclass
class AudioTrack:
    """The output's audio stream and where its packets come from; ``mode`` is ``copied`` or ``reencoded``."""

    stream: av.audio.stream.AudioStream
    mode: str
    source_codec: str

    @property
    def codec(self) -> str:
        """The format's name (``mp3``), not the FFmpeg coder's (``mp3float``)."""
        return self.stream.codec_context.codec.canonical_name


def add_audio_track(
    out: av.container.OutputContainer, original: av.container.InputContainer, output: VideoOutput
) -> AudioTrack | None:
    """Add the output's audio stream for ``original``'s first audio stream (None without one)."""
    if not original.streams.audio:
        return None
    template = original.streams.audio[0]
    source_codec = template.codec_context.codec.canonical_name
    if container_takes_audio(output.container, template):
        return AudioTrack(out.add_stream_from_template(template), "copied", source_codec)
    codec = FALLBACK_AUDIO_CODECS[output.container]
    rate = OPUS_RATE if codec == "libopus" else template.codec_context.sample_rate
    stream = out.add_stream(codec, rate=rate)
    stream.layout = "stereo" if template.codec_context.layout.nb_channels >= 2 else "mono"
    return AudioTrack(stream, "reencoded", source_codec)


def audio_packets(source: str | Path, track: AudioTrack) -> Iterator[av.Packet]:
    """``source``'s audio as packets for ``track`` (copied as they are, or decoded and encoded), in order."""
    with av.open(str(source)) as container:
        stream = container.streams.audio[0]
        for packet in container.demux(stream):
            if track.mode == "copied":
                if packet.size and packet.dts is not None:
                    yield packet
                continue
            for frame in packet.decode():
                yield from track.stream.encode(frame)
        if track.mode == "reencoded":
            yield from track.stream.encode(None)
