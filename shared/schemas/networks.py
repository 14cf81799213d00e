"""User networks (bring-your-own TorchScript or ONNX files) as styles and job items keep them.

Why here: the API validates and stores these without torch, the worker reads them back; one
model on both sides keeps the stored JSON (``styles.network_options``, an item's ``style_ref``)
in one shape.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.settings import NetworkFormatName

# Pixel values the network expects and returns: 0–1 (torchvision style) or -1–1 (CycleGAN, pix2pix).
ValueRangeName = Literal["0,1", "-1,1"]
SHA256_PATTERN = r"^[0-9a-f]{64}$"


class NetworkOptions(BaseModel):
    """How to call a user network; kept with its style in ``styles.network_options``."""

    model_config = ConfigDict(extra="forbid")

    sha256: str = Field(pattern=SHA256_PATTERN, description="Of the file: workers cache loaded networks by it.")
    value_range: ValueRangeName = "0,1"
    overlap: int | None = Field(
        default=None, ge=0, le=1024, description="Context pixels around each tile; None: the farm's default."
    )


class NetworkRef(NetworkOptions):
    """A network style as a job item keeps it: the stored file, its format and how to call it."""

    key: str = Field(min_length=1, max_length=1024)
    format: NetworkFormatName

    @classmethod
    def from_columns(cls, key: str | None, network_format: str | None, options: dict[str, Any] | None) -> NetworkRef:
        """What a network style's row says (``network_key``, ``network_format``, ``network_options``).

        Raises pydantic's ``ValidationError`` when the row is incomplete.
        """
        return cls.model_validate({**(options or {}), "key": key, "format": network_format})
