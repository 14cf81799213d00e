"""Tune a style's 100-number vector so the fast network's outputs match the style image better.

Why: the predictor maps a painting to a vector in one shot (Ghiasi et al. 2017), and the vector
it predicts does not make the transformer paint outputs that the predictor itself places at the
painting: on our benchmark photos the outputs sit about 0.9 away from the painting's vector.
Here the vector is the only parameter: Adam lowers, on the arbitrary transformer's outputs for a
few content crops, the same loss as optimization mode (``engine.optimize``): the Gram style loss
against the style image, the style-embedding term (``optimize.embedding``: the squared distance
between the predictor's vector of each output and of the painting) and a content term so the
photo stays recognisable. The networks stay frozen; the result is a new vector usable by any fast
render. Crops come from the caller (the farm uses the bundled sample photo, shared/samples), at
several scales and positions so the vector suits strokes seen at different zooms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from shared.errors import BadInputError
from shared.images import ImageSource, load_image
from worker.engine.optimize.engine import OptimizeEngine
from worker.engine.optimize.gatys import CancelCheck, Counter, ProgressCallback
from worker.engine.optimize.losses import content_loss, style_loss
from worker.engine.render import to_tensor

# Crops of content images fitted with their short side to ZOOM × the crop side, cycling through
# these zooms and positions (fractions of the free room), so one sample photo gives varied crops.
CROP_ZOOMS = (1.0, 1.6, 2.4)
CROP_POSITIONS = ((0.5, 0.5), (0.2, 0.3), (0.8, 0.7), (0.3, 0.8), (0.7, 0.2))
# Gram targets come from the style image fitted to this many crop sides (strokes compared at the
# size the crops show them; measured with benchmarks/quality.py).
STYLE_ZOOM = 1


@dataclass(frozen=True)
class RefineOptions:
    """Args:
    iterations: Adam steps on the vector.
    crop_side: side of the square content crops the transformer renders each step.
    crops: how many crops (cycling over the content images, zooms and positions).
    learning_rate: Adam's step size per vector entry; small, since styles lie 1-3 apart (Euclidean)
        and Adam moves every entry by about this much per step.
    content_weight, style_weight, embedding_weight: weights of the content, Gram style and
        style-embedding losses (as in optimization mode).
    """

    iterations: int = 24
    crop_side: int = 256
    crops: int = 6
    learning_rate: float = 0.01
    content_weight: float = 1.0
    style_weight: float = 100.0
    embedding_weight: float = 10.0

    def validate(self, max_iterations: int = 1000) -> None:
        if not 1 <= self.iterations <= max_iterations:
            raise BadInputError(f"iterations must be between 1 and {max_iterations}, got {self.iterations}")
        if not 64 <= self.crop_side <= 1024 or not 1 <= self.crops <= 16:
            raise BadInputError("crop_side must be 64-1024 px and crops 1-16")


@dataclass(frozen=True)
class RefineResult:
    vector: np.ndarray  # float32 [100]: the vector with the lowest loss seen (the start if none was lower)
    initial_vector: np.ndarray
    losses: list[float]  # the loss before each step, then after the last one


def content_crops(contents: Sequence[ImageSource], count: int, side: int, max_pixels: int) -> list[np.ndarray]:
    """Up to ``count`` distinct ``side``-px square crops of the content images, at varied zooms and positions."""
    if not contents:
        raise BadInputError("style refinement needs at least one content image")
    images = [load_image(source, max_pixels=max_pixels) for source in contents]
    crops, seen = [], set()
    for index in range(count * len(CROP_ZOOMS) * len(CROP_POSITIONS)):  # until ``count``, or all were taken
        if len(crops) == count:
            break
        which, turn = index % len(images), index // len(images)
        zoom, (fx, fy) = CROP_ZOOMS[turn % len(CROP_ZOOMS)], CROP_POSITIONS[turn % len(CROP_POSITIONS)]
        img = images[which]
        scale = zoom * side / min(img.size)
        width, height = max(side, round(img.width * scale)), max(side, round(img.height * scale))
        x0, y0 = round((width - side) * fx), round((height - side) * fy)
        if (which, width, x0, y0) in seen:  # an image no larger than a crop has one position per zoom
            continue
        seen.add((which, width, x0, y0))
        resized = img.resize((width, height), Image.Resampling.LANCZOS)
        crops.append(np.asarray(resized.crop((x0, y0, x0 + side, y0 + side)).convert("RGB")))
    return crops


def refine_style_vector(
    optimizer: OptimizeEngine,
    style_image: ImageSource,
    contents: Sequence[ImageSource],
    options: RefineOptions | None = None,
    start: np.ndarray | None = None,
    progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
    max_pixels: int = 120_000_000,
) -> RefineResult:
    """Refine the style vector of ``style_image`` (or ``start``) on crops of ``contents``."""
    options = options or RefineOptions()
    options.validate()
    engine, features = optimizer.engine, optimizer.features
    image = load_image(style_image, max_pixels=max_pixels)
    initial = np.asarray(start if start is not None else engine.style_vector(image), dtype=np.float32)
    targets = optimizer.style_targets([(1.0, image)], max_pixels)(STYLE_ZOOM * options.crop_side)
    embedding = optimizer.embedding_loss([(1.0, image)], max_pixels)
    crops = content_crops(contents, options.crops, options.crop_side, max_pixels)
    content = to_tensor(np.stack(crops), engine.device, torch.float32)
    with torch.no_grad():
        content_targets = {k: v for k, v in features(content).items() if k in features.content_layers}
    net = optimizer.networks.arbitrary

    def objective(style: torch.Tensor) -> torch.Tensor:
        output = net(content, style=style)
        feats = features(output)
        total = options.style_weight * style_loss(feats, targets)
        total = total + options.content_weight * content_loss(feats, content_targets)
        if options.embedding_weight > 0:
            total = total + options.embedding_weight * embedding(output)
        return total

    vector = torch.from_numpy(initial.copy())[None].to(engine.device).requires_grad_(True)
    adam = torch.optim.Adam([vector], lr=options.learning_rate)
    counter = Counter(options.iterations, progress, should_cancel)
    best, best_loss = initial, float("inf")
    for _ in range(options.iterations):
        counter.check()
        adam.zero_grad(set_to_none=True)
        loss = objective(vector)
        loss.backward()
        if float(loss.detach()) < best_loss:  # Adam may overshoot: keep the best vector seen
            best, best_loss = vector.detach()[0].cpu().numpy().copy(), float(loss.detach())
        adam.step()
        counter.step(float(loss.detach()))
    with torch.no_grad():
        final_loss = float(objective(vector))
    if final_loss < best_loss:
        best, best_loss = vector.detach()[0].cpu().numpy().copy(), final_loss
    return RefineResult(best.astype(np.float32), initial, [*counter.losses, final_loss])


def style_distance_of_vector(
    optimizer: OptimizeEngine, vector: np.ndarray, style_image: ImageSource, crops: Sequence[np.ndarray]
) -> float:
    """Mean predictor-vector distance (as benchmarks/quality.py measures it) of the fast network's
    outputs on ``crops`` with ``vector`` to ``style_image``: for checks on crops refinement never saw."""
    engine = optimizer.engine
    target = engine.style_vector(style_image)
    with torch.no_grad():
        content = to_tensor(np.stack(crops), engine.device, torch.float32)
        style = torch.from_numpy(np.asarray(vector, dtype=np.float32))[None].to(engine.device)
        outputs = optimizer.networks.arbitrary(content, style=style).clamp(0, 1).mul(255).add(0.5)
        pixels = outputs.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return float(np.mean([np.linalg.norm(engine.style_vector(p) - target) for p in pixels]))
