"""Run a ``refine_style`` job's item: tune the style's vector and fill in its new version.

Why an ``ItemRenderer``: claiming, heartbeats, progress, cancel, retries and failure recording
are the same as for a render; only the work differs. The item's input is the style image; the
content crops come from the bundled sample photo (``shared/samples``), so refinement needs nothing
from the tenant but the style. The output stored on the item is the sample photo rendered with
the refined vector (a preview); the new style row (made pending by the API, id in the job's
``params.refined_style_id``) gets the vector and turns ``ready`` in the transaction that
records the item's success, or ``failed`` with the item's error.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.orm import Session

from shared.db import Job, JobItem, JobStatus, Style, StyleStatus
from shared.errors import BadInputError
from shared.keys import output_key, style_thumbnail_key
from shared.schemas.optimize import RefineCreate
from shared.schemas.style_refs import StyleRef
from worker.engine.refine import RefineOptions, RefineResult, refine_style_vector
from worker.engine.render import RenderOptions
from worker.engine.styles import StyleComponent, StyleSpec
from worker.jobs.embedder import thumbnail_jpeg
from worker.jobs.encoding import encode_image
from worker.jobs.executor import ClaimedItem, ItemRenderer, RenderedOutput
from worker.jobs.optimize_render import optimize_engine
from worker.jobs.style_swatches import sample_photo
from worker.runtime.progress import ItemProgress

log = logging.getLogger(__name__)

PREVIEW_SIDE = 512  # the sample photo's size for the crops and the preview


class RefineJobParams(RefineCreate):
    """What the API stored on a ``refine_style`` job."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    style_id: str
    refined_style_id: str


class _Refined(BaseModel):
    vector: list[float]
    loss_before: float
    loss_after: float


class StyleRefiner(ItemRenderer):
    """Runs one attempt at the item of a ``refine_style`` job."""

    _refined: _Refined | None = None
    _params: RefineJobParams | None = None

    def run(self) -> JobStatus | None:
        try:
            status = super().run()
        except Exception:
            self._fail_style_if_item_failed()
            raise
        if status is not None and status != JobStatus.SUCCEEDED:
            self._fail_style_if_item_failed()
        return status

    def _render_and_store(self, claimed: ClaimedItem) -> RenderedOutput:
        ctx, settings = self.context, self.context.settings
        try:
            params = self._params = RefineJobParams.model_validate(claimed.params)
            ref = StyleRef.model_validate(claimed.style_ref)
        except ValidationError as exc:
            raise BadInputError(f"the refine job's stored parameters are invalid: {exc.errors()[0]['msg']}") from None
        if params.iterations > settings.refine_max_iterations:
            raise BadInputError(f"refinement iterations are limited to {settings.refine_max_iterations}")
        style_image = ctx.storage.get_bytes(claimed.input_key)
        sample = sample_photo(PREVIEW_SIDE)
        progress = ItemProgress(self.sessions, claimed.item_id, self.worker_id)
        options = RefineOptions(
            iterations=params.iterations,
            crops=params.crops,
            crop_side=params.crop_side,
            embedding_weight=params.embedding_weight,
        )
        result: RefineResult = refine_style_vector(
            optimize_engine(ctx.engine, settings.vgg19_weights_path),
            style_image,
            [sample],
            options,
            start=np.asarray(ref.components[0].vector, dtype=np.float32) if ref.components[0].vector else None,
            progress=progress.report,
            should_cancel=progress.should_cancel,
            max_pixels=settings.max_input_pixels,
        )
        self._refined = _Refined(
            vector=[float(v) for v in result.vector], loss_before=result.losses[0], loss_after=min(result.losses)
        )
        spec = StyleSpec.single(StyleComponent(vector=self._refined.vector))
        pixels = ctx.engine.render(sample, spec, RenderOptions())
        data, content_type = encode_image(pixels, "png")
        key = output_key(claimed.tenant_id, claimed.job_id, claimed.position, claimed.item_id, "png")
        ctx.storage.put_bytes(key, data, content_type=content_type)
        thumb = style_thumbnail_key(claimed.tenant_id, params.refined_style_id)
        ctx.storage.put_bytes(thumb, thumbnail_jpeg(Image.fromarray(pixels)), content_type="image/jpeg")
        height, width = pixels.shape[:2]
        return RenderedOutput(key, len(data), "png", width, height)

    def _after_success(self, session: Session, item: JobItem, job: Job) -> None:
        """Fill in the new style version in the transaction that records the item's success."""
        assert self._refined is not None and self._params is not None
        style = session.get(Style, self._params.refined_style_id, with_for_update=True)
        if style is None:
            item.record_event("refined", note="the new style version was deleted meanwhile")
            return
        style.vector = self._refined.vector
        style.status = StyleStatus.READY
        style.error = None
        style.thumbnail_key = style_thumbnail_key(job.tenant_id, style.id)
        item.record_event(
            "refined",
            style_id=style.id,
            loss_before=round(self._refined.loss_before, 6),
            loss_after=round(self._refined.loss_after, 6),
        )

    def _fail_style_if_item_failed(self) -> None:
        """A finished item that did not succeed leaves its new style version failed, with the reason."""
        with self.sessions.begin() as session:
            item = session.get(JobItem, self.item_id)
            if item is None or not JobStatus(item.status).finished or item.status == JobStatus.SUCCEEDED:
                return
            job = session.get(Job, item.job_id)
            refined_id: Any = (job.params or {}).get("refined_style_id") if job is not None else None
            style = session.get(Style, refined_id, with_for_update=True) if refined_id else None
            if style is not None and style.status == StyleStatus.PENDING:
                style.status = StyleStatus.FAILED
                style.error = item.error or f"refinement {item.status}"
