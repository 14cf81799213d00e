"""PostgreSQL unreachable for a while: the API answers 503 with a reason, workers retry, all completes.

The machine's PostgreSQL is shared, so it is never stopped: the farm (workers, API, sweeper)
reaches it through a TCP proxy of the test's own, which is cut (new connections refused, open
ones reset) and restored. Every API route hit during the cut must answer 503
``database_unavailable`` with Retry-After, promptly. The worker's failed attempts are retried by
Celery (transient error); the retry budget here is far shorter than the outage, so the items that
use it up show that a database outage keeps retrying them (``worker/runtime/outages.py``) instead of
dropping their messages with the items still queued.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from werkzeug.test import TestResponse

from shared.db import JobStatus
from tests.conftest_api import upload
from tests.fault_tools import (
    FarmApi,
    SweeperLoop,
    TcpProxy,
    count_items,
    decodes,
    distinct_photos,
    farm_api,
    one_torch_thread,
    wait_all_finished,
)
from tests.worker_farm import Farm, open_farm, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.timeout(240)]

ITEMS = 8
SIZE = (384, 256)
OUTAGE_S = 5.0
ANSWER_WITHIN_S = 10.0


@pytest.fixture(scope="module")
def proxy(postgres_session_url):
    proxy = TcpProxy((postgres_session_url.host or "127.0.0.1", postgres_session_url.port or 5432))
    proxy.start()
    yield proxy
    proxy.cut()


@pytest.fixture(scope="module")
def farm(tmp_path_factory, postgres_session_url, proxy: TcpProxy):
    proxied = postgres_session_url.set(port=proxy.port)
    # Two retries at most a second apart: used up long before the outage ends.
    with (
        one_torch_thread(),
        open_farm(tmp_path_factory, proxied, task_max_retries=2, task_retry_backoff_max_s=1) as farm,
    ):
        yield farm


def _api_calls(api: FarmApi, job_id: str, upload_id: str, photo: bytes) -> dict[str, Callable[[], TestResponse]]:
    return {
        "GET /v1/jobs/<id>": lambda: api.client.get(f"/v1/jobs/{job_id}", headers=api.headers),
        "GET /v1/jobs": lambda: api.client.get("/v1/jobs", headers=api.headers),
        "POST /v1/jobs": lambda: api.submit(upload_id, "during-the-outage"),
        "POST /v1/uploads": lambda: upload(api.client, api.headers, photo),
    }


def test_database_outage_gives_503s_and_everything_completes_after(farm: Farm, proxy: TcpProxy, data_dir):
    photos = distinct_photos(data_dir / "photos" / "chelsea_cat.png", ITEMS + 2, SIZE)
    item_ids = [farm.add_item(photo, tile_size=64) for photo in photos[:ITEMS]]
    worker = farm.start_worker("db")
    answers: dict[str, tuple[int, str, float]] = {}
    try:
        with farm_api(farm) as api:
            upload_id = api.upload(photos[ITEMS])
            before = api.submit(upload_id, "before-the-outage")
            assert before.status_code == 201
            worker.wait_ready()
            with SweeperLoop(farm.settings).running() as sweeper:
                for item_id in item_ids:
                    farm.render(item_id)
                wait_until(lambda: count_items(farm, JobStatus.SUCCEEDED) >= 2, 90, "the batch to be under way", 0.1)
                proxy.cut()
                cut = time.monotonic()
                for name, call in _api_calls(api, before.get_json()["id"], upload_id, photos[-1]).items():
                    asked = time.monotonic()
                    response = call()
                    answers[name] = (response.status_code, response.get_json()["error"], time.monotonic() - asked)
                    assert response.headers.get("Retry-After"), name
                time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - cut)))
                proxy.restore()
                outage_s = time.monotonic() - cut
                during = api.submit(upload_id, "during-the-outage")  # the client's retry
                assert during.status_code == 201, during.get_json()
                api_items = [item["id"] for job in (before, during) for item in job.get_json()["items"]]
                finished = wait_all_finished(farm, item_ids + api_items, 120, [worker])
                recovered_s = time.monotonic() - cut
    finally:
        worker.stop()

    for name, (status, error, seconds) in answers.items():
        assert (status, error) == (503, "database_unavailable"), name
        assert seconds < ANSWER_WITHIN_S, name
    for item in finished.values():
        assert item.status == JobStatus.SUCCEEDED, (item.id, item.error, item.history)
        assert decodes(farm.storage.get_bytes(item.output_key)) == SIZE
    assert count_items(farm, JobStatus.RUNNING) == 0
    log = worker.log()
    celery_retries = log.count(" retry: Retry in ")
    assert "database unavailable on the last attempt" in log
    retried = {
        item.id: [e["event"] for e in item.history if e["event"] in ("retry", "lost")] for item in finished.values()
    }
    slowest = max(seconds for _, _, seconds in answers.values())
    print(
        f"\n{len(finished)} items; database cut for {outage_s:.1f} s; {len(answers)} API calls answered 503 "
        f"(slowest {slowest:.2f} s); {sum(bool(v) for v in retried.values())} items had an interrupted attempt; "
        f"{celery_retries} Celery retries; all finished {recovered_s:.1f} s after the cut; "
        f"{len(sweeper.errors)} sweeps failed, {len(sweeper.requeued)} requeues"
    )
