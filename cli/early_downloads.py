"""Fetching outputs while the rest of a batch still renders, named only once the batch is done.

Why: ``submit --download`` used to wait for every job, then download everything; the outputs that
finished first sat on the farm while the last items rendered. Here each succeeded item is fetched
as soon as a poll shows it, into a hidden file named by its item id in the download folder. The
readable names (``cli.download.plan_downloads``) still depend on the whole batch, so they are given
at the end as before, and an early file is only renamed into place (same folder: an atomic rename).
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from cli.client import ClientError, FarmClient
from cli.download import PlannedDownload


def _wanted(item: dict[str, Any]) -> bool:
    return item.get("status") == "succeeded" and bool(item.get("download_url")) and item.get("role") != "segment"


class EarlyDownloads:
    """A pool of ``threads`` downloading succeeded items as polls report them (see module docstring)."""

    def __init__(self, client: FarmClient, folder: Path, threads: int) -> None:
        self.client = client
        self.folder = folder
        self.pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="stylefarm-early")
        self.started: dict[str, tuple[Future[Path], Path]] = {}

    def offer(self, jobs: list[dict[str, Any]]) -> None:
        """Start fetching every succeeded item of ``jobs`` not fetched yet."""
        for job in jobs:
            for item in job.get("items", []):
                if _wanted(item) and item["id"] not in self.started:
                    early = self.folder / f".{item['id']}.early"
                    future = self.pool.submit(self.client.download, item["download_url"], early)
                    self.started[item["id"]] = (future, early)

    def finish(self, planned: list[PlannedDownload]) -> list[Path]:
        """Put every planned output in place: renamed from its early file, or fetched now when it has none
        (or when the early fetch failed). Early files nobody planned are removed."""
        try:
            for plan in planned:
                early = self.started.pop(plan.item["id"], None)
                if early is not None and self._fetched(early[0]):
                    plan.destination.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(early[1], plan.destination)
                else:
                    self.client.download(plan.item["download_url"], plan.destination)
            return [plan.destination for plan in planned]
        finally:
            self.close()

    def close(self) -> None:
        """Stop: wait for running fetches (queued ones are dropped), remove their files."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        for _future, path in self.started.values():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self.started.clear()

    @staticmethod
    def _fetched(future: Future[Path]) -> bool:
        try:
            future.result()
        except (ClientError, OSError, requests.RequestException):
            return False  # fetched again under its planned name, which reports the error if it persists
        return True
