"""Turning a list of local files into farm jobs: upload in a small thread pool, one job per chunk.

Chunks keep each job within the API's input limit and let the farm start rendering the first
chunk while later ones are still uploading. Videos go into jobs of their own (kind ``video``),
since a video job's items (segments, then a join) differ from an image job's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from cli.client import FarmClient
from cli.inputs import LocalInput, chunks
from cli.threads import map_in_threads

IMAGE_ONLY_FIELDS = ("output_format", "quality", "mask", "mask_mode", "feather")


def job_bodies(params: dict[str, Any], inputs: list[str], media: str) -> list[dict[str, Any]]:
    """The request(s) for one chunk.

    A video job renders every input in one style group (several styles are a blend), so separate
    outputs per style become one video job per style; video jobs leave out the still-image options.
    """
    if media == "image":
        return [{**params, "inputs": inputs}]
    base = {key: value for key, value in params.items() if key not in IMAGE_ONLY_FIELDS}
    groups = [params["styles"]] if params.get("blend") else [[style] for style in params["styles"]]
    return [{**base, "kind": "video", "styles": group, "inputs": inputs} for group in groups]


def submit_batches(
    client: FarmClient,
    inputs: list[LocalInput],
    params: dict[str, Any],
    chunk_size: int,
    threads: int,
    uploaded: dict[str, LocalInput],
    idempotency_key: str | None = None,
    chunk_fields: Callable[[list[LocalInput]], dict[str, Any]] | None = None,
) -> Iterator[dict[str, Any]]:
    """Upload and submit chunk by chunk, yielding each created job.

    ``uploaded`` is filled with upload id → local file as uploads finish, so the caller can name
    the outputs (and knows what was sent if a later chunk is refused). ``chunk_fields`` adds fields
    that depend on the chunk's files (each scan's exemplar and hints, ``cli/recolor_batch.py``).
    """
    number = 0
    for media in ("image", "video"):
        of_media = [local for local in inputs if local.media == media]
        for chunk in chunks(of_media, chunk_size):
            ids = map_in_threads(lambda local: client.upload(local.path, local.media)["id"], chunk, threads)
            uploaded.update(zip(ids, chunk, strict=True))
            extra = chunk_fields(chunk) if chunk_fields is not None and media == "image" else {}
            for body in job_bodies({**params, **extra}, ids, media):
                key = f"{idempotency_key}-{number}" if idempotency_key and number else idempotency_key
                yield client.create_job(body, key)
                number += 1
