"""The bundled style predictor's convolutional stages as a feature network for Gram losses.

Why smoothing: Wang et al. ("Rethinking and Improving the Robustness of Image Style Transfer",
CVPR 2021) show that non-VGG networks have peaky, low-entropy activations, so a few huge values
dominate the Gram matrices and optimization copies little of the style; a softmax over each
layer's activations spreads them out and makes such networks usable.

Our adaptation, measured on this predictor (benchmarks/quality.py): a softmax over all C × H × W
values at temperature 1 saturates (one value takes nearly all the mass, pixel gradients vanish
and the image does not move), so we take the softmax over the channels at each pixel, at a
temperature equal to the layer's standard deviation (so it does not depend on the layer's
scale), times the channel count so the values average 1. Taps run from the stem to the 1×1
head the style vector is pooled from, so the Gram losses see the statistics the predictor uses.
"""

from __future__ import annotations

import torch

from worker.engine.predictor_net import StylePredictorNet

# Taps: the stem (1/2 resolution, 32 channels) and the outputs of MobileNetV2 blocks; ``head`` is
# the 1×1 conv (1280 channels, 1/32 resolution) after the last block.
_TAPS = {"stem": -1, "block2": 2, "block5": 5, "block9": 9, "block12": 12, "block15": 15}


def smooth(activations: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Softmax over channels at each pixel, at ``temperature`` × the layer's std; values average 1."""
    scale = activations.detach().std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6) * temperature
    return torch.softmax(activations / scale, dim=1) * activations.shape[1]


class PredictorFeatures:
    """Image in 0–1 → smoothed activations of the predictor's stages."""

    name = "predictor"
    style_layers = ("stem", "block2", "block5", "block9", "block12", "block15", "head")
    content_layers = ("block5",)

    def __init__(self, predictor: StylePredictorNet, temperature: float = 1.0) -> None:
        self.predictor = predictor
        self.temperature = temperature
        self._last = max(_TAPS.get(name, len(predictor.blocks)) for name in (*self.style_layers, *self.content_layers))
        self._names = {index: name for name, index in _TAPS.items()}

    def __call__(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        x = torch.clamp(self.predictor.stem(image), 0.0, 6.0)
        out = {"stem": smooth(x, self.temperature)}
        for index, block in enumerate(self.predictor.blocks):
            if index > self._last:
                break
            x = block(x)
            if index in self._names:
                out[self._names[index]] = smooth(x, self.temperature)
        if "head" in self.style_layers:
            out["head"] = smooth(torch.clamp(self.predictor.head(x), 0.0, 6.0), self.temperature)
        return out
