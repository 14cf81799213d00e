"""Style-embedding loss: the style predictor's 100-number vector as a learned style descriptor.

Why: Ghiasi et al. (2017, "Exploring the structure of a real-time, arbitrary neural artistic
stylization network") trained the predictor to map a painting to a point of a style space where
nearby points render alike, so the distance between the predictor's vector of an output and of
the painting is a style measure learned from paintings. Gram matrices of one network's features
(Gatys et al. 2016) and that learned vector need not agree: on our predictor's smoothed features,
lowering the Gram loss alone moved outputs *away* from the painting's vector (benchmarks/README.md).
Adding ‖P(output) - P(painting)‖² to the loss is the perceptual-loss idea of Johnson et al. (2016)
applied to a learned style embedding instead of feature statistics.

The predictor sees the whole output (short side resized to the predictor's 256 px, aspect kept:
the network is convolutional with global average pooling), not only a centre square, so every
part of the picture is pushed towards the style, not just the region a measurement might look at.
256 px is the scale the predictor was trained at; its vector depends on the scale of the strokes,
so small images (tiles, crops) are enlarged to it, as ``StyleEngine.style_vector`` does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from worker.engine.predictor_net import StylePredictorNet
from worker.engine.render import PREDICTOR_SIDE


def predictor_view(image: torch.Tensor, side: int = PREDICTOR_SIDE) -> torch.Tensor:
    """[N, 3, H, W] → the same images with their short side at ``side`` (differentiable)."""
    height, width = image.shape[-2:]
    scale = side / min(height, width)
    size = (max(side, round(height * scale)), max(side, round(width * scale)))
    if size == (height, width):
        return image
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False, antialias=True)


def blend_vectors(parts: Sequence[tuple[float, np.ndarray]]) -> np.ndarray:
    """Weighted mean of several paintings' vectors: the target of a blend of styles (as fast renders do)."""
    total = sum(weight for weight, _ in parts)
    return np.sum([weight / total * np.asarray(vector, dtype=np.float64) for weight, vector in parts], axis=0).astype(
        np.float32
    )


class StyleEmbeddingLoss:
    """Mean over the batch of the squared distance between the predictor's vector of each image and a target."""

    def __init__(self, predictor: StylePredictorNet, target: np.ndarray, device: torch.device) -> None:
        self.predictor = predictor
        self.target = torch.as_tensor(np.asarray(target, dtype=np.float32), device=device)[None]

    def vectors(self, images: torch.Tensor) -> torch.Tensor:
        return self.predictor(predictor_view(images))

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return (self.vectors(images) - self.target).pow(2).sum(dim=1).mean()
