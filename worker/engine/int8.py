"""Convolutions on int8 activations and weights (oneDNN's u8 × s8 kernels), float in and out.

Why: on x86 CPUs oneDNN's int8 convolutions run 3-4× faster than its float32 ones on the shapes
of our networks (one thread, AVX-512 VNNI; measured in ``benchmarks/engine.py``), and the
arbitrary-style network ships as an int8 graph anyway. Each convolution quantizes its (padded)
input to uint8 on a per-tensor grid, its weight to int8 per output channel (symmetric), and
returns float32; norms, ReLUs, additions and the sigmoid stay in float.

Where a grid comes from (``ConvGrids``):
- a pass with live statistics (a single-pass render, or the thumbnail pass of a tiled one) takes
  each input's own range and records it;
- a pass with frozen statistics (the tiles) replays the recorded grids, so every tile is rounded
  alike and tiled output equals untiled output exactly. Values outside the thumbnail's range
  clip to it, as in any calibrated int8 network. Widening the replayed grids for full-resolution
  detail beyond that range measured worse: the coarser step costs more than the clipping
  (26-style net, 2400 px photo, 512 px tiles, PSNR against float32: 38.8 dB as recorded,
  38.3 / 37.2 / 35.9 dB widened 1.1 / 1.25 / 1.5×; the arbitrary net and a second photo alike).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from functools import cache

import torch
import torch.nn.functional as F

# Int8 packed weights per conv call (index in forward order), their per-channel scales and (zero) zero
# points, and the float bias; filled on first use in a frozen pass.
PackedConv = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]


# oneDNN's instruction-set names without VNNI (its "CPU Dispatcher Control" guide lists them all).
ISA_CAPS_WITHOUT_VNNI = frozenset({"SSE41", "AVX", "AVX2", "AVX512_CORE"})


@cache
def has_vnni() -> bool:
    """Whether oneDNN multiplies u8 × s8 with 32-bit sums here (AVX-512 VNNI, AVX-VNNI, AMX); Linux only.

    A cap on oneDNN's instruction sets (``ONEDNN_MAX_CPU_ISA``, formerly ``DNNL_MAX_CPU_ISA``)
    below VNNI makes its int8 kernels use ``vpmaddubsw`` even on a VNNI CPU, so it counts as none.
    """
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or ""
    if cap.strip().upper() in ISA_CAPS_WITHOUT_VNNI:
        return False
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            flags = next((line.split(":", 1)[1].split() for line in cpuinfo if line.startswith("flags")), [])
    except OSError:
        return False
    return any(flag in flags for flag in ("avx512_vnni", "avx_vnni", "amx_int8"))


def weight_levels() -> int:
    """The int8 weights' largest magnitude: 127, or 63 on a CPU without VNNI.

    Why: without VNNI, x86 int8 kernels multiply with ``vpmaddubsw``, which adds two u8 × s8
    products into a saturating int16: 255 · 127 · 2 overflows it, 255 · 63 · 2 does not. Of the
    two ways out, 7-bit weights kept more quality than 7-bit activations (PyTorch's
    ``reduce_range``) on both networks: 38.0 vs 35.1 dB (26-style) and 32.7 vs 31.0 dB
    (arbitrary) against float32 on a 480 × 320 photo.
    """
    return 127 if has_vnni() else 63


@cache
def int8_supported() -> bool:
    """Whether this torch build has oneDNN's int8 convolution ops for the CPU."""
    try:
        return "onednn" in torch.backends.quantized.supported_engines and hasattr(torch.ops.onednn, "qconv2d_pointwise")
    except (AttributeError, RuntimeError):
        return False


