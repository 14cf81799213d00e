"""Hold an embedded farm's worker processes busy, so a job submitted meanwhile waits in the queue.

Why: tests that pause, resume or cancel a job from a page or the CLI need the job unfinished when
they act. A "long enough" job stopped being long enough once renders got faster (a 2.4 MP photo in
three styles finished in 3 s, before the page's Cancel was clicked). An earlier job on an 18 MP
scan with small tiles keeps both pool processes rendering: three items each, about 15 s per item on
a quiet 2-core machine, so a page has most of a minute (more on a loaded machine) to act on the job
waiting behind it; the blocker is canceled when the test is done with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cli.client import FINISHED

BLOCKER_PHOTO = "bw_covered_wagons.jpg"  # 4764 × 3759
BLOCKER_TILE = 128  # many small tiles: the render is slow, and a cancel stops it at the next tile


@contextmanager
def worker_held_busy(client, data_dir: Path) -> Iterator[str]:
    """Submit the blocker job (three items per pool process); cancel it on the way out. Yields its id."""
    upload = client.upload(data_dir / "photos" / BLOCKER_PHOTO)
    styles = [{"style": f"builtin:{index}"} for index in range(1, 7)]
    body = {"kind": "multi_style", "inputs": [upload["id"]], "styles": styles, "tile_size": BLOCKER_TILE}
    job = client.create_job(body)
    try:
        yield job["id"]
    finally:
        if client.job(job["id"])["status"] not in FINISHED:  # a finished blocker must not hide the test's own failure
            client.cancel(job["id"])


def submit_waiting_job(client, data_dir: Path) -> dict:
    """A three-style job of a real photo, submitted while ``worker_held_busy`` holds the worker: it waits queued."""
    upload = client.upload(data_dir / "photos" / "bayou_cypress.jpg")
    styles = [{"style": f"builtin:{index}"} for index in (1, 2, 4)]
    return client.create_job({"kind": "multi_style", "inputs": [upload["id"]], "styles": styles})
