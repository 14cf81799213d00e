"""Warm shutdown (SIGTERM) of a worker mid-render hands its item back; another worker finishes it.

Celery's own warm shutdown would wait for the whole render. ``worker/runtime/shutdown.py`` has the main
process signal its busy pool child, which puts the item back to ``queued`` at the next tile and
rejects the message with requeue, so no sweep is needed: the broker redelivers it at once.
"""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from shared.db import JobStatus
from tests.fault_tools import distinct_photos, one_torch_thread
from tests.worker_farm import Farm, open_farm

pytestmark = [pytest.mark.faults, pytest.mark.timeout(150)]

SIZE = (1024, 680)  # 180 tiles of 64 px: seconds of work left when the worker is told to stop


@pytest.fixture(scope="module")
def farm(tmp_path_factory, postgres_session_url):
    with one_torch_thread(), open_farm(tmp_path_factory, postgres_session_url) as farm:
        yield farm


def test_warm_shutdown_hands_the_running_item_back_to_another_worker(farm: Farm, data_dir):
    (photo,) = distinct_photos(data_dir / "photos" / "chelsea_cat.png", 1, SIZE)
    leaving = farm.start_worker("leaving")
    try:
        leaving.wait_ready()
        item_id = farm.add_item(photo, tile_size=64)
        farm.render(item_id)
        running = farm.wait_for_item(item_id, lambda i: i.tiles_done >= 1, 60, "a tile")
        asked = time.monotonic()
        leaving.process.terminate()  # SIGTERM: Celery's warm shutdown
        leaving.process.wait(timeout=30)
        stopped_s = time.monotonic() - asked
    finally:
        leaving.stop()

    handed_back = farm.item(item_id)
    assert handed_back.status == JobStatus.QUEUED and handed_back.worker_id is None
    assert [entry["event"] for entry in handed_back.history] == ["started", "handed_back"]
    assert handed_back.tiles_done == 0 and handed_back.output_key is None
    log = leaving.log()
    assert "hand their items back" in log and "reject requeue=True" in log

    successor = farm.start_worker("successor")
    try:
        successor.wait_ready()
        item = farm.wait_finished(item_id, timeout_s=90)  # the requeued message, no sweep running
    finally:
        successor.stop()
    assert item.status == JobStatus.SUCCEEDED, item.error
    events = [(entry["event"], entry.get("worker_id")) for entry in item.history]
    assert events[:2] == [("started", running.worker_id), ("handed_back", running.worker_id)]
    assert [event for event, _ in events[2:]] == ["started", "succeeded"] and events[2][1] != running.worker_id
    assert Image.open(io.BytesIO(farm.storage.get_bytes(item.output_key))).size == SIZE
    print(
        f"\nworker stopped {stopped_s:.1f} s after SIGTERM with {running.tiles_done}+ of "
        f"{running.tiles_total} tiles done; the item was handed back and finished by another worker"
    )
