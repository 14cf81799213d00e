"""Reproduce the activation rounding of an int8 QDQ ONNX graph inside a torch module.

``arbitrary_transform.onnx`` rounds activations to int8 at ~180 points (conv outputs, every
step of each instance norm, the sigmoid output). Float activations drift from onnxruntime's
output by ~29 dB PSNR, mostly because the per-pixel squared differences and variances are
clipped to their calibrated ranges. Emulating the same rounding ("fake quantization", as
QDQ is defined: ``(clip(round(x / scale) + zp) - zp) * scale``) restores parity.
"""

from __future__ import annotations

import re

import onnx
import torch
from onnx import numpy_helper

QuantTable = dict[str, tuple[float, int]]
_SUFFIX = re.compile(r"(__\d+:0|_prequant|_int8)+$")


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


def fake_quantize(x: torch.Tensor, scale: float, zero_point: int) -> torch.Tensor:
    """Round ``x`` to the int8 grid (``scale``, ``zero_point``) and back to float."""
    return (torch.clamp(torch.round(x / scale) + zero_point, -128, 127) - zero_point) * scale
