"""The knobs of optimization mode, with bounded defaults (tens of seconds on a CPU at 512 px)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from shared.errors import BadInputError

OptimizerName = Literal["lbfgs", "adam"]
InitName = Literal["content", "fast"]


@dataclass(frozen=True)
class OptimizeOptions:
    """How to optimize the pixels.

    Args:
        optimizer: ``lbfgs`` (Gatys et al.'s choice, fewer iterations) or ``adam``.
        iterations: optimizer steps in all, split evenly over the scales.
        scales: coarse-to-fine pyramid levels, each twice the side of the previous, the last at
            ``working_side``; coarse levels settle large structures cheaply.
        content_weight, style_weight, tv_weight: weights of the Gatys losses (each layer's term
            is relative to its target, see ``losses``).
        embedding_weight: weight of the style-embedding term, the squared distance between the
            style predictor's vector of the image and of the style image (``embedding``); 0 = Gram only.
        init: start from the photo (``content``) or from the fast network's output (``fast``).
        working_side: long side at which the whole image is optimized.
        refine_iterations: steps per tile when the output is larger than ``working_side``: the
            result is upscaled and refined tile by tile against the global style statistics.
        tile_size: output pixels per refinement tile side.
        learning_rate: Adam's step size (pixels in 0–1); L-BFGS uses a line search.
    """

    optimizer: OptimizerName = "lbfgs"
    iterations: int = 10
    scales: int = 2
    content_weight: float = 1.0
    style_weight: float = 100.0
    tv_weight: float = 1.0
    embedding_weight: float = 1.0
    init: InitName = "fast"
    working_side: int = 512
    refine_iterations: int = 10
    tile_size: int = 512
    learning_rate: float = 0.02

    def validate(self, max_iterations: int = 1000, max_working_side: int = 1024) -> None:
        if self.optimizer not in ("lbfgs", "adam"):
            raise BadInputError(f"unknown optimizer {self.optimizer!r}; use lbfgs or adam")
        if self.init not in ("content", "fast"):
            raise BadInputError(f"unknown init {self.init!r}; use content or fast")
        if not 1 <= self.iterations <= max_iterations:
            raise BadInputError(f"iterations must be between 1 and {max_iterations}, got {self.iterations}")
        if not 0 <= self.refine_iterations <= max_iterations:
            raise BadInputError(f"refine_iterations must be between 0 and {max_iterations}")
        if not 1 <= self.scales <= 4:
            raise BadInputError(f"scales must be between 1 and 4, got {self.scales}")
        if not 32 <= self.working_side <= max_working_side:
            raise BadInputError(f"the optimize working side must be between 32 and {max_working_side} px")
        if self.tile_size < 64:
            raise BadInputError(f"the refinement tile size must be at least 64 px, got {self.tile_size}")
        for name in ("content_weight", "style_weight", "tv_weight", "embedding_weight", "learning_rate"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise BadInputError(f"{name} must be a finite non-negative number, got {value}")

    def iterations_per_scale(self) -> list[int]:
        """``iterations`` split over the scales (the finest scales get any remainder)."""
        base, extra = divmod(self.iterations, self.scales)
        return [base + (1 if i >= self.scales - extra else 0) for i in range(self.scales)]
