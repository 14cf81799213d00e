"""Seconds spent in each stage of an item (read, render, encode, store), kept in its history.

Why: the farm's overhead around the engine is what benchmarks/catalogue.py attacks; the stages a
worker recorded say where an item's time went without a profiler attached to the worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class StageClock:
    """Laps of a monotonic clock, each named after the stage it closes (rounded to the millisecond)."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.laps: dict[str, float] = {}
        self._last = clock()

    def lap(self, stage: str) -> None:
        now = self.clock()
        self.laps[stage] = round(self.laps.get(stage, 0.0) + now - self._last, 3)
        self._last = now
