"""The recolour options (issue 15) that ``stylefarm render`` and ``stylefarm submit`` share."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def recolor_options(command: F | None = None, *, exemplar_may_be_a_style: bool = False) -> Any:
    """``--colorize-from``, ``--hints`` (files, or folders matched by file name) and ``--chroma-smoothing``.

    Use bare (``@recolor_options``) or called; ``exemplar_may_be_a_style`` lets ``--colorize-from``
    name a style of the farm as well as a file (``stylefarm submit``).
    """
    if command is None:
        return lambda inner: recolor_options(inner, exemplar_may_be_a_style=exemplar_may_be_a_style)
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
    exemplar_type = click.STRING if exemplar_may_be_a_style else click.Path(exists=True, path_type=Path)
    also = " or a style's name" if exemplar_may_be_a_style else ""
    return click.option(
        "--colorize-from",
        type=exemplar_type,
        default=None,
        help=f"Colour the photo from a colour photo of similar content{also} (a folder: one per photo, same name).",
    )(command)
