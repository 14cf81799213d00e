"""Import torch and the engine without the cyclic garbage collector walking what they create.

Why: ``import torch`` makes ~300,000 tracked objects, and each of them is scanned again by every
collection the allocations trigger (about 400 of them, 30 of the middle generation, during one
import): ~0.3 s of a ~1.6 s import on this 2-core machine. The same objects are walked once more
when the interpreter exits (~0.6 s). They are module-level state that lives as long as the process,
so pausing the collector for the import and then freezing them (``gc.freeze``, the permanent
generation) changes nothing a program can see but the time; the price is the import's own garbage
(~7,000 objects in cycles) kept instead of collected, which a full collection would cost 0.15 s to
find. A worker forks its pool after this, and frozen objects also stay shared with the children
instead of being copied on the first collection (the use the ``gc.freeze`` documentation gives).
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused_for_torch() -> Iterator[None]:
    """Run the enclosed imports with the collector off, then freeze what exists; a no-op once torch is loaded.

    Only the process's first torch import pays, so a process that already has torch (a test run
    calling the command in-process) keeps its collector and its garbage as they were.
    """
    if "torch" in sys.modules or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
