"""What a job may ask of optimization mode and of style refinement (issue 7), torch-free.

Why here: the API validates these at submission and the worker turns the same models into the
engine's ``OptimizeOptions``/``RefineOptions``; the farm's limits (``optimize_max_*`` settings)
are applied by both.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MethodName = Literal["fast", "optimize"]


class OptimizeParams(BaseModel):
    """Gatys et al. (2016) pixel optimization; see ``worker.engine.optimize.options``."""

    model_config = ConfigDict(extra="forbid")

    optimizer: Literal["lbfgs", "adam"] = "lbfgs"
    iterations: int = Field(default=10, ge=1, le=100_000)
    scales: int = Field(default=2, ge=1, le=4)
    content_weight: float = Field(default=1.0, ge=0.0, le=1e6, allow_inf_nan=False)
    style_weight: float = Field(default=100.0, ge=0.0, le=1e6, allow_inf_nan=False)
    tv_weight: float = Field(default=1.0, ge=0.0, le=1e6, allow_inf_nan=False)
    embedding_weight: float = Field(
        default=1.0, ge=0.0, le=1e6, allow_inf_nan=False, description="Style-embedding term (0: Gram loss only)."
    )
    init: Literal["content", "fast"] = "fast"
    working_side: int = Field(default=512, ge=32, le=8192)
    refine_iterations: int = Field(default=10, ge=0, le=100_000)


class RefineCreate(BaseModel):
    """``POST /v1/styles/<id>/refine``: tune the style's vector; the result is a new version."""

    model_config = ConfigDict(extra="forbid")

    iterations: int = Field(default=24, ge=1, le=100_000)
    crops: int = Field(default=6, ge=1, le=16)
    crop_side: int = Field(default=256, ge=64, le=1024)
    embedding_weight: float = Field(
        default=10.0, ge=0.0, le=1e6, allow_inf_nan=False, description="Style-embedding term (0: Gram loss only)."
    )
    name: str | None = Field(default=None, min_length=1, max_length=200, description="Default: '<name> v<version>'.")
