"""How many torch threads each worker pool process takes: the cores shared out among the processes.

Why: torch's default is one OpenMP thread per core in every process, so two pool processes on two
cores run four spinning threads and were measured 10-20x slower than two single-threaded ones. The
pool's real size is read from the Celery worker when it starts (its ``--concurrency``, whatever the
settings say), before it forks the children that inherit it.
"""

from __future__ import annotations

import os
from typing import Any

from shared.settings import Settings

_pool_processes: int | None = None


def remember_pool_size(instance: Any = None, **_: Any) -> None:
    """``celeryd_after_setup`` handler: note the pool size the worker runs with (before the fork)."""
    global _pool_processes
    concurrency = getattr(instance, "concurrency", None)
    _pool_processes = int(concurrency) if isinstance(concurrency, int) and concurrency > 0 else None


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def torch_threads(settings: Settings, processes: int | None = None) -> int:
    """``settings.torch_threads`` when set, otherwise the usable cores divided among the pool's processes."""
    if settings.torch_threads:
        return settings.torch_threads
    pool = processes or _pool_processes or settings.worker_concurrency
    return max(1, usable_cores() // pool)
