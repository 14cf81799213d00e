"""``stylefarm render``: stylize one file on this machine with a progress bar.

It needs torch (``worker.engine``), so ``cli/main.py`` imports it only when the ``render``
command runs: the other commands, and the API, never load torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from shared.errors import BadInputError
from worker.engine.color import ColorMode
from worker.engine.render import RenderOptions, StyleEngine
from worker.engine.styles import StyleSpec, parse_style_name
from worker.jobs.encoding import save_image


def build_style(names: Sequence[str], weights: Sequence[float]) -> StyleSpec:
    """One ``--style`` per component; ``--weight`` values pair with them in order (default 1)."""
    if weights and len(weights) != len(names):
        raise BadInputError(f"got {len(weights)} --weight values for {len(names)} --style values")
    return StyleSpec(tuple(parse_style_name(n, w) for n, w in zip(names, weights or [1.0] * len(names), strict=True)))


def render_file(
    engine: StyleEngine,
    input_path: Path,
    output_path: Path,
    style: StyleSpec,
    options: RenderOptions,
    label: str | None = None,
) -> Path:
    """Render ``input_path`` into ``output_path`` showing a per-tile progress bar."""
    with tqdm(total=1, unit="tile", desc=label or output_path.name, leave=True) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        pixels = engine.render(input_path, style, options, progress=progress)
    save_image(pixels, output_path)
    return output_path


def color_mode(preserve_color: bool, recolor: bool) -> ColorMode:
    if preserve_color and recolor:
        raise BadInputError("--preserve-color and --recolor are opposites; pick one")
    return "preserve" if preserve_color else "recolor" if recolor else "stylized"
