"""Compute an uploaded style's 100-number vector and its thumbnail (the ``embed_style`` task).

Why a worker task: the predictor network needs torch, which the API does not load; the style
stays ``pending`` until this runs, and ``ready`` or ``failed`` (with the message) after.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from PIL import Image

from shared.db import Style, StyleKind, StyleStatus
from shared.errors import BadInputError
from shared.images import load_image
from shared.keys import style_thumbnail_key
from worker.jobs.encoding import encode_image
from worker.runtime.context import WorkerContext
from worker.runtime.failures import describe, is_transient

log = logging.getLogger(__name__)

THUMBNAIL_SIDE = 256
THUMBNAIL_QUALITY = 85


def thumbnail_jpeg(image: Image.Image, side: int = THUMBNAIL_SIDE) -> bytes:
    """A JPEG of ``image`` fitted within ``side`` × ``side`` (never enlarged)."""
    small = image.copy()
    small.thumbnail((side, side), Image.Resampling.LANCZOS)
    return encode_image(small, "jpeg", THUMBNAIL_QUALITY)[0]


class StyleEmbedder:
    """Runs one attempt at embedding one style.

    Subclasses prepare other kinds of style the same way (``kind``, ``_compute``): pending until
    a worker has done it, then ``ready`` with the computed columns or ``failed`` with the message.

    Args:
        final_attempt: no Celery retry follows, so a transient error fails the style too.
    """

    kind: ClassVar[StyleKind] = StyleKind.VECTOR

    def __init__(self, context: WorkerContext, style_id: str, *, final_attempt: bool = True) -> None:
        self.context = context
        self.style_id = style_id
        self.final_attempt = final_attempt

    def run(self) -> StyleStatus | None:
        """Embed the style; returns its new status, or None when there was nothing to do."""
        with self.context.sessions() as session:
            style = session.get(Style, self.style_id)
            if style is None or style.kind != self.kind or style.status == StyleStatus.READY:
                log.info("style %s needs no %s preparation", self.style_id, self.kind)
                return None
        try:
            values = self._compute(style)  # detached: its loaded columns stay readable
        except Exception as exc:
            if self.final_attempt or not is_transient(exc):
                error = describe(exc, self.context.settings.task_soft_time_limit_s)
                self._update(status=StyleStatus.FAILED, error=error)
            raise
        self._update(status=StyleStatus.READY, error=None, **values)
        return StyleStatus.READY

    def _compute(self, style: Style) -> dict[str, Any]:
        """The columns a ready style of this kind has (here: its vector and thumbnail)."""
        vector, thumbnail_key = self._embed(style.source_key, style.tenant_id)
        return {"vector": vector, "thumbnail_key": thumbnail_key}

    def _embed(self, source_key: str | None, tenant_id: str | None) -> tuple[list[float], str]:
        """Read the source image, compute its vector, and store its thumbnail."""
        ctx, settings = self.context, self.context.settings
        if source_key is None:
            raise BadInputError("the style has no source image")
        image = load_image(ctx.storage.get_bytes(source_key), settings.max_input_pixels, settings.min_input_side)
        vector = ctx.engine.style_vector(image, max_pixels=settings.max_input_pixels)
        key = style_thumbnail_key(tenant_id or "public", self.style_id)
        ctx.storage.put_bytes(key, thumbnail_jpeg(image), content_type="image/jpeg")
        return [float(v) for v in vector], key

    def _update(self, **values: Any) -> None:
        with self.context.sessions.begin() as session:
            style = session.get(Style, self.style_id, with_for_update=True)
            if style is not None:
                for name, value in values.items():
                    setattr(style, name, value)
