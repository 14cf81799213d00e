"""The farm side of optimization mode: a job's ``method`` picks the render function of its items.

Why a separate module: the item executor stays the same for both methods (claim, progress,
cancel, store); only the call that makes the pixels differs. Optimization needs the style
images, which are read from storage by the ``source_key`` each resolved component carries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from shared.errors import BadInputError
from shared.images import ImageSource
from shared.schemas.jobs import JobCreate
from shared.schemas.optimize import OptimizeParams
from shared.schemas.style_refs import StyleRef
from shared.settings import Settings
from shared.storage import Storage
from worker.engine.optimize.engine import OptimizeEngine
from worker.engine.optimize.options import OptimizeOptions
from worker.engine.render import RenderOptions, StyleEngine
from worker.engine.styles import StyleSpec
from worker.runtime.context import WorkerContext

RenderFunction = Callable[..., np.ndarray]  # StyleEngine.render's signature


@lru_cache(maxsize=2)
def optimize_engine(engine: StyleEngine, vgg19_weights_path: Path | None) -> OptimizeEngine:
    """One optimization engine per render engine and process (its feature network loads once)."""
    return OptimizeEngine(engine, vgg19_weights_path)


def optimize_options(settings: Settings, params: OptimizeParams | None) -> OptimizeOptions:
    """The request's optimization options, checked against the farm's limits."""
    chosen = (params or OptimizeParams()).model_dump()
    options = OptimizeOptions(**chosen, tile_size=settings.tile_size)
    options.validate(settings.optimize_max_iterations, settings.optimize_max_working_side)
    return options


def style_images(ref: StyleRef, storage: Storage) -> list[tuple[float, bytes]]:
    """(weight, image bytes) of each ingredient; every one must have a stored style image."""
    images = []
    for part in ref.components:
        if part.source_key is None:
            raise BadInputError(f"method optimize needs an image style; {ref.label!r} has a style without an image")
        images.append((part.weight, storage.get_bytes(part.source_key)))
    return images


def render_function(context: WorkerContext, request: JobCreate, style_ref: StyleRef) -> RenderFunction:
    """``StyleEngine.render`` for method fast; optimization with the item's style images otherwise."""
    if request.method != "optimize":
        return context.engine.render
    settings = context.settings
    engine = optimize_engine(context.engine, settings.vgg19_weights_path)
    options = optimize_options(settings, request.optimize)
    images = style_images(style_ref, context.storage)

    def render(image: Any, style: Any, render_options: Any, **callbacks: Any) -> np.ndarray:
        return engine.render(image, style, images, render_options, options, **callbacks)

    return render


@dataclass(frozen=True)
class LocalOptimizer:
    """``stylefarm render --method optimize``: looks like a ``StyleEngine`` to ``render_file``.

    The style images are the image components of the CLI's style (built-ins have none: refused).
    """

    engine: OptimizeEngine
    style_images: list[tuple[float, ImageSource]]
    options: OptimizeOptions

    @classmethod
    def build(cls, settings: Settings, engine: StyleEngine, style: StyleSpec, params: OptimizeParams) -> LocalOptimizer:
        images = [(part.weight, part.image) for part in style.components if part.image is not None]
        if len(images) != len(style.components):
            raise BadInputError("--method optimize needs style images (built-in styles have no image)")
        return cls(optimize_engine(engine, settings.vgg19_weights_path), images, optimize_options(settings, params))

    def render(self, image: ImageSource, style: StyleSpec, options: RenderOptions, **callbacks: Any) -> np.ndarray:
        return self.engine.render(image, style, self.style_images, options, self.options, **callbacks)
