"""Uploads are real images within the limits before anything is stored; presigned PUTs on S3."""

from __future__ import annotations

import json
import urllib.request

import pytest

from api.extensions import db, object_store
from shared.db import JobItem, JobStatus
from tests.conftest_api import MAX_UPLOAD_BYTES, image_bytes, issue_key, s3_overrides, upload


def test_an_image_upload_is_stored_and_described(api_app, api_client, auth_headers):
    response = upload(api_client, auth_headers, image_bytes(64, 48, "JPEG"), "photo.jpg")
    assert response.status_code == 201, response.json
    body = response.json
    assert body["width"] == 64 and body["height"] == 48
    assert body["format"] == "JPEG"
    with api_app.app_context():
        keys = [k for k in _stored_keys(api_app) if k.endswith(body["id"])]
        assert len(keys) == 1
        assert object_store.storage.size(keys[0]) == body["bytes"]


def _stored_keys(app):
    root = app.config["STYLEFARM_SETTINGS"].storage_root
    return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]


def test_a_file_that_is_not_an_image_is_400_with_the_reason(api_app, api_client, auth_headers):
    response = upload(api_client, auth_headers, b"%PDF-1.7 definitely not a picture", "doc.pdf")
    assert response.status_code == 400
    assert response.json["error"] == "bad_input"
    assert "not an image: the file is application/pdf" in response.json["message"]  # from the bytes, not the name
    assert _stored_keys(api_app) == []


def test_a_truncated_or_tiny_image_is_400(api_client, auth_headers):
    truncated = upload(api_client, auth_headers, image_bytes(200, 200, "JPEG")[:300])
    assert truncated.status_code == 400
    tiny = upload(api_client, auth_headers, image_bytes(8, 8))
    assert tiny.status_code == 400
    assert "at least 16 px" in tiny.json["message"]


def test_an_image_with_too_many_pixels_is_413(api_client, auth_headers):
    # 2000 × 1000 = 2 megapixels against a 1 megapixel limit; a flat PNG stays a few kB.
    response = upload(api_client, auth_headers, image_bytes(2000, 1000))
    assert response.status_code == 413
    assert response.json["error"] == "limit_exceeded"
    assert "pixels" in response.json["message"]


def test_a_body_over_the_upload_limit_is_413_before_it_is_read(api_client, auth_headers):
    response = upload(api_client, auth_headers, b"\0" * (MAX_UPLOAD_BYTES + 100_000))
    assert response.status_code == 413
    assert response.json["error"] == "limit_exceeded"
    assert f"{MAX_UPLOAD_BYTES:,}" in response.json["message"]


def test_a_file_just_over_the_limit_inside_the_envelope_is_413(api_client, auth_headers):
    response = upload(api_client, auth_headers, b"\0" * (MAX_UPLOAD_BYTES + 10))
    assert response.status_code == 413
    assert response.json["error"] == "limit_exceeded"


def test_an_upload_without_a_file_field_is_refused(api_client, auth_headers):
    as_json = api_client.post("/v1/uploads", json={"file": "x"}, headers=auth_headers)
    assert as_json.status_code == 400
    no_file = api_client.post(
        "/v1/uploads", data={"kind": "image"}, headers=auth_headers, content_type="multipart/form-data"
    )
    assert no_file.status_code == 422
    assert no_file.json["details"]["errors"][0]["loc"] == ["file"]


def test_presign_on_local_storage_is_409_with_a_way_out(api_client, auth_headers):
    response = api_client.post("/v1/uploads/presign", json={}, headers=auth_headers)
    assert response.status_code == 409
    assert "POST the file to /v1/uploads" in response.json["message"]


@pytest.fixture
def s3_app(make_api_app, s3_storage, s3_endpoint):
    return make_api_app(**s3_overrides(s3_storage.bucket, s3_endpoint))


def _put(url: str, data: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=data, method="PUT", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def test_presigned_upload_on_s3_is_checked_when_a_job_names_it(s3_app, s3_storage):
    client = s3_app.test_client()
    headers = issue_key(s3_app, "acme")
    good = client.post("/v1/uploads/presign", json={"content_type": "image/png"}, headers=headers).json
    bad = client.post("/v1/uploads/presign", json={"content_type": "image/png"}, headers=headers).json
    assert good["method"] == "PUT" and good["headers"] == {"Content-Type": "image/png"}
    assert _put(good["url"], image_bytes(), good["headers"]) == 200
    assert _put(bad["url"], b"not an image at all", bad["headers"]) == 200

    accepted = client.post(
        "/v1/jobs", json={"inputs": [good["id"]], "styles": [{"style": "builtin:2"}]}, headers=headers
    )
    assert accepted.status_code == 201, accepted.json
    refused = client.post("/v1/jobs", json={"inputs": [bad["id"]], "styles": [{"style": "builtin:2"}]}, headers=headers)
    assert refused.status_code == 400
    assert bad["id"] in refused.json["message"] and "not a readable image" in refused.json["message"]
    never_put = client.post("/v1/uploads/presign", json={}, headers=headers).json
    missing = client.post(
        "/v1/jobs", json={"inputs": [never_put["id"]], "styles": [{"style": "builtin:2"}]}, headers=headers
    )
    assert missing.status_code == 400 and "not found" in missing.json["message"]


def test_result_on_s3_is_a_redirect_to_a_presigned_url(s3_app, s3_storage):
    client = s3_app.test_client()
    headers = issue_key(s3_app, "acme")
    upload_id = upload(client, headers).json["id"]
    job = client.post(
        "/v1/jobs", json={"inputs": [upload_id], "styles": [{"style": "builtin:2"}]}, headers=headers
    ).json
    output = image_bytes(32, 32, "PNG", (1, 2, 3))
    with s3_app.app_context():
        item = db.session.get(JobItem, job["items"][0]["id"])
        item.output_key, item.status, item.output_format = f"{item.input_key}-out.png", JobStatus.SUCCEEDED, "png"
        db.session.commit()
        s3_storage.put_bytes(item.output_key, output)
    job = client.get(f"/v1/jobs/{job['id']}", headers=headers).json
    response = client.get(job["items"][0]["download_url"] or "", headers=headers)
    assert response.status_code == 302
    with urllib.request.urlopen(response.headers["Location"], timeout=10) as download:
        assert download.read() == output


def test_upload_response_is_json_even_for_a_broken_multipart_body(api_client, auth_headers):
    response = api_client.post(
        "/v1/uploads",
        data=b"--nope\r\nnot really multipart",
        headers={**auth_headers, "Content-Type": "multipart/form-data; boundary=nope"},
    )
    assert response.status_code in (400, 422)
    assert json.loads(response.get_data())["status"] == response.status_code
