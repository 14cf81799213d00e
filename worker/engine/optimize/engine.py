"""Optimization mode end to end: one photo + style images → stylized uint8 pixels.

The whole image is optimized at a working size (coarse to fine); a larger output is then the
upscaled result refined tile by tile, each tile against the Gram targets of the whole style
image (style statistics are global, so tiles agree). The start is the photo or the fast
network's output; the latter needs far fewer iterations for the same style loss.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from shared.errors import BadInputError
from shared.images import ImageSource, load_image
from worker.engine import color
from worker.engine.model_store import Networks
from worker.engine.optimize.embedding import StyleEmbeddingLoss, blend_vectors
from worker.engine.optimize.features import FeatureExtractor, feature_extractor
from worker.engine.optimize.gatys import CancelCheck, Counter, GatysOptimizer, ProgressCallback, resize
from worker.engine.optimize.losses import blend_grams, grams
from worker.engine.optimize.options import OptimizeOptions
from worker.engine.render import RenderOptions, StyleEngine, fit_long_side, load_photo, to_tensor
from worker.engine.styles import StyleSpec
from worker.engine.tiling import plan_tiles

# Gram targets for tile refinement come from the style image at most this long (cost bound).
MAX_STYLE_SIDE = 1024
# Context around each refinement tile, so the features at its edges see real neighbours.
TILE_OVERLAP = 32

StyleImages = Sequence[tuple[float, ImageSource]]


class StyleTargetCache:
    """Gram targets of a blend of style images, computed once per long side."""

    def __init__(
        self, features: FeatureExtractor, images: Sequence[tuple[float, Image.Image]], device: torch.device
    ) -> None:
        self.features = features
        self.images = images
        self.device = device
        self._cache: dict[int, dict[str, torch.Tensor]] = {}

    @torch.no_grad()
    def __call__(self, side: int) -> Mapping[str, torch.Tensor]:
        side = min(side, MAX_STYLE_SIDE)
        if side not in self._cache:
            parts = []
            for weight, img in self.images:
                pixels = np.asarray(fit_long_side(img, side))
                feats = self.features(to_tensor(pixels, self.device, torch.float32))
                parts.append((weight, grams(feats, self.features.style_layers)))
            self._cache[side] = blend_grams(parts)
        return self._cache[side]


def _pixels(image: torch.Tensor) -> np.ndarray:
    return image[0].clamp(0, 1).mul(255).add_(0.5).to(torch.uint8).permute(1, 2, 0).cpu().numpy()


class OptimizeEngine:
    """Optimization-mode renders with the networks of one ``StyleEngine``."""

    def __init__(self, engine: StyleEngine, vgg19_weights_path: Path | None = None) -> None:
        self.engine = engine
        self.vgg19_weights_path = vgg19_weights_path
        self._features: FeatureExtractor | None = None
        self._networks: Networks | None = None

    @property
    def device(self) -> torch.device:
        return self.engine.device

    @property
    def networks(self) -> Networks:
        """Our own float32 copy of the networks, usable with autograd.

        Why not the render engine's: those may have been loaded inside ``torch.inference_mode``
        (renders run there), and inference tensors cannot take part in a backward pass.
        """
        if self._networks is None:
            with torch.inference_mode(False):
                self._networks = Networks.load(self.device, self.engine.cache_dir)
        return self._networks

    @property
    def features(self) -> FeatureExtractor:
        if self._features is None:
            self._features = feature_extractor(self.networks, self.vgg19_weights_path)
        return self._features

    @staticmethod
    def load_styles(style_images: StyleImages, max_pixels: int) -> list[tuple[float, Image.Image]]:
        if not style_images:
            raise BadInputError("optimize needs an image style (built-in styles have no image)")
        return [(weight, load_image(source, max_pixels=max_pixels)) for weight, source in style_images]

    def style_targets(self, style_images: StyleImages, max_pixels: int) -> StyleTargetCache:
        return StyleTargetCache(self.features, self.load_styles(style_images, max_pixels), self.device)

    def embedding_loss(self, style_images: StyleImages, max_pixels: int) -> StyleEmbeddingLoss:
        """The style-embedding term's target: the (blended) predictor vector of the style images."""
        loaded = self.load_styles(style_images, max_pixels)
        target = blend_vectors([(weight, self.engine.style_vector(img)) for weight, img in loaded])
        return StyleEmbeddingLoss(self.networks.predictor, target, self.device)

    def render(
        self,
        image: ImageSource,
        style: StyleSpec,
        style_images: StyleImages,
        options: RenderOptions | None = None,
        optimize: OptimizeOptions | None = None,
        progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> np.ndarray:
        """Stylize ``image`` by optimization; ``style`` is used for the fast-network start.

        Raises ``BadInputError`` for bad input and ``RenderCanceled`` between iterations.
        """
        options, optimize = options or RenderOptions(), optimize or OptimizeOptions()
        options.validate()
        photo_img = load_photo(image, options)
        loaded = self.load_styles(style_images, options.max_pixels)
        targets = self.style_targets(loaded, options.max_pixels)
        work_img = (
            fit_long_side(photo_img, optimize.working_side)
            if max(photo_img.size) > optimize.working_side
            else photo_img
        )
        tiles = self._refine_tiles(photo_img, work_img, optimize)
        counter = Counter(optimize.iterations + len(tiles) * optimize.refine_iterations, progress, should_cancel)
        counter.check()
        embedding = self.embedding_loss(loaded, options.max_pixels) if optimize.embedding_weight > 0 else None
        solver = GatysOptimizer(self.features, optimize, embedding)
        photo = to_tensor(np.asarray(work_img), self.device, torch.float32)
        start = photo
        if optimize.init == "fast":
            fast_options = dataclasses.replace(options, color_mode="stylized", working_side=None, max_output_side=None)
            start = to_tensor(self.engine.render(work_img, style, fast_options), self.device, torch.float32)
        result = solver.pyramid(photo, start, targets, counter)
        if tiles:
            result = self._refine(solver, np.asarray(photo_img), result, targets, tiles, counter)
        return color.combine(_pixels(result), np.asarray(photo_img), options.color_mode)

    @staticmethod
    def _refine_tiles(photo_img: Image.Image, work_img: Image.Image, optimize: OptimizeOptions) -> list:
        if work_img.size == photo_img.size or optimize.refine_iterations == 0:
            return []
        return plan_tiles(photo_img.width, photo_img.height, optimize.tile_size, TILE_OVERLAP)

    def _refine(
        self,
        solver: GatysOptimizer,
        photo: np.ndarray,
        result: torch.Tensor,
        targets: StyleTargetCache,
        tiles: list,
        counter: Counter,
    ) -> torch.Tensor:
        """Upscale ``result`` to the photo's size and refine it tile by tile (global style targets)."""
        height, width = photo.shape[:2]
        upscaled = resize(result, height, width)
        output = upscaled.clone()
        style_grams = targets(max(height, width))
        for tile in tiles:
            rows = slice(tile.input_y0_padded, tile.input_y1_padded)
            cols = slice(tile.input_x0_padded, tile.input_x1_padded)
            window = to_tensor(photo[rows, cols], self.device, torch.float32)
            steps = solver.options.refine_iterations
            refined = solver.optimize(window, upscaled[..., rows, cols], style_grams, steps, counter)
            crop_rows, crop_cols = tile.crop
            out_rows = slice(tile.output_y0, tile.output_y1)
            out_cols = slice(tile.output_x0, tile.output_x1)
            output[..., out_rows, out_cols] = refined[..., crop_rows, crop_cols]
        return output
