"""Turn what the API stored (``Job.params``, ``JobItem.style_ref``) into engine inputs.

Why re-validate: rows may come from an older API version or a hand-made fix; a bad stored value
must fail its item with a message, not crash the worker with a traceback.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from pydantic import ValidationError

from shared.errors import BadInputError, NotFoundError
from shared.schemas.jobs import JobCreate
from shared.schemas.networks import NetworkRef
from shared.schemas.style_refs import StyleRef
from shared.settings import Settings
from shared.storage import Storage
from worker.engine.custom_net import NetworkSource
from worker.engine.from_settings import options_from_settings
from worker.engine.render import RenderOptions
from worker.engine.styles import StyleComponent, StyleSpec


def job_request(params: dict[str, Any]) -> JobCreate:
    """The job's request as validated at submission."""
    try:
        return JobCreate.model_validate(params)
    except ValidationError as exc:
        raise BadInputError(f"the job's stored parameters are invalid: {exc.errors()[0]['msg']}") from None


def _read_network(storage: Storage, key: str) -> bytes:
    try:
        return storage.get_bytes(key)
    except NotFoundError:
        raise BadInputError("the network file is no longer stored (its style was deleted)") from None


def network_source(ref: NetworkRef, settings: Settings, storage: Storage) -> NetworkSource:
    """A stored user network as the engine reads it: from storage, and only when not cached yet."""
    overlap = settings.network_tile_overlap if ref.overlap is None else ref.overlap
    read = partial(_read_network, storage, ref.key)
    return NetworkSource(ref.sha256, ref.format, read, ref.value_range, overlap, settings.network_size_multiple)


def stored_style(style_ref: dict[str, Any]) -> StyleRef:
    """The item's resolved style (or blend) as validated at submission."""
    try:
        return StyleRef.model_validate(style_ref)
    except ValidationError as exc:
        raise BadInputError(f"the item's stored style is invalid: {exc.errors()[0]['msg']}") from None


def style_spec(ref: StyleRef, settings: Settings | None = None, storage: Storage | None = None) -> StyleSpec:
    """The item's style as the engine's ``StyleSpec``.

    ``settings`` and ``storage`` are needed only for user network styles (where their files are).
    """
    components = []
    for part in ref.components:
        network = None
        if part.network is not None:
            if settings is None or storage is None:
                raise BadInputError("a user network style needs the farm's storage to read the network from")
            network = network_source(part.network, settings, storage)
        components.append(StyleComponent(part.weight, part.builtin, vector=part.vector, network=network))
    return StyleSpec(tuple(components))


def render_options(settings: Settings, request: JobCreate) -> RenderOptions:
    """The request's choices within the farm's limits (``max_output_side``; ``preview_side`` for a preview)."""
    max_side = min(request.max_output_side or settings.max_output_side, settings.max_output_side)
    if request.preview:
        max_side = min(max_side, settings.preview_side)
    return options_from_settings(
        settings,
        strength=request.strength,
        color_mode=request.color_mode,
        working_side=request.working_side,
        max_output_side=max_side,
        tile_size=request.tile_size,
        fidelity=request.fidelity,
        match_style_colors=request.match_style_colors,
        keep_alpha=request.output_format in ("png", "webp"),  # formats that can carry an input's alpha
    )
