"""The process groups this test session started, and the last resort that ends them.

Each worker, API or server a test starts leads a process group of its own and is stopped by the
test (or its fixture) by that group, also on failure. Should a stop be skipped (a fixture's
teardown interrupted, a hard timeout), the session's end kills whatever is left of exactly these
groups, so no process outlives the run to take a later run's messages. Nothing is ended by name.
"""

from __future__ import annotations

import contextlib
import os
import signal

STARTED: set[int] = set()


def remember(process_group: int) -> None:
    """Record a group this session started (a child started with ``start_new_session=True``)."""
    STARTED.add(process_group)


def end_leftovers(groups: set[int]) -> list[int]:
    """SIGKILL each group in ``groups`` that still has a member; returns those that had."""
    alive = []
    for group in sorted(groups):
        try:
            os.killpg(group, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue
        alive.append(group)
    for group in alive:  # reap our own children among them, so no zombie stays behind either
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(group, os.WNOHANG)
    return alive
