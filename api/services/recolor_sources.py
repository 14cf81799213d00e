"""Resolving a colourisation request's exemplars and hints into storage keys, per input (issue 15).

Why at submission: a bad exemplar or hints file is the client's mistake and should be a 400 with
the reason now, not a failed item later; and resolving a style name once keeps a queued job
independent of later renames, as ``style_ref`` does for styles. The keys are stored on each item
(``JobItem.recolor_sources``) for the worker.
"""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session

from api.services.style_refs import find_style
from api.services.upload_records import tenant_uploads
from shared.db import Upload
from shared.errors import BadInputError
from shared.hint_images import hints_problem
from shared.schemas.jobs import JobCreate
from shared.storage import Storage


def _exemplar_key(session: Session, tenant_id: str, name: str) -> str:
    """An upload of the tenant's, else a style (by id or name) that has an image."""
    try:
        return tenant_uploads(session, tenant_id, [name])[0].storage_key
    except BadInputError:
        style = find_style(session, tenant_id, name)
    if style is None:
        raise BadInputError(f"colorize_from {name!r} is neither an upload nor a style", details={"colorize_from": name})
    if style.source_key is None:
        raise BadInputError(
            f"style {name!r} has no image to take colours from (built-in and network styles have none)",
            details={"colorize_from": name},
        )
    return style.source_key


def _hints_key(session: Session, storage: Storage, tenant_id: str, name: str, photo: Upload) -> str:
    """The hints upload's key after checking it is a transparent image of the photo's shape."""
    upload = tenant_uploads(session, tenant_id, [name])[0]
    try:
        with Image.open(io.BytesIO(storage.get_bytes(upload.storage_key))) as img:
            size = (photo.width, photo.height) if photo.width and photo.height else img.size  # unknown: worker checks
            problem = hints_problem(img, size)
    except (UnidentifiedImageError, OSError):
        problem = "the hints file is not a readable image"
    if problem is not None:
        raise BadInputError(f"hints {name!r} for input {photo.id!r}: {problem}", details={"hints": name})
    return upload.storage_key


def recolor_sources(
    session: Session, storage: Storage, tenant_id: str, request: JobCreate, uploads: list[Upload]
) -> list[dict[str, str]] | None:
    """Per input, ``{"exemplar_key", "hints_key"}`` (either or both); None when the job colours from styles."""
    if not request.colorizes:
        return None
    exemplars: dict[str, str] = {}
    sources = []
    for index, photo in enumerate(uploads):
        entry = {}
        if (exemplar := request.recolor_choice("colorize_from", index)) is not None:
            if exemplar not in exemplars:
                exemplars[exemplar] = _exemplar_key(session, tenant_id, exemplar)
            entry["exemplar_key"] = exemplars[exemplar]
        if (hints := request.recolor_choice("hints", index)) is not None:
            entry["hints_key"] = _hints_key(session, storage, tenant_id, hints, photo)
        sources.append(entry)
    return sources
