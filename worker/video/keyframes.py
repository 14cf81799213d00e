"""Which key frames a decoder can start at and still give the pixels of a decode from the first frame.

Why not every packet flagged key: in H.264 an I frame that is not an IDR picture does not empty the
decoder's reference list, so later P frames may still point at frames before it; MP4 files mark such
frames as sync samples anyway, and decoding after a seek to one gives other pixels (seen on the
shared cockatoo clip). An IDR picture (H.264 NAL type 5; HEVC types 19, 20) resets the references,
and an HEVC CRA (21) does so for every frame shown after it (ITU-T H.264 7.4.1.2.4, H.265 8.3.2).
Other codecs' key frames (VP8, VP9, AV1, MPEG-4 part 2) reset their references by definition.
The NAL types are read from the packet bytes: demuxing only, no decoding.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import av

H264_CLEAN = frozenset({5})
HEVC_CLEAN = frozenset({19, 20, 21})
_START_CODE = re.compile(b"\x00\x00\x01")


def _length_size(extradata: bytes | None, offset: int) -> int | None:
    """NAL length field size of an avcC/hvcC record (``None``: the stream is in Annex B start codes)."""
    if not extradata or extradata[0] != 1 or len(extradata) <= offset:
        return None
    return (extradata[offset] & 3) + 1


def _nal_headers(data: bytes, length_size: int | None) -> Iterator[int]:
    """The first header byte of each NAL unit in one packet."""
    if length_size is None:
        for match in _START_CODE.finditer(data):
            if match.end() < len(data):
                yield data[match.end()]
        return
    position = 0
    while position + length_size < len(data):
        size = int.from_bytes(data[position : position + length_size], "big")
        yield data[position + length_size]
        position += length_size + size


class CleanStarts:
    """Tells, for one video stream's packets, whether decoding may start at a packet."""

    def __init__(self, stream: av.VideoStream) -> None:
        self.codec = stream.codec_context.codec.canonical_name
        extradata = stream.codec_context.extradata
        if self.codec == "h264":
            self.length_size = _length_size(extradata, 4)  # avcC: lengthSizeMinusOne in byte 4
        elif self.codec == "hevc":
            self.length_size = _length_size(extradata, 21)  # hvcC: lengthSizeMinusOne in byte 21
        else:
            self.length_size = None

    def __call__(self, packet: av.Packet) -> bool:
        if not packet.is_keyframe:
            return False
        if self.codec == "h264":
            return any(header & 0x1F in H264_CLEAN for header in _nal_headers(bytes(packet), self.length_size))
        if self.codec == "hevc":
            return any((header >> 1) & 0x3F in HEVC_CLEAN for header in _nal_headers(bytes(packet), self.length_size))
        return True
