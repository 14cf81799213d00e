"""Jobs of several items for the worker-farm tests, made as the API makes them (not a test module).

Why beside ``worker_farm.Farm.add_item``: priorities, the result cache and webhooks need jobs with
many items, a callback URL, or the job id, and the queue the API would route them to.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import URL

from shared.db import Job, JobItem, JobStatus, new_id
from shared.keys import upload_key
from shared.queue import enqueue_render, render_queue
from shared.schemas.jobs import JobCreate
from tests.worker_farm import BUILTIN_STYLE, Farm, builtin_ref, open_farm


@dataclass
class SeededJob:
    job_id: str
    item_ids: list[str]
    queue: str


def add_job(farm: Farm, photos: list[bytes], **params: Any) -> SeededJob:
    """Store each photo as an upload and make one job with an item per photo (not yet enqueued)."""
    upload_ids = [new_id() for _ in photos]
    for upload_id, photo in zip(upload_ids, photos, strict=True):
        farm.storage.put_bytes(upload_key(farm.tenant_id, upload_id), photo)
    request = JobCreate(inputs=upload_ids, styles=[{"style": f"builtin:{BUILTIN_STYLE}"}], **params)
    job = Job(
        id=new_id(),
        tenant_id=farm.tenant_id,
        kind=request.kind,
        params=request.model_dump(mode="json"),
        priority=request.priority,
        status=JobStatus.QUEUED,
        callback_url=request.callback_url,
    )
    items = [
        JobItem(
            id=new_id(),
            job_id=job.id,
            position=position,
            input_key=upload_key(farm.tenant_id, upload_id),
            style_ref=builtin_ref(),
        )
        for position, upload_id in enumerate(upload_ids)
    ]
    with farm.sessions.begin() as session:
        session.add(job)
        session.flush()
        session.add_all(items)
    return SeededJob(job.id, [item.id for item in items], render_queue(job.params, len(items), farm.settings))


def enqueue_job(farm: Farm, seeded: SeededJob) -> None:
    """Send each item to the queue the API would have chosen."""
    for item_id in seeded.item_ids:
        enqueue_render(farm.app, item_id, seeded.queue)


def job_row(farm: Farm, job_id: str) -> Job:
    with farm.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


@contextlib.contextmanager
def farm_with_worker(
    tmp_path_factory: pytest.TempPathFactory, postgres_session_url: URL, name: str, **values: Any
) -> Iterator[Farm]:
    """``open_farm`` with one worker process started and ready; its log printed after."""
    with open_farm(tmp_path_factory, postgres_session_url, **values) as farm:
        worker = farm.start_worker(name)
        try:
            worker.wait_ready()
            yield farm
        finally:
            worker.kill()  # nothing is left running by then; a warm shutdown only costs seconds
            print(worker.log()[-3000:])
