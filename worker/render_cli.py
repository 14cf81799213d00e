"""``stylefarm render``: stylize one file on this machine with a progress bar.

Kept in ``worker`` because it needs torch; the CLI in ``api`` imports it only when the
``render`` or ``demo`` command runs, so the API process never loads torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from shared.errors import BadInputError
from shared.settings import Settings
from worker.encoding import save_image
from worker.engine.color import ColorMode
from worker.engine.render import RenderOptions, StyleEngine
from worker.engine.styles import StyleSpec, parse_style_name


def engine_from_settings(settings: Settings, device: str | None = None) -> StyleEngine:
    """An engine on the configured (or given) device, caching converted weights under home."""
    if settings.torch_threads:
        import torch

        torch.set_num_threads(settings.torch_threads)
    return StyleEngine(
        device or settings.device,
        cache_dir=settings.model_cache_dir,
        network_cache_size=settings.network_cache_size,
        network_probe_side=settings.network_probe_side,
    )


def options_from_settings(settings: Settings, **overrides: object) -> RenderOptions:
    """Render options carrying the configured limits, with per-call choices on top."""
    limits: dict[str, object] = {
        "tile_size": settings.tile_size,
        "thumbnail_side": settings.thumbnail_side,
        "single_pass_pixels": settings.single_pass_pixels,
        "max_pixels": settings.max_input_pixels,
        "min_side": settings.min_input_side,
    }
    return RenderOptions(**{**limits, **{k: v for k, v in overrides.items() if v is not None}})  # type: ignore[arg-type]


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
