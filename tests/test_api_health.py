"""Health probes, the OpenAPI document, and errors that are JSON whatever went wrong."""

from __future__ import annotations

import re
import time

from openapi_spec_validator import validate

from tests.conftest_farm import free_port


def test_healthz_answers_without_a_key(api_client):
    response = api_client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "alive"}


def test_readyz_reports_database_broker_and_storage_ready(api_client):
    response = api_client.get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json["status"] == "ready"
    assert {name: check["ok"] for name, check in response.json["checks"].items()} == {
        "database": True,
        "broker": True,
        "storage": True,
    }


def test_readyz_is_503_quickly_when_the_database_port_is_closed(make_api_app):
    app = make_api_app(database_url=f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing")
    started = time.monotonic()
    response = app.test_client().get("/readyz")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["checks"]["database"]["ok"] is False
    assert "OperationalError" in response.json["checks"]["database"]["detail"]
    assert response.json["checks"]["broker"]["ok"] is True


def test_a_request_while_the_database_is_down_is_503_with_retry_after(make_api_app):
    app = make_api_app(database_url=f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing")
    response = app.test_client().get("/v1/jobs", headers={"X-API-Key": "sf_whatever"})
    assert response.status_code == 503
    assert response.json["error"] == "database_unavailable"
    assert response.headers["Retry-After"] == "5"


def test_openapi_document_is_valid_and_lists_every_route(api_app, api_client):
    response = api_client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json
    validate(document)
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    routed = set()
    for rule in api_app.url_map.iter_rules():
        if rule.endpoint.startswith(("openapi.", "web.", "web_root.")):  # the document; the web page
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        routed |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routed
    assert ("/v1/jobs/{job_id}/items/{item_id}/result", "get") in documented
    assert document["paths"]["/v1/jobs"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/JobCreate"
    }
    assert document["paths"]["/healthz"]["get"]["security"] == []


def test_docs_page_points_at_the_document(api_client):
    response = api_client.get("/docs")
    assert response.status_code == 200
    assert "/openapi.json" in response.get_data(as_text=True)


def test_unknown_route_and_wrong_method_are_json(api_client, auth_headers):
    missing = api_client.get("/v1/nothing", headers=auth_headers)
    assert missing.status_code == 404
    assert missing.json["error"] == "not_found"
    wrong = api_client.put("/v1/jobs", headers=auth_headers)
    assert wrong.status_code == 405
    assert wrong.json["error"] == "method_not_allowed"
    assert "POST" in wrong.headers["Allow"]
