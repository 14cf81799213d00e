"""The farm side of archival recolouring (issue 15): which render function a recolour item uses.

A colourised item (``JobItem.recolor_sources``: an exemplar and/or hints in storage) needs no
network: its pixels come from ``worker/engine/recolor``. An item in the painterly ``recolor``
colour mode is rendered as before, then its chroma is cleaned with the guided filter and put back
on the photo's exact luminance. Everything else renders unchanged.
"""

from __future__ import annotations

import logging
import resource
from functools import partial
from typing import Any

import numpy as np

from shared.errors import BadInputError, NotFoundError
from shared.schemas.jobs import JobCreate
from shared.storage import Storage
from worker.jobs.optimize_render import RenderFunction
from worker.runtime.context import WorkerContext

log = logging.getLogger(__name__)


def _read(storage: Storage, sources: dict[str, Any], name: str, what: str) -> bytes | None:
    key = sources.get(name)
    if key is None:
        return None
    try:
        return storage.get_bytes(key)
    except NotFoundError:
        raise BadInputError(f"the {what} is no longer stored (it was deleted after the job was submitted)") from None


def _resident_mb() -> float:
    """This process's resident memory now (Linux), in MB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def recolor_render(
    context: WorkerContext, request: JobCreate, sources: dict[str, Any] | None, render: RenderFunction
) -> RenderFunction:
    """``render`` itself, or a function of the same signature for the recolour modes."""
    if not sources and request.color_mode != "recolor":
        return render
    # Imported here: OpenCV and SciPy load only in a worker that recolours (the worker's start stays light).
    from worker.engine.recolor.colorize import RecolorRenderer, recolor_options
    from worker.engine.recolor.predictor_features import predictor_features

    storage = context.storage
    renderer = RecolorRenderer(
        recolor_options(context.settings, request.chroma_smoothing, request.output_format),
        render,
        partial(_read, storage, sources or {}, "exemplar_key", "exemplar image"),
        partial(_read, storage, sources or {}, "hints_key", "hints image"),
        partial(predictor_features, context.engine),
    )

    def recolored(*args: Any, **callbacks: Any) -> np.ndarray:
        before_mb = _resident_mb()
        pixels = renderer(*args, **callbacks)  # a cancel raises RenderCanceled, as the engine's does
        # An upper bound of what the recolour held: the process's peak since start, less what it held before.
        grew_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before_mb
        log.info("recoloured %d×%d: peak growth %.0f MB (limit %d MB)", pixels.shape[1], pixels.shape[0], grew_mb,
                 renderer.options.memory_limit_mb)  # fmt: skip
        return pixels

    return recolored
