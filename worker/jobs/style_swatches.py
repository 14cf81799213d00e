"""Thumbnails of the built-in styles: a sample photo rendered in each (``render_builtin_swatch``).

Why rendered: a built-in is a set of weights inside the multi-style network, with no painting to
show; the bundled sample photo (``shared/samples/astronaut.png``, public domain) in that style is what
a person needs to pick one. It is rendered once, on a worker (the API never loads torch), and
kept in storage; ``styles.thumbnail_key`` then points at it as it does for an uploaded style.
"""

from __future__ import annotations

import logging
from importlib import resources

from PIL import Image
from sqlalchemy import update

from shared.db import Style, StyleKind
from shared.keys import style_thumbnail_key
from worker.jobs.embedder import thumbnail_jpeg
from worker.runtime.context import WorkerContext

log = logging.getLogger(__name__)

SWATCH_SIDE = 128  # the sample is rendered at this size: about a tenth of a second per style on a CPU
SAMPLE_PHOTO = "astronaut.png"


def sample_photo(side: int = SWATCH_SIDE) -> Image.Image:
    """The bundled sample photo, fitted within ``side`` × ``side``."""
    with resources.files("shared").joinpath("samples", SAMPLE_PHOTO).open("rb") as handle, Image.open(handle) as img:
        photo = img.convert("RGB")
    photo.thumbnail((side, side), Image.Resampling.LANCZOS)
    return photo


def swatch_key(style_id: str) -> str:
    """Where a built-in's swatch is stored (``builtin:3`` → ``builtin-3``: keys allow no colon)."""
    return style_thumbnail_key("public", style_id.replace(":", "-"))


def render_builtin_swatch(context: WorkerContext, style_id: str) -> bool:
    """Render and record the swatch of built-in ``style_id`` unless it has a picture already.

    Returns whether it rendered. Safe to run twice at once: the swatch is recorded only if the
    style still has no thumbnail (a duplicate request costs one render, never a wrong row).
    """
    from worker.engine.render import RenderOptions  # torch, only in the worker process
    from worker.engine.styles import StyleComponent, StyleSpec

    with context.sessions() as session:
        style = session.get(Style, style_id)
        if style is None or style.kind != StyleKind.BUILTIN or style.builtin_index is None or style.thumbnail_key:
            return False
        index = style.builtin_index
    pixels = context.engine.render(sample_photo(), StyleSpec.single(StyleComponent(builtin=index)), RenderOptions())
    key = swatch_key(style_id)
    context.storage.put_bytes(key, thumbnail_jpeg(Image.fromarray(pixels)), content_type="image/jpeg")
    with context.sessions.begin() as session:
        session.execute(
            update(Style).where(Style.id == style_id, Style.thumbnail_key.is_(None)).values(thumbnail_key=key)
        )
    log.info("rendered the swatch of %s", style_id)
    return True
