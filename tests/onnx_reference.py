"""Reference runs of the shipped ONNX files through onnxruntime, for the parity tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image

from worker.engine.model_store import onnx_path

# Operators that run integer kernels chosen by the CPU's instruction set (MLAS dispatches on
# AVX2, AVX-512 and VNNI); a reference graph free of them computes the same on every x86-64 CPU.
INT8_KERNEL_OPS = frozenset(
    {"QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger", "QLinearAdd", "QLinearGlobalAveragePool"}
)


def _options(optimize: bool, saved_graph: Path | None = None) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    if not optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    if saved_graph is not None:
        options.optimized_model_filepath = str(saved_graph)
    return options


def session(network: str, float_activations: bool = False, saved_graph: Path | None = None) -> ort.InferenceSession:
    """A CPU-independent onnxruntime session on the shipped file: the parity tests' reference.

    Graph optimizations are off, so onnxruntime does not fuse the file's QDQ pairs into int8
    kernels (``QLinearConv``): every DequantizeLinear, float convolution and QuantizeLinear runs
    as the ONNX spec defines it. Those kernels are float32 on every CPU; SIMD width changes only
    the order of a sum (relative error ~1e-6), whereas the fused int8 kernels differ in kind
    (AVX2's ``vpmaddubsw`` saturates u8×s8 pair sums at 16 bits; AVX-512 VNNI does not).

    ``float_activations`` also bypasses every QuantizeLinear→DequantizeLinear pair on activations
    (weights stay as shipped), giving the float network that the int8 file encodes.
    ``saved_graph``: write the graph onnxruntime will run there (to check it holds no int8 kernel).
    """
    options = _options(optimize=False, saved_graph=saved_graph)
    if not float_activations:
        return ort.InferenceSession(str(onnx_path(network)), options)
    return ort.InferenceSession(float_activation_model(network).SerializeToString(), options)


def float_activation_model(network: str) -> onnx.ModelProto:
    """The shipped file with every QuantizeLinear→DequantizeLinear pair on activations bypassed.

    Weights stay as shipped; what is left is the float network the int8 file encodes.
    """
    model = onnx.load(str(onnx_path(network)))
    graph = model.graph
    initializers = {init.name for init in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    bypass: dict[str, str] = {}
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and node.input[0] not in initializers:
            quant = producer.get(node.input[0])
            if quant is not None and quant.op_type == "QuantizeLinear":
                bypass[node.output[0]] = quant.input[0]

    def resolve(name: str) -> str:
        while name in bypass:
            name = bypass[name]
        return name

    for node in graph.node:
        for i, name in enumerate(node.input):
            node.input[i] = resolve(name)
    for output in graph.output:
        if output.name in bypass:
            graph.node.append(onnx.helper.make_node("Identity", [resolve(output.name)], [output.name + "_float"]))
            output.name += "_float"
    return model


def shipped_session(network: str, saved_graph: Path | None = None) -> ort.InferenceSession:
    """onnxruntime as a user runs the shipped file: default optimizations, int8 kernels of this CPU."""
    return ort.InferenceSession(str(onnx_path(network)), _options(optimize=True, saved_graph=saved_graph))


def graph_ops(path: Path) -> set[str]:
    """The operator types of a saved ONNX graph."""
    return {node.op_type for node in onnx.load(str(path)).graph.node}


def cpu_flags() -> str:
    """The x86 SIMD extensions that pick onnxruntime's int8 kernels, as /proc/cpuinfo names them."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return "unknown"
    return " ".join(sorted(f for f in flags if f in {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8"}))


def load_square(path: Path, side: int) -> np.ndarray:
    """A real image resized to side × side, float32 HWC in [0, 1] (the files' own input size)."""
    return (
        np.asarray(Image.open(path).convert("RGB").resize((side, side), Image.Resampling.LANCZOS), dtype=np.float32)
        / 255.0
    )


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB for images in [0, 1] (or 0–255 uint8 converted)."""
    a = a.astype(np.float64) / (255.0 if a.dtype == np.uint8 else 1.0)
    b = b.astype(np.float64) / (255.0 if b.dtype == np.uint8 else 1.0)
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)
