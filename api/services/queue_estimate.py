"""Where a job stands in the farm's queue, and a rough time until it is done.

An estimate, said as one: items of earlier jobs still queued or running are ahead (the farm works
roughly first come, first served; priorities and the interactive queue can overtake), each takes
the mean render time of the farm's recent items, and as many run at once as are running now.
Counts only: nothing of other tenants' jobs is shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.db import Job, JobItem, JobStatus


@dataclass(frozen=True)
class QueueEstimate:
    items_ahead: int  # queued or running items of jobs submitted earlier
    items_left: int  # this job's items not finished yet
    running_now: int  # items rendering on the farm now (how many run at once)
    mean_item_s: float | None  # recent items' mean render time; None before the farm rendered any
    eta_s: float | None  # seconds until this job's last item should finish


def rendered_seconds(history: Iterable[Any]) -> float | None:
    """Seconds the last ``succeeded`` event of an item's history took to render (None if reused or unknown)."""
    for entry in reversed(list(history or [])):
        if isinstance(entry, dict) and entry.get("event") == JobStatus.SUCCEEDED.value:
            if entry.get("cached_from"):
                return None
            seconds = entry.get("seconds")
            return float(seconds) if isinstance(seconds, int | float) and seconds > 0 else None
    return None


def _mean_recent_seconds(session: Session, window: int) -> float | None:
    histories = session.scalars(
        select(JobItem.history)
        .where(JobItem.status == JobStatus.SUCCEEDED, JobItem.cached.is_(False))
        .order_by(JobItem.finished_at.desc())
        .limit(window)
    )
    seconds = [value for value in map(rendered_seconds, histories) if value is not None]
    return sum(seconds) / len(seconds) if seconds else None


def estimate(session: Session, job: Job, window: int) -> QueueEstimate:
    """``job``'s place in the queue and its estimated time left (``window``: recent items averaged)."""
    unfinished = (JobStatus.QUEUED, JobStatus.RUNNING)
    ahead = session.scalar(
        select(func.count())
        .select_from(JobItem)
        .join(Job, Job.id == JobItem.job_id)
        .where(JobItem.status.in_(unfinished), Job.created_at < job.created_at, Job.status != JobStatus.PAUSED)
    )
    left = session.scalar(
        select(func.count()).where(JobItem.job_id == job.id, JobItem.status.in_((*unfinished, JobStatus.PAUSED)))
    )
    running = session.scalar(select(func.count()).where(JobItem.status == JobStatus.RUNNING))
    mean = _mean_recent_seconds(session, window)
    eta = None
    if mean is not None and not JobStatus(job.status).finished:
        eta = (int(ahead or 0) + int(left or 0)) * mean / max(1, int(running or 0))
    if JobStatus(job.status).finished:
        eta = 0.0
    return QueueEstimate(int(ahead or 0), int(left or 0), int(running or 0), mean, eta)
