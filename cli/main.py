"""The ``stylefarm`` command line.

Commands are imported when used (click's lazy-loading pattern): the local ``render`` command
pulls in torch and ``up`` the database layer, and a ``stylefarm status`` in a script loop should
pay for neither. The client commands and the API never import torch.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import click

from cli.control_options import control_options, controls_from
from cli.exit_codes import EXIT_CODES_HELP
from cli.recolor_options import recolor_options
from shared.errors import StyleFarmError

LAZY_COMMANDS = {
    "submit": "cli.job_commands.submit",
    "status": "cli.job_commands.status",
    "cancel": "cli.job_commands.cancel",
    "list": "cli.job_commands.list_jobs",
    "styles": "cli.style_commands.styles",
    "style": "cli.style_commands.style",
    "up": "cli.stack_commands.up",
    "demo": "cli.stack_commands.demo",
    "keys": "cli.key_commands.keys",  # the group of stack_commands, with list and revoke added
    "pause": "cli.job_control_commands.pause",
    "resume": "cli.job_control_commands.resume",
    "retry": "cli.job_control_commands.retry",
    "download": "cli.job_control_commands.download",
}


class LazyGroup(click.Group):
    """A group whose subcommands (``name -> "module.attribute"``) are imported on first use."""

    def __init__(self, *args: object, lazy_commands: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy_commands:
            return super().get_command(ctx, cmd_name)
        module, attribute = self.lazy_commands[cmd_name].rsplit(".", 1)
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy_commands[cmd_name]} is not a click command")
        return command


@click.group(cls=LazyGroup, lazy_commands=LAZY_COMMANDS, epilog=EXIT_CODES_HELP)
@click.version_option(package_name="stylefarm", prog_name="stylefarm")
def main() -> None:
    """StyleFarm: neural style transfer at full resolution.

    Client commands (submit, status, cancel, pause, resume, retry, download, list, styles, style)
    talk to a farm over HTTP: give its address and your key with --api-url/--api-key or
    STYLEFARM_API_URL/STYLEFARM_API_KEY.
    """


def _fail(exc: StyleFarmError) -> None:
    click.echo(f"error: {exc.message}", err=True)
    sys.exit(2)


@main.command()
@click.argument("input_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--style", "styles", multiple=True, help="builtin:N (0-25) or a style image path.")
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
@click.option("--precision", type=click.Choice(["auto", "fp32", "int8"]), default=None,
              help="CPU convolutions in int8 or float32 (default: setting engine_precision, auto).")  # fmt: skip
@click.option("--method", type=click.Choice(["fast", "optimize"]), default="fast", show_default=True,
              help="fast network, or Gatys pixel optimization (style images only; slow).")  # fmt: skip
@click.option("--optimizer", type=click.Choice(["lbfgs", "adam"]), default="lbfgs", show_default=True)
@click.option("--iterations", type=click.IntRange(1), default=10, show_default=True, help="Optimize: steps in all.")
@click.option("--scales", type=click.IntRange(1, 4), default=2, show_default=True, help="Optimize: coarse-to-fine.")
@click.option("--init", "init", type=click.Choice(["fast", "content"]), default="fast", show_default=True)
@click.option("--content-weight", type=click.FloatRange(0), default=1.0, show_default=True)
@click.option("--style-weight", type=click.FloatRange(0), default=100.0, show_default=True)
@click.option("--tv-weight", type=click.FloatRange(0), default=1.0, show_default=True)
@click.option("--embedding-weight", type=click.FloatRange(0), default=1.0, show_default=True,
              help="Optimize: weight of the style predictor's vector distance (0 = Gram only).")  # fmt: skip
@click.option("--optimize-side", type=click.IntRange(32), default=512, show_default=True,
              help="Optimize: long side of the whole-image optimization; larger outputs refine in tiles.")  # fmt: skip
@control_options
@recolor_options
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
    precision: str | None,
    method: str,
    colorize_from: Path | None,
    hints: Path | None,
    chroma_smoothing: float | None,
    **optimize: Any,
) -> None:
    """Stylize INPUT_PATH into OUTPUT (format from its extension) on this machine.

    With --colorize-from and/or --hints, colour a black-and-white photo instead (no --style).
    """
    from worker.engine.startup import collector_paused_for_torch

    with collector_paused_for_torch():  # torch's import without ~0.5 s of GC rescans, at start and exit
        from cli.render import build_style, color_mode, render_file
        from cli.render_controls import ControlledEngine, option_values
        from shared.settings import Settings
        from worker.engine.from_settings import engine_from_settings, options_from_settings

    controls = controls_from(optimize)
    controls.check(len(styles))
    try:
        settings = Settings()
        options = options_from_settings(
            settings,
            strength=strength,
            color_mode=color_mode(preserve_color, recolor),
            tile_size=tile,
            working_side=working_side,
            max_output_side=max_side,
            precision=precision,
            **option_values(controls, output_path),
        )
        engine = engine_from_settings(settings, device)
        if colorize_from or hints or (recolor and method == "fast"):  # issue 15: exemplar, hints, cleaned --recolor
            from cli.recolor import colorize_file

            written = colorize_file(engine, settings, input_path, output_path, options, styles, weights,
                                    colorize_from, hints, chroma_smoothing)  # fmt: skip
            click.echo(str(written))
            return
        style = build_style(styles, weights)
        if method == "fast":
            engine = ControlledEngine(engine, controls)  # type: ignore[assignment]
        elif controls.mask or controls.region_masks:
            raise click.UsageError("--mask and --region-mask work with --method fast")
        if method == "optimize":  # same progress bar and output; the optimizer stands in for the engine
            from shared.schemas.optimize import OptimizeParams
            from worker.jobs.optimize_render import LocalOptimizer

            side = optimize.pop("optimize_side")
            params = OptimizeParams(**optimize, working_side=side)
            engine = LocalOptimizer.build(settings, engine, style, params)  # type: ignore[assignment]
        written = render_file(engine, input_path, output_path, style, options)
    except StyleFarmError as exc:
        _fail(exc)
    click.echo(str(written))
