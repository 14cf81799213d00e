"""Optimization mode's engine (Gatys et al. 2016): losses go down, feature networks load, cancel stops.

Tiny images (48-96 px) and a few iterations: these check behaviour, not quality (that is
benchmarks/quality.py on the real photos and paintings).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from shared.errors import BadInputError
from worker.engine.optimize.engine import OptimizeEngine
from worker.engine.optimize.features import feature_extractor
from worker.engine.optimize.gatys import Counter, GatysOptimizer
from worker.engine.optimize.losses import grams
from worker.engine.optimize.options import OptimizeOptions
from worker.engine.optimize.predictor_features import PredictorFeatures
from worker.engine.optimize.vgg import LAYERS, FeatureWeightsError, VGGFeatures, load_vgg19_features
from worker.engine.render import RenderCanceled, to_tensor
from worker.engine.styles import StyleComponent, StyleSpec

# torchvision's vgg19 ``features``: conv channels, "M" = max pool (all 16 convs, the full list).
TORCHVISION_VGG19 = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512]


@pytest.fixture(scope="module")
def optimizer(engine) -> OptimizeEngine:
    return OptimizeEngine(engine)


@pytest.fixture(scope="module")
def photo(data_dir) -> np.ndarray:
    return np.asarray(Image.open(data_dir / "photos" / "tubingen_neckarfront.jpg").convert("RGB").resize((64, 48)))


@pytest.fixture(scope="module")
def painting(data_dir) -> Image.Image:
    return Image.open(data_dir / "styles" / "starry_night_van_gogh.jpg").convert("RGB").resize((96, 76))


def torchvision_shaped_state_dict() -> dict[str, torch.Tensor]:
    """Random tensors under torchvision's vgg19 key names, classifier included (as a saved model has)."""
    state, index, channels = {}, 0, 3
    for entry in TORCHVISION_VGG19:
        if entry == "M":
            index += 1
            continue
        state[f"features.{index}.weight"] = torch.randn(entry, channels, 3, 3) * (2 / (9 * channels)) ** 0.5
        state[f"features.{index}.bias"] = torch.zeros(entry)
        index, channels = index + 2, entry
    state["classifier.0.weight"] = torch.zeros(8, 8)
    return state


@pytest.mark.parametrize("method", ["lbfgs", "adam"])
def test_each_optimizer_lowers_the_total_loss(optimizer, photo, painting, method):
    options = OptimizeOptions(optimizer=method, iterations=4, scales=1, init="content", learning_rate=0.05)
    solver = GatysOptimizer(optimizer.features, options)
    content = to_tensor(photo, optimizer.device, torch.float32)
    grams = optimizer.style_targets([(1.0, painting)], 10**8)(64)
    counter = Counter(total=4)
    result = solver.optimize(content, content, grams, 4, counter)

    targets = {name: optimizer.features(content)[name].detach() for name in optimizer.features.content_layers}
    with torch.no_grad():
        before, after = solver.loss(content, targets, grams), solver.loss(result, targets, grams)
    assert after < 0.9 * before, (float(before), float(after), counter.losses)
    assert counter.done == 4 and float(result.min()) >= 0.0 and float(result.max()) <= 1.0


def test_the_embedding_term_moves_the_predictor_vector_towards_the_painting(optimizer, photo, painting):
    embedding = optimizer.embedding_loss([(1.0, painting)], 10**8)
    assert np.allclose(embedding.target[0].numpy(), optimizer.engine.style_vector(painting), atol=1e-5)
    content = to_tensor(photo, optimizer.device, torch.float32)
    grams = optimizer.style_targets([(1.0, painting)], 10**8)(64)
    distances = {}
    for weight in (0.0, 10.0):
        options = OptimizeOptions(
            optimizer="adam", iterations=4, scales=1, init="content", embedding_weight=weight, learning_rate=0.03
        )
        result = GatysOptimizer(optimizer.features, options, embedding).optimize(content, content, grams, 4, Counter(4))
        with torch.no_grad():
            distances[weight] = float(embedding(result))
    with torch.no_grad():
        start = float(embedding(content))
    assert distances[10.0] < 0.8 * start and distances[10.0] < distances[0.0], (start, distances)


def test_render_goes_coarse_to_fine_reporting_every_iteration(optimizer, photo, painting):
    calls: list[tuple[int, int]] = []
    style = StyleSpec.single(StyleComponent(image=painting))
    options = OptimizeOptions(iterations=5, scales=2, working_side=64)
    out = optimizer.render(
        photo, style, [(1.0, painting)], optimize=options, progress=lambda d, t: calls.append((d, t))
    )

    assert out.shape == photo.shape and out.dtype == np.uint8
    assert calls == [(i, 5) for i in range(1, 6)]
    assert options.iterations_per_scale() == [2, 3]
    assert np.abs(out.astype(int) - photo.astype(int)).mean() > 5  # stylized, not the photo


def test_larger_outputs_are_refined_in_tiles_against_global_style_statistics(optimizer, photo, painting):
    big = np.asarray(Image.fromarray(photo).resize((160, 120)))
    calls: list[tuple[int, int]] = []
    options = OptimizeOptions(
        iterations=2, scales=1, working_side=64, refine_iterations=1, tile_size=64, init="content"
    )
    out = optimizer.render(big, StyleSpec.single(StyleComponent(image=painting)), [(1.0, painting)], optimize=options,
                           progress=lambda d, t: calls.append((d, t)))  # fmt: skip
    tiles = 3 * 2  # 160 × 120 in 64-px tiles
    assert out.shape == big.shape
    assert calls[-1] == (2 + tiles, 2 + tiles)


