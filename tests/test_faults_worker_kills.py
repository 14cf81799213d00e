"""Workers SIGKILLed mid-render, again and again, during a batch: every item still ends succeeded.

Two kinds of kill alternate: the pool child alone (the kernel's OOM killer; the main process
hands the message back at once) and the whole worker with its child (a machine gone; the
sweeper finds the stale heartbeat and requeues the item, and a fresh worker is started). The
promise checked: each item succeeded once, its output exists exactly once and decodes, and
nothing is left running.
"""

from __future__ import annotations

import os
import signal
import time
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import select

from shared.db import JobItem, JobStatus
from tests.fault_tools import SweeperLoop, count_items, decodes, distinct_photos, one_torch_thread, wait_all_finished
from tests.worker_farm import Farm, open_farm, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.timeout(240)]

ITEMS = 20
SIZE = (512, 340)  # 48 tiles of 64 px: about half a second of rendering, time enough to aim a kill
KILLS = ("child", "worker", "child", "worker", "child")


@pytest.fixture(scope="module")
def farm(tmp_path_factory, postgres_session_url):
    with one_torch_thread(), open_farm(tmp_path_factory, postgres_session_url) as farm:
        yield farm


def _parent_pid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[1])


def _mid_render(farm: Farm, candidates: set[str]) -> JobItem | None:
    """A first-attempt item with at least one tile done and more to go, if any."""
    with farm.sessions() as session:
        return session.scalars(
            select(JobItem).where(
                JobItem.id.in_(candidates),
                JobItem.status == JobStatus.RUNNING,
                JobItem.attempts == 1,
                JobItem.tiles_done >= 1,
                JobItem.tiles_done < JobItem.tiles_total,
            )
        ).first()


def test_batch_survives_repeated_sigkills_mid_render(farm: Farm, data_dir):
    photos = distinct_photos(data_dir / "photos" / "chelsea_cat.png", ITEMS, SIZE)
    item_ids = [farm.add_item(photo, tile_size=64) for photo in photos]
    workers = [farm.start_worker(f"kill-{n}") for n in range(2)]
    restarts = 0
    try:
        for worker in workers:
            worker.wait_ready()
        started = time.monotonic()
        targeted: list[tuple[str, str]] = []
        with SweeperLoop(farm.settings).running() as sweeper:
            for item_id in item_ids:
                farm.render(item_id)
            for kind in KILLS:
                untouched = set(item_ids) - {item_id for item_id, _ in targeted}
                item = wait_until(partial(_mid_render, farm, untouched), 60, "an item mid-render", interval_s=0.02)
                child = int(item.worker_id.rpartition(":")[2])
                if kind == "child":
                    os.kill(child, signal.SIGKILL)
                else:
                    victim = next(w for w in workers if w.process.pid == _parent_pid(child))
                    victim.kill()
                    workers.remove(victim)
                    restarts += 1
                    workers.append(farm.start_worker(f"kill-restart-{restarts}"))
                targeted.append((item.id, kind))
            finished = wait_all_finished(farm, item_ids, 120, workers)
        elapsed = time.monotonic() - started
    finally:
        for worker in workers:
            worker.stop()

    for item_id, item in finished.items():
        assert item.status == JobStatus.SUCCEEDED, (item_id, item.error, item.history)
        assert [entry["event"] for entry in item.history].count("succeeded") == 1
        assert farm.job_of(item_id).status == JobStatus.SUCCEEDED
    hit = [
        (item_id, kind) for item_id, kind in targeted if any(e["event"] == "lost" for e in finished[item_id].history)
    ]
    assert len(hit) >= 3, f"only {len(hit)} of {len(targeted)} kills landed mid-render: {targeted}"

    # Exactly one file per item under the tenant's outputs (no leftovers of killed attempts), each decodes.
    stored = sorted(p for p in (farm.settings.storage_root / "outputs" / farm.tenant_id).rglob("*") if p.is_file())
    assert len(stored) == ITEMS
    assert {path.relative_to(farm.settings.storage_root).as_posix() for path in stored} == {
        item.output_key for item in finished.values()
    }
    assert all(decodes(path.read_bytes()) == SIZE for path in stored)
    assert count_items(farm, JobStatus.RUNNING) == 0

    attempts = sum(item.attempts for item in finished.values())
    print(
        f"\n{ITEMS} items, {len(targeted)} kills ({len(hit)} mid-render: "
        f"{sum(k == 'child' for _, k in hit)} child, {sum(k == 'worker' for _, k in hit)} whole worker), "
        f"{restarts} worker restarts, {len(sweeper.requeued)} sweeper requeues, {attempts} attempts in all; "
        f"batch done in {elapsed:.1f} s"
    )
