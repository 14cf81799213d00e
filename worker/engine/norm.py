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


class NormState:
    """Carries statistics through one forward pass: records them, or replays frozen ones."""

    def __init__(self, frozen: NormStatistics | None = None, pooled: bool = False) -> None:
        self.frozen = frozen
        # Pooled: one mean and std over the whole batch (e.g. sampled frames of a clip), not per image.
        self.dims = (0, 2, 3) if pooled else (2, 3)
        self.recorded = NormStatistics()
        self._next = 0

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
        mean = q("moments/mean", xf.mean(dim=self.dims, keepdim=True))
        squared = q("moments/SquaredDifference", (xf - mean) ** 2)
        var = q("moments/variance", squared.mean(dim=self.dims, keepdim=True))
        rstd = q("batchnorm/Rsqrt", torch.rsqrt(q("batchnorm/add", var + eps)))
        self.recorded.layers.append((mean, rstd))
        return mean.to(x.dtype), rstd.to(x.dtype)


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
