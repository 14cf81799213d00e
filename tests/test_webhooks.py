"""Webhooks: signing, refused targets, the secret's endpoint, and real deliveries by a worker.

The deliveries go to an HTTP server on loopback (the farm allows private targets for that), from
a real ``celery worker`` process, through Redis and PostgreSQL; the test checks every signature
with the tenant's secret as a receiver would.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from api.extensions import Database, task_queue
from shared.db import Tenant, utcnow
from shared.db.webhooks import DeliveryStatus, WebhookDelivery
from shared.errors import BadInputError
from shared.queue import DELIVER_WEBHOOK, LIGHT_QUEUE
from shared.webhooks.events import STALLED_AFTER, enqueue_stalled_deliveries
from shared.webhooks.signing import SIGNATURE_HEADER, SignatureError, sign, verify
from shared.webhooks.targets import check_url_form, check_webhook_target
from tests.conftest_api import issue_key, queued_tasks, upload
from tests.farm_jobs import add_job, enqueue_job, farm_with_worker
from tests.worker_farm import Farm, png_bytes, wait_until

# Signing.


def test_a_signature_verifies_and_any_change_to_body_secret_or_time_fails():
    body = b'{"id":"e1","type":"job.succeeded"}'
    header = sign("whsec_a", body, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert verify("whsec_a", body, header, now=1_700_000_010) == 1_700_000_000
    with pytest.raises(SignatureError, match="does not match"):
        verify("whsec_a", body + b" ", header, now=1_700_000_010)
    with pytest.raises(SignatureError, match="does not match"):
        verify("whsec_b", body, header, now=1_700_000_010)
    with pytest.raises(SignatureError, match="off"):
        verify("whsec_a", body, header, now=1_700_000_000 + 3600)
    with pytest.raises(SignatureError, match="malformed"):
        verify("whsec_a", body, "v1=abc", now=1_700_000_000)
    # While a secret is rotated a header may carry two signatures; either one matching is enough.
    both = header + "," + sign("whsec_b", body, timestamp=1_700_000_000).split(",")[1]
    assert verify("whsec_b", body, both, now=1_700_000_000) == 1_700_000_000


# Targets.


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/hook", "http://user:secret@example.com/hook", "http:///no-host", "javascript:alert(1)"],
)
def test_malformed_callback_urls_are_refused_by_the_schema(url):
    with pytest.raises(ValueError):
        check_url_form(url)


@pytest.mark.parametrize(
    ("url", "allow_private"),
    [
        ("http://169.254.169.254/latest/meta-data/", True),  # cloud metadata: never, whatever the setting
        ("http://[fe80::1]/hook", True),
        ("http://[::ffff:169.254.169.254]/hook", True),
        ("http://metadata.google.internal/computeMetadata/v1/", True),
        ("http://127.0.0.1:8080/hook", False),
        ("http://localhost/hook", False),
        ("http://10.1.2.3/hook", False),
        ("http://[::1]/hook", False),
        ("http://0.0.0.0/hook", True),
    ],
)
def test_link_local_metadata_and_private_targets_are_refused(url, allow_private):
    with pytest.raises(BadInputError):
        check_webhook_target(url, allow_private=allow_private)


def test_loopback_is_allowed_only_when_private_targets_are():
    assert check_webhook_target("http://127.0.0.1:9/hook", allow_private=True) == "http://127.0.0.1:9/hook"


def test_the_api_refuses_a_job_aimed_at_the_metadata_service_and_keeps_an_allowed_callback(make_api_app):
    app = make_api_app(webhook_allow_private=True)
    client = app.test_client()
    headers = issue_key(app, "acme")
    upload_id = upload(client, headers).get_json()["id"]
    request = {"inputs": [upload_id], "styles": [{"style": "builtin:3"}]}

    refused = client.post("/v1/jobs", json={**request, "callback_url": "http://169.254.169.254/x"}, headers=headers)
    assert refused.status_code == 400
    assert "metadata" in refused.get_json()["message"]
    malformed = client.post("/v1/jobs", json={**request, "callback_url": "gopher://example.com/"}, headers=headers)
    assert malformed.status_code == 422
    assert malformed.get_json()["details"]["errors"][0]["loc"] == ["callback_url"]

    accepted = client.post("/v1/jobs", json={**request, "callback_url": "http://127.0.0.1:9/hook"}, headers=headers)
    assert accepted.status_code == 201
    assert accepted.get_json()["params"]["callback_url"] == "http://127.0.0.1:9/hook"
    assert accepted.get_json()["webhooks"] == []  # nothing owed until the job finishes


def test_each_tenant_reads_and_rotates_its_own_webhook_secret(make_api_app):
    app = make_api_app()
    client = app.test_client()
    acme, other = issue_key(app, "acme"), issue_key(app, "other")

    first = client.get("/v1/webhook-secret", headers=acme).get_json()
    assert first["secret"].startswith("whsec_") and first["header"] == SIGNATURE_HEADER
    assert client.get("/v1/webhook-secret", headers=acme).get_json()["secret"] == first["secret"]
    assert client.get("/v1/webhook-secret", headers=other).get_json()["secret"] != first["secret"]
    rotated = client.post("/v1/webhook-secret", headers=acme).get_json()["secret"]
    assert rotated != first["secret"]
    assert client.get("/v1/webhook-secret", headers=acme).get_json()["secret"] == rotated
    assert client.get("/v1/webhook-secret").status_code == 401


def test_a_cancel_that_finishes_the_job_sends_its_event_after_commit_and_a_lost_send_is_swept(
    make_api_app, redis_broker
):
    app = make_api_app(webhook_allow_private=True)
    client = app.test_client()
    headers = issue_key(app, "acme")
    upload_id = upload(client, headers).get_json()["id"]
    request = {"inputs": [upload_id], "styles": [{"style": "builtin:3"}], "callback_url": "http://127.0.0.1:9/h"}
    job = client.post("/v1/jobs", json=request, headers=headers).get_json()

    canceled = client.post(f"/v1/jobs/{job['id']}/cancel", headers=headers).get_json()
    assert canceled["status"] == "canceled"
    assert [(hook["event"], hook["status"], hook["attempts"]) for hook in canceled["webhooks"]] == [
        ("job.canceled", "pending", 0)
    ]
    delivery_id = canceled["webhooks"][0]["id"]
    assert queued_tasks(redis_broker, LIGHT_QUEUE) == [(DELIVER_WEBHOOK, [delivery_id])]

    # As if that send had been lost: the sweep sends deliveries never attempted for a while.
    redis_broker.delete(LIGHT_QUEUE)
    with app.app_context():
        sessions = app.extensions[Database.name].session_factory
        assert enqueue_stalled_deliveries(sessions, task_queue.celery, utcnow()) == []  # not stalled yet
        later = utcnow() + STALLED_AFTER + timedelta(seconds=1)
        assert enqueue_stalled_deliveries(sessions, task_queue.celery, later) == [delivery_id]
    assert queued_tasks(redis_broker, LIGHT_QUEUE) == [(DELIVER_WEBHOOK, [delivery_id])]


# Deliveries by a real worker.


@dataclass
class Receiver:
    """An HTTP server on loopback answering each POST with the next of ``statuses`` (then 200)."""

    statuses: list[int]
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/stylefarm"

    def __enter__(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def webhook_farm(tmp_path_factory, postgres_session_url) -> Iterator[Farm]:
    values = {"webhook_allow_private": True, "webhook_max_retries": 3, "webhook_retry_backoff_max_s": 2}
    with farm_with_worker(tmp_path_factory, postgres_session_url, "webhooks", **values) as farm:
        yield farm


def _photo() -> bytes:
    rng = np.random.default_rng(5)
    return png_bytes(Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)))


def _deliveries(farm: Farm, job_id: str) -> list[WebhookDelivery]:
    with farm.sessions() as session:
        return list(session.scalars(select(WebhookDelivery).where(WebhookDelivery.job_id == job_id)))


def _settled_delivery(farm: Farm, job_id: str, timeout_s: float = 60) -> WebhookDelivery:
    def settled() -> WebhookDelivery | None:
        rows = _deliveries(farm, job_id)
        return rows[0] if rows and rows[0].status != DeliveryStatus.PENDING else None

    return wait_until(settled, timeout_s, "the webhook delivery to settle", interval_s=0.1)


def _secret(farm: Farm) -> str:
    with farm.sessions() as session:
        secret = session.scalar(select(Tenant.webhook_secret).where(Tenant.id == farm.tenant_id))
    assert secret
    return secret


def test_a_finished_job_posts_one_signed_event_to_its_callback_url(webhook_farm):
    farm = webhook_farm
    with Receiver([]) as receiver:
        seeded = add_job(farm, [_photo()], callback_url=receiver.url)
        enqueue_job(farm, seeded)
        delivery = _settled_delivery(farm, seeded.job_id)
        time.sleep(0.3)  # a duplicate delivery would show up here
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 1
    assert delivery.response_status == 200 and delivery.delivered_at is not None
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    verify(_secret(farm), body, headers[SIGNATURE_HEADER])
    event = json.loads(body)
    assert event["id"] == delivery.id and headers["StyleFarm-Event-Id"] == delivery.id
    assert event["type"] == "job.succeeded"
    assert event["data"]["id"] == seeded.job_id and event["data"]["status"] == "succeeded"
    assert [item["status"] for item in event["data"]["items"]] == ["succeeded"]
    assert event["data"]["items"][0]["output"]["width"] == 56


def test_a_receiver_failing_twice_gets_the_event_on_the_third_attempt(webhook_farm):
    farm = webhook_farm
    with Receiver([500, 503]) as receiver:
        seeded = add_job(farm, [_photo()], callback_url=receiver.url)
        enqueue_job(farm, seeded)
        delivery = _settled_delivery(farm, seeded.job_id)
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 3 and delivery.response_status == 200 and delivery.last_error is None
    assert len(receiver.received) == 3
    secret = _secret(farm)
    for headers, body in receiver.received:
        verify(secret, body, headers[SIGNATURE_HEADER])
        assert json.loads(body)["id"] == delivery.id  # the same event each time: receivers deduplicate by id


def test_a_failed_job_sends_job_failed_and_a_dead_receiver_fails_the_delivery(webhook_farm):
    farm = webhook_farm
    with Receiver([500, 500, 500, 500, 500]) as receiver:
        seeded = add_job(farm, [b"not an image at all"], callback_url=receiver.url)
        enqueue_job(farm, seeded)
        delivery = _settled_delivery(farm, seeded.job_id)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 4  # the first attempt and webhook_max_retries = 3 retries
    assert delivery.response_status == 500 and "500" in (delivery.last_error or "")
    assert len(receiver.received) == 4
    event = json.loads(receiver.received[-1][1])
    assert event["type"] == "job.failed" and event["data"]["items"][0]["status"] == "failed"


def test_the_job_response_lists_its_deliveries(webhook_farm, tmp_path):
    """Read through the API's serializer, as GET /v1/jobs/<id> shows them."""
    from api.app import create_app
    from api.extensions import dispose

    farm = webhook_farm
    with Receiver([]) as receiver:
        seeded = add_job(farm, [_photo()], callback_url=receiver.url)
        enqueue_job(farm, seeded)
        _settled_delivery(farm, seeded.job_id)
    settings = farm.settings.model_dump(exclude_none=True)
    app = create_app({**settings, "home": str(tmp_path / "api-home"), "TESTING": True})
    try:
        headers = _tenant_headers(app, farm)
        job = app.test_client().get(f"/v1/jobs/{seeded.job_id}", headers=headers).get_json()
    finally:
        dispose(app)
    assert [(hook["event"], hook["status"], hook["attempts"]) for hook in job["webhooks"]] == [
        ("job.succeeded", "delivered", 1)
    ]


def _tenant_headers(app: Any, farm: Farm) -> dict[str, str]:
    from api.extensions import db
    from shared.db import ApiKey

    with app.app_context():
        key, plaintext = ApiKey.issue(farm.tenant_id, "test")
        db.session.add(key)
        db.session.commit()
    return {"Authorization": f"Bearer {plaintext}"}


def test_a_target_refused_at_delivery_is_failed_without_a_request(webhook_farm):
    """As if the host had resolved elsewhere at submission: the check before each attempt still refuses."""
    farm = webhook_farm
    seeded = add_job(farm, [_photo()], callback_url="http://169.254.169.254/latest/meta-data/")
    enqueue_job(farm, seeded)
    delivery = _settled_delivery(farm, seeded.job_id)
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    assert delivery.response_status is None and "refused target" in (delivery.last_error or "")
