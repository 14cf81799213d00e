"""Tile size and single-pass limit from one memory budget.

Why: every tile pays the receptive field (~68 px of context on each side) again, and a tiled
render pays a thumbnail pass for its statistics; at 512 px tiles that was ~1.7x the network
pixels of a 4 MP image. The largest tile (and the largest image rendered whole, with its own
exact statistics) that fits in the memory one may spend is the cheapest choice, so both follow
from a budget in megabytes instead of being fixed numbers.

``BYTES_PER_NETWORK_PIXEL`` is what one pixel of network input costs at the networks' peak
(the 26-style net: its first conv's 32 float channels at full resolution, the mirror-padded
copy the next conv reads, and the input and output planes), measured as the growth of peak RSS
between 1 and 4 MP single-pass renders on CPU (benchmarks/engine.py prints peak RSS per case).
"""

from __future__ import annotations

import math

import torch

# Peak bytes per network input pixel at float32; half precision needs half of the feature maps.
BYTES_PER_NETWORK_PIXEL = {torch.float32: 330, torch.float16: 170, torch.bfloat16: 170}
MIN_TILE = 64


def network_pixels(budget_mb: int, dtype: torch.dtype = torch.float32, batch: int = 1) -> int:
    """How many network input pixels one batch may hold within ``budget_mb`` megabytes."""
    per_pixel = BYTES_PER_NETWORK_PIXEL.get(dtype, BYTES_PER_NETWORK_PIXEL[torch.float32])
    return budget_mb * 2**20 // (per_pixel * max(batch, 1))


def tile_side(budget_mb: int, overlap: int, stride: int, dtype: torch.dtype = torch.float32, batch: int = 1) -> int:
    """The largest square tile (output pixels per side, a stride multiple) whose window fits the budget."""
    window = math.isqrt(network_pixels(budget_mb, dtype, batch))
    side = (window - 2 * overlap) // stride * stride
    return max(side, MIN_TILE)
