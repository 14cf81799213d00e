"""Small building blocks shared by the style networks."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from worker.engine.int8 import ConvQuantizer, Grid


def space_to_depth_weights(weight: torch.Tensor) -> torch.Tensor:
    """A stride-1 k×k conv's weight [O, C, k, k] as the equal conv on 2×2 space-to-depth input.

    Output pixel (2i+a, 2j+b) of channel o is ``Σ w[o, c, ky, kx] x[c, 2i+a+ky, 2j+b+kx]``; with
    ky = 2u + p - a that reads input phase (p, q) at block (i+u, j+v). So the new conv maps the
    4C channels (c, p, q) of ``pixel_unshuffle`` to 4O channels (o, a, b) for ``pixel_shuffle``
    with a (k+1)/2 kernel; taps outside the original kernel are zero.
    """
    out_c, in_c, k, _ = weight.shape
    taps = (k + 2) // 2
    padded = F.pad(weight, (1, 1, 1, 1))  # index = ky + 1, so ky = -1 and ky = k read zeros
    offsets = torch.arange(2)
    u = torch.arange(taps)
    # index[a, p, u] = 2u + p - a + 1
    index = (2 * u[None, None, :] + offsets[None, :, None] - offsets[:, None, None] + 1).to(weight.device)
    rows = index[:, :, :, None, None, None]
    cols = index[None, None, None, :, :, :]
    gathered = padded[:, :, rows, cols]  # [O, C, a, p, u, b, q, v]
    return (
        gathered.permute(0, 2, 5, 1, 3, 6, 4, 7)  # [O, a, b, C, p, q, u, v]
        .reshape(out_c * 4, in_c * 4, taps, taps)
        .contiguous(memory_format=torch.channels_last)
    )


def space_to_depth_conv(padded: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``conv2d(padded, weight, bias)`` (stride 1, no padding) computed on 2×2 space-to-depth blocks.

    Why: with 3 output channels a 9×9 conv is a poor shape for CPU conv kernels; the same sums
    as 16 → 12 or 32 → 12 channels with a 5×5 kernel took 0.70-0.74× the CPU time (oneDNN,
    AVX2, channels-last, one thread, 1 MP). For the 3 → 32 input conv it took 1.55× (not used
    there). Same result up to float summation order.
    """
    height, width = padded.shape[-2:]
    k = weight.shape[-1]
    odd_y, odd_x = height % 2, width % 2
    if odd_y or odd_x:
        padded = F.pad(padded, (0, odd_x, 0, odd_y))
    blocks = F.pixel_unshuffle(padded, 2).contiguous(memory_format=torch.channels_last)
    out = F.conv2d(blocks, space_to_depth_weights(weight), None if bias is None else bias.repeat_interleave(4))
    out = F.pixel_shuffle(out, 2)  # channels-last in, channels-last out
    return out[:, :, : height - k + 1, : width - k + 1] if odd_y or odd_x else out


class ReflectConv(nn.Module):
    """Mirror-pad by ``kernel // 2`` then convolve without padding (as both style nets do).

    ``space_to_depth``: run the (stride-1) conv as ``space_to_depth_conv`` (faster for 9×9 convs
    with few channels on one side; chosen per layer by measurement, see the networks).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        stride: int = 1,
        bias: bool = True,
        space_to_depth: bool = False,
    ) -> None:
        super().__init__()
        self.pad = kernel // 2
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride, bias=bias)
        self.space_to_depth = space_to_depth and stride == 1

    def forward(
        self,
        x: torch.Tensor,
        after_pad: Callable[[torch.Tensor], torch.Tensor] | None = None,
        weights: tuple[torch.Tensor, torch.Tensor] | None = None,
        quantizer: ConvQuantizer | None = None,
        known: Grid | None = None,
    ) -> torch.Tensor:
        """``weights``: (weight, bias) to use instead of the module's own (e.g. with a norm folded in).

        ``quantizer``: run in int8 (int8.py); ``known``: the input's fixed int8 grid, if it has one.
        """
        weight, bias = weights if weights is not None else (self.conv.weight, self.conv.bias)
        if quantizer is not None:  # nothing rounds between padding and conv there (``after_pad`` emulates that)
            return quantizer.conv(x, self.pad, weight, bias, self.conv.stride[0], known)
        padded = F.pad(x, (self.pad,) * 4, mode="reflect")
        padded = padded if after_pad is None else after_pad(padded)
        if self.space_to_depth:
            return space_to_depth_conv(padded, weight, bias)
        return F.conv2d(padded, weight, bias, self.conv.stride)


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
