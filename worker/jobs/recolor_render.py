"""The farm side of archival recolouring (issue 15): which render function a recolour item uses.

A colourised item (``JobItem.recolor_sources``: an exemplar and/or hints in storage) needs no
network: its pixels come from ``worker/engine/recolor``. An item in the painterly ``recolor``
colour mode is rendered as before, then its chroma is cleaned with the guided filter and put back
on the photo's exact luminance. Everything else renders unchanged.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from shared.errors import BadInputError, NotFoundError
from shared.schemas.jobs import JobCreate
from shared.storage import Storage
from worker.engine.recolor.colorize import RecolorRenderer, recolor_options
from worker.engine.recolor.pipeline import RecolorCanceled
from worker.engine.render import RenderCanceled
from worker.jobs.optimize_render import RenderFunction
from worker.runtime.context import WorkerContext


def _read(storage: Storage, sources: dict[str, Any], name: str, what: str) -> bytes | None:
    key = sources.get(name)
    if key is None:
        return None
    try:
        return storage.get_bytes(key)
    except NotFoundError:
        raise BadInputError(f"the {what} is no longer stored (it was deleted after the job was submitted)") from None


def recolor_render(
    context: WorkerContext, request: JobCreate, sources: dict[str, Any] | None, render: RenderFunction
) -> RenderFunction:
    """``render`` itself, or a function of the same signature for the recolour modes."""
    if not sources and request.color_mode != "recolor":
        return render
    storage = context.storage
    renderer = RecolorRenderer(
        recolor_options(context.settings, request.chroma_smoothing, request.output_format),
        render,
        partial(_read, storage, sources or {}, "exemplar_key", "exemplar image"),
        partial(_read, storage, sources or {}, "hints_key", "hints image"),
    )

    def recolored(*args: Any, **callbacks: Any) -> np.ndarray:
        try:
            return renderer(*args, **callbacks)
        except RecolorCanceled as exc:  # the item executor knows the engine's cancel
            raise RenderCanceled(str(exc)) from None

    return recolored
