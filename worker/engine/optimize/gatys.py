"""The pixel optimization of Gatys et al. (2016, "Image Style Transfer Using CNNs").

The image itself is the parameter: L-BFGS or Adam lowers content + Gram style + total-variation
loss, plus our style-embedding term (``embedding``: the predictor's vector of the image against
the painting's), which the Gram loss alone did not move towards the painting. It runs coarse to
fine (each scale starts from the previous result, upsampled), which is both faster and better at
large structures than starting at full size. Progress is reported
after every iteration and cancellation is checked before each, so a cancel stops within one step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from worker.engine.optimize.embedding import StyleEmbeddingLoss
from worker.engine.optimize.features import FeatureExtractor
from worker.engine.optimize.losses import content_loss, style_loss, tv_loss
from worker.engine.optimize.options import OptimizeOptions
from worker.engine.render import RenderCanceled

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]
StyleTargets = Callable[[int], Mapping[str, torch.Tensor]]  # long side → Gram targets


def resize(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    if image.shape[-2:] == (height, width):
        return image
    return F.interpolate(image, size=(height, width), mode="bilinear", align_corners=False, antialias=True)


def scale_sizes(height: int, width: int, scales: int) -> list[tuple[int, int]]:
    """(height, width) of each pyramid level, coarsest first, the last being the given size."""
    sizes = []
    for level in range(scales - 1, -1, -1):
        factor = 2**level
        sizes.append((max(16, round(height / factor)), max(16, round(width / factor))))
    return sizes


@dataclass
class Counter:
    """Iterations done out of the total, shared by every stage of one render."""

    total: int
    progress: ProgressCallback | None = None
    should_cancel: CancelCheck | None = None
    done: int = 0
    losses: list[float] = field(default_factory=list)

    def check(self) -> None:
        if self.should_cancel is not None and self.should_cancel():
            raise RenderCanceled("optimization canceled")

    def step(self, loss: float) -> None:
        self.done += 1
        self.losses.append(loss)
        if self.progress is not None:
            self.progress(self.done, self.total)


class GatysOptimizer:
    """Optimizes images against one feature network with the given options."""

    def __init__(
        self, features: FeatureExtractor, options: OptimizeOptions, embedding: StyleEmbeddingLoss | None = None
    ) -> None:
        self.features = features
        self.options = options
        self.embedding = embedding  # the style-embedding term (its weight: options.embedding_weight)

    def loss(
        self, image: torch.Tensor, content_targets: Mapping[str, torch.Tensor], grams: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:
        o = self.options
        feats = self.features(image)
        total = o.style_weight * style_loss(feats, grams) + o.tv_weight * tv_loss(image)
        if o.content_weight > 0:
            total = total + o.content_weight * content_loss(feats, content_targets)
        if self.embedding is not None and o.embedding_weight > 0:
            total = total + o.embedding_weight * self.embedding(image)
        return total

    def optimize(
        self,
        photo: torch.Tensor,
        start: torch.Tensor,
        grams: Mapping[str, torch.Tensor],
        iterations: int,
        counter: Counter,
    ) -> torch.Tensor:
        """Run ``iterations`` steps from ``start`` towards ``photo``'s content and ``grams``' style."""
        with torch.no_grad():
            feats = self.features(photo)
            content_targets = {name: feats[name].detach() for name in self.features.content_layers}
        image = start.detach().clone().contiguous().requires_grad_(True)
        if self.options.optimizer == "adam":
            optimizer: torch.optim.Optimizer = torch.optim.Adam([image], lr=self.options.learning_rate)
        else:
            # Tolerances 0: the relative losses have small gradients, and the caller decides when to stop.
            optimizer = torch.optim.LBFGS(
                [image],
                lr=1.0,
                max_iter=1,
                history_size=20,
                tolerance_grad=0.0,
                tolerance_change=0.0,
                line_search_fn="strong_wolfe",
            )

        def closure() -> torch.Tensor:
            optimizer.zero_grad(set_to_none=True)
            value = self.loss(image, content_targets, grams)
            value.backward()
            return value

        for _ in range(iterations):
            counter.check()
            value = optimizer.step(closure)
            with torch.no_grad():
                image.clamp_(0.0, 1.0)
            counter.step(float(value.detach()))  # type: ignore[union-attr]
        return image.detach()

    def pyramid(
        self, photo: torch.Tensor, start: torch.Tensor, style_targets: StyleTargets, counter: Counter
    ) -> torch.Tensor:
        """Coarse-to-fine optimization of the whole image at ``photo``'s size.

        A finer scale starts from its own view of ``start`` plus the upsampled *change* the
        coarser scales made: plain upsampling of the coarse result would blur away the detail
        of the start image (the photo, or the fast network's brush strokes).
        """
        height, width = photo.shape[-2:]
        current: torch.Tensor | None = None
        for (h, w), steps in zip(
            scale_sizes(height, width, self.options.scales), self.options.iterations_per_scale(), strict=True
        ):
            base = resize(start, h, w)
            if current is not None:
                coarse_start = resize(start, *current.shape[-2:])
                base = (base + resize(current - coarse_start, h, w)).clamp(0.0, 1.0)
            targets = style_targets(max(h, w))
            current = self.optimize(resize(photo, h, w), base, targets, steps, counter)
        assert current is not None
        return current
