"""Storage failing mid-item: bounded retries, then the item fails with a clear message and no output.

The farm reaches the session's S3 server (moto) through a TCP proxy of the test's own, cut while
an item renders: its upload fails (botocore tries ``s3_max_attempts`` times per call), Celery
retries the item ``task_max_retries`` times, and the last attempt fails it with every reason. No
output key is recorded and no object is left at the output key. With storage back, the same
worker renders the next item.
"""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlsplit

import pytest

from shared.db import JobStatus
from shared.keys import output_key
from tests.fault_tools import TcpProxy, decodes, distinct_photos, one_torch_thread
from tests.worker_farm import Farm, open_farm

pytestmark = [pytest.mark.faults, pytest.mark.timeout(180)]

RETRIES = 2
SIZE = (1024, 680)  # 180 tiles of 64 px: the render is under way when storage goes


@pytest.fixture(scope="module")
def proxy(s3_endpoint: str):
    endpoint = urlsplit(s3_endpoint)
    proxy = TcpProxy((endpoint.hostname or "127.0.0.1", endpoint.port or 80))
    proxy.start()
    yield proxy
    proxy.cut()


@pytest.fixture(scope="module")
def farm(tmp_path_factory, postgres_session_url, proxy: TcpProxy):
    s3 = {
        "storage_backend": "s3",
        "s3_bucket": f"faults-{uuid.uuid4().hex[:12]}",
        "s3_endpoint_url": f"http://127.0.0.1:{proxy.port}",
        "s3_access_key_id": "testing",
        "s3_secret_access_key": "testing",
        # Each S3 call: two tries, a second to connect; each item: two retries a second apart at most.
        "s3_max_attempts": 2,
        "s3_connect_timeout_s": 1.0,
        "s3_read_timeout_s": 5.0,
    }
    limits = {"task_max_retries": RETRIES, "task_retry_backoff_max_s": 1}
    with one_torch_thread(), open_farm(tmp_path_factory, postgres_session_url, **s3, **limits) as farm:
        farm.storage.ensure_bucket()  # type: ignore[attr-defined]
        yield farm


def test_storage_outage_fails_the_item_after_bounded_retries_with_no_output(farm: Farm, proxy: TcpProxy, data_dir):
    slow, quick = distinct_photos(data_dir / "photos" / "chelsea_cat.png", 2, SIZE)
    worker = farm.start_worker("storage")
    try:
        worker.wait_ready()
        item_id = farm.add_item(slow, tile_size=64)
        farm.render(item_id)
        farm.wait_for_item(item_id, lambda i: i.tiles_done >= 1, 60, "the render to be under way")
        proxy.cut()
        cut = time.monotonic()
        item = farm.wait_finished(item_id, timeout_s=90)
        failed_s = time.monotonic() - cut
        proxy.restore()

        assert item.status == JobStatus.FAILED and item.output_key is None and item.output_bytes is None
        events = [entry["event"] for entry in item.history]
        assert events == ["started", "retry"] * RETRIES + ["started", "failed"]
        assert item.attempts == RETRIES + 1
        assert item.error.startswith(f"gave up after {RETRIES + 1} attempts: ")
        assert item.error.count("S3 could not") == RETRIES + 1, item.error
        job = farm.job_of(item_id)
        assert job.status == JobStatus.FAILED
        key = output_key(farm.tenant_id, job.id, 0, item_id, job.params["output_format"])
        assert not farm.storage.exists(key)  # nothing half-written where the output would be

        next_id = farm.add_item(quick, tile_size=64)
        farm.render(next_id)
        following = farm.wait_finished(next_id, timeout_s=90)
    finally:
        worker.stop()
    assert following.status == JobStatus.SUCCEEDED, following.error
    assert decodes(farm.storage.get_bytes(following.output_key)) == SIZE
    print(
        f"\nS3 cut mid-render: item failed after {item.attempts} attempts, {failed_s:.1f} s after the cut, "
        f"with: {item.error[:160]}...; the next item succeeded once S3 was back"
    )
