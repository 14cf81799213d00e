"""The web page's HTML, scripts and styles: served without a key, and nothing loaded from elsewhere."""

from __future__ import annotations

import json
import re

import pytest

from api.extensions import SETTINGS_KEY
from api.web import content_security_policy
from shared.settings import Settings

PAGES = ["/ui/", "/ui/new", "/ui/jobs", "/ui/jobs/0b6f0c2e-5d1a-4c8e-9b7a-2f3d4e5f6a7b"]
_LINKS = re.compile(r"""(?:src|href)="([^"]+)\"""")


@pytest.mark.parametrize("page", PAGES)
def test_each_page_is_served_without_a_key_and_loads_only_local_assets(api_client, page):
    response = api_client.get(page)
    assert response.status_code == 200 and response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    html = response.get_data(as_text=True)
    links = _LINKS.findall(html)
    assert any(link.endswith("/app.js") for link in links)
    for link in links:
        assert link.startswith("/"), f"{page} links outside the farm: {link}"
        if "/static/" in link:
            with api_client.get(link) as asset:  # a file response: closed here
                assert asset.status_code == 200, link
                assert "://" not in asset.get_data(as_text=True), f"{link} names another site"


def test_the_root_leads_to_the_gallery_and_bad_paths_are_404(api_client):
    assert api_client.get("/").headers["Location"].endswith("/ui/")
    with api_client.get("/ui/static/../app.py") as outside:
        assert outside.status_code == 404
    assert api_client.get("/ui/jobs/not a job id!").status_code == 404


def test_on_s3_storage_the_page_may_fetch_presigned_downloads_from_the_endpoint_only(tmp_path):
    settings = Settings(
        home=tmp_path, storage_backend="s3", s3_bucket="outputs", s3_endpoint_url="http://127.0.0.1:9000/base"
    )
    assert "connect-src 'self' http://127.0.0.1:9000;" in content_security_policy(settings)
    assert "connect-src 'self';" in content_security_policy(Settings(home=tmp_path))
    public = settings.model_copy(update={"s3_public_endpoint_url": "http://localhost:9000"})
    assert "connect-src 'self' http://localhost:9000;" in content_security_policy(public)  # where URLs point


def test_a_job_page_knows_when_to_call_its_job_stalled(api_client, api_app):
    """The follower's stall notice: the page reads ``follow_stall_s`` and has a place to say it."""
    html = api_client.get(PAGES[3]).get_data(as_text=True)
    limits = json.loads(re.search(r'<script[^>]*id="farm-limits"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert limits["follow_stall_s"] == api_app.config[SETTINGS_KEY].follow_stall_s
    assert 'id="job-stalled"' in html
