"""The recolour options (issue 15) that ``stylefarm render`` and ``stylefarm submit`` share."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def recolor_options(command: F) -> F:
    """``--colorize-from``, ``--hints`` (files, or folders matched by file name) and ``--chroma-smoothing``."""
    command = click.option(
        "--chroma-smoothing",
        type=click.FloatRange(0.0, 1.0),
        default=None,
        help="Recolour modes: smooth chroma along the photo's edges, 0 (off) to 1 (default: the farm's setting).",
    )(command)
    command = click.option(
        "--hints",
        type=click.Path(exists=True, path_type=Path),
        default=None,
        help="Transparent image of coloured strokes over the photo (a folder: one per photo, same file name).",
    )(command)
    return click.option(
        "--colorize-from",
        type=click.Path(exists=True, path_type=Path),
        default=None,
        help="Colour the photo from this colour photograph of similar content (a folder: one per photo, same name).",
    )(command)
