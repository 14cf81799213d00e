"""What a job request may say, and what the database keeps for workers to act on.

``JobCreate`` is validated by the API at submission; its dump is stored as ``Job.params``.
Each item's ``style_ref`` is a ``StyleRef`` (``shared/schemas/style_refs.py``): the style (or
blend) resolved at submission time, so a job keeps working even if a style is renamed or deleted.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.schemas.optimize import MethodName, OptimizeParams
from shared.schemas.render_controls import (
    MAX_FEATHER,
    MaskModeName,
    MaskName,
    check_mask_rules,
    fidelity_field,
    match_style_colors_field,
)
from shared.webhooks.targets import check_url_form

JobKindName = Literal["image", "multi_style", "recolor", "video"]
OutputFormat = Literal["png", "jpeg", "webp", "tiff"]
ColorModeName = Literal["stylized", "preserve", "recolor"]
RecolorSource = Annotated[str, Field(min_length=1, max_length=200)]
CallbackUrl = Annotated[str, Field(min_length=1, max_length=2048), AfterValidator(check_url_form)]


class StyleChoice(BaseModel):
    """A style named as clients write it: ``builtin:N``, a style id, or a tenant's style name."""

    model_config = ConfigDict(extra="forbid")

    style: str = Field(min_length=1, max_length=200)
    weight: float = Field(default=1.0, ge=0.0, le=1000.0)
    mask: MaskName | None = Field(default=None, description="A style per region: where this style goes.")

    @field_validator("weight")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("weight must be a finite number")
        return value


class JobCreate(BaseModel):
    """A job request. ``inputs`` are upload ids returned by ``POST /v1/uploads``.

    Items: ``image`` renders each input with the style (several styles are one blend);
    ``multi_style`` renders each input in each style separately (or one blend with ``blend``);
    ``recolor`` is ``image`` with the recolor colour mode; ``video`` renders each input video with
    each style group into one MP4 (segment items rendered in parallel, then one join item).
    """

    model_config = ConfigDict(extra="forbid")

    kind: JobKindName = "image"
    inputs: Annotated[list[str], Field(min_length=1, max_length=1000)]
    styles: Annotated[list[StyleChoice], Field(default_factory=list, max_length=64)]  # none with colorize_from/hints
    blend: bool = False
    strength: float = Field(default=1.0, ge=0.0, le=1.0)
    color_mode: ColorModeName = "stylized"
    output_format: OutputFormat = "png"
    quality: int = Field(default=92, ge=1, le=100)
    max_output_side: int | None = Field(default=None, ge=16, le=65536)
    working_side: int | None = Field(default=None, ge=16, le=65536)
    tile_size: int | None = Field(default=None, ge=64, le=8192)
    priority: int = Field(default=0, ge=-100, le=100)
    preview: bool = Field(default=False, description="A quick low-resolution render, ahead of bulk work.")
    callback_url: CallbackUrl | None = Field(
        default=None, description="POSTed a signed event when the job finishes (see README, Webhooks)."
    )
    method: MethodName = Field(default="fast", description="fast network, or Gatys pixel optimization (image styles).")
    optimize: OptimizeParams | None = None  # method optimize's options (defaults when omitted)
    video_container: Literal["mp4", "mov", "mkv", "webm"] | None = None  # video jobs; None: the farm's setting
    video_codec: str | None = Field(default=None, min_length=1, max_length=40, pattern=r"^[a-z0-9_\-]+$")
    video_crf: int | None = Field(default=None, ge=0, le=63)  # the video encoder's constant quality
    # Control over the result (shared/schemas/render_controls.py).
    fidelity: float = fidelity_field()
    match_style_colors: bool = match_style_colors_field()
    mask: MaskName | None = None
    mask_mode: MaskModeName = Field(
        default="stylize",
        description="stylize inside the mask (keep the photo outside), or keep inside.",
        examples=["keep"],
    )
    feather: int = Field(
        default=0, ge=0, le=MAX_FEATHER, description="Mask edge softening, in output pixels.", examples=[8]
    )
    # Archival recolouring (issue 15): colour from an exemplar photo (an upload id or a style with an
    # image) and/or painted hints (an upload id of a transparent image); one for all inputs or a list
    # with one entry per input. The output keeps the photo's luminance exactly; no styles are used.
    colorize_from: RecolorSource | list[RecolorSource | None] | None = Field(
        default=None, description="Exemplar colour photo: an upload id or a style's name or id (or one per input)."
    )
    hints: RecolorSource | list[RecolorSource | None] | None = Field(
        default=None, description="Upload id of a transparent image of coloured strokes (or one per input)."
    )
    chroma_smoothing: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Edge-aware chroma smoothing for recolour modes; None: the farm's."
    )

    @model_validator(mode="after")
    def _kind_rules(self) -> JobCreate:
        if self.kind == "recolor":
            self.color_mode = "recolor"
        check_mask_rules(self.kind, self.method, self.mask, [choice.mask for choice in self.styles])
        return self

    @property
    def colorizes(self) -> bool:
        """Colour comes from an exemplar or hints rather than from a style."""
        return self.colorize_from is not None or self.hints is not None

    @model_validator(mode="after")
    def _colorize_rules(self) -> JobCreate:
        if not self.colorizes:
            if not self.styles:
                raise ValueError("give at least one style (or colorize_from / hints to colour a photo)")
            return self
        if self.styles:
            raise ValueError("colorize_from and hints colour the photo without a style: leave out styles")
        if self.kind not in ("image", "recolor"):
            raise ValueError("colorize_from and hints apply to image and recolor jobs")
        for name in ("colorize_from", "hints"):
            value = getattr(self, name)
            if isinstance(value, list) and len(value) != len(self.inputs):
                raise ValueError(f"{name} lists {len(value)} entries for {len(self.inputs)} inputs")
        for index in range(len(self.inputs)):
            if self.recolor_choice("colorize_from", index) is None and self.recolor_choice("hints", index) is None:
                raise ValueError(f"input {index} has neither an exemplar (colorize_from) nor hints")
        self.color_mode = "recolor"
        return self

    def recolor_choice(self, name: str, index: int) -> str | None:
        """The exemplar (``colorize_from``) or ``hints`` named for input ``index``, if any."""
        value = getattr(self, name)
        return value[index] if isinstance(value, list) else value

    def style_groups(self) -> list[list[StyleChoice]]:
        """The style (or blend) of each item per input: one group per output."""
        if self.kind == "multi_style" and not self.blend:
            return [[choice] for choice in self.styles]
        return [list(self.styles)]
