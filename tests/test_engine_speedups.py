"""The engine's speed-ups keep its results: tiles sized by the memory budget, norms folded into
convolutions, 9×9 convs on space-to-depth blocks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from shared.settings import get_settings
from tests.onnx_reference import psnr
from worker.engine import budget
from worker.engine.from_settings import options_from_settings
from worker.engine.layers import space_to_depth_conv
from worker.engine.norm import NormState
from worker.engine.render import RECEPTIVE_RADIUS, STRIDE, RenderOptions
from worker.engine.styles import StyleComponent, StyleSpec


@pytest.fixture(scope="module")
def photo(data_dir) -> Image.Image:
    return Image.open(data_dir / "photos" / "chelsea_cat.png").convert("RGB")


@pytest.mark.parametrize("megabytes", [64, 512, 1280, 4096])
def test_the_budgeted_tile_window_fits_the_budget_and_grows_with_it(megabytes):
    side = budget.tile_side(megabytes, RECEPTIVE_RADIUS, STRIDE)
    window = side + 2 * RECEPTIVE_RADIUS
    assert side % STRIDE == 0
    assert window * window * budget.BYTES_PER_NETWORK_PIXEL[torch.float32] <= megabytes * 2**20
    assert budget.tile_side(2 * megabytes, RECEPTIVE_RADIUS, STRIDE) > side
    # A batch of tiles shares the budget; half precision needs about half the bytes.
    assert budget.tile_side(megabytes, RECEPTIVE_RADIUS, STRIDE, batch=8) < side
    assert budget.network_pixels(megabytes, torch.float16) > budget.network_pixels(megabytes)


def test_explicit_tile_size_and_single_pass_limit_win_over_the_budget():
    chosen = RenderOptions(tile_size=256, single_pass_pixels=0).within_budget(torch.float32, 1)
    assert (chosen.tile_size, chosen.single_pass_pixels) == (256, 0)
    auto = RenderOptions(memory_budget_mb=256).within_budget(torch.float32, 1)
    assert auto.tile_size == budget.tile_side(256, RECEPTIVE_RADIUS, STRIDE)
    assert auto.single_pass_pixels == budget.network_pixels(256)


def test_the_farm_takes_tiles_from_render_memory_mb_unless_it_is_zero(tmp_path):
    settings = get_settings(storage_root=tmp_path, render_memory_mb=300)
    options = options_from_settings(settings)
    assert (options.tile_size, options.single_pass_pixels, options.memory_budget_mb) == (None, None, 300)
    fixed = options_from_settings(get_settings(storage_root=tmp_path, render_memory_mb=0))
    assert (fixed.tile_size, fixed.single_pass_pixels) == (settings.tile_size, settings.single_pass_pixels)
    chosen = options_from_settings(get_settings(storage_root=tmp_path, tile_size=256))  # set by the operator
    assert (chosen.tile_size, chosen.single_pass_pixels) == (256, None)
    assert options_from_settings(settings, tile_size=128).tile_size == 128  # a request's own choice wins


def test_a_small_budget_tiles_seamlessly(engine, photo):
    spec = StyleSpec.single(StyleComponent(builtin=7))
    small = RenderOptions(memory_budget_mb=64, thumbnail_side=128, single_pass_pixels=0)  # ~450 px windows
    tiles: list[int] = []
    tiled = engine.render(photo, spec, small, progress=lambda done, total: tiles.append(total))
    whole = engine.render(photo, spec, RenderOptions(tile_size=4096, thumbnail_side=128, single_pass_pixels=0))
    assert max(photo.size) > budget.tile_side(64, RECEPTIVE_RADIUS, STRIDE)
    assert tiles[-1] > 1
    assert psnr(tiled, whole) >= 40.0


@pytest.mark.parametrize("network", ["multistyle", "arbitrary"])
def test_folded_norms_render_what_the_norm_layers_do(engine, network):
    """With frozen statistics each norm folds into its conv (inference only); with autograd on,
    the same statistics run through the norm layers themselves. Both give the same picture."""
    net = getattr(engine.networks, network)
    generator = torch.Generator().manual_seed(0)
    content = torch.rand(1, 3, 96, 128, generator=generator).contiguous(memory_format=torch.channels_last)
    if network == "multistyle":
        weights = torch.zeros(1, 26)
        weights[0, 7] = 1.0
        params = net.style_params(weights)
    else:
        params = net.style_params(torch.rand(1, 100, generator=generator))
    with torch.no_grad():
        recording = NormState()
        net(torch.rand(1, 3, 64, 64, generator=generator), state=recording, params=params)
        folded_state = NormState(recording.recorded)
        assert folded_state.foldable
        folded = net(content, state=folded_state, params=params)
    with torch.enable_grad():
        layered_state = NormState(recording.recorded)
        assert not layered_state.foldable
        layered = net(content, state=layered_state, params=params).detach()
    assert recording.recorded.folded  # the folded weights are cached with the statistics
    assert float((folded - layered).abs().max()) < 1e-4


def test_a_flat_photo_renders_the_same_on_one_thread_as_on_two(engine):
    """A one-colour photo (an animated GIF's first frame, a blank product card) has zero variance in
    every norm layer, so any difference in how the moments are summed is multiplied by 1/sqrt(eps)
    layer after layer. Workers run one torch thread, tests and ``stylefarm render`` several: the
    output must not depend on that. (A fused moments kernel, batch_norm_update_stats, broke this:
    16 levels apart, 28.5 dB; it was taken out.)"""
    flat = Image.new("RGB", (96, 64), (220, 30, 30))
    style = StyleSpec.single(StyleComponent(builtin=7))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        two = engine.render(flat, style, RenderOptions())
        torch.set_num_threads(1)
        one = engine.render(flat, style, RenderOptions())
    finally:
        torch.set_num_threads(threads)
    assert int(np.abs(one.astype(int) - two).max()) <= 1


@pytest.mark.parametrize(
    ("in_channels", "out_channels", "height", "width"), [(4, 3, 24, 40), (8, 3, 17, 22), (3, 32, 20, 9)]
)
def test_space_to_depth_conv_equals_the_plain_conv(in_channels, out_channels, height, width):
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(2, in_channels, height, width, generator=generator).contiguous(memory_format=torch.channels_last)
    weight = torch.randn(out_channels, in_channels, 9, 9, generator=generator)
    bias = torch.randn(out_channels, generator=generator)
    plain = torch.nn.functional.conv2d(x, weight, bias)
    blocks = space_to_depth_conv(x, weight, bias)
    assert blocks.shape == plain.shape
    assert float((blocks - plain).abs().max()) <= 1e-5 * float(plain.abs().max())


def test_norm_moments_keep_gradients_for_style_refinement():
    """Style refinement differentiates through the norms: the moments keep their gradients."""
    x = torch.randn(1, 4, 9, 11, requires_grad=True)
    mean, rstd = NormState().statistics(x, 1e-5)
    (mean.sum() + rstd.sum()).backward()
    assert x.grad is not None and bool(x.grad.abs().sum() > 0)
