"""Reproduce the activation rounding of an int8 QDQ ONNX graph inside a torch module.

``arbitrary_transform.onnx`` rounds activations to int8 at ~180 points (conv outputs, every
step of each instance norm, the sigmoid output). Float activations drift from onnxruntime's
output by ~29 dB PSNR, mostly because the per-pixel squared differences and variances are
clipped to their calibrated ranges. Emulating the same rounding ("fake quantization", as
QDQ is defined: ``(clip(round(x / scale) + zp) - zp) * scale``) restores parity.
"""

from __future__ import annotations

import torch

# {point name: (scale, zero point)}; read from the ONNX graph once, at conversion
# (``onnx_weights.read_activation_quant``), and cached with the converted weights.
QuantTable = dict[str, tuple[float, int]]


def fake_quantize(x: torch.Tensor, scale: float, zero_point: int) -> torch.Tensor:
    """Round ``x`` to the int8 grid (``scale``, ``zero_point``) and back to float."""
    return (torch.clamp(torch.round(x / scale) + zero_point, -128, 127) - zero_point) * scale
