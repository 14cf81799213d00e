"""The engine's entry point: style controls, progress, cancellation and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from shared.errors import BadInputError, LimitExceededError
from tests.onnx_reference import psnr
from worker.engine.color import rgb_to_ycbcr
from worker.engine.render import RenderCanceled, RenderOptions, StyleEngine
from worker.engine.styles import StyleComponent, StyleSpec, parse_style_name


@pytest.fixture(scope="module")
def photo(data_dir) -> Image.Image:
    return Image.open(data_dir / "photos" / "chelsea_cat.png").convert("RGB")


@pytest.fixture(scope="module")
def wave(data_dir):
    return data_dir / "styles" / "great_wave_hokusai.jpg"


def builtin(index: int, weight: float = 1.0) -> StyleComponent:
    return StyleComponent(builtin=index, weight=weight)


def test_output_has_the_input_size_for_sizes_that_are_not_stride_multiples(engine, photo):
    odd = photo.crop((0, 0, 301, 187))
    out = engine.render(odd, StyleSpec.single(builtin(3)))
    assert out.shape == (187, 301, 3) and out.dtype == np.uint8
    tiled = engine.render(
        odd, StyleSpec.single(builtin(3)), RenderOptions(tile_size=64, thumbnail_side=128, single_pass_pixels=0)
    )
    assert tiled.shape == out.shape


def test_images_within_the_thumbnail_render_in_one_pass(engine, photo):
    spec = StyleSpec.single(builtin(3))
    calls: list[int] = []
    one_pass = engine.render(photo, spec, RenderOptions(tile_size=128), progress=lambda d, t: calls.append(t))
    assert calls == [1]
    assert one_pass.shape == (photo.height, photo.width, 3)


def test_strength_interpolates_the_style_vector_towards_the_photos_own(engine, photo, wave):
    spec = StyleSpec.single(StyleComponent(image=wave))
    photo_pixels = np.asarray(photo)
    full = engine.render(photo, spec, RenderOptions(strength=1.0))
    half = engine.render(photo, spec, RenderOptions(strength=0.5))
    none = engine.render(photo, spec, RenderOptions(strength=0.0))
    scores = [psnr(x, photo_pixels) for x in (full, half, none)]
    print("PSNR to the photo at strength 1, 0.5, 0:", [f"{s:.1f}" for s in scores])
    assert scores[0] < scores[1] < scores[2]
    # Strength 0 is the photo's own style vector through the network, not the photo itself.
    assert scores[2] < 40.0


def test_builtin_strength_blends_with_the_photo(engine, photo):
    spec = StyleSpec.single(builtin(5))
    full = engine.render(photo, spec).astype(np.float64)
    half = engine.render(photo, spec, RenderOptions(strength=0.5)).astype(np.float64)
    expected = 0.5 * full + 0.5 * np.asarray(photo, dtype=np.float64)
    assert np.abs(half - expected).max() <= 1.0


def test_builtin_blend_mixes_norm_parameters_not_pixels(engine, photo):
    three = engine.render(photo, StyleSpec.single(builtin(3)))
    seven = engine.render(photo, StyleSpec.single(builtin(7)))
    mixed = engine.render(photo, StyleSpec((builtin(3, 0.5), builtin(7, 0.5))))
    pixel_mix = ((three.astype(np.float64) + seven) / 2).round().astype(np.uint8)
    assert psnr(mixed, pixel_mix) < 35.0, "a norm-parameter blend is a new style, not a cross-fade"
    only_three = engine.render(photo, StyleSpec((builtin(3, 1.0), builtin(7, 0.0))))
    assert np.array_equal(only_three, three)


def test_blend_of_a_builtin_and_a_style_image_mixes_the_two_networks(engine, photo, wave):
    b = engine.render(photo, StyleSpec.single(builtin(3)))
    a = engine.render(photo, StyleSpec.single(StyleComponent(image=wave)))
    mixed = engine.render(photo, StyleSpec((builtin(3, 1.0), StyleComponent(image=wave, weight=3.0))))
    expected = 0.25 * b.astype(np.float64) + 0.75 * a
    assert np.abs(mixed - expected).max() <= 1.0


def test_stored_vector_renders_like_its_style_image(engine, photo, wave):
    vector = engine.style_vector(wave)
    assert vector.shape == (100,)
    from_image = engine.render(photo, StyleSpec.single(StyleComponent(image=wave)))
    from_vector = engine.render(photo, StyleSpec.single(StyleComponent(vector=vector.tolist())))
    assert np.array_equal(from_image, from_vector)


def test_preserve_color_keeps_the_photos_chroma(engine, photo):
    out = engine.render(photo, StyleSpec.single(builtin(7)), RenderOptions(color_mode="preserve"))
    plain = engine.render(photo, StyleSpec.single(builtin(7)))
    chroma = lambda x: rgb_to_ycbcr(x)[..., 1:]  # noqa: E731
    assert np.abs(chroma(out) - chroma(np.asarray(photo))).mean() < 2.0
    assert np.abs(chroma(plain) - chroma(np.asarray(photo))).mean() > 5.0


def test_recolor_keeps_a_grayscale_photos_luminance_and_adds_colour(engine, data_dir, wave):
    gray = Image.open(data_dir / "photos" / "bw_cameraman.png")
    assert gray.mode == "L"
    out = engine.render(gray, StyleSpec.single(StyleComponent(image=wave)), RenderOptions(color_mode="recolor"))
    ycc = rgb_to_ycbcr(out)
    assert np.abs(ycc[..., 0] - np.asarray(gray, dtype=np.float32)).mean() < 1.5
    assert np.abs(ycc[..., 1:]).mean() > 3.0, "recolored output should carry the style's colours"


def test_working_side_sets_stroke_scale_independent_of_output_size(engine, photo):
    spec = StyleSpec.single(builtin(7))
    native = engine.render(photo, spec)
    coarse = engine.render(photo, spec, RenderOptions(working_side=226))
    assert coarse.shape == native.shape
    assert psnr(coarse, native) < 30.0
    # The same working side on a 2× larger copy gives the same picture, only larger.
    big = engine.render(photo.resize((photo.width * 2, photo.height * 2)), spec, RenderOptions(working_side=226))
    small_of_big = np.asarray(Image.fromarray(big).resize(photo.size, Image.Resampling.LANCZOS))
    assert psnr(small_of_big, coarse) > 28.0


def test_progress_is_reported_per_tile_up_to_the_total(engine, photo):
    calls: list[tuple[int, int]] = []
    # A thumbnail smaller than the photo makes the engine tile (smaller images render in one pass).
    options = RenderOptions(tile_size=128, thumbnail_side=256, single_pass_pixels=0)
    engine.render(photo, StyleSpec.single(builtin(1)), options, progress=lambda d, t: calls.append((d, t)))
    total = calls[-1][1]
    assert total == 4 * 3  # 451 × 300 in 128 px tiles
    assert [d for d, _ in calls] == list(range(1, total + 1))


def test_cancel_stops_between_tiles(engine, photo):
    calls: list[int] = []
    with pytest.raises(RenderCanceled):
        engine.render(
            photo,
            StyleSpec.single(builtin(1)),
            RenderOptions(tile_size=128, thumbnail_side=256, single_pass_pixels=0),
            progress=lambda d, t: calls.append(d),
            should_cancel=lambda: len(calls) >= 2,
        )
    assert calls == [1, 2]


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: b"not an image at all", BadInputError),
        (lambda: Image.new("RGB", (8, 40)), BadInputError),
        (lambda: Image.new("RGB", (2000, 2000)), LimitExceededError),
    ],
    ids=["unreadable", "too-small", "too-many-pixels"],
)
def test_bad_images_raise_one_clear_error_type(engine, make, error):
    with pytest.raises(error) as info:
        engine.render(make(), StyleSpec.single(builtin(0)), RenderOptions(max_pixels=1_000_000))
    assert isinstance(info.value, BadInputError) and info.value.message


def test_truncated_file_is_bad_input(engine, data_dir, tmp_path):
    data = (data_dir / "photos" / "golden_gate_bridge.jpg").read_bytes()
    with pytest.raises(BadInputError, match="damaged or truncated"):
        engine.render(data[: len(data) // 3], StyleSpec.single(builtin(0)))


@pytest.mark.parametrize(
    "build",
    [
        lambda: StyleSpec.single(StyleComponent(builtin=26)),
        lambda: StyleSpec.single(StyleComponent(builtin=1, weight=float("nan"))),
        lambda: StyleSpec.single(StyleComponent(vector=[0.0] * 99)),
        lambda: StyleSpec.single(StyleComponent(vector=[float("inf")] * 100)),
        lambda: StyleSpec((StyleComponent(builtin=1, weight=0.0),)),
        lambda: parse_style_name("builtin:x"),
        lambda: parse_style_name("/no/such/painting.jpg"),
    ],
    ids=["unknown-builtin", "nan-weight", "short-vector", "inf-vector", "zero-weights", "bad-name", "missing-file"],
)
def test_bad_style_specs_are_refused(build):
    with pytest.raises(BadInputError):
        build()


@pytest.mark.parametrize(
    "options", [RenderOptions(strength=1.5), RenderOptions(strength=float("nan")), RenderOptions(tile_size=16)]
)
def test_bad_options_are_refused(engine, photo, options):
    with pytest.raises(BadInputError):
        engine.render(photo, StyleSpec.single(builtin(0)), options)


def test_half_precision_keeps_quality(tmp_path, photo):
    """What CUDA runs by default, measured here on the CPU's float16 kernels."""
    half = StyleEngine("cpu", cache_dir=tmp_path, half=True)
    full = StyleEngine("cpu", cache_dir=tmp_path, half=False)
    spec = StyleSpec.single(builtin(7))
    crop = photo.crop((100, 50, 300, 250))
    value = psnr(half.render(crop, spec), full.render(crop, spec))
    print(f"float16 vs float32: {value:.1f} dB")
    assert value >= 35.0
