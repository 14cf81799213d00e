"""Video encoders must not leave the thread that drives them at real-time priority.

Why: SVT-AV1 (FFmpeg's ``libsvtav1``, the AV1 encoder in PyAV's wheels), when the process may
(root, or ``CAP_SYS_NICE``), switches the calling thread to ``SCHED_FIFO`` at priority 99 during
its first encode and leaves it there. Every process that thread starts later inherits the policy:
a worker's renders, or a test session's farms, then run at real-time priority, and an API process
on the same cores answers only when a render blocks (seen: uploads and resumes answered when an
item finished, 15-30 s late, and a CI run that hung with two real-time browser renderers spinning).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

Scheduling = tuple[int, os.sched_param]


def current_scheduling() -> Scheduling:
    """This thread's scheduling policy and its parameters (the priority)."""
    return os.sched_getscheduler(0), os.sched_getparam(0)


def restore_scheduling(before: Scheduling) -> bool:
    """Set this thread back to ``before``; returns whether it had been changed."""
    if current_scheduling() == before:
        return False
    os.sched_setscheduler(0, *before)
    return True


@contextmanager
def scheduling_kept() -> Iterator[None]:
    """Put this thread's scheduling policy and priority back as they were once the block ends."""
    before = current_scheduling()
    try:
        yield
    finally:
        restore_scheduling(before)
