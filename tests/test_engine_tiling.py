"""Tiles that join without seams: tile arithmetic, and tiled vs untiled renders."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.onnx_reference import psnr
from worker.engine.render import RECEPTIVE_RADIUS, RenderOptions
from worker.engine.styles import StyleComponent, StyleSpec
from worker.engine.tiling import plan_tiles


@pytest.mark.parametrize(
    ("width", "height", "tile", "overlap"), [(1000, 700, 256, 64), (513, 129, 128, 60), (64, 64, 512, 64)]
)
def test_tiles_cover_every_output_pixel_exactly_once(width, height, tile, overlap):
    covered = np.zeros((height, width), dtype=np.int32)
    for t in plan_tiles(width, height, tile, overlap):
        covered[t.output_y0 : t.output_y1, t.output_x0 : t.output_x1] += 1
        assert t.input_x0_padded % 4 == 0 and t.input_y0_padded % 4 == 0, "windows must sit on the stride grid"
        window_h, window_w = t.window_shape
        assert window_h % 4 == 0 and window_w % 4 == 0
        rows, cols = t.crop
        assert rows.stop - rows.start == t.output_y1 - t.output_y0
        assert cols.stop - cols.start == t.output_x1 - t.output_x0
        # Every interior edge of the window is at least `overlap` away from the output rectangle.
        if t.input_x0_padded > 0:
            assert t.output_x0 - t.input_x0_padded >= overlap
        if t.input_x1_padded < width:
            assert t.input_x1_padded - t.output_x1 >= overlap
    assert (covered == 1).all()


def test_default_overlap_is_at_least_the_receptive_field():
    assert RenderOptions().overlap >= RECEPTIVE_RADIUS >= 56


@pytest.fixture(scope="module")
def large_photo(data_dir) -> Image.Image:
    photo = Image.open(data_dir / "photos" / "radio_telescope_dish.jpg").convert("RGB")
    assert max(photo.size) >= 2000
    return photo


@pytest.mark.parametrize(
    "component",
    [StyleComponent(builtin=7), StyleComponent(image="STYLE")],
    ids=["builtin", "arbitrary"],
)
def test_tiled_render_matches_untiled_render_with_the_same_thumbnail_statistics(
    engine, data_dir, large_photo, component
):
    if component.image == "STYLE":
        component = StyleComponent(image=data_dir / "styles" / "starry_night_van_gogh.jpg")
    spec = StyleSpec.single(component)
    tiled = engine.render(large_photo, spec, RenderOptions(tile_size=512, single_pass_pixels=0))
    untiled = engine.render(large_photo, spec, RenderOptions(tile_size=4096, single_pass_pixels=0))
    value = psnr(tiled, untiled)
    print(f"{large_photo.size}: tiled (512 px) vs untiled {value:.1f} dB")
    assert tiled.shape == (large_photo.height, large_photo.width, 3)
    assert value >= 40.0


def test_statistics_from_each_tile_alone_would_leave_visible_blocks(engine, large_photo):
    """Control for the test above: without thumbnail statistics the tiles disagree, which
    shows that the agreement comes from the shared statistics and not from a trivial render."""
    small = large_photo.resize((1024, 576))
    spec = StyleSpec.single(StyleComponent(builtin=7))
    whole = engine.render(small, spec, RenderOptions(tile_size=1024))
    # Render the left half on its own (its own statistics) and compare with the whole image.
    half = engine.render(small.crop((0, 0, 512, 576)), spec, RenderOptions(tile_size=1024))
    assert psnr(half[:, :400], whole[:, :400]) < 30.0