def test_cancel_stops_between_iterations(optimizer, photo, painting):
    done: list[int] = []
    options = OptimizeOptions(iterations=50, scales=1, init="content", optimizer="adam")
    with pytest.raises(RenderCanceled):
        optimizer.render(photo, StyleSpec.single(StyleComponent(image=painting)), [(1.0, painting)], optimize=options,
                         progress=lambda d, t: done.append(d), should_cancel=lambda: len(done) >= 3)  # fmt: skip
    assert done == [1, 2, 3]


def test_optimize_needs_a_style_image_and_bounded_options(optimizer, photo):
    with pytest.raises(BadInputError, match="image style"):
        optimizer.render(photo, StyleSpec.single(StyleComponent(builtin=3)), [])
    with pytest.raises(BadInputError, match="iterations"):
        OptimizeOptions(iterations=5000).validate(max_iterations=1000)
    with pytest.raises(BadInputError, match="optimizer"):
        OptimizeOptions(optimizer="sgd").validate()  # type: ignore[arg-type]


def test_predictor_features_are_smoothed_and_carry_gradients(optimizer, photo):
    features = PredictorFeatures(optimizer.networks.predictor)
    image = to_tensor(photo, optimizer.device, torch.float32).requires_grad_(True)
    out = features(image)
    assert set(features.style_layers) | set(features.content_layers) <= set(out)
    for name, value in out.items():  # softmax over channels, scaled: every pixel's channels average 1
        assert torch.allclose(value.mean(dim=1), torch.ones_like(value.mean(dim=1)), atol=1e-4), name
        assert float(value.detach().min()) >= 0.0
    out["head"].pow(2).mean().backward()
    assert image.grad is not None and float(image.grad.abs().sum()) > 0


def test_vgg19_loads_a_torchvision_state_dict_and_taps_the_gatys_layers(optimizer, tmp_path, photo):
    state = torchvision_shaped_state_dict()
    path = tmp_path / "vgg19.pth"
    torch.save(state, path)
    vgg = feature_extractor(optimizer.networks, path)

    assert isinstance(vgg, VGGFeatures)
    assert torch.equal(vgg.features[28].weight, state["features.28.weight"])  # relu5_1's conv, same index
    out = vgg(to_tensor(photo, optimizer.device, torch.float32))
    assert set(out) == set(LAYERS)
    shapes = {name: tuple(out[name].shape[1:]) for name in ("relu1_1", "relu3_1", "relu5_1")}
    assert shapes == {"relu1_1": (64, 48, 64), "relu3_1": (256, 12, 16), "relu5_1": (512, 3, 4)}
    solver = GatysOptimizer(vgg, OptimizeOptions(iterations=2, scales=1, init="content"))
    content = to_tensor(photo, optimizer.device, torch.float32)
    with torch.no_grad():  # any style will do: the mirrored photo
        targets = grams(vgg(content.flip(-1)), vgg.style_layers)
    counter = Counter(2)
    assert solver.optimize(content, content, targets, 2, counter).shape == content.shape
    assert counter.done == 2 and all(np.isfinite(counter.losses))


def test_vgg19_weights_that_do_not_fit_give_a_clear_error(tmp_path):
    state = torchvision_shaped_state_dict()
    del state["features.21.weight"]
    missing = tmp_path / "missing.pth"
    torch.save(state, missing)
    with pytest.raises(FeatureWeightsError, match=r"lacks 1 .*features\.21\.weight"):
        load_vgg19_features(missing, torch.device("cpu"))

    state = torchvision_shaped_state_dict()
    state["features.0.weight"] = torch.zeros(64, 1, 3, 3)
    wrong = tmp_path / "wrong.pth"
    torch.save(state, wrong)
    with pytest.raises(FeatureWeightsError, match=r"features\.0\.weight \(64, 1, 3, 3\) != \(64, 3, 3, 3\)"):
        load_vgg19_features(wrong, torch.device("cpu"))

    with pytest.raises(FeatureWeightsError, match="does not exist"):
        load_vgg19_features(tmp_path / "nowhere.pth", torch.device("cpu"))


def test_cli_render_method_optimize(engine, data_dir, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from cli.main import main

    monkeypatch.setenv("STYLEFARM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("STYLEFARM_MODEL_CACHE_DIR", str(engine.cache_dir))
    photo, painting = tmp_path / "photo.png", tmp_path / "painting.png"
    Image.open(data_dir / "photos" / "chelsea_cat.png").convert("RGB").resize((64, 40)).save(photo)
    Image.open(data_dir / "styles" / "the_scream_munch.jpg").convert("RGB").resize((64, 80)).save(painting)
    args = ["render", str(photo), "-o", str(tmp_path / "out.png"), "--method", "optimize", "--iterations", "2"]

    result = CliRunner().invoke(main, [*args, "--style", str(painting), "--scales", "1", "--optimizer", "adam"])
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "out.png") as out:
        assert out.size == (64, 40)
    refused = CliRunner().invoke(main, [*args, "--style", "builtin:3"])
    assert refused.exit_code == 2 and "needs style images" in refused.output
