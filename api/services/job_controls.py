"""Submission-time work for a job's result controls (issue 13): masks checked, style defaults applied.

Masks named by upload id are checked here, before anything is written: each must be one of the
tenant's image uploads and fit every input (same size or aspect ratio; 400 with both sizes
otherwise), so a bad mask is refused at once instead of failing items later. Each item gets the
settings it renders with: the job's own values, with the gaps filled from its styles' defaults.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.services.upload_records import tenant_uploads
from shared.db import Style, Upload
from shared.errors import BadInputError
from shared.mask_fit import check_mask_fits
from shared.schemas.jobs import JobCreate
from shared.schemas.render_controls import DEFAULTABLE, mask_upload_ids, settings_used
from shared.schemas.style_refs import StyleRef


def checked_mask_keys(session: Session, tenant_id: str, request: JobCreate, inputs: list[Upload]) -> dict[str, str]:
    """Storage key of each mask upload the job names, after checking it fits every input (400 otherwise)."""
    ids = mask_upload_ids(request.mask, [choice.mask for choice in request.styles])
    keys = {}
    for mask in tenant_uploads(session, tenant_id, ids):
        if mask.media != "image" or not mask.width or not mask.height:
            raise BadInputError(f"mask {mask.id!r} is not an image upload", details={"mask": mask.id})
        for photo in inputs:
            if photo.width and photo.height:
                try:
                    check_mask_fits((mask.width, mask.height), (photo.width, photo.height), f"mask {mask.id}")
                except BadInputError as exc:
                    raise BadInputError(
                        exc.message, details={"mask": mask.id, "input": photo.id, **exc.details}
                    ) from None
        keys[mask.id] = mask.storage_key
    return keys


def item_settings(session: Session, request: JobCreate, ref: StyleRef) -> dict:
    """What an item with style ``ref`` renders with (``ItemSettings``): job values win over style defaults."""
    defaults = []
    for part in ref.components:
        style = session.get(Style, part.style_id) if part.style_id else None
        defaults.append(dict(style.defaults or {}) if style is not None else {})
    job_values = {name: getattr(request, name) for name in DEFAULTABLE}
    return settings_used(job_values, set(request.model_fields_set), defaults)
