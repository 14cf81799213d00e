"""Tiny user networks for the bring-your-own-network tests, built and exported by the tests themselves.

Their outputs are known without the farm: a sepia colour matrix followed by a 3×3 blur (local, so
tiles with overlap equal the untiled result), a negation (in the -1–1 range that is an exact
inversion), and broken ones (wrong channel count, fixed input size, raising on large inputs).
ONNX files are written with onnx's helper API: torch 2.14's ``torch.onnx.export`` needs onnxscript,
which is not installed, and its legacy exporter is deprecated.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from typing import Any

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

# Rows: output R, G, B from input R, G, B (the classic sepia tone matrix).
SEPIA = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], dtype=np.float32)
BLUR = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float32) / 16.0


class SepiaBlur(torch.nn.Module):
    """Sepia tone, then a 3×3 binomial blur per channel (zero padding): receptive radius 1 px."""

    def __init__(self) -> None:
        super().__init__()
        self.tone = torch.nn.Conv2d(3, 3, 1, bias=False)
        self.blur = torch.nn.Conv2d(3, 3, 3, padding=1, groups=3, bias=False)
        with torch.no_grad():
            self.tone.weight.copy_(torch.from_numpy(SEPIA)[:, :, None, None])
            self.blur.weight.copy_(torch.from_numpy(BLUR)[None, None].repeat(3, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blur(self.tone(x))


class SepiaBlurWithBaggage(SepiaBlur):
    """``SepiaBlur`` carrying 400 kB of unused weights: a file larger than the tests' image limit."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("baggage", torch.zeros(100_000))


class Negate(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -x


class OneChannel(torch.nn.Module):
    """Returns a grey image with one channel: not a style network's output."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=1, keepdim=True)


class FixedSize(torch.nn.Module):
    """Works only on 64 × 64 inputs, as a network exported with a static shape would."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(1, 3, 64, 64) * 0.5


class FailsAbove(torch.nn.Module):
    """Passes a small probe but raises on inputs wider than 100 px (a network with a size limit)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[3] > 100:
            raise RuntimeError("this network takes at most 100 px wide inputs")
        return x


def torchscript_bytes(module: torch.nn.Module) -> bytes:
    """``module`` compiled with torch.jit.script and saved, as a studio would ship it."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # torch 2.9+ marks TorchScript deprecated; studios still export with it.
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.\w+.* is deprecated", category=FutureWarning)
        torch.jit.save(torch.jit.script(module.eval()), buffer)
    return buffer.getvalue()


def onnx_sepia_blur_bytes() -> bytes:
    """``SepiaBlur`` as an ONNX graph (two Conv nodes) with dynamic batch, height and width."""
    tone = numpy_helper.from_array(SEPIA[:, :, None, None], "tone")
    blur = numpy_helper.from_array(np.repeat(BLUR[None, None], 3, axis=0), "blur")
    nodes = [
        helper.make_node("Conv", ["image", "tone"], ["toned"], kernel_shape=[1, 1]),
        helper.make_node("Conv", ["toned", "blur"], ["stylized"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=3),
    ]
    graph = helper.make_graph(
        nodes,
        "sepia_blur",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", 3, "h", "w"])],
        [helper.make_tensor_value_info("stylized", TensorProto.FLOAT, ["n", 3, "h", "w"])],
        initializer=[tone, blur],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def corrupt_torchscript_bytes() -> bytes:
    """A zip with TorchScript's entry names but garbage inside: passes the API's signature check."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("net/data.pkl", "net/constants.pkl", "net/code/__torch__.py", "net/version"):
            archive.writestr(name, b"\x80\x04 not what it claims to be")
    return buffer.getvalue()


def weights_only_bytes() -> bytes:
    """A ``torch.save`` checkpoint of weights only (no code): the commonest wrong upload."""
    buffer = io.BytesIO()
    torch.save(SepiaBlur().state_dict(), buffer)
    return buffer.getvalue()


def apply_directly(module: torch.nn.Module, photo: np.ndarray) -> np.ndarray:
    """``module`` on a whole uint8 photo in 0–1, as the expected output (no farm code involved)."""
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(photo.transpose(2, 0, 1))).float()[None] / 255.0
        y = module.eval()(x)[0].clamp(0, 1).permute(1, 2, 0).numpy()
    return (y * 255.0 + 0.5).astype(np.uint8)


def sample_photo(width: int = 200, height: int = 150, seed: int = 7) -> np.ndarray:
    """A photo-like test image: smooth gradients plus noise, so blurs and tiles have something to show."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([xs / width, ys / height, 0.5 + 0.5 * np.sin(xs / 9.0 + ys / 13.0)], -1) * 200.0
    return np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)


def add_network(client: Any, headers: dict[str, str], data: bytes, name: str = "sepia", **fields: object) -> Any:
    """POST ``data`` to /v1/styles/networks with a Flask test client; the response."""
    form = {"network": (io.BytesIO(data), "net.bin"), "name": name, **{k: str(v) for k, v in fields.items()}}
    return client.post("/v1/styles/networks", data=form, headers=headers, content_type="multipart/form-data")
