"""Reuse a stored output instead of rendering the same thing again.

Why: clients resubmit (a retried batch, the same photo in several jobs, a preview then the same
preview again); rendering is the farm's only expensive step. An item's ``cache_key`` is a SHA-256
over everything that decides its pixels: the input bytes, the resolved style, the job's parameters
(all of them, less those that cannot change pixels) and the render options the settings resolved
them to. A succeeded item of the same tenant with the same key, whose output is still in storage,
is copied to this item's own key; the item is marked ``cached``. Tenants never share results.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from typing import Any

from PIL import Image
from sqlalchemy import select

from shared.db import Job, JobItem, JobStatus
from shared.errors import NotFoundError, StorageError
from worker.jobs.encoding import pil_format
from worker.runtime.context import WorkerContext

log = logging.getLogger(__name__)

KEY_VERSION = "stylefarm-result-cache-1"  # bump when rendering changes what the same inputs produce
# Request fields that cannot change an item's pixels: scheduling, notification, and the names the
# input and styles were given (the input bytes and the resolved style are hashed instead).
NON_PIXEL_PARAMS = frozenset({"priority", "callback_url", "inputs", "styles"})
ITEM_IDENTITY = frozenset({"item_id", "job_id", "tenant_id", "position", "input_key"})  # not what is rendered
MAX_CANDIDATES = 5  # newest matches tried when older outputs were deleted from storage


@dataclasses.dataclass(frozen=True)
class CachedOutput:
    """A reusable output: where it is and what the finished item recorded about it."""

    source_item_id: str
    key: str
    size_bytes: int
    output_format: str
    width: int
    height: int


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


def cache_key(input_bytes: bytes, item: dict[str, Any], render_options: Any) -> str:
    """The hex SHA-256 of what decides an item's output.

    Args:
        item: the claimed item's fields (``ClaimedItem`` as a dict). Ids, the position and the
            input's storage key are left out; of ``style_ref`` only the ``components`` count
            (weights, built-in indices, vectors), of ``params`` all but ``NON_PIXEL_PARAMS``;
            any other field (a role, a video segment's range) counts as it is.
        render_options: the engine options the settings and request resolved to (a dataclass).
    """
    described = {name: value for name, value in item.items() if name not in ITEM_IDENTITY}
    described["style_ref"] = (item.get("style_ref") or {}).get("components")
    described["params"] = {
        name: value for name, value in (item.get("params") or {}).items() if name not in NON_PIXEL_PARAMS
    }
    options = dataclasses.asdict(render_options) if dataclasses.is_dataclass(render_options) else render_options
    digest = hashlib.sha256(KEY_VERSION.encode())
    digest.update(hashlib.sha256(input_bytes).digest())
    digest.update(_canonical({"item": described, "options": options}))
    return digest.hexdigest()


def find_output(context: WorkerContext, tenant_id: str, key: str, exclude_item_id: str) -> CachedOutput | None:
    """The newest succeeded item of ``tenant_id`` with ``key`` whose output is still stored."""
    with context.sessions() as session:
        rows = session.execute(
            select(
                JobItem.id,
                JobItem.output_key,
                JobItem.output_bytes,
                JobItem.output_format,
                JobItem.width,
                JobItem.height,
            )
            .join(Job, Job.id == JobItem.job_id)
            .where(
                JobItem.cache_key == key,
                JobItem.status == JobStatus.SUCCEEDED,
                JobItem.output_key.is_not(None),
                JobItem.id != exclude_item_id,
                Job.tenant_id == tenant_id,
            )
            .order_by(JobItem.finished_at.desc())
            .limit(MAX_CANDIDATES)
        ).all()
    for row in rows:
        if None in (row.output_bytes, row.output_format, row.width, row.height):
            continue
        try:
            if context.storage.exists(row.output_key):
                return CachedOutput(row.id, row.output_key, row.output_bytes, row.output_format, row.width, row.height)
        except StorageError as exc:  # the cache is an optimisation: render instead
            log.warning("result cache: could not check %s: %s", row.output_key, exc)
            return None
    return None


def reuse_output(
    context: WorkerContext, tenant_id: str, key: str, item_id: str, destination_key: str
) -> CachedOutput | None:
    """Copy a stored output with ``key`` to this item's own key; what was copied, or None to render.

    Why a copy and not a reference: deleting either job's outputs then leaves the other whole.
    """
    found = find_output(context, tenant_id, key, exclude_item_id=item_id)
    if found is None:
        return None
    try:
        data = context.storage.get_bytes(found.key)
    except (StorageError, NotFoundError) as exc:  # deleted since it was checked: render instead
        log.warning("result cache: could not read %s: %s", found.key, exc)
        return None
    if len(data) != found.size_bytes:
        log.warning("result cache: %s has %d bytes, the item recorded %d", found.key, len(data), found.size_bytes)
        return None
    Image.init()  # PIL fills its format registry on first open/save, which a fresh pool process has not done
    content_type = Image.MIME[pil_format(found.output_format)]
    context.storage.put_bytes(destination_key, data, content_type=content_type)
    return dataclasses.replace(found, key=destination_key)
