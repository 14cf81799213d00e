"""A style per region: several styles, each with its own mask, rendered into one output.

Each region's style renders over the whole photo (the networks need the whole picture's context
and statistics), then the renders are painted over the photo by their masks; where feathered
masks overlap the regions cross-fade (``masks.composite``). Memory: one uint8 output per region.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from shared.errors import BadInputError
from shared.images import ImageSource
from worker.engine.finishing import add_input_alpha
from worker.engine.masks import MaskSpec, composite, mask_plane
from worker.engine.render import CancelCheck, ProgressCallback, RenderOptions, StyleEngine, load_photo
from worker.engine.styles import StyleSpec


@dataclass(frozen=True)
class Region:
    """One style and the mask of the part of the photo it paints."""

    style: StyleSpec
    mask: MaskSpec


def _region_progress(progress: ProgressCallback | None, index: int, count: int) -> ProgressCallback | None:
    """Tile progress of region ``index`` reported as part of all ``count`` regions' tiles."""
    if progress is None:
        return None
    return lambda done, total: progress(index * total + done, count * total)


def render_regions(
    engine: StyleEngine,
    image: ImageSource,
    regions: Sequence[Region],
    options: RenderOptions,
    progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
) -> np.ndarray:
    """Render each region's style and paint it inside its mask; outside every mask stays the photo.

    All regions share the first one's mask mode and feather radius.
    """
    if not regions:
        raise BadInputError("a region render needs at least one style with a mask")
    for region in regions:
        region.mask.validate()
    mode, feather = regions[0].mask.mode, regions[0].mask.feather
    photo = np.asarray(load_photo(image, options))
    plain = replace(options, keep_alpha=False)
    layers = []
    for index, region in enumerate(regions):
        out = engine.render(image, region.style, plain, _region_progress(progress, index, len(regions)), should_cancel)
        layers.append((out, mask_plane(region.mask, image, photo, options.max_pixels)))
    output = composite(photo, layers, mode, feather, out=layers[0][0])
    return add_input_alpha(output, image, options.keep_alpha)
