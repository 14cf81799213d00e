"""The farm side of the result controls (issue 13): item settings, style images, masks and regions.

Why a module: the executor stays one flow for every item; this turns what the API stored (the
settings the item renders with, the job's masks and their storage keys) into engine inputs, and
wraps the render function so a mask or a style per region is applied whatever the method.
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from shared.errors import BadInputError, NotFoundError
from shared.schemas.jobs import JobCreate
from shared.schemas.render_controls import MASK_KEYWORDS, ItemSettings
from shared.schemas.style_refs import StyleRef
from shared.storage import Storage
from worker.engine.masks import MaskSpec
from worker.engine.regions import Region, render_regions
from worker.engine.styles import StyleComponent, StyleSpec
from worker.jobs.optimize_render import RenderFunction
from worker.runtime.context import WorkerContext


def with_item_settings(request: JobCreate, render_settings: dict[str, Any] | None) -> JobCreate:
    """The request with the values its item renders with (job values, gaps filled by style defaults)."""
    if not render_settings:
        return request
    try:
        values = ItemSettings.model_validate(render_settings).values
    except ValueError:
        raise BadInputError("the item's stored render settings are invalid") from None
    return JobCreate.model_validate({**request.model_dump(), **{k: v for k, v in values.items() if v is not None}})


def with_style_images(style: StyleSpec, ref: StyleRef, storage: Storage) -> StyleSpec:
    """``style`` with each stored vector replaced by its style image, so its colours can be matched first.

    Built-ins, user networks and vectors without a stored image stay as they are.
    """
    parts = []
    for component, part in zip(style.components, ref.components, strict=True):
        if part.vector is not None and part.source_key is not None:
            image = Image.open(io.BytesIO(_read(storage, part.source_key, "style image")))
            component = StyleComponent(component.weight, image=image)
        parts.append(component)
    return StyleSpec(tuple(parts))


def _read(storage: Storage, key: str, what: str) -> bytes:
    try:
        return storage.get_bytes(key)
    except NotFoundError:
        raise BadInputError(f"the {what} is no longer stored") from None


def mask_source(name: str, ref: StyleRef, storage: Storage) -> Any:
    """``alpha``, ``auto``, or the bytes of the uploaded mask ``name`` (its key was resolved at submission)."""
    if name in MASK_KEYWORDS:
        return name
    key = ref.masks.get(name)
    if key is None:
        raise BadInputError(f"mask {name!r} was not resolved at submission")
    return _read(storage, key, f"mask {name}")


def controlled_render(
    context: WorkerContext, request: JobCreate, ref: StyleRef, render: RenderFunction
) -> RenderFunction:
    """``render`` with the job's mask, or a render of one region per style when every style has a mask."""
    storage = context.storage
    regions = [choice.mask for choice in request.styles]
    if all(regions) and regions:

        def render_by_region(image: Any, style: StyleSpec, options: Any, **callbacks: Any) -> Any:
            masks = [MaskSpec(mask_source(m, ref, storage), request.mask_mode, request.feather) for m in regions]
            parts = [Region(StyleSpec.single(c), m) for c, m in zip(style.components, masks, strict=True)]
            return render_regions(context.engine, image, parts, options, **callbacks)

        return render_by_region
    if request.mask is None:
        return render
    mask_name = request.mask

    def render_masked(image: Any, style: StyleSpec, options: Any, **callbacks: Any) -> Any:
        mask = MaskSpec(mask_source(mask_name, ref, storage), request.mask_mode, request.feather)
        return render(image, style, options, mask=mask, **callbacks)

    return render_masked
