"""Pick the compute device and precision for the engine."""

from __future__ import annotations

from typing import Literal

import torch

from shared.errors import BadInputError

DeviceName = Literal["auto", "cpu", "cuda"]


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` means CUDA when a GPU is visible, else CPU; asking for a missing GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise BadInputError("device 'cuda' was requested but no CUDA GPU is available; use --device cpu")
        return torch.device(name)
    raise BadInputError(f"unknown device {name!r}; use auto, cpu or cuda")


def default_dtype(device: torch.device, half: bool | None) -> torch.dtype:
    """Half precision on CUDA by default (norm statistics stay float32); float32 on CPU."""
    if half is None:
        half = device.type == "cuda"
    return torch.float16 if half else torch.float32
