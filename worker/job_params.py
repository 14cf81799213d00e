"""Turn what the API stored (``Job.params``, ``JobItem.style_ref``) into engine inputs.

Why re-validate: rows may come from an older API version or a hand-made fix; a bad stored value
must fail its item with a message, not crash the worker with a traceback.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from shared.errors import BadInputError
from shared.schemas.jobs import JobCreate, StyleRef
from shared.settings import Settings
from worker.engine.render import RenderOptions
from worker.engine.styles import StyleComponent, StyleSpec
from worker.render_cli import options_from_settings


def job_request(params: dict[str, Any]) -> JobCreate:
    """The job's request as validated at submission."""
    try:
        return JobCreate.model_validate(params)
    except ValidationError as exc:
        raise BadInputError(f"the job's stored parameters are invalid: {exc.errors()[0]['msg']}") from None


def style_spec(style_ref: dict[str, Any]) -> StyleSpec:
    """The item's resolved style (or blend) as the engine's ``StyleSpec``."""
    try:
        ref = StyleRef.model_validate(style_ref)
    except ValidationError as exc:
        raise BadInputError(f"the item's stored style is invalid: {exc.errors()[0]['msg']}") from None
    return StyleSpec(
        tuple(StyleComponent(weight=part.weight, builtin=part.builtin, vector=part.vector) for part in ref.components)
    )


def render_options(settings: Settings, request: JobCreate) -> RenderOptions:
    """The request's choices within the farm's limits (the output never exceeds ``max_output_side``)."""
    max_side = min(request.max_output_side or settings.max_output_side, settings.max_output_side)
    return options_from_settings(
        settings,
        strength=request.strength,
        color_mode=request.color_mode,
        working_side=request.working_side,
        max_output_side=max_side,
        tile_size=request.tile_size,
    )
