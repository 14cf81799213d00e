"""The cap on a tenant's unfinished work: one tenant cannot fill the queue for everyone.

Why count items, not jobs: an item is the unit a worker renders, and one job may hold thousands.
The tenant's row is locked (``FOR NO KEY UPDATE`` on PostgreSQL, so inserts that reference the
tenant are not blocked) until the submitting transaction commits: two concurrent submissions
cannot both see room for the last free places.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth.rate_limit import RateLimitedError
from shared.db import Job, JobItem, JobStatus, Tenant
from shared.settings import Settings

UNFINISHED = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.PAUSED)
QUEUE_FULL_RETRY_AFTER_S = 30  # items take seconds to minutes each; sooner would only be refused again


def unfinished_items(session: Session, tenant_id: str) -> int:
    """How many of the tenant's items are queued, running or paused."""
    stmt = (
        select(func.count(JobItem.id))
        .join(Job, Job.id == JobItem.job_id)
        .where(Job.tenant_id == tenant_id, Job.status.in_(UNFINISHED), JobItem.status.in_(UNFINISHED))
    )
    return session.scalar(stmt) or 0


def reserve_queue_room(session: Session, settings: Settings, tenant_id: str, new_items: int) -> None:
    """Lock the tenant and refuse (429) when ``new_items`` more would pass ``max_queued_items_per_tenant``."""
    session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update(key_share=True))
    waiting = unfinished_items(session, tenant_id)
    limit = settings.max_queued_items_per_tenant
    if waiting + new_items > limit:
        raise RateLimitedError(
            f"you have {waiting:,} unfinished items and this job adds {new_items:,}; at most {limit:,} may wait "
            "at once. Retry when some have finished",
            retry_after_s=QUEUE_FULL_RETRY_AFTER_S,
            details={"unfinished_items": waiting, "new_items": new_items, "max_queued_items_per_tenant": limit},
        )
