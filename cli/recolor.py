"""``stylefarm render --colorize-from/--hints/--recolor``: recolour one file on this machine.

It needs the engine (numpy, OpenCV, scipy; torch for a painterly ``--recolor``), so ``cli/main.py``
imports it only when such a render runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

from cli.render import build_style, render_file
from shared.errors import BadInputError
from shared.settings import Settings
from worker.engine.recolor.colorize import RecolorRenderer, recolor_options
from worker.engine.recolor.predictor_features import predictor_features
from worker.engine.render import RenderOptions, StyleEngine
from worker.jobs.encoding import OUTPUT_FORMATS


def colorize_file(
    engine: StyleEngine,
    settings: Settings,
    input_path: Path,
    output_path: Path,
    options: RenderOptions,
    styles: Sequence[str],
    weights: Sequence[float],
    colorize_from: Path | None,
    hints: Path | None,
    chroma_smoothing: float | None,
) -> Path:
    """Colour ``input_path`` from an exemplar and/or hints, or (with styles) clean a painterly recolour."""
    colorizing = colorize_from is not None or hints is not None
    if colorizing and styles:
        raise BadInputError("--colorize-from and --hints colour the photo without a style: leave out --style")
    if not colorizing and not styles:
        raise BadInputError("give --style, or --colorize-from/--hints to colour a photo")
    for path in (colorize_from, hints):
        if path is not None and path.is_dir():
            raise BadInputError(f"{path} is a folder; render takes one file (stylefarm submit matches folders)")
    output_format = OUTPUT_FORMATS.get(output_path.suffix.lower(), "PNG").lower()  # 16-bit for png and tiff
    renderer = RecolorRenderer(
        recolor_options(settings, chroma_smoothing, output_format),
        None if colorizing else engine.render,
        lambda: colorize_from,
        lambda: None if hints is None else str(hints),
        partial(predictor_features, engine),
    )
    style = build_style(styles, weights) if styles else None
    return render_file(renderer, input_path, output_path, style, options)  # type: ignore[arg-type]
