"""The result-control flags ``stylefarm render`` and ``stylefarm submit`` share (issue 13).

``--fidelity``, ``--match-style-colors``, ``--mask FILE|alpha|auto``, ``--mask-mode``, ``--feather``
and ``--region-mask`` (one per ``--style``, in order: a style per region). Why one decorator: both
commands take the same flags with the same help, and ``controls_from`` pops them out of a
command's keyword arguments into one value the command passes on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
KEYWORDS = ("alpha", "auto")


@dataclass(frozen=True)
class Controls:
    fidelity: float = 0.0
    match_style_colors: bool = False
    mask: str | None = None  # a file path, alpha or auto
    mask_mode: str = "stylize"
    feather: int = 0
    region_masks: tuple[str, ...] = ()

    def check(self, style_count: int) -> None:
        """Usage errors (exit 2) for masks that cannot go together."""
        if self.region_masks and self.mask:
            raise click.UsageError("give --mask for the whole photo or --region-mask per style, not both")
        if self.region_masks and len(self.region_masks) != style_count:
            count = len(self.region_masks)
            raise click.UsageError(f"got {count} --region-mask values for {style_count} --style values")
        for name in (self.mask, *self.region_masks):
            if name is not None and name not in KEYWORDS and not Path(name).is_file():
                raise click.UsageError(f"mask {name!r} is neither alpha, auto nor an existing image file")


def control_options(command: F) -> F:
    """Add the result-control flags to ``command``."""
    for option in reversed(
        [
            click.option("--fidelity", type=click.FloatRange(0.0, 1.0), default=0.0, show_default=True,
                         help="Give the photo's structure back where the style destroyed it (0 off, 1 strongest)."),
            click.option("--match-style-colors", is_flag=True,
                         help="Give style images the photo's colours before their style is read."),
            click.option("--mask", default=None, help="Where the style goes: a grayscale image (white = inside),"
                         " alpha (the photo's transparency) or auto (the foreground of a product shot)."),
            click.option("--mask-mode", type=click.Choice(["stylize", "keep"]), default="stylize", show_default=True,
                         help="stylize inside the mask, or keep the photo inside it."),
            click.option("--feather", type=click.IntRange(0, 256), default=0, show_default=True,
                         help="Soften the mask edge over this many pixels."),
            click.option("--region-mask", "region_masks", multiple=True,
                         help="A style per region: one mask (file, alpha or auto) per --style, in order."),
        ]
    ):  # fmt: skip
        command = option(command)
    return command


def controls_from(kwargs: dict[str, Any]) -> Controls:
    """Take the control flags out of a command's keyword arguments."""
    return Controls(**{name: kwargs.pop(name) for name in Controls.__dataclass_fields__})


def job_controls(client: Any, controls: Controls, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` of a job with the controls added; mask files are uploaded and named by upload id."""

    def named(mask: str) -> str:
        return mask if mask in KEYWORDS else client.upload(Path(mask))["id"]

    params = dict(params)
    if controls.fidelity:  # only what was asked for: a value left out can come from the style's defaults
        params["fidelity"] = controls.fidelity
    if controls.match_style_colors:
        params["match_style_colors"] = True
    if controls.mask is not None or controls.region_masks:
        params.update(mask_mode=controls.mask_mode, feather=controls.feather)
    if controls.mask is not None:
        params["mask"] = named(controls.mask)
    if controls.region_masks:
        masks = [named(mask) for mask in controls.region_masks]
        params["styles"] = [{**choice, "mask": m} for choice, m in zip(params["styles"], masks, strict=True)]
        params["kind"] = "image"  # one output per input, each style in its region
    return params
