"""``/healthz`` (the process answers) and ``/readyz`` (its database, broker and storage answer too).

Why two: an orchestrator restarts a process whose liveness fails, but only takes one out of the
load balancer when readiness fails — a database outage must not restart every API process.
Each readiness check is bounded in time, so the probe answers even when a dependency hangs.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Blueprint
from spectree import Response as Responses
from sqlalchemy import text

from api.auth.bearer import public
from api.extensions import db, object_store, task_queue
from api.openapi import NO_AUTH, spec
from api.schemas import AliveOut, CheckOut, ReadyOut

BROKER_TIMEOUT_S = 2.0
STORAGE_PROBE_KEY = "health/probe"

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
@spec.validate(resp=Responses(HTTP_200=AliveOut), tags=["health"], security=NO_AUTH)
def healthz() -> AliveOut:
    """Liveness: the process answers (nothing else is checked)."""
    return AliveOut(status="alive")


def _check_database() -> None:
    with db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _check_broker() -> None:
    with task_queue.celery.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0.1, timeout=BROKER_TIMEOUT_S)


def _check_storage() -> None:
    object_store.storage.exists(STORAGE_PROBE_KEY)  # a missing object is fine; an unreachable store raises


def _run(check: Callable[[], None]) -> CheckOut:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # a failed dependency is the answer here, not an error of this request
        detail: str | None = f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ok = False
    else:
        detail, ok = None, True
    return CheckOut(ok=ok, detail=detail, duration_ms=round((time.perf_counter() - started) * 1000, 1))


@bp.get("/readyz")
@public
@spec.validate(resp=Responses(HTTP_200=ReadyOut, HTTP_503=ReadyOut), tags=["health"], security=NO_AUTH)
def readyz() -> tuple[ReadyOut, int]:
    """Readiness: the database, the broker and the storage each answer (503 with reasons if not)."""
    checks = {"database": _run(_check_database), "broker": _run(_check_broker), "storage": _run(_check_storage)}
    ready = all(check.ok for check in checks.values())
    return ReadyOut(status="ready" if ready else "unavailable", checks=checks), 200 if ready else 503
