"""What happens to a render after its tiles are done: structure-adaptive fusion, the mask, the alpha.

Why after the tiles: all three need the finished output next to the photo at the output size, and
both are whole-image uint8 buffers the render holds anyway; each pass walks them in bands
(``fusion.py``, ``masks.py``), so no whole-image float copy is made and the result does not depend
on how the render was tiled.
"""

from __future__ import annotations

import numpy as np

from shared.images import ImageSource
from worker.engine.fusion import fuse
from worker.engine.masks import MaskSpec, composite, input_alpha, mask_plane, with_alpha


def finish_render(
    output: np.ndarray,
    photo: np.ndarray,
    image: ImageSource,
    fidelity: float,
    mask: MaskSpec | None,
    keep_alpha: bool,
    max_pixels: int,
) -> np.ndarray:
    """Apply fusion then ``mask`` to ``output`` in place; add the input's alpha when ``keep_alpha``."""
    if not output.flags.writeable:  # a resized render comes back as Pillow's read-only array
        output = np.array(output)
    fuse(output, photo, fidelity)
    if mask is not None:
        composite(photo, [(output, mask_plane(mask, image, photo, max_pixels))], mask.mode, mask.feather, out=output)
    return add_input_alpha(output, image, keep_alpha)


def add_input_alpha(output: np.ndarray, image: ImageSource, keep_alpha: bool) -> np.ndarray:
    """``output`` as RGBA with the input's alpha (scaled to it) when asked and there is one."""
    if not keep_alpha:
        return output
    alpha = input_alpha(image, (output.shape[1], output.shape[0]))
    return output if alpha is None else with_alpha(output, alpha)
