"""Per-key rate limits and the per-tenant queue cap: 429 with Retry-After and the reason.

Two apps on one Redis stand for two gunicorn workers: a key's allowance is shared between them.
Without Redis (the embedded filesystem broker) the count is kept in the process.
"""

from __future__ import annotations

import time

import pytest
from flask.testing import FlaskClient

from tests.conftest_api import issue_key, upload
from tests.conftest_farm import free_port

pytestmark = pytest.mark.security

LIMIT = {"rate_limit_per_s": 5, "rate_limit_burst": 5}  # 5 requests in any 1-second window


@pytest.fixture
def database_url(postgres_url):
    """PostgreSQL only: the limits live in Redis or memory, and the queue count is one query."""
    return postgres_url


def _until_refused(clients: list[FlaskClient], headers: dict[str, str], most: int = 50) -> tuple[int, object]:
    """Send GET /v1/jobs round-robin over ``clients`` until one is refused; (requests allowed, the refusal)."""
    for sent in range(most):
        response = clients[sent % len(clients)].get("/v1/jobs", headers=headers)
        if response.status_code != 200:
            return sent, response
    pytest.fail(f"{most} requests and none was refused")


def _assert_rate_limited(response) -> int:
    assert response.status_code == 429, response.json
    assert response.json["error"] == "rate_limited"
    assert "requests in 1 s" in response.json["message"]
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 2 and response.json["details"]["retry_after_s"] == retry_after
    return retry_after


def test_a_keys_allowance_is_shared_across_api_processes_through_redis(make_api_app):
    first, second = make_api_app(**LIMIT), make_api_app(**LIMIT)
    clients = [first.test_client(), second.test_client()]
    headers, other = issue_key(first, "acme"), issue_key(first, "globex")
    started = time.monotonic()
    allowed, refused = _until_refused(clients, headers)
    retry_after = _assert_rate_limited(refused)
    print(f"allowed {allowed} requests over two apps in {time.monotonic() - started:.2f} s, then 429 "
          f"Retry-After {retry_after}")  # fmt: skip
    assert 4 <= allowed <= 6  # the burst of 5, give or take the window edge: not 5 per process
    assert clients[0].get("/v1/jobs", headers=other).status_code == 200  # another key has its own allowance
    assert clients[1].get("/healthz").status_code == 200  # public probes are not counted
    time.sleep(retry_after)
    deadline = time.monotonic() + 3
    while clients[0].get("/v1/jobs", headers=headers).status_code == 429:
        assert time.monotonic() < deadline, "the key was never allowed again"
        time.sleep(0.2)


def test_without_redis_the_allowance_is_counted_in_the_process(make_api_app):
    app = make_api_app(broker_url="filesystem://", **LIMIT)
    allowed, refused = _until_refused([app.test_client()], issue_key(app, "acme"))
    _assert_rate_limited(refused)
    assert 4 <= allowed <= 6


def test_a_tenant_over_its_queue_cap_gets_429_until_work_finishes(make_api_app):
    app = make_api_app(max_queued_items_per_tenant=3)
    client = app.test_client()
    headers, other = issue_key(app, "acme"), issue_key(app, "globex")
    inputs = [upload(client, headers).json["id"] for _ in range(2)]
    request = {"inputs": inputs, "styles": [{"style": "builtin:1"}]}

    first = client.post("/v1/jobs", json=request, headers=headers)
    assert first.status_code == 201
    refused = client.post("/v1/jobs", json=request, headers=headers)
    print("queue cap:", refused.json["message"])
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "30"
    assert refused.json["error"] == "rate_limited"
    assert refused.json["details"] == {
        "retry_after_s": 30,
        "unfinished_items": 2,
        "new_items": 2,
        "max_queued_items_per_tenant": 3,
    }
    assert client.get("/v1/jobs", headers=headers).json["total"] == 1  # the refused job was not kept

    theirs = {"inputs": [upload(client, other).json["id"]] * 2, "styles": [{"style": "builtin:1"}]}
    assert client.post("/v1/jobs", json=theirs, headers=other).status_code == 201  # each tenant has its own cap
    assert client.post(f"/v1/jobs/{first.json['id']}/cancel", headers=headers).status_code == 200
    assert client.post("/v1/jobs", json=request, headers=headers).status_code == 201  # room again


def test_a_counter_store_that_is_down_lets_requests_through(make_api_app, caplog):
    """The limiter fails open: Redis down must not take the whole API down with it."""
    app = make_api_app(broker_url=f"redis://127.0.0.1:{free_port()}/0", **LIMIT)  # nothing listens there
    headers = issue_key(app, "acme")
    client = app.test_client()
    statuses = {client.get("/v1/jobs", headers=headers).status_code for _ in range(8)}
    assert statuses == {200}  # 8 requests over a limit of 5: not counted, not refused
    assert "rate limit store unavailable" in caplog.text
