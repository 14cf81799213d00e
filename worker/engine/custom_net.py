"""User networks ("bring your own"): load a TorchScript or ONNX file once, check it, run it tile by tile.

The contract a network must keep (README, "Bring-your-own networks"): it takes one float32 batch
N×3×H×W of RGB values in 0–1 (or -1–1 when the style says ``value_range`` "-1,1", as CycleGAN and
pix2pix generators are trained) and returns one tensor of the same shape and range, for any H and W
that are multiples of ``size_multiple`` (inputs are mirror-padded to it, so strided networks such as
Johnson et al. 2016's give their exact size back). It runs in fp32 under ``torch.inference_mode``.

Why onnxruntime for ONNX files, not a conversion to torch (onnx2torch): onnxruntime is the ONNX
project's reference runtime and runs every standard operator, while converters cover a subset and
would refuse networks that run everywhere else; the worker already depends on onnx.

Tiling: the receptive field and normalization of a user network are unknown. Images up to
``single_pass_pixels`` run whole, which is exact for any network. Larger images run as plain tiles
read with ``overlap`` pixels of context on each side and cropped back to their centre (no blending:
for a network without instance norm whose receptive field fits in the overlap, the crop is exactly
the untiled output). Networks with instance norm (CycleGAN's ResNet generator) normalize each tile
by its own statistics, so their tiles can differ at the seams; raise the overlap or
``single_pass_pixels`` for those.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from shared.errors import BadInputError
from worker.engine import color
from worker.engine.tiling import Tile, plan_tiles, round_up

if TYPE_CHECKING:  # names only: the schema module builds pydantic models, which ``render`` never needs
    from shared.schemas.networks import NetworkFormatName, ValueRangeName

_NAMED_ERROR = re.compile(r"^[\w.]+(Error|Exception): ")
RunFunction = Callable[[np.ndarray], np.ndarray]  # float32 N×3×H×W → N×3×H×W
# File name endings the local ``render`` CLI takes as user networks rather than style images.
NETWORK_SUFFIXES: dict[str, NetworkFormatName] = {".pt": "torchscript", ".ts": "torchscript", ".onnx": "onnx"}


@functools.cache
def _network_errors() -> tuple[type[Exception], ...]:
    """What a misbehaving network raises: torch's errors (TorchScript's ``torch.jit.Error`` derives from
    Exception directly), and onnxruntime's own exception classes (likewise). Celery's time limit is
    none of these, so it stays a time limit.

    A function, called in ``except`` clauses (evaluated only once something was raised), so that
    onnxruntime is imported when a user network fails or an ONNX one loads, not by every render.
    """
    from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

    return (
        RuntimeError,
        torch.jit.Error,
        ValueError,
        TypeError,
        IndexError,
        *(
            cls
            for cls in vars(ort_state).values()
            if isinstance(cls, type) and issubclass(cls, Exception) and cls.__module__ == ort_state.__name__
        ),
    )


@dataclass(frozen=True)
class NetworkSource:
    """A user network as a render needs it: the file (read only on a cache miss) and how to call it.

    Args:
        sha256: hex digest of the file; the cache key, and checked against the bytes read.
        read: returns the file's bytes (from storage in the farm, from disk in the CLI).
        overlap: context pixels read around each tile.
        size_multiple: input sides are mirror-padded to a multiple of this.
    """

    sha256: str
    format: NetworkFormatName
    read: Callable[[], bytes] = field(compare=False, repr=False)
    value_range: ValueRangeName = "0,1"
    overlap: int = 32
    size_multiple: int = 8


def local_network(path: Path, network_format: NetworkFormatName) -> NetworkSource:
    """A network file on this machine (the ``render`` CLI), read once here for its hash."""
    data = path.read_bytes()
    return NetworkSource(hashlib.sha256(data).hexdigest(), network_format, lambda: data)


def _reason(exc: BaseException) -> str:
    """One line for a person: the last line of the message, where TorchScript puts the actual error
    (after "The following operation failed in the TorchScript interpreter" and its traceback)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return exc.__class__.__name__
    last = lines[-1][:300]
    return last if _NAMED_ERROR.match(last) else f"{exc.__class__.__name__}: {last}"


def _torchscript_runner(data: bytes, device: torch.device) -> RunFunction:
    with warnings.catch_warnings():
        # torch 2.9+ calls TorchScript deprecated; it is still how most trained networks are shipped.
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.load.* is deprecated", category=FutureWarning)
        module = torch.jit.load(io.BytesIO(data), map_location=device)
    module.eval()

    def run(batch: np.ndarray) -> np.ndarray:
        output = module(torch.from_numpy(batch).to(device))
        if not isinstance(output, torch.Tensor):
            raise BadInputError(f"the network must return one tensor, not {type(output).__name__}")
        return output.float().cpu().numpy()

    return run


def _onnx_runner(data: bytes, device: torch.device) -> RunFunction:
    import onnxruntime as ort  # only user ONNX networks need it

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: a user's graph may warn about things we cannot fix
    providers = ["CPUExecutionProvider"]
    if device.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    session = ort.InferenceSession(data, options, providers=providers)
    inputs = session.get_inputs()
    if len(inputs) != 1 or inputs[0].type != "tensor(float)":
        found = ", ".join(f"{i.name} {i.type}" for i in inputs) or "none"
        raise BadInputError(f"an ONNX style network must take one float tensor (an image batch); it takes: {found}")
    name = inputs[0].name

    def run(batch: np.ndarray) -> np.ndarray:
        return np.asarray(session.run(None, {name: batch})[0])

    return run


