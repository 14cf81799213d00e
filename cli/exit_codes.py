"""The exit codes of the ``stylefarm`` client commands: the contract scripts rely on, in one place.

0 success, 1 a job failed (some or all items), 2 usage error or the farm refused the request (4xx),
3 the farm could not be reached or answered with a server error (5xx), 4 the job was canceled,
5 a followed job stopped changing (the follower gave up; the job itself may still end).
Kept free of heavy imports: ``stylefarm --help`` shows them without loading any command.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 a job failed (all or some items); 2 usage error or request refused (4xx: bad input,"
    " unknown style, bad key); 3 farm unreachable or server error (5xx); 4 job canceled; 5 a followed job"
    " stopped changing (see --stall-timeout); 130 interrupted (Ctrl-C: submitted jobs go on)."
)


class ExitCode(IntEnum):
    OK = 0
    JOB_FAILED = 1
    REFUSED = 2
    UNREACHABLE = 3
    CANCELED = 4
    STALLED = 5
    INTERRUPTED = 130  # the shell's code for Ctrl-C


def exit_code_for_jobs(statuses: Iterable[str]) -> ExitCode:
    """The code for finished jobs: any failure wins over a cancel, which wins over success."""
    statuses = set(statuses)
    if "failed" in statuses:
        return ExitCode.JOB_FAILED
    if "canceled" in statuses:
        return ExitCode.CANCELED
    return ExitCode.OK
