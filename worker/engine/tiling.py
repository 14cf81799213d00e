"""Tile arithmetic for seamless high-resolution rendering.

The image is cut into a grid of output tiles; each is rendered from an input window that
extends ``overlap`` pixels beyond it on every side (clipped at the image border) and then
cropped back. With instance-norm statistics frozen (thumbnail statistics) and the overlap at
least the network's receptive field, every output pixel sees exactly the context it would see
in an untiled run, so tiles join without seams. Window origins stay on the network's stride
grid (multiples of 4) so the strided convolutions sample the same pixels as in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tile:
    """One tile: the output rectangle it fills and the input window it reads (both [x0, x1))."""

    output_x0: int
    output_y0: int
    output_x1: int
    output_y1: int
    input_x0_padded: int
    input_y0_padded: int
    input_x1_padded: int
    input_y1_padded: int
    # Extra mirror padding at the right/bottom image border, so window sides are stride multiples.
    border_pad_x: int
    border_pad_y: int

    @property
    def window_shape(self) -> tuple[int, int]:
        """(height, width) of the network input, border padding included."""
        return (
            self.input_y1_padded - self.input_y0_padded + self.border_pad_y,
            self.input_x1_padded - self.input_x0_padded + self.border_pad_x,
        )

    @property
    def crop(self) -> tuple[slice, slice]:
        """Rows and columns of the network output that belong to ``output`` rectangle."""
        y0 = self.output_y0 - self.input_y0_padded
        x0 = self.output_x0 - self.input_x0_padded
        return (
            slice(y0, y0 + self.output_y1 - self.output_y0),
            slice(x0, x0 + self.output_x1 - self.output_x0),
        )


def round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def plan_tiles(width: int, height: int, tile_size: int, overlap: int, stride: int = 4) -> list[Tile]:
    """Cover a ``width`` × ``height`` image with tiles of at most ``tile_size`` output pixels.

    ``tile_size`` and ``overlap`` are rounded up to the stride; tiles are listed row by row.
    """
    tile_size = round_up(max(tile_size, stride), stride)
    overlap = round_up(max(overlap, 0), stride)
    tiles = []
    for output_y0 in range(0, height, tile_size):
        output_y1 = min(output_y0 + tile_size, height)
        input_y0 = max(output_y0 - overlap, 0)
        input_y1 = min(output_y1 + overlap, height)
        pad_y = (-(input_y1 - input_y0)) % stride
        for output_x0 in range(0, width, tile_size):
            output_x1 = min(output_x0 + tile_size, width)
            input_x0 = max(output_x0 - overlap, 0)
            input_x1 = min(output_x1 + overlap, width)
            pad_x = (-(input_x1 - input_x0)) % stride
            tiles.append(
                Tile(output_x0, output_y0, output_x1, output_y1, input_x0, input_y0, input_x1, input_y1, pad_x, pad_y)
            )
    return tiles


def receptive_radius(layers: list[tuple[int, int]]) -> int:
    """Pixels of context one output pixel depends on, on each side.

    ``layers`` lists (kernel size, resolution divisor) for every convolution in order, e.g.
    a 3×3 conv running at quarter resolution is ``(3, 4)``: each adds ``kernel // 2 × divisor``.
    Nearest upsampling adds up to one coarse pixel, counted by the caller.
    """
    return sum((kernel // 2) * divisor for kernel, divisor in layers)
