"""A small thread pool for the CLI's uploads and downloads, which wait on the network, not the CPU."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_in_threads(function: Callable[[T], R], items: Iterable[T], threads: int) -> list[R]:
    """``[function(item) for item in items]`` on ``threads`` threads, in order.

    The first error is raised as soon as it is met and the calls not yet started are dropped, so a
    refused upload does not wait for the rest of a large batch to go through first.
    """
    pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="stylefarm-io")
    try:
        futures = [pool.submit(function, item) for item in items]
        return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
