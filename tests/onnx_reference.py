"""Reference runs of the shipped ONNX files through onnxruntime, for the parity tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image

from worker.engine.model_store import onnx_path


def session(network: str, float_activations: bool = False) -> ort.InferenceSession:
    """An onnxruntime session on the shipped file, optionally with activation rounding removed.

    ``float_activations`` bypasses every QuantizeLinear→DequantizeLinear pair on activations
    (weights stay as shipped), giving the float network that the int8 file encodes.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    if not float_activations:
        return ort.InferenceSession(str(onnx_path(network)), options)
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
    return ort.InferenceSession(model.SerializeToString(), options)


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
