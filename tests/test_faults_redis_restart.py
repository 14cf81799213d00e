"""The broker (Redis) crashes mid-batch and comes back: no accepted job is lost.

The test runs a ``redis-server`` of its own (append-only file, fsync on every write) and SIGKILLs
it while a worker renders a batch. Queued messages survive in the AOF; the worker reconnects
(Celery retries the broker connection) and the render that the lost connection cancelled is found
by the sweeper; a message it had already taken comes back after the visibility timeout. A job
submitted while Redis is down is refused with a 503 and withdrawn, so the client's retry with the
same Idempotency-Key makes it afresh, and it finishes too.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest
from sqlalchemy import select

from shared.db import Job, JobStatus
from tests.fault_tools import (
    RedisServer,
    SweeperLoop,
    count_items,
    decodes,
    distinct_photos,
    farm_api,
    one_torch_thread,
    wait_all_finished,
)
from tests.worker_farm import Farm, open_farm, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.timeout(240)]

ITEMS = 12
SIZE = (256, 170)
OUTAGE_S = 2.0
IDEMPOTENCY_KEY = "submitted-while-redis-was-down"
# A message the worker had taken from Redis when the connection died is in Redis's "unacked" set
# only, and kombu puts it back after the visibility timeout (the DB item stays queued meanwhile):
# short limits here so that happens within the test; in production it is visibility_timeout_s.
LIMITS = {"task_soft_time_limit_s": 10, "task_time_limit_s": 15, "visibility_timeout_s": 20}


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    if shutil.which("redis-server") is None and os.environ.get("CI") != "true":
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.crash()


@pytest.fixture(scope="module")
def farm(tmp_path_factory, postgres_session_url, redis_server):
    with (
        one_torch_thread(),
        open_farm(tmp_path_factory, postgres_session_url, broker_url=redis_server.url, **LIMITS) as farm,
    ):
        yield farm


def test_redis_crash_mid_batch_loses_no_job(farm: Farm, redis_server: RedisServer, data_dir):
    photos = distinct_photos(data_dir / "photos" / "chelsea_cat.png", ITEMS + 1, SIZE)
    item_ids = [farm.add_item(photo, tile_size=64) for photo in photos[:ITEMS]]
    worker = farm.start_worker("broker")
    try:
        with farm_api(farm) as api:
            upload_id = api.upload(photos[-1])
            worker.wait_ready()
            with SweeperLoop(farm.settings).running() as sweeper:
                for item_id in item_ids:
                    farm.render(item_id)
                wait_until(lambda: count_items(farm, JobStatus.SUCCEEDED) >= 2, 90, "the batch to be under way", 0.1)
                redis_server.crash()
                crashed = time.monotonic()
                done_at_crash = count_items(farm, JobStatus.SUCCEEDED)

                refused = api.submit(upload_id, IDEMPOTENCY_KEY)
                refused_s = time.monotonic() - crashed
                assert refused.status_code == 503, refused.get_json()
                assert refused.get_json()["error"] == "queue_unavailable" and refused.headers["Retry-After"]
                assert refused_s < 10
                with farm.sessions() as session:  # withdrawn: nothing half-accepted stays behind
                    assert session.scalar(select(Job).where(Job.idempotency_key == IDEMPOTENCY_KEY)) is None

                time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - crashed)))
                redis_server.start()
                outage_s = time.monotonic() - crashed
                accepted = api.submit(upload_id, IDEMPOTENCY_KEY)  # the client's retry
                assert accepted.status_code == 201, accepted.get_json()
                all_ids = item_ids + [item["id"] for item in accepted.get_json()["items"]]
                finished = wait_all_finished(farm, all_ids, 120, [worker])
                recovered_s = time.monotonic() - crashed
    finally:
        worker.stop()

    for item in finished.values():
        assert item.status == JobStatus.SUCCEEDED, (item.id, item.error, item.history)
        assert decodes(farm.storage.get_bytes(item.output_key)) == SIZE
    assert count_items(farm, JobStatus.RUNNING) == 0 and count_items(farm, JobStatus.QUEUED) == 0
    print(
        f"\n{len(finished)} items ({done_at_crash} done at the crash); Redis down {outage_s:.1f} s; "
        f"submission refused with 503 in {refused_s:.2f} s; all finished {recovered_s:.1f} s after the crash; "
        f"{len(sweeper.requeued)} sweeper requeues, {len(sweeper.errors)} sweeps failed while Redis was down"
    )
