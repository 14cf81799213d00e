"""The worker's own PNG writer: every decoder must read back exactly the rendered pixels."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from worker.jobs.encoding import encode_image, save_image
from worker.jobs.png_writer import PngRgbWriter, encode_png_rgb


def _decoded(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "PNG" and img.mode == "RGB"
        return np.asarray(img)


@pytest.fixture(scope="module")
def photo(data_dir) -> np.ndarray:
    with Image.open(data_dir / "photos" / "chelsea_cat.png") as img:
        return np.asarray(img.convert("RGB").resize((203, 131)))  # odd sizes: no row or band is aligned


@pytest.mark.parametrize("band_rows", [1, 7, 64, 1000])
def test_a_photo_round_trips_exactly_whatever_the_bands(photo, band_rows):
    assert np.array_equal(_decoded(encode_png_rgb(photo, band_rows=band_rows)), photo)


def test_noise_and_extremes_round_trip_the_wrapping_up_filter():
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, size=(37, 19, 3), dtype=np.uint8)
    pixels[::2] = 255  # rows alternating with noise: every difference wraps somewhere
    one_pixel = np.array([[[1, 2, 3]]], dtype=np.uint8)
    for image in (pixels, one_pixel):
        assert np.array_equal(_decoded(encode_png_rgb(image, band_rows=5)), image)


def test_the_jobs_encoder_and_file_writer_use_it_for_renders(photo, tmp_path):
    data, content_type = encode_image(photo, "png")
    assert content_type == "image/png" and np.array_equal(_decoded(data), photo)
    save_image(photo, tmp_path / "out.png")
    assert np.array_equal(_decoded((tmp_path / "out.png").read_bytes()), photo)
    gray = Image.fromarray(photo).convert("L")  # not a render: Pillow writes it, as before
    assert Image.open(io.BytesIO(encode_image(gray, "png")[0])).mode == "L"


def test_wrong_rows_and_missing_rows_are_refused():
    writer = PngRgbWriter(4, 3)
    with pytest.raises(ValueError, match="shape"):
        writer.write(np.zeros((1, 5, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="shape"):
        writer.write(np.zeros((1, 4, 3), dtype=np.float32))
    writer.write(np.zeros((2, 4, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="2 of 3 rows"):
        writer.finish()
    with pytest.raises(ValueError, match="more than 3 rows"):
        writer.write(np.zeros((2, 4, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="at least one pixel"):
        PngRgbWriter(0, 3)
