"""What the optimizer needs from a feature network, and how the farm picks one.

Why a protocol: Gatys-style losses only need named activations of some convolutional network.
VGG-19 is the classic choice, but its weights are not shipped with the farm; the bundled style
predictor works too once its activations are smoothed (Wang et al., CVPR 2021). Both give the
same interface, so the losses, the optimizer and style refinement do not care which one runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import torch

from worker.engine.model_store import Networks


class FeatureExtractor(Protocol):
    """Image [N, 3, H, W] in 0–1 → activations by layer name (differentiable w.r.t. the image)."""

    name: str
    style_layers: tuple[str, ...]
    content_layers: tuple[str, ...]

    def __call__(self, image: torch.Tensor) -> dict[str, torch.Tensor]: ...


def feature_extractor(networks: Networks, vgg19_weights_path: Path | None = None) -> FeatureExtractor:
    """VGG-19 when its weights file is configured, otherwise the predictor's smoothed features."""
    if vgg19_weights_path is not None:
        from worker.engine.optimize.vgg import load_vgg19_features

        return load_vgg19_features(vgg19_weights_path, networks.device)
    from worker.engine.optimize.predictor_features import PredictorFeatures

    return PredictorFeatures(networks.predictor)
