"""Security: keys on every route, tenants walled off, farm-made storage keys, unguessable results.

Routes are read from the app's ``url_map``, so a route added later is covered without editing
this file: it must answer 401 without a key (or be public on purpose, in ``PUBLIC_BLUEPRINTS``)
and 404 to a tenant that does not own the job, style or item it names. Rate limits and the
queue cap are in test_security_limits.py; webhook target refusals in test_webhooks.py.
"""

from __future__ import annotations

import io
import re
import time
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from api.auth.bearer import is_public
from api.extensions import db
from shared.db import ApiKey, Base, Job, Upload, hash_api_key
from tests.conftest_api import image_bytes, issue_key, s3_overrides, upload
from tests.owned_resources import OwnedResources, make_owned_resources

pytestmark = pytest.mark.security

# Blueprints whose views may be reached without a key: probes, the API document, the metrics
# scrape and the web UI's pages (which hold no data: their scripts call the API with a key).
PUBLIC_BLUEPRINTS = {"health", "openapi", "metrics", "web", "web_root"}
RESOURCE_ARGS = ("job_id", "style_id", "item_id")
_ARG = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
_WITH_BODY = {"POST", "PUT", "PATCH"}


@pytest.fixture
def database_url(postgres_url):
    """PostgreSQL only: isolation is enforced by queries that are the same on SQLite."""
    return postgres_url


