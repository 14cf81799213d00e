"""Recording that a finished job owes its callback URL an event, and sending it after commit.

Why a row first and a task after commit: the delivery row is written in the very transaction that
finishes the job, so the event cannot be lost or sent for a change that was rolled back; the
``deliver_webhook`` task is sent only once that transaction committed. If sending fails (broker
down, process killed in between), the row stays pending with no attempts, and the sweeper sends it
later (``enqueue_stalled_deliveries``). Used by the API (cancel) and the worker (items finishing),
so no torch and no Flask here.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from celery import Celery
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from shared.db import Job, JobStatus, new_id
from shared.db.webhooks import DeliveryStatus, WebhookDelivery
from shared.queue import enqueue_webhook

log = logging.getLogger(__name__)

PENDING_KEY = "stylefarm.webhook_deliveries"  # ids in ``Session.info`` waiting for the commit
_LISTENING_ATTR = "_stylefarm_webhook_app"
STALLED_AFTER = timedelta(minutes=1)  # a pending delivery never attempted this long was not enqueued


def record_job_event(session: Session, job: Job) -> WebhookDelivery | None:
    """Owe ``job``'s callback URL a ``job.<status>`` event, if it has one and just finished.

    Call after the job's status changed, in the same transaction. Idempotent per event: a job
    finishes once, but the paths that finish it may run this again.
    """
    if not job.callback_url or not JobStatus(job.status).finished:
        return None
    event_type = f"job.{job.status}"
    already = session.scalar(
        select(WebhookDelivery.id).where(WebhookDelivery.job_id == job.id, WebhookDelivery.event == event_type)
    )
    if already is not None:
        return None
    delivery = WebhookDelivery(id=new_id(), job_id=job.id, event=event_type, url=job.callback_url)
    session.add(delivery)
    session.info.setdefault(PENDING_KEY, []).append(delivery.id)
    return delivery


def send_after_commit(sessions: sessionmaker[Session], app: Celery) -> None:
    """Make every session of ``sessions`` send its recorded deliveries through ``app`` once committed."""

    def after_commit(session: Session) -> None:
        for delivery_id in session.info.pop(PENDING_KEY, []):
            try:
                enqueue_webhook(app, delivery_id)
            except Exception as exc:  # the sweeper sends it later; the commit must not fail here
                log.warning("could not enqueue webhook delivery %s (%s); the sweeper will", delivery_id, exc)

    def after_rollback(session: Session) -> None:
        session.info.pop(PENDING_KEY, None)

    if getattr(sessions, _LISTENING_ATTR, None) is app:
        return  # already set up (workers call this on every task)
    setattr(sessions, _LISTENING_ATTR, app)
    event.listen(sessions, "after_commit", after_commit)
    event.listen(sessions, "after_soft_rollback", lambda session, _previous: after_rollback(session))


def stalled_deliveries(session: Session, now: datetime) -> list[str]:
    """Pending deliveries never attempted for ``STALLED_AFTER``: their task was never sent."""
    return list(
        session.scalars(
            select(WebhookDelivery.id).where(
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.attempts == 0,
                WebhookDelivery.created_at < now - STALLED_AFTER,
            )
        )
    )


def enqueue_stalled_deliveries(sessions: sessionmaker[Session], app: Celery, now: datetime) -> list[str]:
    """Send a delivery task for each stalled delivery (the sweeper's share of the webhooks)."""
    with sessions() as session:
        ids = stalled_deliveries(session, now)
    for delivery_id in ids:
        enqueue_webhook(app, delivery_id)
    return ids


def delivery_summary(delivery: WebhookDelivery) -> dict[str, Any]:
    """What a job response shows of one delivery."""
    return {
        "id": delivery.id,
        "event": delivery.event,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "response_status": delivery.response_status,
        "last_error": delivery.last_error,
        "delivered_at": delivery.delivered_at,
    }
