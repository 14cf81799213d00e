"""Recolouring from files or bytes, with the farm's settings: what the worker and ``stylefarm render`` call.

Why a module apart from ``pipeline.py``: the pipeline works on arrays; this reads the inputs
within the configured limits (the scan at its bit depth, the exemplar as RGB, the hints as RGBA
checked against the scan's shape) and says whether a 16-bit scan may stay 16-bit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from shared.images import ImageSource, load_image
from shared.settings import Settings
from worker.engine.recolor.exemplar import ExemplarOptions
from worker.engine.recolor.hints import read_hints
from worker.engine.recolor.luminance import load_scan
from worker.engine.recolor.pipeline import CancelCheck, PixelFeatures, ProgressCallback, RecolorOptions, recolor

DEEP_FORMATS = ("png", "tiff")  # output formats that keep 16 bits per channel


@dataclass(frozen=True)
class ReadLimits:
    """Limits of what is read: pixels and sides of inputs, and the output's long side."""

    max_pixels: int = 120_000_000
    min_side: int = 16
    max_output_side: int | None = None


def recolor_options(settings: Settings, chroma_smoothing: float | None, output_format: str) -> RecolorOptions:
    """The farm's recolour settings with a request's smoothing (None: the farm's) on top."""
    return RecolorOptions(
        chroma_smoothing=settings.chroma_smoothing if chroma_smoothing is None else chroma_smoothing,
        working_side=settings.recolor_working_side,
        hint_solve_side=settings.recolor_hint_solve_side,
        keep_16bit=output_format in DEEP_FORMATS,
        memory_limit_mb=settings.recolor_memory_limit_mb,
        exemplar=ExemplarOptions(),
    )


def colorize(
    photo: ImageSource,
    options: RecolorOptions,
    limits: ReadLimits,
    *,
    exemplar: ImageSource | None = None,
    hints: bytes | str | None = None,
    stylized: np.ndarray | None = None,
    progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
    features: PixelFeatures | None = None,
) -> np.ndarray:
    """``photo`` coloured from an exemplar, hints (bytes or path of a transparent image) or a render.

    Raises ``BadInputError``/``LimitExceededError`` with a reason for unusable inputs.
    """
    scan = load_scan(photo, limits.max_pixels, limits.min_side, limits.max_output_side)
    example = None if exemplar is None else np.asarray(load_image(exemplar, limits.max_pixels, limits.min_side))
    strokes = None if hints is None else np.asarray(read_hints(hints, scan.size, limits.max_pixels))
    return recolor(
        scan,
        options,
        exemplar=example,
        hints=strokes,
        stylized=stylized,
        progress=progress,
        should_cancel=should_cancel,
        features=features,
    )


@dataclass(frozen=True)
class RecolorRenderer:
    """A render function for the recolour modes, called like ``StyleEngine.render``.

    With an exemplar or hints the photo is coloured from them (no style, no network); otherwise
    ``stylize`` makes a painterly render (colour mode ``recolor``) whose chroma is then cleaned and
    put on the photo's exact luminance. ``exemplar`` and ``hints`` are read only when used (the
    worker reads them from storage).

    Args:
        stylize: ``StyleEngine.render`` or any function of its signature.
    """

    options: RecolorOptions
    stylize: Callable[..., np.ndarray] | None = None
    exemplar: Callable[[], ImageSource | None] | None = None
    hints: Callable[[], bytes | str | None] | None = None
    features: PixelFeatures | None = None  # extra exemplar-matching features (the style predictor's)

    def __call__(self, photo: ImageSource, style: Any, render_options: Any, **callbacks: Any) -> np.ndarray:
        limits = ReadLimits(render_options.max_pixels, render_options.min_side, render_options.max_output_side)
        exemplar = self.exemplar() if self.exemplar is not None else None
        hints = self.hints() if self.hints is not None else None
        if exemplar is not None or hints is not None:
            return colorize(
                photo, self.options, limits, exemplar=exemplar, hints=hints, features=self.features, **callbacks
            )
        if self.stylize is None:
            raise ValueError("a recolour needs an exemplar, hints or a render to take colours from")
        stylized = self.stylize(photo, style, render_options, **callbacks)
        return colorize(photo, self.options, limits, stylized=stylized)

    def render(self, photo: ImageSource, style: Any, render_options: Any, **callbacks: Any) -> np.ndarray:
        """The same call by ``StyleEngine``'s name (``cli/render.py`` renders with any such object)."""
        return self(photo, style, render_options, **callbacks)
