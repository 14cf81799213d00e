"""``stylefarm render`` with a mask or a style per region: looks like a ``StyleEngine`` to ``render_file``.

It needs torch (``worker.engine``), so only the ``render`` command imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cli.control_options import KEYWORDS, Controls
from shared.images import ImageSource
from worker.engine.masks import MaskSpec
from worker.engine.regions import Region, render_regions
from worker.engine.render import RenderOptions, StyleEngine
from worker.engine.styles import StyleSpec

ALPHA_SUFFIXES = (".png", ".webp")  # output formats that can carry the input's alpha


def mask_spec(name: str, controls: Controls) -> MaskSpec:
    source: Any = name if name in KEYWORDS else Path(name)
    return MaskSpec(source, controls.mask_mode, controls.feather)  # type: ignore[arg-type]


def option_values(controls: Controls, output_path: Path) -> dict[str, Any]:
    """The ``RenderOptions`` fields the controls set for a render into ``output_path``."""
    return {
        "fidelity": controls.fidelity,
        "match_style_colors": controls.match_style_colors,
        "keep_alpha": output_path.suffix.lower() in ALPHA_SUFFIXES,
    }


@dataclass(frozen=True)
class ControlledEngine:
    """The engine with the command's mask, or one region per style when ``--region-mask`` is given."""

    engine: StyleEngine
    controls: Controls

    def render(self, image: ImageSource, style: StyleSpec, options: RenderOptions, **callbacks: Any) -> np.ndarray:
        if self.controls.region_masks:
            masks = [mask_spec(name, self.controls) for name in self.controls.region_masks]
            regions = [Region(StyleSpec.single(c), m) for c, m in zip(style.components, masks, strict=True)]
            return render_regions(self.engine, image, regions, options, **callbacks)
        if self.controls.mask is not None:
            return self.engine.render(
                image, style, options, mask=mask_spec(self.controls.mask, self.controls), **callbacks
            )
        return self.engine.render(image, style, options, **callbacks)
