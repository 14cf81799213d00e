"""Bad and odd input files at ``POST /v1/uploads``: a clear 4xx with the reason, or a faithful decode.

Every file is made by ``tests/badinput_corpus.py``. Refusals must name what is wrong; accepted
odd formats must decode to the picture they show (upright, RGB, properly scaled), since that
decode is what the worker renders. The farm-side half (rendering them, a failed item with a
reason) is in test_badinput_farm.py.
"""

from __future__ import annotations

import hashlib
import io
import json
import time

import numpy as np
import pytest
from sqlalchemy import select
from werkzeug.test import EnvironBuilder, run_wsgi_app

from api.extensions import db
from shared.db import Upload
from shared.images import load_image
from tests import badinput_corpus as corpus
from tests.conftest_api import MAX_INPUT_PIXELS, MAX_UPLOAD_BYTES, upload
from tests.onnx_reference import psnr

pytestmark = pytest.mark.badinput


@pytest.fixture
def database_url(postgres_url):
    """PostgreSQL only: what is refused does not depend on the database, so one is enough."""
    return postgres_url


REFUSED = [
    # (case, bytes, file name, status, words the message must hold)
    ("zero bytes", lambda: b"", "empty.jpg", 400, "the file is empty"),
    ("truncated JPEG", lambda: corpus.truncated(corpus.jpeg()), "cut.jpg", 400, "damaged or truncated"),
    ("truncated PNG", lambda: corpus.truncated(corpus.png()), "cut.png", 400, "damaged or truncated"),
    ("HTML named .jpg", lambda: corpus.HTML, "page.jpg", 400, "not an image: the file is text markup"),
    ("SVG named .jpg", lambda: corpus.SVG, "drawing.jpg", 400, "not an image: the file is text markup"),
    ("decompression bomb", corpus.bomb_png, "bomb.png", 413, "far more pixels than the limit"),
    ("1 × 1 image", corpus.one_pixel_png, "dot.png", 400, "both sides must be at least 16 px"),
    ("video with no frames", lambda: corpus.mp4(0), "empty.mp4", 400, "not an image: the file is video/mp4"),
    ("video named .png", lambda: corpus.mp4(3), "clip.png", 400, "upload videos with kind=video"),
]


@pytest.mark.parametrize(("case", "make", "name", "status", "words"), REFUSED, ids=[r[0] for r in REFUSED])
def test_bad_files_are_refused_with_the_reason_and_nothing_is_stored(
    api_app, api_client, auth_headers, case, make, name, status, words
):
    data = make()
    started = time.perf_counter()
    response = upload(api_client, auth_headers, data, name)
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(f"{case}: {len(data):,} bytes -> {response.status_code} in {elapsed_ms:.0f} ms: {response.json['message']}")
    assert response.status_code == status, response.json
    assert words in response.json["message"]
    assert response.json["error"] == ("limit_exceeded" if status == 413 else "bad_input")
    with api_app.app_context():
        assert db.session.scalars(select(Upload)).all() == []
    root = api_app.config["STYLEFARM_SETTINGS"].storage_root
    assert not [path for path in root.rglob("*") if path.is_file()]


def test_a_video_with_no_frames_is_refused_as_a_video_too(api_client, auth_headers):
    form = {"kind": "video", "file": (io.BytesIO(corpus.mp4(0)), "empty.mp4")}
    response = api_client.post("/v1/uploads", data=form, headers=auth_headers, content_type="multipart/form-data")
    print("video with no frames, kind=video:", response.status_code, response.json["message"])
    assert response.status_code == 400 and response.json["error"] == "bad_input"
    assert "video stream" in response.json["message"] or "no frames" in response.json["message"]


def test_the_bomb_is_tiny_and_refused_from_its_header():
    data = corpus.bomb_png()
    assert len(data) < 10_000  # a few kB that would inflate to 2.5 GB
    with pytest.raises(Exception, match="far more pixels") as refused:
        load_image(data, MAX_INPUT_PIXELS)
    assert refused.type.__name__ == "LimitExceededError"


def _decoded(data: bytes) -> np.ndarray:
    return np.asarray(load_image(data, MAX_INPUT_PIXELS))


def _accepted(api_app, api_client, auth_headers, data: bytes, name: str) -> tuple[dict, Upload]:
    response = upload(api_client, auth_headers, data, name)
    assert response.status_code == 201, response.json
    with api_app.app_context():
        row = db.session.get(Upload, response.json["id"])
        db.session.expunge(row)
    assert row.sha256 == hashlib.sha256(data).hexdigest() and row.size_bytes == len(data)
    return response.json, row


def test_exif_rotated_photo_is_upright(api_app, api_client, auth_headers):
    data = corpus.exif_rotated_jpeg()
    body, row = _accepted(api_app, api_client, auth_headers, data, "portrait.jpg")
    assert (body["width"], body["height"]) == (corpus.WIDTH, corpus.HEIGHT)  # stored 64 × 96, shown 96 × 64
    assert (row.width, row.height) == (corpus.WIDTH, corpus.HEIGHT)
    decoded = _decoded(data)
    value = psnr(decoded, corpus.pattern())
    print(f"EXIF-rotated: decoded {decoded.shape[1]}×{decoded.shape[0]}, PSNR vs the upright original {value:.1f} dB")
    assert value > 30


