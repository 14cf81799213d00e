"""Control over the result (issue 13): structure-adaptive fusion, matched style colours, masks, regions."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from shared.errors import BadInputError
from worker.engine.fusion import fuse, local_ssim
from worker.engine.masks import MaskSpec, auto_mask, composite, feathered_rows
from worker.engine.regions import Region, render_regions
from worker.engine.render import RenderOptions
from worker.engine.styles import StyleComponent, StyleSpec

TILED = {"tile_size": 128, "thumbnail_side": 96, "single_pass_pixels": 0}  # 4 tiles
STYLE = StyleSpec.single(StyleComponent(builtin=3))


@pytest.fixture(scope="module")
def photo(data_dir) -> np.ndarray:
    img = Image.open(data_dir / "photos" / "chelsea_cat.png").convert("RGB")
    return np.asarray(img.resize((200, 150), Image.Resampling.LANCZOS))


@pytest.fixture(scope="module")
def plain(engine, photo) -> np.ndarray:
    return engine.render(photo, STYLE)


@pytest.fixture(scope="module")
def tiled_plain(engine, photo) -> np.ndarray:
    return engine.render(photo, STYLE, RenderOptions(**TILED))


def mean_ssim(a: np.ndarray, b: np.ndarray) -> float:
    luma = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return float(local_ssim(a.astype(np.float32) @ luma, b.astype(np.float32) @ luma).mean())


def ellipse_mask(width: int, height: int, box: tuple[int, int, int, int]) -> np.ndarray:
    img = Image.new("L", (width, height), 0)
    ImageDraw.Draw(img).ellipse(box, fill=255)
    return np.asarray(img)


def test_fidelity_gives_structure_back_monotonically_and_zero_is_the_plain_render(engine, photo, plain):
    outputs = {f: engine.render(photo, STYLE, RenderOptions(fidelity=f)) for f in (0.0, 0.3, 0.6, 1.0)}
    assert np.array_equal(outputs[0.0], plain)
    scores = [mean_ssim(outputs[f], photo) for f in (0.0, 0.3, 0.6, 1.0)]
    print("SSIM to the photo at fidelity 0, 0.3, 0.6, 1:", [f"{s:.3f}" for s in scores])
    assert scores[0] < scores[1] < scores[2] < scores[3]
    assert not np.array_equal(outputs[1.0], photo), "fidelity keeps structure, it does not undo the style"


def test_fusion_is_the_same_for_any_band_height_and_tiled_renders_fuse_their_own_output(engine, photo, tiled_plain):
    by_rows = {rows: fuse(tiled_plain.copy(), photo, 0.6, band_rows=rows) for rows in (7, 40, 10_000)}
    assert np.array_equal(by_rows[7], by_rows[10_000]) and np.array_equal(by_rows[40], by_rows[10_000])
    tiled = engine.render(photo, STYLE, RenderOptions(fidelity=0.6, **TILED))
    assert np.array_equal(tiled, by_rows[10_000]), "deterministic, and the same as fusing the plain tiled render"


@pytest.mark.parametrize("mode", ["keep", "stylize"])
def test_mask_keeps_or_stylizes_inside_exactly_and_tiled_equals_untiled(engine, photo, plain, tiled_plain, mode):
    height, width = photo.shape[:2]
    mask = ellipse_mask(width, height, (40, 30, 150, 120))
    spec = MaskSpec(mask, mode, feather=6)
    feathered = feathered_rows(mask, 0, height, 6)
    inside, outside = feathered == 255, feathered == 0
    assert inside.sum() > 2000 and outside.sum() > 2000
    kept, painted = (inside, outside) if mode == "keep" else (outside, inside)
    for options, base in ((RenderOptions(), plain), (RenderOptions(**TILED), tiled_plain)):
        out = engine.render(photo, STYLE, options, mask=spec)
        assert np.array_equal(out[kept], photo[kept])
        assert np.array_equal(out[painted], base[painted])
        assert (out[painted] != photo[painted]).any(axis=-1).mean() > 0.95
        expected = composite(photo, [(base.copy(), mask)], mode, 6, out=base.copy(), band_rows=9)
        assert np.array_equal(out, expected), "the masked render is its plain render composited, for any bands"


def test_a_style_per_region_paints_two_styles_each_in_its_own_region(engine, photo, plain):
    height, width = photo.shape[:2]
    left = np.zeros((height, width), np.uint8)
    left[:, : width // 2] = 255
    wave = StyleSpec.single(StyleComponent(builtin=7))
    regions = [Region(STYLE, MaskSpec(left, feather=4)), Region(wave, MaskSpec(255 - left, feather=4))]
    out = render_regions(engine, photo, regions, RenderOptions())
    a, b = plain, engine.render(photo, wave)
    assert np.array_equal(out[:, : width // 2 - 8], a[:, : width // 2 - 8])
    assert np.array_equal(out[:, width // 2 + 8 :], b[:, width // 2 + 8 :])
    seam = out[:, width // 2 - 1].astype(np.float64)
    mix = (a[:, width // 2 - 1].astype(np.float64) + b[:, width // 2 - 1]) / 2
    assert np.abs(seam - mix).mean() < 20, "the two styles cross-fade at the mask edge"


def product_on(background: tuple[int, ...], photo: np.ndarray) -> tuple[Image.Image, np.ndarray]:
    """A textured object (the photo's centre in a rounded shape) drawn on a plain background."""
    height, width = photo.shape[:2]
    shape = ellipse_mask(width, height, (50, 25, 150, 125))
    mode = "RGBA" if len(background) == 4 else "RGB"
    canvas = Image.new(mode, (width, height), background)
    canvas.paste(Image.fromarray(photo).convert(mode), (0, 0), Image.fromarray(shape))
    return canvas, shape == 255


def test_rgba_product_keeps_its_alpha_and_the_object_under_mask_alpha_keep(engine, photo):
    product, inside = product_on((0, 0, 0, 0), photo)
    data = io.BytesIO()
    product.save(data, format="PNG")
    out = engine.render(data.getvalue(), STYLE, RenderOptions(keep_alpha=True), mask=MaskSpec("alpha", "keep"))
    source = np.asarray(product)
    assert out.shape == (*photo.shape[:2], 4)
    assert np.array_equal(out[..., 3], source[..., 3])
    assert np.array_equal(out[inside][:, :3], source[inside][:, :3])


def test_auto_mask_keeps_the_object_of_a_product_shot_on_a_plain_background(engine, photo):
    product, inside = product_on((236, 236, 240), photo)
    pixels = np.asarray(product)
    assert (auto_mask(pixels) == auto_mask(pixels)).all()
    out = engine.render(pixels, STYLE, mask=MaskSpec("auto", "keep"))
    unchanged = (out[inside] == pixels[inside]).all(axis=-1).mean()
    print(f"auto mask: {unchanged:.1%} of the object's pixels unchanged")
    assert unchanged >= 0.90
    assert (out[~inside] != pixels[~inside]).any(axis=-1).mean() > 0.5, "the background is stylized"


def test_bad_masks_are_refused_with_a_reason(engine, photo):
    with pytest.raises(BadInputError, match="alpha channel"):
        engine.render(photo, STYLE, mask=MaskSpec("alpha"))
    with pytest.raises(BadInputError, match="aspect ratio"):
        engine.render(photo, STYLE, mask=MaskSpec(np.zeros((100, 100), np.uint8)))
    with pytest.raises(BadInputError, match="mask mode"):
        engine.render(photo, STYLE, mask=MaskSpec("auto", "inside"))  # type: ignore[arg-type]
    with pytest.raises(BadInputError, match="fidelity"):
        engine.render(photo, STYLE, RenderOptions(fidelity=1.5))
    half = np.asarray(Image.fromarray(ellipse_mask(200, 150, (40, 30, 150, 120))).resize((100, 75)))
    assert engine.render(photo, STYLE, mask=MaskSpec(half)).shape == photo.shape  # scaled to the output


def test_matching_style_colours_moves_the_render_towards_the_photos_palette(engine, photo, data_dir):
    spec = StyleSpec.single(StyleComponent(image=data_dir / "styles" / "starry_night_van_gogh.jpg"))
    own = engine.render(photo, spec)
    matched = engine.render(photo, spec, RenderOptions(match_style_colors=True))
    mean = photo.reshape(-1, 3).mean(axis=0)
    gap = [float(np.abs(x.reshape(-1, 3).mean(axis=0) - mean).sum()) for x in (own, matched)]
    print(f"mean colour distance to the photo: style colours {gap[0]:.1f}, matched {gap[1]:.1f}")
    assert gap[1] < gap[0]
