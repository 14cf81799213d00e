"""The ``stylefarm`` command line.

The local ``render`` command imports ``worker`` (torch) lazily, so the client
commands and the API never import torch.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from shared.errors import StyleFarmError
from shared.settings import Settings


@click.group()
def main() -> None:
    """StyleFarm: neural style transfer at full resolution."""


def _fail(exc: StyleFarmError) -> None:
    click.echo(f"error: {exc.message}", err=True)
    sys.exit(2)


@main.command()
@click.argument("input_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--style", "styles", multiple=True, required=True, help="builtin:N (0-25) or a style image path.")
@click.option("--weight", "weights", multiple=True, type=float, help="Blend weight per --style, in order.")
@click.option("--strength", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True)
@click.option("--preserve-color", is_flag=True, help="Keep the photo's colours (stylized luminance).")
@click.option("--recolor", is_flag=True, help="Keep the photo's luminance, take colours from the style.")
@click.option("--tile", type=click.IntRange(64), default=None, help="Tile side in pixels (default: setting tile_size).")
@click.option(
    "--working-side", type=click.IntRange(16), default=None, help="Style scale: long side (px) at which strokes form."
)
@click.option("--max-side", type=click.IntRange(16), default=None, help="Downscale the output to this long side.")
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None, help="Default: setting device (auto)."
)
def render(
    input_path: Path,
    output_path: Path,
    styles: tuple[str, ...],
    weights: tuple[float, ...],
    strength: float,
    preserve_color: bool,
    recolor: bool,
    tile: int | None,
    working_side: int | None,
    max_side: int | None,
    device: str | None,
) -> None:
    """Stylize INPUT_PATH into OUTPUT (format from its extension) on this machine."""
    from worker.render_cli import build_style, color_mode, engine_from_settings, options_from_settings, render_file

    try:
        settings = Settings()
        options = options_from_settings(
            settings,
            strength=strength,
            color_mode=color_mode(preserve_color, recolor),
            tile_size=tile,
            working_side=working_side,
            max_output_side=max_side,
        )
        engine = engine_from_settings(settings, device)
        written = render_file(engine, input_path, output_path, build_style(styles, weights), options)
    except StyleFarmError as exc:
        _fail(exc)
    click.echo(str(written))


def _register() -> None:
    from api.cli_client import cancel, status, submit
    from api.cli_stack import demo, keys, up

    for command in (submit, status, cancel, up, demo, keys):
        main.add_command(command)


_register()
