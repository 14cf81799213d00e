"""Running out of device memory: one retry with half the tile size, then a clear failure.

Why here, narrowly: a tile batch that does not fit on the GPU raises ``torch.OutOfMemoryError``
(``torch.cuda.OutOfMemoryError``); smaller tiles need less memory for the same output, so the
render is tried once more at half the tile size (other jobs may be holding memory right now, or
the tile size is too large for this card). If that also fails the item fails with a message
saying so, rather than a traceback, and nothing else is caught (STYLE.md, habit 8).

``simulated_memory_pixels`` (setting ``simulated_device_memory_pixels``) makes a device
pretend it has room for that many input pixels per tile batch, so the retry path is tested on
CPU with the real exception and no mock of torch.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

import torch

from shared.errors import StyleFarmError
from worker.engine.tiling import Tile

log = logging.getLogger(__name__)


class TiledOptions(Protocol):
    """What the retry changes (``RenderOptions``: a frozen dataclass, copied with ``replace``)."""

    @property
    def tile_size(self) -> int: ...

    @property
    def single_pass_pixels(self) -> int: ...


T = TypeVar("T")
OptionsT = TypeVar("OptionsT", bound=TiledOptions)
MIN_TILE_SIZE = 64  # RenderOptions.validate refuses smaller tiles


class DeviceMemoryError(StyleFarmError):
    """The render did not fit in device memory at the configured tile size nor at half of it."""

    status = 507
    code = "out_of_device_memory"


def check_simulated_limit(batch: Sequence[Tile], limit_pixels: int) -> None:
    """Raise the device's own out-of-memory error when ``batch`` holds more than ``limit_pixels`` input pixels."""
    pixels = sum(height * width for height, width in (tile.window_shape for tile in batch))
    if limit_pixels and pixels > limit_pixels:
        raise torch.OutOfMemoryError(f"simulated: {pixels} input pixels in a tile batch, room for {limit_pixels}")


def _free_cached_memory() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def retrying_with_smaller_tiles(render: Callable[[OptionsT], T], options: OptionsT) -> T:
    """``render(options)``; after an out-of-memory error, once more with half the tile size.

    The retry also tiles images that would have run in one pass (``single_pass_pixels`` 0), since
    a whole-image pass is what needs the most memory; images within ``thumbnail_side`` still run whole.
    """
    try:
        return render(options)
    except torch.OutOfMemoryError as exc:
        first_error = str(exc).splitlines()[0] if str(exc) else "out of memory"
    _free_cached_memory()
    smaller = max(MIN_TILE_SIZE, options.tile_size // 2)
    log.warning("out of device memory at tile size %d (%s); retrying at %d", options.tile_size, first_error, smaller)
    try:
        return render(dataclasses.replace(options, tile_size=smaller, single_pass_pixels=0))  # type: ignore[type-var]
    except torch.OutOfMemoryError:
        _free_cached_memory()
        raise DeviceMemoryError(
            f"out of device memory at tile size {options.tile_size} px and again at {smaller} px; "
            "render it with a smaller tile_size, or on a device with more free memory",
            details={"tile_size": options.tile_size, "retried_tile_size": smaller},
        ) from None
