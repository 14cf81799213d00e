"""Delivering one recorded webhook event: sign it, POST it, record the attempt, retry with backoff.

Why a task of its own on the light queue: a receiver that is slow or down must not hold a render
worker, and its retries (exponential backoff, Celery's ``retry_backoff``) must survive restarts.
Delivery is at least once: a receiver deduplicates by the event ``id``. The target is checked
again before every attempt, since what its host name resolves to may have changed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from celery import Celery, Task
from celery.signals import task_prerun
from sqlalchemy import select

from shared.db import Job, JobItem, utcnow
from shared.db.webhooks import DeliveryStatus, WebhookDelivery
from shared.errors import BadInputError
from shared.queue import DELIVER_WEBHOOK
from shared.settings import Settings
from shared.webhooks.events import send_after_commit
from shared.webhooks.secrets import tenant_secret
from shared.webhooks.signing import SIGNATURE_HEADER, sign
from shared.webhooks.targets import UnresolvedHostError, check_webhook_target
from worker.runtime.context import WorkerContext, get_context

log = logging.getLogger(__name__)

USER_AGENT = "StyleFarm-Webhooks/1"
MAX_ERROR_CHARS = 500


class WebhookAttemptFailed(Exception):
    """The receiver did not answer 2xx in time; Celery retries the task with backoff."""


@dataclass(frozen=True)
class PreparedEvent:
    delivery_id: str
    url: str
    body: bytes
    secret: str


def webhook_task_options(settings: Settings) -> dict[str, Any]:
    """Celery options of ``deliver_webhook``: retries with exponential backoff from ``settings``."""
    return {
        "autoretry_for": (WebhookAttemptFailed,),
        "retry_backoff": True,
        "retry_backoff_max": settings.webhook_retry_backoff_max_s,
        "retry_jitter": True,
        "max_retries": settings.webhook_max_retries,
    }


def _timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def job_data(job: Job, items: list[JobItem]) -> dict[str, Any]:
    """The job as an event carries it: status, error, timings and each item's outcome."""
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "error": job.error,
        "priority": job.priority,
        "created_at": _timestamp(job.created_at),
        "started_at": _timestamp(job.started_at),
        "finished_at": _timestamp(job.finished_at),
        "items": [
            {
                "id": item.id,
                "position": item.position,
                "status": item.status,
                "error": item.error,
                "cached": item.cached,
                "output": (
                    {
                        "format": item.output_format,
                        "bytes": item.output_bytes,
                        "width": item.width,
                        "height": item.height,
                    }
                    if item.output_key
                    else None
                ),
            }
            for item in items
        ],
    }


def event_body(delivery: WebhookDelivery, job: Job, items: list[JobItem]) -> bytes:
    """The JSON body: ``{"id", "type", "created_at", "data"}`` (``id`` is the delivery's, stable on retries)."""
    event = {
        "id": delivery.id,
        "type": delivery.event,
        "created_at": _timestamp(delivery.created_at),
        "data": job_data(job, items),
    }
    return json.dumps(event, separators=(",", ":")).encode()


class WebhookDeliverer:
    """One attempt at one delivery.

    Args:
        final_attempt: no retry follows, so a failed attempt fails the delivery for good.
    """

    def __init__(self, context: WorkerContext, delivery_id: str, *, final_attempt: bool) -> None:
        self.context = context
        self.delivery_id = delivery_id
        self.final_attempt = final_attempt

    def run(self) -> DeliveryStatus | None:
        """Deliver; the final status, None when there was nothing to do. Raises to be retried."""
        prepared = self._prepare()
        if prepared is None:
            return None
        try:
            check_webhook_target(prepared.url, allow_private=self.context.settings.webhook_allow_private)
        except UnresolvedHostError as exc:  # DNS may answer on a later attempt
            status_code, error = None, exc.message
        except BadInputError as exc:  # a target the policy refuses is not retried
            return self._record(None, f"refused target: {exc.message}", final=True)
        else:
            status_code, error = self._post(prepared)
        result = self._record(status_code, error, final=self.final_attempt)
        if result == DeliveryStatus.PENDING:
            raise WebhookAttemptFailed(f"webhook {self.delivery_id} to {prepared.url}: {error}")
        return result

    def _prepare(self) -> PreparedEvent | None:
        """Count the attempt and build the signed event (the attempt counts even if the process dies)."""
        with self.context.sessions.begin() as session:
            delivery = session.get(WebhookDelivery, self.delivery_id, with_for_update=True)
            if delivery is None or delivery.status != DeliveryStatus.PENDING:
                return None
            job = session.get(Job, delivery.job_id)
            if job is None:
                return None
            items = list(session.scalars(select(JobItem).where(JobItem.job_id == job.id).order_by(JobItem.position)))
            delivery.attempts += 1
            return PreparedEvent(
                delivery.id, delivery.url, event_body(delivery, job, items), tenant_secret(session, job.tenant_id)
            )

    def _post(self, prepared: PreparedEvent) -> tuple[int | None, str | None]:
        """POST the body; the response status and, unless it is 2xx, what went wrong."""
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(prepared.secret, prepared.body),
            "StyleFarm-Event-Id": prepared.delivery_id,
        }
        try:
            # No redirects: a redirect could lead to an address the target check would refuse.
            response = requests.post(
                prepared.url,
                data=prepared.body,
                headers=headers,
                timeout=self.context.settings.webhook_timeout_s,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            return None, f"{exc.__class__.__name__}: {exc}"[:MAX_ERROR_CHARS]
        response.close()
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"the receiver answered HTTP {response.status_code}"

    def _record(self, status_code: int | None, error: str | None, *, final: bool) -> DeliveryStatus:
        with self.context.sessions.begin() as session:
            delivery = session.get(WebhookDelivery, self.delivery_id, with_for_update=True)
            if delivery is None:
                return DeliveryStatus.FAILED
            delivery.response_status = status_code
            delivery.last_error = error
            if error is None:
                delivery.status = DeliveryStatus.DELIVERED
                delivery.delivered_at = utcnow()
            elif final:
                delivery.status = DeliveryStatus.FAILED
            status = DeliveryStatus(delivery.status)
        log.info("webhook %s: %s (%s)", self.delivery_id, status, error or status_code)
        return status


def deliver_webhook(task: Task, delivery_id: str) -> None:
    """POST one recorded event to its callback URL (Celery retries failed attempts with backoff)."""
    final_attempt = task.request.retries >= (task.max_retries or 0)
    WebhookDeliverer(get_context(), delivery_id, final_attempt=final_attempt).run()


def register_webhook_task(app: Celery, settings: Settings) -> None:
    """Register ``deliver_webhook`` on ``app``, and have every task's commits send their events.

    Why a signal: the worker's session factory is built lazily in each pool process, so the
    after-commit hook is attached there, on the first task the process runs.
    """
    app.task(name=DELIVER_WEBHOOK, bind=True, shared=False, **webhook_task_options(settings))(deliver_webhook)

    def attach(sender: Task | None = None, **_: Any) -> None:
        if sender is not None and sender.app is app:
            send_after_commit(get_context().sessions, app)

    task_prerun.connect(attach, weak=False, dispatch_uid=f"stylefarm.webhooks.{id(app)}")