def test_cmyk_jpeg_becomes_the_same_rgb_picture(api_app, api_client, auth_headers):
    data = corpus.cmyk_jpeg()
    body, row = _accepted(api_app, api_client, auth_headers, data, "print.jpg")
    assert body["format"] == "JPEG" and row.content_type == "image/jpeg"
    value = psnr(_decoded(data), corpus.pattern())
    print(f"CMYK JPEG: PSNR vs the RGB original {value:.1f} dB")
    assert value > 28


def test_16_bit_png_is_scaled_to_8_bits_not_clipped(api_app, api_client, auth_headers):
    data = corpus.grey16_png()
    _accepted(api_app, api_client, auth_headers, data, "scan.png")
    decoded = _decoded(data)
    expected = np.round(corpus.luminance16() / 257).astype(np.int16)
    assert decoded.shape == (corpus.HEIGHT, corpus.WIDTH, 3)
    assert np.abs(decoded[..., 0].astype(np.int16) - expected).max() <= 1
    assert decoded.max() > 200  # clipping 16-bit values at 255 would make it all white


def test_palette_png_keeps_its_colours(api_app, api_client, auth_headers):
    data = corpus.palette_png()
    _accepted(api_app, api_client, auth_headers, data, "palette.png")
    with corpus.Image.open(io.BytesIO(data)) as img:
        assert img.mode == "P"
        expected = np.asarray(img.convert("RGB"))
    assert np.array_equal(_decoded(data), expected)


def test_transparent_pixels_are_composited_on_white(api_app, api_client, auth_headers):
    data = corpus.alpha_png()
    _accepted(api_app, api_client, auth_headers, data, "cutout.png")
    decoded = _decoded(data)
    assert (decoded[:, : corpus.WIDTH // 4] == 255).all()
    assert np.array_equal(decoded[:, corpus.WIDTH // 4 :], corpus.pattern()[:, corpus.WIDTH // 4 :])


def test_animated_gif_uses_its_first_frame(api_app, api_client, auth_headers):
    data = corpus.animated_gif()
    body, _row = _accepted(api_app, api_client, auth_headers, data, "anim.gif")
    assert body["format"] == "GIF"
    colours = np.unique(_decoded(data).reshape(-1, 3), axis=0)
    assert np.abs(colours - np.array(corpus.FRAME_COLOURS[0])).max() <= 8  # GIF's palette may round


def test_the_format_comes_from_the_bytes_and_the_name_is_sanitised(api_app, api_client, auth_headers):
    body, row = _accepted(api_app, api_client, auth_headers, corpus.png(), "../../etc/holiday photo.jpg")
    assert body["format"] == "PNG"
    assert row.content_type == "image/png" and row.media == "image"
    assert row.filename == "etc_holiday_photo.jpg"
    assert row.storage_key.endswith(f"/{row.id}") and ".." not in row.storage_key


def _counting_stream(size: int) -> tuple[io.RawIOBase, list[int]]:
    """A request body of ``size`` bytes that records how much of it the server read."""
    taken = [0]

    class Body(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            n = min(len(buffer), size - taken[0])
            buffer[:n] = b"\0" * n
            taken[0] += n
            return n

    return Body(), taken


def _post_stream(app, headers, size: int, *, declare_length: bool):
    stream, taken = _counting_stream(size)
    environ = EnvironBuilder(
        path="/v1/uploads", method="POST", headers=headers, content_type="multipart/form-data; boundary=xyz"
    ).get_environ()
    environ["wsgi.input"] = stream
    if declare_length:
        environ["CONTENT_LENGTH"] = str(size)
    else:  # a chunked upload: the server only learns the size by reading
        environ.pop("CONTENT_LENGTH", None)
        environ["wsgi.input_terminated"] = True
    body, status, _headers = run_wsgi_app(app, environ, buffered=True)
    return int(status.split()[0]), json.loads(b"".join(body)), taken[0]


def test_an_oversized_body_with_a_length_is_refused_without_reading_it(api_app, auth_headers):
    status, body, read = _post_stream(api_app, auth_headers, 50 * MAX_UPLOAD_BYTES, declare_length=True)
    print(f"declared {50 * MAX_UPLOAD_BYTES:,} bytes: {status}, {read:,} bytes read")
    assert status == 413 and body["error"] == "limit_exceeded"
    assert read == 0


def test_an_oversized_chunked_body_is_cut_off_near_the_limit(api_app, auth_headers):
    status, body, read = _post_stream(api_app, auth_headers, 50 * MAX_UPLOAD_BYTES, declare_length=False)
    print(f"chunked {50 * MAX_UPLOAD_BYTES:,} bytes: {status}, {read:,} bytes read")
    assert status == 413 and body["error"] == "limit_exceeded"
    assert read <= 2 * MAX_UPLOAD_BYTES  # the limit plus the multipart envelope and one read buffer
