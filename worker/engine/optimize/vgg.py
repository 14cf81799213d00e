"""VGG-19's convolutional part (Simonyan & Zisserman 2015) loaded from a local torchvision state dict.

Nothing is downloaded: ``settings.vgg19_weights_path`` names a file saved from torchvision's
``vgg19`` (keys ``features.N.weight`` / ``features.N.bias``; the classifier keys are ignored).
The layer indices follow torchvision's ``features`` Sequential, so a state dict saved there loads
here unchanged. Layers are the ones Gatys et al. (2016) use: relu1_1 … relu5_1 for style and
relu4_2 for content.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch
from torch import nn

from shared.errors import StyleFarmError

# Output channels of each conv; "M" is a 2×2 max pool (torchvision's configuration "E").
_CONFIG: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M")
_CONFIG += (512, 512, 512, 512, "M", 512, 512, 512, 512)
# Name → index of the ReLU in torchvision's ``features`` whose output is tapped.
LAYERS = {"relu1_1": 1, "relu2_1": 6, "relu3_1": 11, "relu4_1": 20, "relu4_2": 22, "relu5_1": 29}
# ImageNet normalization the torchvision weights were trained with.
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


class FeatureWeightsError(StyleFarmError):
    """The configured feature-network weights file is missing or does not fit the network."""

    code = "feature_weights"


def vgg19_layers() -> nn.Sequential:
    """torchvision's ``vgg19().features`` up to relu5_1, with the same module indices."""
    layers: list[nn.Module] = []
    channels = 3
    for entry in _CONFIG:
        if entry == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            assert isinstance(entry, int)
            layers += [nn.Conv2d(channels, entry, 3, padding=1), nn.ReLU(inplace=False)]
            channels = entry
    return nn.Sequential(*layers[: max(LAYERS.values()) + 1])


class VGGFeatures(nn.Module):
    """Image in 0–1 → the Gatys layers of VGG-19."""

    name = "vgg19"
    style_layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    content_layers = ("relu4_2",)

    def __init__(self) -> None:
        super().__init__()
        self.features = vgg19_layers()
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1))
        self._names = {index: name for name, index in LAYERS.items()}

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:  # type: ignore[override]
        x = (image - self.mean) / self.std
        out = {}
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in self._names:
                out[self._names[index]] = x
        return out


def vgg19_state_dict(raw: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The ``features.*`` entries VGGFeatures needs, checked for presence and shape."""
    expected = VGGFeatures().state_dict()
    needed = {k: v for k, v in expected.items() if k.startswith("features.")}
    missing = sorted(k for k in needed if k not in raw)
    if missing:
        raise FeatureWeightsError(
            f"the VGG-19 weights file lacks {len(missing)} of its conv tensors (first: {missing[0]}); "
            "expected torchvision's vgg19 state dict with keys features.N.weight/bias"
        )
    wrong = [f"{k} {tuple(raw[k].shape)} != {tuple(v.shape)}" for k, v in needed.items() if raw[k].shape != v.shape]
    if wrong:
        raise FeatureWeightsError(f"the VGG-19 weights do not fit the network: {wrong[0]}")
    return {**expected, **{k: raw[k].float() for k in needed}}


@lru_cache(maxsize=2)
def load_vgg19_features(path: Path, device: torch.device) -> VGGFeatures:
    """Load (once per process and path) VGG-19's features from a local state-dict file."""
    if not Path(path).is_file():
        raise FeatureWeightsError(f"VGG-19 weights file {path} does not exist (settings.vgg19_weights_path)")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise FeatureWeightsError(f"cannot read VGG-19 weights from {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise FeatureWeightsError(f"{path} holds a {type(raw).__name__}, not a state dict")
    model = VGGFeatures()
    model.load_state_dict(vgg19_state_dict(raw))
    return model.to(device).eval().requires_grad_(False)
