"""Unreadable files are refused with a reason a person can act on, never a library's class name."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from shared.errors import BadInputError
from shared.images import load_image
from shared.video.probe import probe_video

CLASS_NAME = re.compile(r"[A-Z][a-z]+(?:[A-Z][a-z]+)*Error")


def _png(side: int = 64) -> bytes:
    """A PNG of noise (so it does not compress to a few bytes)."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), bytes(range(256)) * (side * side * 3 // 256)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"a shopping list, not a photo\n" * 10, "format is not one this farm reads"),
        (_png()[: len(_png()) // 2], "damaged or truncated"),
    ],
    ids=["not-an-image", "truncated"],
)
def test_an_unreadable_image_says_why_in_words(data, reason):
    with pytest.raises(BadInputError) as refused:
        load_image(data, max_pixels=10_000_000).load()
    assert reason in refused.value.message and not CLASS_NAME.search(refused.value.message), refused.value.message


def test_an_unreadable_video_says_why_in_words():
    with pytest.raises(BadInputError) as refused:
        probe_video(b"this is a shopping list, not a video\n" * 20)
    message = refused.value.message
    assert message.startswith("not a readable video: ") and not CLASS_NAME.search(message), message
