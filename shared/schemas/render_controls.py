"""Request fields that control the result (issue 13): fusion, matched style colours, masks, style defaults.

Why a module of its own: ``JobCreate`` (jobs.py) and the styles API both need these, and the rules
that tie them together (a region mask on every style or on none, masks only for images) live here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MaskModeName = Literal["stylize", "keep"]
MASK_KEYWORDS = ("alpha", "auto")  # the photo's own alpha channel; GrabCut's foreground estimate
MaskName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9\-]+$",
        description="An upload id of a grayscale mask image (white = inside), `alpha` or `auto`.",
        examples=["alpha", "auto", "0b7c6f0e-3d7e-4f57-9a3c-6c0d5f1e2a11"],
    ),
]
MAX_FEATHER = 256


def fidelity_field() -> Any:
    return Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Structure-adaptive fusion: 0 off; up to 1 gives the photo back where the style destroyed"
        " its local structure (local SSIM of luminance).",
        examples=[0.6],
    )


def match_style_colors_field() -> Any:
    return Field(
        default=False,
        description="Give image styles the photo's colour distribution before their style vector is predicted.",
        examples=[True],
    )


class StyleDefaults(BaseModel):
    """Rendering settings a tenant keeps with one of its styles; they fill what a job leaves unset."""

    model_config = ConfigDict(extra="forbid")

    strength: float | None = Field(default=None, ge=0.0, le=1.0)
    color_mode: Literal["stylized", "preserve", "recolor"] | None = None
    working_side: int | None = Field(default=None, ge=16, le=65536)
    fidelity: float | None = Field(default=None, ge=0.0, le=1.0)
    match_style_colors: bool | None = None


DEFAULTABLE: tuple[str, ...] = tuple(StyleDefaults.model_fields)


def settings_used(
    job_values: dict[str, Any], set_by_job: set[str], style_defaults: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """What an item renders with: the job's own values win, then each style's stored defaults in order.

    Returns ``{"values": {name: value}, "from_style": [names filled from a style's defaults]}``.
    """
    values = {name: job_values.get(name) for name in DEFAULTABLE}
    from_style = []
    for name in DEFAULTABLE:
        if name in set_by_job:
            continue
        given = next((d[name] for d in style_defaults if d.get(name) is not None), None)
        if given is not None:
            values[name] = given
            from_style.append(name)
    return {"values": values, "from_style": from_style}


def mask_upload_ids(mask: str | None, region_masks: Sequence[str | None]) -> list[str]:
    """The distinct upload ids among a job's masks (``alpha`` and ``auto`` name none)."""
    names = [mask, *region_masks]
    return list(dict.fromkeys(n for n in names if n is not None and n not in MASK_KEYWORDS))


def check_mask_rules(kind: str, method: str, mask: str | None, region_masks: Sequence[str | None]) -> None:
    """The rules a job's masks follow (ValueError → 422 with the reason)."""
    regions = [m for m in region_masks if m is not None]
    if not regions and mask is None:
        return
    if kind == "video":
        raise ValueError("masks apply to images; a video job cannot take one")
    if method == "optimize":
        raise ValueError("masks work with method fast")
    if regions and mask is not None:
        raise ValueError("give either one mask for the job or one mask per style (regions), not both")
    if regions and len(regions) != len(region_masks):
        raise ValueError("a style per region needs a mask on every style")
    if regions and kind not in ("image", "recolor"):
        raise ValueError("a style per region renders one output per input: use kind image")


class ItemSettings(BaseModel):
    """What an item rendered with, and which of those values came from its style's defaults."""

    values: dict[str, Any]
    from_style: list[str] = Field(default_factory=list)
