"""Killed workers: an item whose worker died mid-render is rendered again and ends succeeded.

Two ways a worker dies, two ways back:
- the whole worker (main process and child) is SIGKILLed, as when its machine dies: its Redis
  message stays unacknowledged until the visibility timeout (600 s here, hours in production), so
  ``run_sweep_once`` finds the item's stale heartbeat and enqueues it again for a new worker;
- only the pool child is SIGKILLed, as by the kernel's OOM killer: the main process hands the
  message back at once (``task_reject_on_worker_lost``) and its next child takes the item over,
  seeing that the recorded owner process no longer exists.
"""

from __future__ import annotations

import io
import os
import signal
import time

import pytest
from PIL import Image

from shared.db import JobStatus
from tests.worker_farm import Farm, open_farm, png_bytes, wait_until
from worker.runtime.sweeper import run_sweep_once


@pytest.fixture(scope="module")
def farm(tmp_path_factory, postgres_session_url):
    # Both tests render the same photo: without the result cache the second really renders.
    with open_farm(tmp_path_factory, postgres_session_url, result_cache_enabled=False) as farm:
        yield farm


@pytest.fixture(scope="module")
def big_cat(data_dir) -> bytes:
    """902 × 600 rendered in 128 px tiles: 40 tiles, a few seconds, time enough to kill a worker."""
    return png_bytes(Image.open(data_dir / "photos" / "chelsea_cat.png").resize((902, 600)))


def _kill_mid_render(farm: Farm, item_id: str) -> tuple[str, int]:
    """Wait until the item is running with tiles done; its worker id and the child's pid."""
    item = farm.wait_for_item(item_id, lambda i: i.status == JobStatus.RUNNING and i.tiles_done >= 1, 60, "a tile")
    assert item.tiles_done < item.tiles_total
    return item.worker_id, int(item.worker_id.rpartition(":")[2])


def _assert_rendered_after_a_lost_attempt(farm: Farm, item_id: str, first_worker: str) -> None:
    item = farm.wait_finished(item_id, timeout_s=90)
    assert item.status == JobStatus.SUCCEEDED, item.error
    history = [(entry["event"], entry.get("worker_id")) for entry in item.history]
    second_worker = history[2][1]
    assert history == [
        ("started", first_worker),
        ("lost", first_worker),
        ("started", second_worker),
        ("succeeded", second_worker),
    ]
    assert second_worker != first_worker and item.attempts == 2
    output = Image.open(io.BytesIO(farm.storage.get_bytes(item.output_key)))
    assert output.size == (902, 600) and farm.job_of(item_id).status == JobStatus.SUCCEEDED


def test_worker_killed_mid_render_item_is_redelivered_and_succeeds(farm: Farm, big_cat):
    doomed = farm.start_worker("doomed")
    doomed.wait_ready()
    item_id = farm.add_item(big_cat, tile_size=128)
    farm.render(item_id)
    first_worker, _child = _kill_mid_render(farm, item_id)
    doomed.kill()  # main process and child together: nobody hands the message back
    killed = time.monotonic()

    rescuer = farm.start_worker("rescuer")
    try:
        rescuer.wait_ready()
        # The heartbeat goes stale after heartbeat_timeout_s (3 s here); then the sweep requeues it.
        wait_until(lambda: item_id in run_sweep_once(farm.settings), 30, "the sweep to requeue the item", 0.5)
        requeued = time.monotonic()
        _assert_rendered_after_a_lost_attempt(farm, item_id, first_worker)
        print(
            f"\nkilled worker's item requeued {requeued - killed:.1f} s after the kill, "
            f"rendered {time.monotonic() - requeued:.1f} s later"
        )
    finally:
        rescuer.stop()


def test_pool_child_killed_mid_render_is_taken_over_by_the_next_child(farm: Farm, big_cat):
    worker = farm.start_worker("oom")
    try:
        worker.wait_ready()
        item_id = farm.add_item(big_cat, tile_size=128)
        farm.render(item_id)
        first_worker, child = _kill_mid_render(farm, item_id)
        os.kill(child, signal.SIGKILL)
        killed = time.monotonic()
        _assert_rendered_after_a_lost_attempt(farm, item_id, first_worker)
        print(f"\nchild {child} killed; the item was rendered again {time.monotonic() - killed:.1f} s later")
        assert "WorkerLostError" in worker.log()
    finally:
        worker.stop()
