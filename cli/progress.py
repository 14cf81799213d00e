"""Following jobs from the terminal: one tqdm bar per job, filled by items and their tiles.

Bars go to stderr, so ``--json`` output on stdout stays parseable while people watch progress.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from tqdm import tqdm

from cli.client import FINISHED, FarmClient

BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}{postfix}]"  # tqdm puts ", " before a postfix


def progress_bar(job: dict[str, Any], position: int = 0, disable: bool = False) -> tqdm:
    return tqdm(
        total=1, desc=f"job {job['id'][:8]}", position=position, leave=True, disable=disable, bar_format=BAR_FORMAT
    )


def finished_share(job: dict[str, Any]) -> float:
    """Items done, counting a running item by the share of its tiles rendered.

    The job's own tile sum only covers items a worker has already measured, so on its own it would
    show a full bar while later items have not started.
    """
    share = 0.0
    for item in job.get("items", []):
        if item["status"] in FINISHED:
            share += 1.0
        elif item.get("tiles_total"):
            share += item["tiles_done"] / item["tiles_total"]
    return share


def update_bar(bar: tqdm, job: dict[str, Any]) -> None:
    progress = job.get("progress", {})
    bar.total = max(progress.get("items_total", 0), 1)
    bar.n = min(finished_share(job), bar.total)
    bar.set_postfix_str(
        f"items {progress.get('items_done', 0)}/{progress.get('items_total', 0)},"
        f" tiles {progress.get('tiles_done', 0)}/{progress.get('tiles_total', 0)}, {job['status']}"
    )
    bar.refresh()


class JobStalled(Exception):
    """A followed job's document did not change for the stall timeout (no progress, no heartbeat)."""

    def __init__(self, job: dict[str, Any], idle_s: float) -> None:
        counts = Counter(item["status"] for item in job.get("items", []))
        states = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
        super().__init__(
            f"job {job['id']} has not changed for {idle_s:.0f} s ({job['status']}; items: {states or 'none'});"
            f" stopped following it (it may still end: stylefarm status {job['id']})"
        )
        self.job = job


def wait_all(
    client: FarmClient,
    jobs: list[dict[str, Any]],
    show_progress: bool = True,
    stall_timeout_s: float = 0.0,
    clock: Callable[[], float] = time.monotonic,
    on_poll: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """Poll every unfinished job until all have finished; returns their final documents, in order.

    ``on_poll`` sees the latest documents after each round of polls (early downloads start there).

    Raises ``JobStalled`` when a job's document stays the same for ``stall_timeout_s`` (0: never).
    Running items report heartbeats, so an unchanged document means no worker is moving the job.
    """
    jobs = list(jobs)
    bars = [progress_bar(job, position, disable=not show_progress) for position, job in enumerate(jobs)]
    pending = [index for index, job in enumerate(jobs) if job["status"] not in FINISHED]
    changed_at = [clock()] * len(jobs)

    def poll() -> dict[str, Any]:
        for index in list(pending):
            previous, jobs[index] = jobs[index], client.job(jobs[index]["id"])
            update_bar(bars[index], jobs[index])
            if jobs[index]["status"] in FINISHED:
                pending.remove(index)
            elif jobs[index] != previous:
                changed_at[index] = clock()
            elif stall_timeout_s and clock() - changed_at[index] > stall_timeout_s:
                raise JobStalled(jobs[index], clock() - changed_at[index])
        if on_poll is not None:
            on_poll(jobs)
        return {"pending": len(pending)}

    try:
        for bar, job in zip(bars, jobs, strict=True):
            update_bar(bar, job)
        client.wait_for(poll, lambda state: state["pending"] == 0)
    finally:
        for bar in bars:
            bar.close()
    return jobs
