"""Conditional instance normalization with optional fixed (thumbnail) statistics.

Both style networks normalize every feature map per channel and then apply a style-dependent
scale and shift (Dumoulin et al. 2017). For tiled high-resolution rendering we follow Thumbnail
Instance Normalization (Chen et al., AAAI 2022): run a thumbnail of the whole image once while
recording each layer's mean and reciprocal standard deviation, then run the tiles with those
statistics frozen, so every tile is normalized as if it were the whole image.

Frozen statistics make each norm an affine map per channel, so ``NormState.folded`` folds it into
the preceding convolution's weights and bias (as inference engines fold batch norm): the tiles
then run convolutions and ReLUs only, with no full-resolution elementwise passes for the norms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from worker.engine.int8 import ConvGrids, ConvQuantizer

# A quantization point: (name of the point inside the current layer, tensor) → tensor.
QuantHook = Callable[[str, torch.Tensor], torch.Tensor]


def _no_quant(_point: str, x: torch.Tensor) -> torch.Tensor:
    return x


@dataclass
class NormStatistics:
    """Per-layer (mean, 1/std) pairs, in the order the network's norm layers run."""

    layers: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)
    # Per layer, the preceding conv's (weight, bias) with the norm folded in; filled on first use.
    # One statistics object belongs to one network and one set of style params (render's ``_Pass``).
    folded: dict[int, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)
    # With int8 convolutions (int8.py): each conv's input grid, recorded with the statistics.
    int8: ConvGrids | None = None


class NormState:
    """Carries statistics through one forward pass: records them, or replays frozen ones."""

    def __init__(self, frozen: NormStatistics | None = None, pooled: bool = False, int8: bool = False) -> None:
        """``int8``: run the convolutions in int8 (a pass with frozen statistics follows how they were recorded)."""
        self.frozen = frozen
        # Pooled: one mean and std over the whole batch (e.g. sampled frames of a clip), not per image.
        self.dims = (0, 2, 3) if pooled else (2, 3)
        self.recorded = NormStatistics(int8=ConvGrids() if int8 and frozen is None else None)
        self._next = 0
        self._scratch: torch.Tensor | None = None  # deviations from the mean, reused layer after layer
        grids = frozen.int8 if frozen is not None else self.recorded.int8
        self.quantizer = None if grids is None else ConvQuantizer(grids, frozen=frozen is not None)

    @property
    def foldable(self) -> bool:
        """Whether the norms can be folded into the convolutions (frozen statistics, no autograd)."""
        return self.frozen is not None and not torch.is_grad_enabled()

    def folded(
        self, weight: torch.Tensor, bias: torch.Tensor | None, gamma: torch.Tensor, beta: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The conv's (weight, bias) with the next frozen norm and its (gamma, beta) folded in.

        ``norm(conv(x) + bias)`` is ``(conv(x) + bias - mean) * s + beta`` with ``s = rstd * gamma``,
        which is ``conv_{weight * s}(x) + (bias - mean) * s + beta``. Computed in float32 once per
        statistics object and reused for every tile.
        """
        assert self.frozen is not None, "only frozen statistics fold"
        index = self._next
        self._next += 1
        cached = self.frozen.folded.get(index)
        if cached is None:
            mean, rstd = self.frozen.layers[index]
            scale = (rstd.float() * gamma.float()).reshape(-1)  # per output channel (batch of one style)
            offset = -mean.float().reshape(-1) if bias is None else bias.float() - mean.float().reshape(-1)
            new_weight = (weight.float() * scale[:, None, None, None]).to(weight.dtype)
            new_bias = (offset * scale + beta.float().reshape(-1)).to(weight.dtype)
            cached = (new_weight.contiguous(memory_format=torch.channels_last), new_bias)
            self.frozen.folded[index] = cached
        return cached

    def statistics(self, x: torch.Tensor, eps: float, q: QuantHook = _no_quant) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and 1/std of ``x`` per channel, or the next frozen pair."""
        if self.frozen is not None:
            mean, rstd = self.frozen.layers[self._next]
            self._next += 1
            return mean.to(x.dtype), rstd.to(x.dtype)
        # Moments in float32 even when the convolutions run in half precision.
        xf = x.float()
        if q is _no_quant and not xf.requires_grad and xf.is_contiguous(memory_format=torch.channels_last):
            mean, var = self._moments_in_scratch(xf)
            rstd = torch.rsqrt(var + eps)
            self.recorded.layers.append((mean, rstd))
            return mean.to(x.dtype), rstd.to(x.dtype)
        mean = q("moments/mean", xf.mean(dim=self.dims, keepdim=True))
        squared = q("moments/SquaredDifference", (xf - mean) ** 2)
        var = q("moments/variance", squared.mean(dim=self.dims, keepdim=True))
        rstd = q("batchnorm/Rsqrt", torch.rsqrt(q("batchnorm/add", var + eps)))
        self.recorded.layers.append((mean, rstd))
        return mean.to(x.dtype), rstd.to(x.dtype)

    def _moments_in_scratch(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and variance per channel of a channels-last ``x`` ([N, C, 1, 1] each), as above
        (mean, then the mean of squared deviations: a flat picture gets exactly the same moments on
        any thread count), with the deviations written into one buffer reused by every layer.

        Why: a full-resolution layer's deviations are hundreds of MB; a fresh tensor per layer
        costs a page fault per 4 KiB (as much time as the arithmetic), a reused one does not.
        """
        n, c = x.shape[:2]
        rows = x.permute(0, 2, 3, 1).reshape(1 if self.dims[0] == 0 else n, -1, c)  # a view: no copy
        mean = rows.mean(dim=1, keepdim=True)
        if self._scratch is None or self._scratch.numel() < rows.numel():
            self._scratch = torch.empty(rows.numel(), dtype=rows.dtype, device=rows.device)
        deviations = torch.sub(rows, mean, out=self._scratch[: rows.numel()].view(rows.shape))
        var = deviations.square_().mean(dim=1, keepdim=True)
        shape = (1, c, 1, 1) if self.dims[0] == 0 else (n, c, 1, 1)
        return mean.reshape(shape), var.reshape(shape)


def conditional_instance_norm(
    x: torch.Tensor,
    gamma: torch.Tensor,
    beta: torch.Tensor,
    eps: float,
    state: NormState,
    q: QuantHook = _no_quant,
) -> torch.Tensor:
    """Normalize ``x`` per channel, scale by ``gamma``, shift by ``beta`` (both [N, C, 1, 1]).

    The arithmetic follows the order of the TensorFlow graph (``x * s + (beta - mean * s)``)
    so that ``q`` can reproduce the int8 rounding of the shipped model at each step. Without
    ``q`` the result is written into ``x`` (callers pass a conv output nothing else holds).
    """
    mean, rstd = state.statistics(x, eps, q)
    scale = q("batchnorm/mul", rstd * gamma.to(x.dtype))
    shift = q("batchnorm/sub", beta.to(x.dtype) - q("batchnorm/mul_2", mean * scale))
    in_place = q is _no_quant and not torch.is_grad_enabled()
    if in_place and scale.shape[0] in (1, x.shape[0]) and shift.shape[0] in (1, x.shape[0]):
        return x.mul_(scale).add_(shift)
    return q("batchnorm/add_1", q("batchnorm/mul_1", x * scale) + shift)