@dataclass(frozen=True)
class Grid:
    """A uint8 grid for one activation tensor: ``x ≈ (q - zero_point) * scale``."""

    scale: float
    zero_point: int

    @staticmethod
    def spanning(low: float, high: float) -> Grid:
        """The grid covering [low, high] (and 0, which padding and ReLU outputs hit exactly)."""
        low, high = min(low, 0.0), max(high, 0.0)
        scale = max(high - low, 1e-8) / 255.0
        return Grid(scale, int(min(max(round(-low / scale), 0), 255)))

    def quantize(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` as uint8 on this grid (rounded, clipped to 0-255)."""
        with warnings.catch_warnings():  # quantized tensor types are deprecated; their kernels are what is fast
            warnings.simplefilter("ignore")
            quantized = torch.quantize_per_tensor(x, self.scale, self.zero_point, torch.quint8)
        # The same bytes seen as plain uint8, which oneDNN's op takes (``int_repr`` would copy them).
        raw = torch.empty(0, dtype=torch.uint8, device=x.device)
        return raw.set_(quantized.untyped_storage(), quantized.storage_offset(), quantized.shape, quantized.stride())


IMAGE_GRID = Grid(1.0 / 255.0, 0)  # a photo in 0-1 from uint8 pixels: exact on this grid


@dataclass
class ConvGrids:
    """The input grid of each convolution of one network pass, in forward order, and their packed weights."""

    grids: list[Grid] = field(default_factory=list)
    packed: dict[int, PackedConv] = field(default_factory=dict)


def quantize_weight(weight: torch.Tensor, levels: int = 127) -> tuple[torch.Tensor, torch.Tensor]:
    """int8 weight and its per-output-channel scales (symmetric, ±``levels``; see ``weight_levels``)."""
    w = weight.detach().float()
    scales = (w.abs().amax(dim=(1, 2, 3)) / levels).clamp_min(1e-12)
    q = torch.round(w / scales[:, None, None, None]).clamp_(-levels, levels).to(torch.int8)
    return q, scales.double()


def _pack(weight: torch.Tensor, bias: torch.Tensor | None, grid: Grid, stride: int, shape: list[int]) -> PackedConv:
    qweight, scales = quantize_weight(weight, weight_levels())
    with warnings.catch_warnings():  # the prepack op warns that quantized tensors are deprecated
        warnings.simplefilter("ignore")
        packed = torch.ops.onednn.qconv_prepack(
            qweight, scales, grid.scale, grid.zero_point, [stride] * 2, [0, 0], [1, 1], 1, shape
        )
    zero_points = torch.zeros(scales.shape[0], dtype=torch.long)  # symmetric weights
    return packed, scales, zero_points, None if bias is None else bias.detach().float()


class ConvQuantizer:
    """Runs one pass's convolutions in int8; records input grids (live) or replays them (frozen)."""

    def __init__(self, grids: ConvGrids, frozen: bool) -> None:
        self.grids = grids
        self.frozen = frozen
        self._next = 0

    def conv(
        self,
        x: torch.Tensor,
        pad: int,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        stride: int,
        known: Grid | None = None,
    ) -> torch.Tensor:
        """Mirror-pad ``x`` by ``pad``, then ``conv2d(·, weight, bias, stride)`` in int8; float32 out.

        The input is quantized before it is padded (reflection copies values, so the result is the
        same, on a quarter of the bytes). ``known``: the input's grid when it is fixed
        (``IMAGE_GRID`` for the photo itself).
        """
        index = self._next
        self._next += 1
        x = x.float().contiguous(memory_format=torch.channels_last)
        shape = [x.shape[0], x.shape[1], x.shape[2] + 2 * pad, x.shape[3] + 2 * pad]
        if self.frozen:
            grid = self.grids.grids[index]
            packed = self.grids.packed.get(index)
            if packed is None:
                packed = self.grids.packed[index] = _pack(weight, bias, grid, stride, shape)
        else:
            if known is not None:
                grid = known
            else:
                # Flattened in memory order: a channels-last tensor reduces without a copy.
                low, high = torch.aminmax(x.permute(0, 2, 3, 1).reshape(-1))
                grid = Grid.spanning(float(low), float(high))
            self.grids.grids.append(grid)
            packed = _pack(weight, bias, grid, stride, shape)
        qweight, scales, zero_points, float_bias = packed
        qx = grid.quantize(x)
        if pad:
            qx = F.pad(qx, (pad,) * 4, mode="reflect")
        return torch.ops.onednn.qconv2d_pointwise(
            qx, grid.scale, grid.zero_point, qweight, scales, zero_points, float_bias,
            [stride] * 2, [0, 0], [1, 1], 1, 1.0, 0, torch.float32, "none", [], "",
        )  # fmt: skip
