"""Renders past their time limits fail their item with a message, and the worker goes on serving.

The soft limit raises inside the render (the executor fails the item). The hard limit kills the
pool child; the worker's main process fails the item at once (``worker/runtime/time_limits.py``) instead of
leaving it running until the sweep. To overrun the limits whatever the machine's load, the test
SIGSTOPs the pool child mid-render: for the soft case it resumes it (SIGCONT) once the soft limit
has passed, and the pending soft-limit signal is raised in the render; for the hard case it leaves
it stopped, as a render stuck in a driver call, so only the hard limit (SIGTERM, then SIGKILL from
billiard) ends it.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from shared.db import JobItem, JobStatus
from tests.fault_tools import distinct_photos, one_torch_thread
from tests.worker_farm import Farm, WorkerProcess, open_farm, wait_until
from worker.runtime.time_limits import hard_limit_message

pytestmark = [pytest.mark.faults, pytest.mark.timeout(150)]

# Room for a first render that loads the networks on a busy machine, under the soft limit.
SOFT_LIMIT_S = 6
HARD_LIMIT_S = 9
SLOW_SIZE = (1024, 680)  # 180 tiles of 64 px: still running when the test stops it
PHOTO = "chelsea_cat.png"


@pytest.fixture(scope="module")
def farm(tmp_path_factory, postgres_session_url):
    with (
        one_torch_thread(),
        open_farm(
            tmp_path_factory, postgres_session_url, task_soft_time_limit_s=SOFT_LIMIT_S, task_time_limit_s=HARD_LIMIT_S
        ) as farm,
    ):
        yield farm


@pytest.fixture(scope="module")
def photos(data_dir) -> tuple[list[bytes], list[bytes]]:
    """Two slow photos and three quick ones, all different (no item reuses another's output)."""
    slow = distinct_photos(data_dir / "photos" / PHOTO, 2, SLOW_SIZE)
    return slow, distinct_photos(data_dir / "photos" / PHOTO, 3, (128, 96))


@pytest.fixture(scope="module")
def worker(farm: Farm, photos):
    """A worker whose pool process has loaded the networks (a first render)."""
    worker = farm.start_worker("limits")
    try:
        worker.wait_ready()
        _quick_item_succeeds_on(farm, worker, photos[1][0])
        yield worker
    finally:
        worker.stop()


def _quick_item_succeeds_on(farm: Farm, worker: WorkerProcess, photo: bytes) -> str:
    """Render a small item; it must succeed on the same (still running) worker. Its worker id."""
    item_id = farm.add_item(photo)
    farm.render(item_id)
    item = farm.wait_finished(item_id, timeout_s=60)
    assert item.status == JobStatus.SUCCEEDED, item.error
    assert worker.process.poll() is None
    return item.worker_id


def _stop_child_mid_render(farm: Farm, photo: bytes) -> tuple[str, int, float]:
    """Send a slow item and SIGSTOP its pool process once it runs: item id, child pid, send time."""
    item_id = farm.add_item(photo, tile_size=64)
    sent = time.monotonic()
    farm.render(item_id)
    running: JobItem = farm.wait_for_item(item_id, lambda i: i.status == JobStatus.RUNNING, 30, "the item to start")
    child = int(running.worker_id.rpartition(":")[2])
    os.kill(child, signal.SIGSTOP)
    return item_id, child, sent


def test_soft_time_limit_fails_the_item_and_the_worker_serves_the_next(farm: Farm, worker, photos):
    (slow, _), (_, quick, _) = photos
    item_id, child, sent = _stop_child_mid_render(farm, slow)
    try:
        wait_until(lambda: f"Soft time limit ({SOFT_LIMIT_S}s) exceeded" in worker.log(), 30, "the soft limit")
    finally:
        os.kill(child, signal.SIGCONT)
    item = farm.wait_finished(item_id, timeout_s=30)
    failed_after = time.monotonic() - sent

    assert item.status == JobStatus.FAILED and item.output_key is None
    assert item.error == f"exceeded the time limit of {SOFT_LIMIT_S} s"
    assert item.tiles_done < item.tiles_total or item.tiles_total == 0  # stopped before the end
    assert farm.job_of(item_id).status == JobStatus.FAILED
    assert _quick_item_succeeds_on(farm, worker, quick) == item.worker_id  # the same pool process
    print(f"\nsoft limit {SOFT_LIMIT_S} s: item failed {failed_after:.1f} s after it was sent")


def test_hard_time_limit_fails_the_item_at_once_and_a_new_child_serves_the_next(farm: Farm, worker, photos):
    (_, slow), (_, _, quick) = photos
    item_id, child, sent = _stop_child_mid_render(farm, slow)  # stuck: not even the soft limit's handler runs
    item = farm.wait_finished(item_id, timeout_s=30)
    failed_after = time.monotonic() - sent

    assert item.status == JobStatus.FAILED and item.output_key is None
    assert item.error == hard_limit_message(HARD_LIMIT_S)
    # Failed by the main process right at the limit, not by a sweep after a stale heartbeat.
    assert [entry["event"] for entry in item.history] == ["started", "failed"]
    wait_until(
        lambda: f"Hard time limit ({HARD_LIMIT_S}s) exceeded" in worker.log(), 10, "Celery's hard-limit log line"
    )
    wait_until(lambda: not Path(f"/proc/{child}").exists(), 15, "the stuck child to be killed")
    next_worker = _quick_item_succeeds_on(farm, worker, quick)
    assert next_worker != item.worker_id  # the killed child was replaced; the worker goes on
    print(
        f"\nhard limit {HARD_LIMIT_S} s: item failed {failed_after:.1f} s after it was sent; "
        f"child {item.worker_id} replaced by {next_worker}"
    )
