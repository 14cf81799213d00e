"""The losses of Gatys et al. (2016): content, Gram-matrix style and total variation.

Each layer's term is divided by its target's own energy, so a layer counts the same whatever
its scale or channel count and the weights mean the same for VGG-19 and the predictor features.
Gram matrices are averaged over pixels, so targets computed on a style image of another size
still apply (feature statistics are global).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

Features = Mapping[str, torch.Tensor]


def gram(features: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] → [N, C, C] channel correlations averaged over pixels."""
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)


def grams(features: Features, layers: Sequence[str]) -> dict[str, torch.Tensor]:
    return {name: gram(features[name]) for name in layers}


def blend_grams(parts: Sequence[tuple[float, Mapping[str, torch.Tensor]]]) -> dict[str, torch.Tensor]:
    """Weighted mean of several style images' Gram targets (a blend of styles)."""
    total = sum(weight for weight, _ in parts)
    names = parts[0][1].keys()
    return {name: sum(weight / total * targets[name] for weight, targets in parts) for name in names}  # type: ignore[misc]


def _relative(value: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (value - target).pow(2).sum() / target.pow(2).sum().clamp_min(1e-12)


def style_loss(
    features: Features, targets: Mapping[str, torch.Tensor], weights: Mapping[str, float] | None = None
) -> torch.Tensor:
    """Weighted sum over layers of the relative squared Gram error (batch averaged by the target)."""
    total = torch.zeros((), device=next(iter(targets.values())).device)
    for name, target in targets.items():
        value = gram(features[name])
        total = total + (weights or {}).get(name, 1.0) * _relative(value, target.expand_as(value))
    return total / len(targets)


def content_loss(features: Features, targets: Features) -> torch.Tensor:
    """Mean over the content layers of the relative squared feature error."""
    return sum(_relative(features[name], target) for name, target in targets.items()) / len(targets)  # type: ignore[return-value]


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Total variation: mean absolute difference of neighbouring pixels (discourages noise)."""
    return (image[..., 1:, :] - image[..., :-1, :]).abs().mean() + (image[..., :, 1:] - image[..., :, :-1]).abs().mean()