_LOADERS: dict[str, Callable[[bytes, torch.device], RunFunction]] = {
    "torchscript": _torchscript_runner,
    "onnx": _onnx_runner,
}


def load_runner(data: bytes, network_format: str, device: torch.device) -> RunFunction:
    """The network in ``data`` as a function on float32 batches (400 with the loader's reason if it is not one)."""
    loader = _LOADERS.get(network_format)
    if loader is None:
        raise BadInputError(f"unknown network format {network_format!r}; known: {', '.join(_LOADERS)}")
    try:
        return loader(data, device)
    except _network_errors() as exc:
        raise BadInputError(f"the file could not be loaded as {network_format}: {_reason(exc)}") from None


@dataclass(frozen=True)
class CustomNetwork:
    """A loaded user network, called on uint8 images with its value range and size multiple."""

    run: RunFunction
    value_range: ValueRangeName = "0,1"
    size_multiple: int = 8

    def stylize(self, window: np.ndarray) -> np.ndarray:
        """uint8 [H, W, 3] → uint8 [H, W, 3]; the sides must be multiples of ``size_multiple``.

        A network that raises, returns another shape, or returns NaN fails with a message (400).
        """
        height, width = window.shape[:2]
        batch = np.ascontiguousarray(window.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0
        if self.value_range == "-1,1":
            batch = batch * 2.0 - 1.0
        try:
            with torch.inference_mode():
                output = self.run(batch)
        except _network_errors() as exc:
            raise BadInputError(f"the network failed on a {width}×{height} input: {_reason(exc)}") from None
        if output.shape != batch.shape:
            raise BadInputError(
                f"the network returned shape {'×'.join(map(str, output.shape))} for a 1×3×{height}×{width} input;"
                " a style network must return an RGB image (N×3×H×W) of its input's size"
            )
        if not np.isfinite(output).all():
            raise BadInputError(f"the network returned NaN or infinite values for a {width}×{height} input")
        if self.value_range == "-1,1":
            output = (output + 1.0) / 2.0
        return (np.clip(output[0].transpose(1, 2, 0), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)

    def probe(self, side: int) -> None:
        """Run a square and a non-square test image, as tiles will be: raises what a render would."""
        m = self.size_multiple
        for height, width in ((side, side), (side * 3 // 4, side * 5 // 4)):
            height, width = round_up(max(height, m), m), round_up(max(width, m), m)
            ys, xs = np.mgrid[0:height, 0:width]
            gradient = np.stack([xs * 255 // max(width - 1, 1), ys * 255 // max(height - 1, 1), (xs + ys) % 256], -1)
            self.stylize(gradient.astype(np.uint8))

    def render_batch(self, work: np.ndarray, batch: list[Tile], strength: float = 1.0) -> list[np.ndarray]:
        """Each tile's output crop, one network call per tile (user networks may accept batches of 1 only).

        ``strength`` below 1 mixes the photo back in, pixel by pixel.
        """
        crops = []
        for tile in batch:
            window = work[tile.input_y0_padded : tile.input_y1_padded, tile.input_x0_padded : tile.input_x1_padded]
            if tile.border_pad_x or tile.border_pad_y:
                window = np.pad(window, ((0, tile.border_pad_y), (0, tile.border_pad_x), (0, 0)), mode="reflect")
            crops.append(color.blend(self.stylize(window)[tile.crop], window[tile.crop], strength))
        return crops


class NetworkCache:
    """This process's loaded user networks, keyed by the file's sha256, least recently used dropped first.

    Why: loading a network (and probing it) costs far more than rendering a small image with it,
    and a studio renders many images with the same one; the hash key means a changed file is
    never served from the cache and the same file under two styles is loaded once.
    """

    def __init__(self, device: torch.device, capacity: int = 4, probe_side: int = 64) -> None:
        self.device = device
        self.capacity = capacity
        self.probe_side = probe_side
        self._runners: OrderedDict[str, RunFunction] = OrderedDict()

    def __contains__(self, sha256: str) -> bool:
        return sha256 in self._runners

    def get(self, source: NetworkSource) -> CustomNetwork:
        """The network of ``source``: from the cache, or read, checked, loaded and probed."""
        runner = self._runners.get(source.sha256)
        if runner is None:
            data = source.read()
            digest = hashlib.sha256(data).hexdigest()
            if digest != source.sha256:
                raise BadInputError(f"the network file changed since it was registered (sha256 {digest[:12]}…)")
            runner = load_runner(data, source.format, self.device)
            network = CustomNetwork(runner, source.value_range, source.size_multiple)
            network.probe(self.probe_side)
            self._runners[source.sha256] = runner
            while len(self._runners) > self.capacity:
                self._runners.popitem(last=False)
        self._runners.move_to_end(source.sha256)
        return CustomNetwork(runner, source.value_range, source.size_multiple)

    def plan(
        self, source: NetworkSource, work: np.ndarray, tile_size: int, single_pass_pixels: int, strength: float
    ) -> tuple[list[Tile], Callable[[list[Tile]], list[np.ndarray]]]:
        """The tiles of ``work`` and the function that renders a batch of them with the network.

        One tile when the image is within ``single_pass_pixels`` (exact for any network).
        """
        network = self.get(source)
        height, width = work.shape[:2]
        side = max(width, height) if width * height <= single_pass_pixels else tile_size
        tiles = plan_tiles(width, height, side, source.overlap, source.size_multiple)
        return tiles, partial(network.render_batch, work, strength=strength)
