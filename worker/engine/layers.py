"""Small building blocks shared by the style networks."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


class ReflectConv(nn.Module):
    """Mirror-pad by ``kernel // 2`` then convolve without padding (as both style nets do)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1, bias: bool = True) -> None:
        super().__init__()
        self.pad = kernel // 2
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride, bias=bias)

    def forward(
        self,
        x: torch.Tensor,
        after_pad: Callable[[torch.Tensor], torch.Tensor] | None = None,
        weights: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """``weights``: (weight, bias) to use instead of the module's own (e.g. with a norm folded in)."""
        padded = F.pad(x, (self.pad,) * 4, mode="reflect")
        padded = padded if after_pad is None else after_pad(padded)
        if weights is None:
            return self.conv(padded)
        return F.conv2d(padded, weights[0], weights[1], self.conv.stride)


class SamePadConv(nn.Conv2d):
    """A convolution with TensorFlow's 'SAME' padding (extra pixel at the bottom and right)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads: list[int] = []
        for size, k, s in zip(x.shape[-2:], self.kernel_size, self.stride, strict=True):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads = [total // 2, total - total // 2, *pads]
        return super().forward(F.pad(x, pads))


def upsample_nearest(x: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour ×2, matching ONNX Resize(asymmetric, floor) used by both nets."""
    return F.interpolate(x, scale_factor=2.0, mode="nearest")