def _routes(app: Flask) -> Iterator[tuple[str, str, str]]:
    """``(endpoint, method, rule)`` of every route but Flask's own static files."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, rule.rule


def _is_public(app: Flask, endpoint: str) -> bool:
    return is_public(app.view_functions[endpoint])


def _fill(rule: str, values: dict[str, str]) -> str:
    """``rule`` with each ``<arg>`` replaced by its value in ``values`` (``some-id`` if absent)."""
    return _ARG.sub(lambda match: values.get(match.group(1), "some-id"), rule)


def _without_ids(text: str, ids: Iterable[str]) -> str:
    for value in ids:
        text = text.replace(value, "<id>")
    return text


def _call(client: FlaskClient, method: str, path: str, headers: dict[str, str] | None = None):
    body = {"json": {}} if method in _WITH_BODY else {}
    return client.open(path, method=method, headers=headers or {}, **body)


def test_every_route_needs_a_key_unless_its_blueprint_is_public_on_purpose(api_app, api_client):
    checked = 0
    for endpoint, method, rule in _routes(api_app):
        blueprint = endpoint.partition(".")[0]
        if _is_public(api_app, endpoint):
            assert blueprint in PUBLIC_BLUEPRINTS, f"{method} {rule} is public but not meant to be"
            continue
        path = _fill(rule, {})
        for headers in ({}, {"Authorization": "Bearer sf_wrong"}, {"X-API-Key": "sf_wrong"}):
            with _call(api_client, method, path, headers) as response:
                assert response.status_code == 401, (method, rule, headers, response.status_code)
                assert response.json["error"] == "unauthorized"
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
        checked += 1
    print(f"{checked} keyed routes refuse requests without a valid key")
    assert checked >= 15


def test_another_tenant_gets_404_on_every_route_naming_a_job_style_or_item(api_app, api_client):
    owner = make_owned_resources(api_app, api_client)
    for path in (
        f"/v1/jobs/{owner.job['id']}",
        f"/v1/jobs/{owner.job['id']}/items/{owner.item_id}/result",
        f"/v1/styles/{owner.style['id']}",
        f"/v1/styles/{owner.style['id']}/thumbnail",
    ):
        with api_client.get(path, headers=owner.headers) as response:
            assert response.status_code == 200, path  # the owner reaches each one

    other = issue_key(api_app, "globex")
    checked = []
    for endpoint, method, rule in _routes(api_app):
        names = _ARG.findall(rule)
        if _is_public(api_app, endpoint) or not any(name in RESOURCE_ARGS for name in names):
            continue
        path = _fill(rule, owner.ids())
        with _call(api_client, method, path, other) as response:
            assert response.status_code == 404, (method, rule, response.status_code, response.get_data()[:200])
            assert response.json["error"] == "not_found"
            body = _without_ids(response.get_data(as_text=True), owner.ids().values())
        # Word for word what an id that never existed gets: the answer does not say "not yours".
        made_up = {name: str(uuid.uuid4()) for name in RESOURCE_ARGS}
        with _call(api_client, method, _fill(rule, made_up), other) as missing:
            assert body == _without_ids(missing.get_data(as_text=True), made_up.values()), (method, rule)
        checked.append(f"{method} {rule}")
    print(f"another tenant gets 404 on {len(checked)} routes: {', '.join(checked)}")
    assert len(checked) >= 9

    listed_jobs = api_client.get("/v1/jobs", headers=other).json
    listed_styles = api_client.get("/v1/styles?limit=200", headers=other).json
    assert listed_jobs["total"] == 0 and listed_jobs["items"] == []
    assert owner.style["id"] not in {s["id"] for s in listed_styles["items"]}
    for body in (
        {"inputs": [owner.upload_id], "styles": [{"style": "builtin:1"}]},
        {"inputs": [upload(api_client, other).json["id"]], "styles": [{"style": owner.style["id"]}]},
        {"inputs": [upload(api_client, other).json["id"]], "styles": [{"style": "mine"}]},
    ):
        response = api_client.post("/v1/jobs", json=body, headers=other)
        message = response.json["message"]
        assert response.status_code == 400 and ("not found" in message or "unknown style" in message), message

    # The other tenant's cancel, pause and delete changed nothing.
    assert api_client.get(f"/v1/jobs/{owner.job['id']}", headers=owner.headers).json["status"] == "queued"
    assert api_client.get(f"/v1/styles/{owner.style['id']}", headers=owner.headers).status_code == 200


def test_the_public_job_page_carries_no_job_data(api_app, api_client):
    owner = make_owned_resources(api_app, api_client)
    page = api_client.get(f"/ui/jobs/{owner.job['id']}").get_data(as_text=True)
    for secret in (owner.upload_id, owner.item_id, owner.style["id"]):
        assert secret not in page


def test_api_keys_are_stored_only_as_hashes(api_app):
    headers = issue_key(api_app, "acme")
    key = headers["Authorization"].removeprefix("Bearer ")
    with api_app.app_context():
        session = db.session
        assert session.scalar(select(ApiKey.key_hash).where(ApiKey.key_hash == hash_api_key(key))) is not None
        found_in = [
            table.name
            for table in Base.metadata.sorted_tables
            if any(key in str(tuple(row)) for row in session.execute(select(table)))
        ]
    assert found_in == []  # the plaintext is nowhere in the database


_KEY_SHAPES = {
    "uploads": re.compile(r"uploads/[0-9a-f-]{36}/(presigned-)?[0-9a-f-]{36}"),
    "styles": re.compile(r"styles/[0-9a-f-]{36}/[0-9a-f-]{36}/(source|thumbnail\.jpg)"),
    "outputs": re.compile(r"outputs/[0-9a-f-]{36}/[0-9a-f-]{36}/\d{4}-[0-9a-f-]{36}\.(png|jpg|webp|tif)"),
}


def test_client_names_and_ids_never_reach_storage_keys(api_app, api_client, tmp_path):
    headers = issue_key(api_app, "acme")
    hostile = "../../../../" + str(tmp_path / "escaped.png").lstrip("/")
    made = upload(api_client, headers, image_bytes(), hostile).json
    style = api_client.post(
        "/v1/styles",
        data={"name": "../../etc/passwd", "file": (io.BytesIO(image_bytes()), "../../s.png")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert style.status_code == 201, style.json
    for bad_id in ("../" + made["id"], f"{made['id']}/../{made['id']}", "..%2F..%2Fetc%2Fpasswd", "a" * 65, "x\x00y"):
        response = api_client.post(
            "/v1/jobs", json={"inputs": [bad_id], "styles": [{"style": "builtin:1"}]}, headers=headers
        )
        assert response.status_code == 400 and "not found" in response.json["message"], (bad_id, response.json)
    for path in ("/v1/jobs/..%2F..%2Fetc%2Fpasswd", "/v1/styles/..%2Fbuiltin:1", "/v1/jobs/%00"):
        assert api_client.get(path, headers=headers).status_code == 404, path

    assert not (tmp_path / "escaped.png").exists()
    with api_app.app_context():
        row = db.session.get(Upload, made["id"])
        assert row.filename == str(tmp_path / "escaped.png").strip("/").replace("/", "_")
    root = api_app.config["STYLEFARM_SETTINGS"].storage_root
    keys = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    print("stored keys:", keys)
    assert keys and all(_KEY_SHAPES[key.split("/")[0]].fullmatch(key) for key in keys), keys


@pytest.fixture
def s3_app(make_api_app, s3_storage, s3_endpoint):
    return make_api_app(**s3_overrides(s3_storage.bucket, s3_endpoint), s3_presign_expiry_s=2)


def test_s3_results_are_presigned_urls_that_expire(s3_app):
    """The redirect is a SigV4 URL valid ``s3_presign_expiry_s`` from now, for exactly that object.

    moto does not check signatures, so the store's refusal of a changed or expired URL is AWS's
    documented behaviour (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html),
    not shown here; what is shown is that the farm hands out nothing else.
    """
    client = s3_app.test_client()
    owner = make_owned_resources(s3_app, client)
    with client.get(f"/v1/jobs/{owner.job['id']}/items/{owner.item_id}/result", headers=owner.headers) as response:
        assert response.status_code == 302
        url = urlsplit(response.headers["Location"])
    query = parse_qs(url.query)
    signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and re.fullmatch(
        r"[0-9a-f]{64}", query["X-Amz-Signature"][0]
    )
    assert query["X-Amz-Expires"] == ["2"]
    assert abs((datetime.now(UTC) - signed_at).total_seconds()) < 60
    assert url.path.endswith(f"/outputs/{_tenant_of(s3_app, owner)}/{owner.job['id']}/0000-{owner.item_id}.png")
    with urllib.request.urlopen(response.headers["Location"], timeout=10) as download:
        assert download.status == 200


def _tenant_of(app: Flask, owner: OwnedResources) -> str:
    with app.app_context():
        return db.session.scalar(select(Job.tenant_id).where(Job.id == owner.job["id"]))


def test_a_revoked_key_is_refused_within_the_key_cache_time(make_api_app):
    app = make_api_app(api_key_cache_s=1.0)
    client = app.test_client()
    headers = issue_key(app, "acme")
    assert client.get("/v1/jobs", headers=headers).status_code == 200  # now remembered as valid
    with app.app_context():
        key = headers["Authorization"].removeprefix("Bearer ")
        db.session.execute(
            update(ApiKey).where(ApiKey.key_hash == hash_api_key(key)).values(revoked_at=ApiKey.created_at)
        )
        db.session.commit()
    revoked_at = time.monotonic()
    while client.get("/v1/jobs", headers=headers).status_code == 200:
        assert time.monotonic() - revoked_at < 1.5, "the revoked key still works after the cache time"
        time.sleep(0.05)
    print(f"revoked key refused {time.monotonic() - revoked_at:.2f} s after revocation (api_key_cache_s=1)")
    assert client.get("/v1/jobs", headers={"Authorization": "Bearer sf_never-issued"}).status_code == 401
