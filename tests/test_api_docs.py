"""The OpenAPI document matches the app's routes, and ``/docs`` renders with no network.

The docs page inlines ReDoc (the ``offapi`` package spectree picks up), so the browser test serves
the API on loopback and aborts every request that leaves it: the page must still render.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Route, expect, sync_playwright
from werkzeug.serving import make_server

from api.app import create_app
from api.extensions import dispose
from tests.chromium import launch_chromium

UNDOCUMENTED = {"/openapi.json", "/docs"}  # the document and its page describe the rest
_FLASK_PARAM = re.compile(r"<(?:[a-z_]+:)?([a-z_]+)>")


@pytest.fixture
def docs_app(tmp_path) -> Iterator[Flask]:
    app = create_app({"home": str(tmp_path / "home"), "TESTING": True})
    try:
        yield app
    finally:
        dispose(app)


def _api_rules(app: Flask) -> set[tuple[str, str]]:
    """``(OpenAPI path, method)`` of every JSON API route of the app."""
    rules = set()
    for rule in app.url_map.iter_rules():
        path = _FLASK_PARAM.sub(r"{\1}", rule.rule)
        if path in UNDOCUMENTED or not (path.startswith("/v1/") or path in {"/healthz", "/readyz", "/metrics"}):
            continue
        rules |= {(path, method.lower()) for method in rule.methods or () if method not in {"HEAD", "OPTIONS"}}
    return rules


def test_the_document_lists_every_api_route_and_the_new_fields(docs_app):
    document = docs_app.test_client().get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    routes = _api_rules(docs_app)
    assert routes - documented == set(), "routes missing from /openapi.json"
    assert {path for path, _ in documented} <= {path for path, _ in routes} | UNDOCUMENTED, "documented but not served"

    schemas = document["components"]["schemas"]
    job_create = schemas["JobCreate"]["properties"]
    assert job_create["preview"]["type"] == "boolean"
    assert {"callback_url", "priority"} <= set(job_create)
    assert schemas["ItemOut"]["properties"]["cached"]["type"] == "boolean"
    assert "webhooks" in schemas["JobOut"]["properties"]
    assert ("/v1/webhook-secret", "post") in documented and ("/metrics", "get") in documented
    assert document["paths"]["/metrics"]["get"]["security"] == []  # scraped without a key
    # Issue 13's result controls, each with an example.
    for name, example in (("fidelity", 0.6), ("match_style_colors", True), ("mask_mode", "keep"), ("feather", 8)):
        assert example in job_create[name]["examples"], name
    assert "alpha" in job_create["mask"]["anyOf"][0]["examples"]
    assert "render_settings" in schemas["ItemOut"]["properties"]


def test_the_docs_page_references_nothing_outside_the_api(docs_app):
    response = docs_app.test_client().get("/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "/openapi.json" in page
    external = re.findall(r"<(?:script|link|img)\b[^>]*\b(?:src|href)\s*=\s*['\"]?(?:https?:)?//", page, re.IGNORECASE)
    assert external == []
    assert "Redoc" in page  # the viewer itself is in the page
    assert "cdn.redoc.ly" not in page  # its logo is drawn locally
    assert "connect-src 'self'" in response.headers["Content-Security-Policy"]


@pytest.fixture
def served_app(docs_app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, docs_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_the_docs_page_renders_in_a_browser_with_the_network_cut_off(served_app):
    blocked: list[str] = []

    def only_loopback(route: Route) -> None:
        if route.request.url.startswith(served_app):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            page.route("**/*", only_loopback)
            page.goto(f"{served_app}/docs")
            expect(page.get_by_role("heading", name=re.compile("StyleFarm API"))).to_be_visible(timeout=30_000)
            expect(page.get_by_role("button", name="post /v1/jobs", exact=True)).to_be_visible()  # operations listed
        finally:
            browser.close()
    assert blocked == []  # not even ReDoc's logo from its CDN
