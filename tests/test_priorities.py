"""Priorities: previews and small jobs go ahead of bulk work already queued.

The farm test uses one worker process (one render at a time) and queues everything before it
starts, so the order in which jobs finish is the order the worker took them in. On one FIFO queue
the small job would finish last; with the bulk queue apart it waits at most one bulk item.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image

from shared.db import JobStatus
from shared.queue import BULK_QUEUE, INTERACTIVE_QUEUE, QUEUES, RENDER_ITEM, RENDER_QUEUE, render_queue
from shared.settings import Settings
from tests.conftest_api import issue_key, queued_tasks, upload
from tests.farm_jobs import add_job, enqueue_job, job_row
from tests.worker_farm import Farm, open_farm, png_bytes

BULK_ITEMS = 5


@pytest.mark.parametrize(
    ("params", "items", "queue"),
    [
        ({"preview": True}, 40, INTERACTIVE_QUEUE),  # a preview is interactive whatever its size
        ({"priority": 10}, 2, INTERACTIVE_QUEUE),
        ({"priority": 10}, 20, RENDER_QUEUE),  # urgent but big: not ahead of previews
        ({}, 1, RENDER_QUEUE),
        ({}, 50, BULK_QUEUE),
        ({"priority": -1}, 1, BULK_QUEUE),
    ],
)
def test_jobs_are_routed_by_preview_priority_and_size(params, items, queue, tmp_path):
    settings = Settings(home=tmp_path, interactive_max_items=4, bulk_min_items=50)
    assert render_queue(params, items, settings) == queue
    assert queue in QUEUES


def test_the_api_sends_a_preview_to_the_interactive_queue_and_a_batch_to_bulk(make_api_app, redis_broker):
    app = make_api_app(bulk_min_items=3)
    client = app.test_client()
    headers = issue_key(app, "acme")
    uploads = [upload(client, headers).get_json()["id"] for _ in range(3)]
    styles = [{"style": "builtin:3"}]
    preview = client.post("/v1/jobs", json={"inputs": uploads[:1], "styles": styles, "preview": True}, headers=headers)
    batch = client.post("/v1/jobs", json={"inputs": uploads, "styles": styles}, headers=headers)
    assert preview.status_code == batch.status_code == 201
    assert queued_tasks(redis_broker, INTERACTIVE_QUEUE) == [(RENDER_ITEM, [preview.get_json()["items"][0]["id"]])]
    assert queued_tasks(redis_broker, BULK_QUEUE) == [(RENDER_ITEM, [item["id"]]) for item in batch.get_json()["items"]]
    assert queued_tasks(redis_broker, RENDER_QUEUE) == []


@pytest.fixture
def farm(tmp_path_factory, postgres_session_url) -> Iterator[Farm]:
    with open_farm(tmp_path_factory, postgres_session_url, bulk_min_items=3, preview_side=32) as farm:
        yield farm


def _photo(seed: int, width: int = 96, height: int = 64) -> bytes:
    rng = np.random.default_rng(seed)
    return png_bytes(Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)))


def test_a_small_job_and_a_preview_finish_before_a_bulk_job_queued_earlier(farm):
    bulk = add_job(farm, [_photo(seed) for seed in range(BULK_ITEMS)])
    small = add_job(farm, [_photo(100)])
    preview = add_job(farm, [_photo(101)], preview=True)
    assert (bulk.queue, small.queue, preview.queue) == (BULK_QUEUE, RENDER_QUEUE, INTERACTIVE_QUEUE)
    for seeded in (bulk, small, preview):  # the bulk job first: a FIFO queue would render it all first
        enqueue_job(farm, seeded)

    worker = farm.start_worker("priorities")
    try:
        worker.wait_ready()
        for item_id in bulk.item_ids + small.item_ids + preview.item_ids:
            farm.wait_finished(item_id, timeout_s=120)
    finally:
        worker.kill()
    jobs = {
        name: job_row(farm, seeded.job_id) for name, seeded in (("bulk", bulk), ("small", small), ("preview", preview))
    }
    assert all(job.status == JobStatus.SUCCEEDED for job in jobs.values()), {n: j.error for n, j in jobs.items()}
    finished = sorted(jobs, key=lambda name: jobs[name].finished_at)
    print("finish order:", finished)
    assert finished[-1] == "bulk"
    bulk_items = sorted(farm.item(item_id).finished_at for item_id in bulk.item_ids)
    # Each queue waits at most one item of the others: both quick jobs are done by the second bulk item.
    assert jobs["small"].finished_at < bulk_items[2] and jobs["preview"].finished_at < bulk_items[2]

    preview_item = farm.item(preview.item_ids[0])
    assert max(preview_item.width or 0, preview_item.height or 0) == 32  # capped at preview_side
    small_item = farm.item(small.item_ids[0])
    assert (small_item.width, small_item.height) == (96, 64)
    with Image.open(io.BytesIO(farm.storage.get_bytes(preview_item.output_key))) as image:
        assert max(image.size) == 32
