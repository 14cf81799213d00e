"""Style specifications: one style or a weighted blend of built-ins, style images and vectors.

A blend is resolved per network. Built-in styles blend inside the 26-style network by mixing
their norm parameters (Dumoulin et al. 2017); style images and stored vectors blend inside the
arbitrary network by averaging their 100-number style vectors (Ghiasi et al. 2017). When a
blend mixes both kinds, the two networks' outputs are mixed by the kinds' total weights. A user
network (``custom_net.py``) is a style on its own: its output cannot be mixed inside any network.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from shared.errors import BadInputError
from worker.engine.custom_net import NETWORK_SUFFIXES, NetworkSource, local_network

NUM_BUILTINS = 26
STYLE_DIM = 100
_BUILTIN = re.compile(r"^builtin:(\d+)$")


@dataclass(frozen=True)
class StyleComponent:
    """One ingredient of a style: exactly one of a built-in index, a style image, a vector or a user network."""

    weight: float = 1.0
    builtin: int | None = None
    image: Image.Image | np.ndarray | Path | str | None = None
    vector: Sequence[float] | None = None
    network: NetworkSource | None = None

    def __post_init__(self) -> None:
        given = sum(x is not None for x in (self.builtin, self.image, self.vector, self.network))
        if given != 1:
            raise BadInputError(
                "a style component needs exactly one of: builtin index, style image, style vector, network"
            )
        if not math.isfinite(self.weight) or self.weight < 0:
            raise BadInputError(f"style weights must be finite and non-negative, got {self.weight}")
        if self.builtin is not None and not 0 <= self.builtin < NUM_BUILTINS:
            raise BadInputError(
                f"unknown style builtin:{self.builtin}; built-ins are builtin:0 to builtin:{NUM_BUILTINS - 1}"
            )
        if self.vector is not None:
            arr = np.asarray(self.vector, dtype=np.float64)
            if arr.shape != (STYLE_DIM,) or not np.isfinite(arr).all():
                raise BadInputError(f"a style vector must be {STYLE_DIM} finite numbers")


@dataclass(frozen=True)
class StyleSpec:
    """A weighted blend of style components (weights are normalized to sum to 1)."""

    components: tuple[StyleComponent, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.components:
            raise BadInputError("at least one style is needed")
        if sum(c.weight for c in self.components) <= 0:
            raise BadInputError("style weights must not all be zero")
        if len(self.components) > 1 and self.network is not None:
            raise BadInputError("a user network style cannot be blended with other styles")

    @classmethod
    def single(cls, component: StyleComponent) -> StyleSpec:
        return cls((component,))

    @property
    def builtin_share(self) -> float:
        """Fraction of the total weight carried by built-in styles."""
        total = sum(c.weight for c in self.components)
        return sum(c.weight for c in self.components if c.builtin is not None) / total

    def builtin_weights(self) -> np.ndarray | None:
        """The 26 normalized weights for the built-in part, or None without built-ins."""
        weights = np.zeros(NUM_BUILTINS, dtype=np.float32)
        for c in self.components:
            if c.builtin is not None:
                weights[c.builtin] += c.weight
        return weights / weights.sum() if weights.sum() > 0 else None

    @property
    def arbitrary_components(self) -> list[StyleComponent]:
        return [c for c in self.components if c.builtin is None and c.network is None and c.weight > 0]

    @property
    def network(self) -> NetworkSource | None:
        """The user network this style runs, if it is one (it is then the only component)."""
        return next((c.network for c in self.components if c.network is not None), None)


def parse_style_name(text: str, weight: float = 1.0) -> StyleComponent:
    """``builtin:N`` names a built-in; a ``.pt``/``.ts``/``.onnx`` path is a user network (values in
    0–1, see ``custom_net.py``), to try one locally before uploading it; anything else is a style image."""
    match = _BUILTIN.match(text.strip())
    if match:
        return StyleComponent(weight=weight, builtin=int(match.group(1)))
    if text.startswith("builtin"):
        raise BadInputError(f"bad style name {text!r}; use builtin:N with N from 0 to {NUM_BUILTINS - 1}")
    path = Path(text)
    if not path.is_file():
        raise BadInputError(f"style {text!r} is neither builtin:N nor an existing image file")
    network_format = NETWORK_SUFFIXES.get(path.suffix.lower())
    if network_format is not None:
        return StyleComponent(weight=weight, network=local_network(path, network_format))
    return StyleComponent(weight=weight, image=path)
