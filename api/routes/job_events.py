"""``GET /v1/jobs/<id>/events``: a job's status as server-sent events, pushed when it changes.

Why a bounded stream: the API runs under gunicorn's sync workers, where one open response holds
one worker and a response longer than gunicorn's timeout gets the worker killed. So a stream
lasts at most ``job_events_max_s``, then ends with a ``retry`` hint and the client reconnects
(``EventSource`` does so by itself; the web page reads the stream with ``fetch`` because
``EventSource`` cannot send the ``Authorization`` header). Between polls of the database the
session is closed, so an open stream does not hold a database connection.

Events (https://html.spec.whatwg.org/multipage/server-sent-events.html):
``job`` — the job document (as ``GET /v1/jobs/<id>``) whenever it differs from the last one sent;
``end`` — the job has finished (or was deleted: status ``gone``), the stream closes; comments
(``: keep-alive``) while nothing changes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from flask import Blueprint, Response, stream_with_context
from spectree import Response as Responses

from api.auth.bearer import current_tenant_id
from api.common import job_items, tenant_job
from api.extensions import app_settings, db
from api.openapi import describe
from api.schemas import ErrorOut
from api.serializers import job_out
from shared.db import JobStatus
from shared.errors import NotFoundError

bp = Blueprint("job_events", __name__, url_prefix="/v1/jobs")

RECONNECT_MS = 500  # the ``retry`` hint sent when a stream ends before its job does


def sse_message(event: str, data: str) -> str:
    """One server-sent event; ``data`` must be a single line (JSON dumped without indentation is)."""
    return f"event: {event}\ndata: {data}\n\n"


def _snapshot(tenant_id: str, job_id: str) -> tuple[str, bool]:
    """The job document as JSON and whether the job has finished; the session is closed after."""
    session = db.session
    try:
        job = tenant_job(session, tenant_id, job_id)
        document = job_out(job, job_items(session, job.id)).model_dump_json()
        return document, JobStatus(job.status).finished
    finally:
        session.close()  # the next poll opens a fresh transaction and sees the workers' commits


def job_event_stream(tenant_id: str, job_id: str, max_s: float, poll_s: float, heartbeat_s: float) -> Iterator[str]:
    """Yield events about ``job_id`` until it finishes or ``max_s`` passes."""
    deadline = time.monotonic() + max_s
    last_document: str | None = None
    last_sent = time.monotonic()
    while True:
        try:
            document, finished = _snapshot(tenant_id, job_id)
        except NotFoundError:  # deleted while followed: say so instead of breaking the stream
            yield sse_message("end", json.dumps({"status": "gone"}))
            return
        if document != last_document:
            yield sse_message("job", document)
            last_document, last_sent = document, time.monotonic()
        if finished:
            yield sse_message("end", json.dumps({"status": json.loads(document)["status"]}))
            return
        if time.monotonic() - last_sent >= heartbeat_s:
            yield ": keep-alive\n\n"
            last_sent = time.monotonic()
        if time.monotonic() + poll_s > deadline:
            yield f"retry: {RECONNECT_MS}\n\n"
            return
        time.sleep(poll_s)


@bp.get("/<job_id>/events")
@describe(resp=Responses(HTTP_200=None, **{"HTTP_401": ErrorOut, "HTTP_404": ErrorOut}), tags=["jobs"])
def job_events(job_id: str) -> Response:
    """Follow a job as server-sent events (``text/event-stream``).

    Sends ``event: job`` with the job document each time it changes and ``event: end`` once it has
    finished; a stream lasts at most ``job_events_max_s`` seconds, then asks the client to
    reconnect (``retry``). Authenticate like every route (``Authorization`` or ``X-API-Key``).
    """
    tenant_id = current_tenant_id()
    tenant_job(db.session, tenant_id, job_id)  # a 404 now, as JSON, rather than inside the stream
    settings = app_settings()
    stream = job_event_stream(
        tenant_id, job_id, settings.job_events_max_s, settings.job_events_poll_s, settings.job_events_heartbeat_s
    )
    response = Response(stream_with_context(stream), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
