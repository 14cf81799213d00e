"""API keys: required everywhere but the probes and the document; tenants never see each other."""

from __future__ import annotations

from sqlalchemy import select, update

from api.auth.keys import create_api_key
from api.extensions import db
from shared.db import ApiKey, Tenant, hash_api_key
from tests.conftest_api import issue_key, upload
from tests.owned_resources import make_owned_resources


def test_every_resource_route_needs_a_key(api_client):
    for method, path in [
        ("get", "/v1/jobs"),
        ("post", "/v1/jobs"),
        ("get", "/v1/styles"),
        ("get", "/v1/styles/builtin:0"),
        ("post", "/v1/uploads"),
        ("get", "/v1/jobs/some-job/items/some-item/result"),
    ]:
        response = getattr(api_client, method)(path)
        assert response.status_code == 401, (method, path)
        assert response.json["error"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_or_revoked_key_is_refused(api_app, api_client):
    assert api_client.get("/v1/jobs", headers={"Authorization": "Bearer sf_not-a-key"}).status_code == 401
    headers = issue_key(api_app, "acme")
    key = headers["Authorization"].removeprefix("Bearer ")
    assert api_client.get("/v1/jobs", headers=headers).status_code == 200
    with api_app.app_context():
        db.session.execute(
            update(ApiKey).where(ApiKey.key_hash == hash_api_key(key)).values(revoked_at=ApiKey.created_at)
        )
        db.session.commit()
    assert api_client.get("/v1/jobs", headers=headers).status_code == 401


def test_the_key_is_accepted_in_x_api_key_too(api_app, api_client):
    key = issue_key(api_app, "acme")["Authorization"].removeprefix("Bearer ")
    assert api_client.get("/v1/styles", headers={"X-API-Key": key}).status_code == 200


def test_create_api_key_makes_the_tenant_once_and_stores_only_a_hash(api_app):
    with api_app.app_context():
        first = create_api_key(db.session, "globex")
        second = create_api_key(db.session, "globex")
        tenants = db.session.scalars(select(Tenant).where(Tenant.name == "globex")).all()
        keys = db.session.scalars(select(ApiKey).where(ApiKey.tenant_id == tenants[0].id)).all()
    assert first != second and first.startswith("sf_")
    assert len(tenants) == 1
    assert {k.key_hash for k in keys} == {hash_api_key(first), hash_api_key(second)}


def test_another_tenant_gets_404_for_job_style_and_result(api_app, api_client):
    owner = make_owned_resources(api_app, api_client)
    job, style, item_id, storage_upload = owner.job, owner.style, owner.item_id, owner.upload_id

    other = issue_key(api_app, "globex")
    for path in [
        f"/v1/jobs/{job['id']}",
        f"/v1/styles/{style['id']}",
        f"/v1/styles/{style['id']}/thumbnail",
        f"/v1/jobs/{job['id']}/items/{item_id}/result",
    ]:
        response = api_client.get(path, headers=other)
        assert response.status_code == 404, path
        assert response.json["error"] == "not_found"
    assert api_client.post(f"/v1/jobs/{job['id']}/cancel", headers=other).status_code == 404
    assert api_client.delete(f"/v1/styles/{style['id']}", headers=other).status_code == 404
    assert api_client.get("/v1/jobs", headers=other).json["items"] == []
    # Nor can the other tenant use the first tenant's upload or style by id or by name.
    for body in (
        {"inputs": [storage_upload], "styles": [{"style": "builtin:1"}]},
        {"inputs": [upload(api_client, other).json["id"]], "styles": [{"style": "mine"}]},
    ):
        response = api_client.post("/v1/jobs", json=body, headers=other)
        assert response.status_code == 400, response.json
