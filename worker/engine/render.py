"""The engine's entry point: stylize one image with a style spec, tile by tile.

``StyleEngine.render`` is what the farm's worker and the local CLI call. It loads the networks
once, computes instance-norm statistics on a thumbnail of the whole image (Thumbnail Instance
Normalization, Chen et al. AAAI 2022), renders tiles with those statistics in batches, and
streams each finished tile into the output array: the input and output buffers are the only
whole-image arrays, so memory is bounded by the tile size. Progress is reported per tile and
cancellation is checked between tile batches.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image

from shared.errors import BadInputError, RenderCanceled
from shared.images import ImageSource, load_image
from worker.engine import arbitrary_net, budget, color, host_memory, multistyle_net
from worker.engine.custom_net import NetworkCache
from worker.engine.devices import default_dtype, resolve_device
from worker.engine.finishing import finish_render
from worker.engine.int8 import has_vnni, int8_supported
from worker.engine.masks import MaskSpec
from worker.engine.memory import check_simulated_limit, retrying_with_smaller_tiles
from worker.engine.model_store import Networks
from worker.engine.norm import NormState, NormStatistics
from worker.engine.style_colors import match_colors
from worker.engine.styles import StyleSpec
from worker.engine.tiling import Tile, plan_tiles, receptive_radius

Precision = Literal["auto", "fp32", "int8"]


def auto_int8_networks() -> frozenset[str]:
    """The networks ``precision="auto"`` runs in int8 on this CPU (by PSNR against float32, floor 35 dB).

    With VNNI both: the arbitrary-style network ships as an int8 graph, and the 26-style one,
    calibrated on the statistics pass, stayed at 36.6-39.3 dB at 1-24 MP (``benchmarks/engine.py``)
    while running 2-5× faster. Without VNNI the weights lose a bit (``int8.weight_levels``): the
    26-style network kept 38.0-40.6 dB, the arbitrary one fell to 32.7 dB, so it stays float32.
    """
    return frozenset({"builtin", "arbitrary"}) if has_vnni() else frozenset({"builtin"})


ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]
STRIDE = max(arbitrary_net.STRIDE, multistyle_net.STRIDE)  # both downsample by 4
PREDICTOR_SIDE = 256  # the predictor was trained on 256 × 256 crops (Ghiasi et al. 2017)

# (kernel, resolution divisor) of each conv; the +STRIDE covers nearest-upsampling offsets.
_ARBITRARY_RF = receptive_radius([(9, 1), (3, 1), (3, 2)] + [(3, 4)] * 10 + [(3, 2), (3, 1), (9, 1)]) + STRIDE
_MULTISTYLE_RF = receptive_radius([(9, 1), (3, 1), (3, 2)] + [(3, 4)] * 12 + [(3, 2), (3, 1), (9, 1)]) + STRIDE
RECEPTIVE_RADIUS = max(_ARBITRARY_RF, _MULTISTYLE_RF)


@dataclass(frozen=True)
class RenderOptions:
    """How to render. Every limit has a default; the farm fills them from its settings.

    Args:
        strength: 0–1. Arbitrary styles interpolate the style vector from the photo's own
            towards the target (Ghiasi et al.); built-in styles blend pixels with the photo.
        color_mode: ``stylized``, ``preserve`` (photo's colours) or ``recolor`` (photo's
            luminance, stylized chroma).
        working_side: long side, in pixels, at which the network forms brush strokes (the
            style scale); None renders at the output size. Independent of the output size.
        max_output_side: downscale larger inputs to this long side; None keeps full size.
        tile_size: output pixels per tile side; the overlap is at least the receptive field.
            None: the largest tile whose window fits ``memory_budget_mb`` (``budget.py``).
        thumbnail_side: long side of the thumbnail whose statistics normalize every tile.
        single_pass_pixels: images up to this many pixels render in one pass with their own
            statistics (exact instance norm, and no thumbnail or overlap work); memory stays
            bounded by this number. 0 always tiles above ``thumbnail_side``; None: as many
            pixels as fit ``memory_budget_mb``.
        memory_budget_mb: what one tile batch (or a single pass) may spend on the networks'
            feature maps; sets ``tile_size`` and ``single_pass_pixels`` where they are None.
    """

    strength: float = 1.0
    color_mode: color.ColorMode = "stylized"
    working_side: int | None = None
    max_output_side: int | None = None
    tile_size: int | None = None
    overlap: int = RECEPTIVE_RADIUS
    thumbnail_side: int = 1024
    single_pass_pixels: int | None = None
    batch_size: int | None = None
    max_pixels: int = 120_000_000
    min_side: int = 16
    emulate_int8: bool = False
    simulated_memory_pixels: int = 0  # tests: input pixels a tile batch may hold before out-of-memory (memory.py)
    # Issue 13, control over the result (finishing.py): structure-adaptive fusion (0 = off, 1 = strongest),
    # style images' colours matched to the photo's before their vector is predicted, the input's alpha kept.
    fidelity: float = 0.0
    match_style_colors: bool = False
    keep_alpha: bool = False
    memory_budget_mb: int = 1280
    # Convolutions in float32 or int8 (int8.py; CPU only); ``auto`` picks per network and CPU (``auto_int8_networks``).
    precision: Precision = "auto"

    def validate(self) -> None:
        if not (math.isfinite(self.strength) and 0.0 <= self.strength <= 1.0):
            raise BadInputError(f"strength must be between 0 and 1, got {self.strength}")
        if not (math.isfinite(self.fidelity) and 0.0 <= self.fidelity <= 1.0):
            raise BadInputError(f"fidelity must be between 0 and 1, got {self.fidelity}")
        if self.color_mode not in ("stylized", "preserve", "recolor"):
            raise BadInputError(f"unknown colour mode {self.color_mode!r}")
        if self.tile_size is not None and self.tile_size < 64:
            raise BadInputError(f"tile size must be at least 64 px, got {self.tile_size}")
        if self.precision not in ("auto", "fp32", "int8"):
            raise BadInputError(f"unknown precision {self.precision!r}; use auto, fp32 or int8")
        if self.memory_budget_mb < 64:
            raise BadInputError(f"the memory budget must be at least 64 MB, got {self.memory_budget_mb}")
        for name in ("working_side", "max_output_side"):
            value = getattr(self, name)
            if value is not None and value < self.min_side:
                raise BadInputError(f"{name} must be at least {self.min_side} px, got {value}")

    def within_budget(self, dtype: torch.dtype, batch: int) -> RenderOptions:
        """These options with ``tile_size`` and ``single_pass_pixels`` filled in from the memory budget."""
        tile_size, single = self.tile_size, self.single_pass_pixels
        if tile_size is None:
            tile_size = budget.tile_side(
                self.memory_budget_mb, max(self.overlap, RECEPTIVE_RADIUS), STRIDE, dtype, batch
            )
        if single is None:
            single = budget.network_pixels(self.memory_budget_mb, dtype)
        return replace(self, tile_size=tile_size, single_pass_pixels=single)


@dataclass
class _Pass:
    """One network run per tile, and how much of the final pixel it contributes."""

    network: torch.nn.Module
    params: list[tuple[torch.Tensor, torch.Tensor]]
    statistics: NormStatistics
    weight: float
    # The statistics pass's own output when the thumbnail is the whole (working) image:
    # then a single-tile render is already done and needs no second run.
    whole: torch.Tensor | None = None


@dataclass(frozen=True)
class ClipStyle:
    """A style prepared once for every frame of a clip (``StyleEngine.clip_style``).

    Why: per-frame instance norm re-normalizes each frame by its own statistics, which flickers;
    frames rendered with one set of statistics pooled over the clip change only where the picture does.
    """

    passes: list[_Pass]


def to_tensor(pixels: np.ndarray, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """uint8 [N, H, W, 3] (or [H, W, 3]) → [N, 3, H, W] in 0–1."""
    if not pixels.flags.writeable or not pixels.flags.c_contiguous:
        pixels = np.array(pixels)  # PIL-backed arrays are read-only; torch wants to own a copy
    tensor = torch.from_numpy(pixels).to(device)
    if tensor.dim() == 3:
        tensor = tensor[None]
    tensor = tensor.permute(0, 3, 1, 2).to(dtype).div_(255.0)
    return tensor.contiguous(memory_format=torch.channels_last)


def _pad_to_stride(pixels: np.ndarray, pad_y: int, pad_x: int) -> np.ndarray:
    if pad_y or pad_x:
        return np.pad(pixels, ((0, pad_y), (0, pad_x), (0, 0)), mode="reflect")
    return pixels


def fit_long_side(img: Image.Image, long_side: int) -> Image.Image:
    """Resize so the long side is ``long_side`` (Lanczos), keeping the aspect ratio."""
    scale = long_side / max(img.size)
    size = (max(STRIDE, round(img.width * scale)), max(STRIDE, round(img.height * scale)))
    return img if size == img.size else img.resize(size, Image.Resampling.LANCZOS)


def load_photo(image: ImageSource, options: RenderOptions) -> Image.Image:
    """The photo to stylize, checked against the limits and brought down to ``max_output_side``."""
    photo_img = load_image(image, options.max_pixels, options.min_side)
    if options.max_output_side and max(photo_img.size) > options.max_output_side:
        photo_img = fit_long_side(photo_img, options.max_output_side)
    return photo_img


class StyleEngine:
    """Loads the three networks once per process and renders many images with them."""

    def __init__(
        self,
        device: str = "auto",
        cache_dir: Path | None = None,
        half: bool | None = None,
        network_cache_size: int = 4,
        network_probe_side: int = 64,
        reuse_freed_memory: bool = True,
    ) -> None:
        """``reuse_freed_memory``: on CPU, keep freed feature maps in the process (host_memory.py)."""
        self.device = resolve_device(device)
        if reuse_freed_memory and self.device.type == "cpu":
            host_memory.reuse_freed_memory()
        self.dtype = default_dtype(self.device, half)
        self.cache_dir = cache_dir
        self._networks: Networks | None = None
        self.custom_networks = NetworkCache(self.device, network_cache_size, network_probe_side)  # user networks

    @property
    def networks(self) -> Networks:
        """The networks, each loaded on first use (so a forked worker initialises CUDA after the fork)."""
        if self._networks is None:
            self._networks = Networks(self.device, self.cache_dir, self.dtype)
        return self._networks

    @torch.inference_mode()
    def style_vector(
        self, image: ImageSource, max_pixels: int = 120_000_000, colors_of: np.ndarray | None = None
    ) -> np.ndarray:
        """The 100-number style vector of a style image (centre square crop, 256 × 256).

        ``colors_of`` (uint8 RGB pixels): first give the style image those pixels' colours (style_colors.py).
        """
        img = load_image(image, max_pixels=max_pixels)
        side = min(img.size)
        left, top = (img.width - side) // 2, (img.height - side) // 2
        img = img.crop((left, top, left + side, top + side)).resize(
            (PREDICTOR_SIDE, PREDICTOR_SIDE), Image.Resampling.LANCZOS
        )
        pixels = np.asarray(img) if colors_of is None else match_colors(np.asarray(img), colors_of)
        vector = self.networks.predictor(to_tensor(pixels, self.device, torch.float32))
        return vector[0].float().cpu().numpy()

    def _target_vector(
        self, style: StyleSpec, thumbnail: Image.Image, strength: float, match_colors: bool = False
    ) -> np.ndarray:
        parts = style.arbitrary_components
        total = sum(c.weight for c in parts)
        vector = np.zeros(100, dtype=np.float64)
        for c in parts:
            own = (
                np.asarray(c.vector, dtype=np.float64)
                if c.vector is not None
                else self._image_vector(c.image, thumbnail, match_colors)  # type: ignore[arg-type]
            )
            vector += own * (c.weight / total)
        if strength < 1.0:
            vector = strength * vector + (1.0 - strength) * self.style_vector(thumbnail)
        return vector.astype(np.float32)

    def _image_vector(self, image: ImageSource, thumbnail: Image.Image, match_colors: bool) -> np.ndarray:
        """A style image's vector, with its colours first matched to the photo's when asked."""
        return self.style_vector(image, colors_of=np.asarray(thumbnail) if match_colors else None)

    def _int8(self, precision: Precision, network: str) -> bool:
        """Whether ``network`` ("builtin" or "arbitrary") runs its convolutions in int8."""
        if precision == "fp32" or self.device.type != "cpu" or self.dtype != torch.float32 or not int8_supported():
            return False
        return precision == "int8" or network in auto_int8_networks()

    def _statistics(
        self, network: torch.nn.Module, params: list, thumbnail: np.ndarray, int8: bool = False
    ) -> tuple[NormStatistics, torch.Tensor]:
        """Run the thumbnail once, recording every norm layer's statistics; also return the output.

        A batch of thumbnails ([N, H, W, 3], a clip's sampled frames) gives statistics pooled over all.
        """
        if thumbnail.ndim == 4:
            state = NormState(pooled=True, int8=int8)
            padded = np.stack([_pad_to_stride(t, (-t.shape[0]) % STRIDE, (-t.shape[1]) % STRIDE) for t in thumbnail])
            return state.recorded, network(to_tensor(padded, self.device, self.dtype), state=state, params=params)
        h, w = thumbnail.shape[:2]
        padded = _pad_to_stride(thumbnail, (-h) % STRIDE, (-w) % STRIDE)
        state = NormState(int8=int8)
        output = network(to_tensor(padded, self.device, self.dtype), state=state, params=params)
        return state.recorded, output

    @staticmethod
    def _thumbnail(work: Image.Image, options: RenderOptions) -> Image.Image:
        small = max(work.size) <= options.thumbnail_side or work.width * work.height <= options.single_pass_pixels
        return work if small else fit_long_side(work, options.thumbnail_side)

    @staticmethod
    def _working_images(image: ImageSource, options: RenderOptions) -> tuple[Image.Image, Image.Image]:
        """The photo at its output size, and at the size the network works on."""
        photo_img = load_photo(image, options)
        return photo_img, fit_long_side(photo_img, options.working_side) if options.working_side else photo_img

    def _passes(
        self, style: StyleSpec, work: Image.Image, options: RenderOptions, samples: np.ndarray | None = None
    ) -> list[_Pass]:
        nets = self.networks
        thumbnail = self._thumbnail(work, options)
        thumb_pixels = np.asarray(thumbnail) if samples is None else samples
        keep = thumbnail is work and samples is None
        passes = []
        builtin = style.builtin_weights()
        share = style.builtin_share
        if builtin is not None:
            weights = torch.from_numpy(builtin)[None].to(self.device, self.dtype)
            params = [(g.to(self.dtype), b.to(self.dtype)) for g, b in nets.multistyle.style_params(weights)]
            int8 = self._int8(options.precision, "builtin")
            stats, output = self._statistics(nets.multistyle, params, thumb_pixels, int8)
            passes.append(_Pass(nets.multistyle, params, stats, share * options.strength, output if keep else None))
        if style.arbitrary_components:
            nets.arbitrary.emulate_int8 = options.emulate_int8
            target = self._target_vector(style, thumbnail, options.strength, options.match_style_colors)
            vector = torch.from_numpy(target)[None].to(self.device, self.dtype)
            params = [(g.to(self.dtype), b.to(self.dtype)) for g, b in nets.arbitrary.style_params(vector)]
            int8 = self._int8(options.precision, "arbitrary") and not options.emulate_int8
            stats, output = self._statistics(nets.arbitrary, params, thumb_pixels, int8)
            passes.append(_Pass(nets.arbitrary, params, stats, 1.0 - share, output if keep else None))
        return passes

    def _batches(self, tiles: list[Tile], batch_size: int) -> Iterator[list[Tile]]:
        """Tiles grouped by window shape (so they stack) in batches of ``batch_size``."""
        by_shape: dict[tuple[int, int], list[Tile]] = {}
        for tile in tiles:
            by_shape.setdefault(tile.window_shape, []).append(tile)
        for group in by_shape.values():
            for start in range(0, len(group), batch_size):
                yield group[start : start + batch_size]

    def _render_batch(
        self, work: np.ndarray, batch: list[Tile], passes: list[_Pass], one_pass: bool = False
    ) -> list[np.ndarray]:
        windows = np.stack(
            [
                _pad_to_stride(
                    work[t.input_y0_padded : t.input_y1_padded, t.input_x0_padded : t.input_x1_padded],
                    t.border_pad_y,
                    t.border_pad_x,
                )
                for t in batch
            ]
        )
        content = to_tensor(windows, self.device, self.dtype)
        if one_pass:  # the statistics pass already rendered the whole image
            outputs = [p.whole for p in passes if p.whole is not None]
        else:
            outputs = [p.network(content, state=NormState(p.statistics), params=p.params) for p in passes]
        mixed = sum(out.float() * p.weight for out, p in zip(outputs, passes, strict=True))
        assert isinstance(mixed, torch.Tensor)
        # Whatever weight the passes leave over is the photo itself (built-in strength < 1).
        leftover = 1.0 - sum(p.weight for p in passes)
        if leftover > 1e-6:
            mixed = mixed + content.float() * leftover
        pixels = (mixed.clamp_(0, 1).mul_(255).add_(0.5)).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        return [pixels[i][t.crop] for i, t in enumerate(batch)]

    @torch.inference_mode()
    def clip_style(self, frames: Sequence[ImageSource], style: StyleSpec, options: RenderOptions) -> ClipStyle:
        """Prepare ``style`` for a clip: norm statistics pooled over ``frames`` (sampled from the clip).

        Every frame rendered with the result is normalized alike, whichever worker renders it.
        """
        options.validate()
        options = options.within_budget(self.dtype, self._batch_size(options))
        thumbnails = [self._thumbnail(self._working_images(f, options)[1], options) for f in frames]
        if not thumbnails or len({t.size for t in thumbnails}) != 1:
            raise BadInputError("a clip's sampled frames must be one or more images of one size")
        samples = np.stack([np.asarray(t) for t in thumbnails])
        return ClipStyle(self._passes(style, thumbnails[len(thumbnails) // 2], options, samples))

    @torch.inference_mode()
    def render(
        self,
        image: ImageSource,
        style: StyleSpec,
        options: RenderOptions | None = None,
        progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
        clip: ClipStyle | None = None,
        mask: MaskSpec | None = None,
    ) -> np.ndarray:
        """Stylize ``image`` with ``style``; returns the output as uint8 [H, W, 3] ([H, W, 4] with
        ``keep_alpha`` and an input that has alpha).

        ``mask`` says where the style goes (masks.py); ``options.fidelity`` gives structure back (fusion.py).

        ``clip`` (from ``clip_style``) replaces the image's own statistics with the clip's.
        Raises ``BadInputError``/``LimitExceededError`` for bad input, ``RenderCanceled``
        when ``should_cancel`` returns True between tile batches, and ``DeviceMemoryError`` when the
        render does not fit in device memory even at half the tile size (``memory.py``).
        """
        options = options or RenderOptions()
        options.validate()
        if mask is not None:
            mask.validate()
        options = options.within_budget(self.dtype, self._batch_size(options))
        render = partial(
            self._render, image, style, progress=progress, should_cancel=should_cancel, clip=clip, mask=mask
        )
        return retrying_with_smaller_tiles(render, options)

    def _batch_size(self, options: RenderOptions) -> int:
        return options.batch_size or (8 if self.device.type == "cuda" else 1)

    def _render(
        self,
        image: ImageSource,
        style: StyleSpec,
        options: RenderOptions,
        progress: ProgressCallback | None,
        should_cancel: CancelCheck | None,
        clip: ClipStyle | None,
        mask: MaskSpec | None = None,
    ) -> np.ndarray:
        """One attempt at ``render`` with these options."""
        photo_img, work_img = self._working_images(image, options)
        passes = [] if style.network else clip.passes if clip is not None else self._passes(style, work_img, options)
        work = np.asarray(work_img)
        del work_img
        height, width = work.shape[:2]
        # An image that is its own thumbnail (small, or within single_pass_pixels) was rendered
        # whole by the statistics pass; that output equals any tiling of it, so it is one tile.
        one_pass = all(p.whole is not None for p in passes)
        whole = one_pass or (clip is not None and width * height <= options.single_pass_pixels)
        tile_size = max(width, height) if whole else options.tile_size
        tiles = plan_tiles(width, height, tile_size, max(options.overlap, RECEPTIVE_RADIUS), STRIDE)
        render_batch = partial(self._render_batch, work, passes=passes, one_pass=one_pass)
        if style.network is not None:  # a user network: plain overlapping tiles (custom_net.py)
            tiles, render_batch = self.custom_networks.plan(
                style.network, work, options.tile_size, options.single_pass_pixels, options.strength
            )
        batch_size = self._batch_size(options)
        same_size = work.shape[:2] == (photo_img.height, photo_img.width)
        photo = None if same_size else np.asarray(photo_img)
        del photo_img  # the decoded image (4 bytes a pixel in PIL) is not needed while tiles render
        output = np.empty((height, width, 3), dtype=np.uint8)
        done = 0
        for batch in self._batches(tiles, batch_size):
            if should_cancel is not None and should_cancel():
                raise RenderCanceled("render canceled")
            check_simulated_limit(batch, options.simulated_memory_pixels)
            for tile, pixels in zip(batch, render_batch(batch), strict=True):
                rows = slice(tile.output_y0, tile.output_y1)
                cols = slice(tile.output_x0, tile.output_x1)
                if same_size:
                    pixels = color.combine(pixels, work[rows, cols], options.color_mode)
                output[rows, cols] = pixels
            done += len(batch)
            if progress is not None:
                progress(done, len(tiles))
        if not same_size:
            assert photo is not None
            output = self._resize_and_color(output, photo, options.color_mode)
        return finish_render(
            output,
            work if photo is None else photo,
            image,
            options.fidelity,
            mask,
            options.keep_alpha,
            options.max_pixels,
        )

    @staticmethod
    def _resize_and_color(stylized: np.ndarray, photo: np.ndarray, mode: color.ColorMode) -> np.ndarray:
        """Bring a working-size render to the photo's size, then apply the colour mode in bands."""
        height, width = photo.shape[:2]
        resized = np.asarray(Image.fromarray(stylized).resize((width, height), Image.Resampling.LANCZOS))
        if mode == "stylized":
            return resized
        output = np.empty_like(photo)
        band = 256
        for y0 in range(0, height, band):
            output[y0 : y0 + band] = color.combine(resized[y0 : y0 + band], photo[y0 : y0 + band], mode)
        return output
