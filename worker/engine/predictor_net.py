"""The style predictor (Ghiasi et al. 2017, Magenta's MobileNetV2 variant).

Style image [N,3,H,W] in [0,1] → 100-number style vector. A MobileNetV2 trunk (width 1.0,
TensorFlow 'SAME' padding, batch norm folded into the conv biases), global average pooling
and a 1×1 projection to the style space. The reference feeds 256×256 crops; any size works.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from worker.engine.layers import SamePadConv

# (expansion, output channels, stride) for expanded_conv .. expanded_conv_16, as in the graph.
_BLOCKS = (
    [(1, 16, 1), (6, 24, 2), (6, 24, 1), (6, 32, 2), (6, 32, 1), (6, 32, 1), (6, 64, 2)]
    + [(6, 64, 1)] * 3
    + [(6, 96, 1)] * 3
    + [(6, 160, 2), (6, 160, 1), (6, 160, 1), (6, 320, 1)]
)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1×1 expand (ReLU6), 3×3 depthwise (ReLU6), 1×1 project, skip if shapes match."""

    def __init__(self, in_channels: int, expansion: int, out_channels: int, stride: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        self.expand = nn.Conv2d(in_channels, hidden, 1) if expansion != 1 else None
        self.depthwise = SamePadConv(hidden, hidden, 3, stride=stride, groups=hidden)
        self.project = nn.Conv2d(hidden, out_channels, 1)
        self.skip = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x if self.expand is None else torch.clamp(self.expand(x), 0.0, 6.0)
        y = self.project(torch.clamp(self.depthwise(y), 0.0, 6.0))
        return x + y if self.skip else y


class StylePredictorNet(nn.Module):
    """Style image in [0,1] → style vector [N, 100]."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = SamePadConv(3, 32, 3, stride=2)
        blocks = []
        channels = 32
        for expansion, out_channels, stride in _BLOCKS:
            blocks.append(InvertedResidual(channels, expansion, out_channels, stride))
            channels = out_channels
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Conv2d(channels, 1280, 1)
        self.bottleneck = nn.Conv2d(1280, 100, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = torch.clamp(self.stem(image), 0.0, 6.0)
        x = torch.clamp(self.head(self.blocks(x)), 0.0, 6.0)
        return self.bottleneck(x.mean(dim=(2, 3), keepdim=True)).flatten(1)


def state_dict_from_onnx(weights: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Map the TF-named ONNX weights of ``arbitrary_predict.onnx`` onto ``StylePredictorNet``."""
    out: dict[str, torch.Tensor] = {}

    def conv(ours: str, theirs: str, bias_name: str = "Conv2D_bias") -> None:
        w = weights[f"{theirs}/weights" if f"{theirs}/weights" in weights else f"{theirs}/depthwise_weights"]
        out[f"{ours}.weight"] = torch.from_numpy(w.copy())
        bias = weights.get(f"{theirs}/{bias_name}")
        out[f"{ours}.bias"] = torch.from_numpy(bias.copy()) if bias is not None else torch.zeros(w.shape[0])

    conv("stem", "MobilenetV2/Conv")
    for i, (expansion, _, _) in enumerate(_BLOCKS):
        theirs = "MobilenetV2/expanded_conv" + (f"_{i}" if i else "")
        if expansion != 1:
            conv(f"blocks.{i}.expand", f"{theirs}/expand")
        conv(f"blocks.{i}.depthwise", f"{theirs}/depthwise", "depthwise_bias")
        conv(f"blocks.{i}.project", f"{theirs}/project")
    conv("head", "MobilenetV2/Conv_1")
    conv("bottleneck", "mobilenet_conv/Conv")
    return out
