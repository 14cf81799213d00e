"""Colourisation jobs over HTTP (issue 15): exemplars and hints resolved per input, bad ones refused."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from sqlalchemy import select

from api.extensions import db
from shared.db import Job, JobItem, Style, Upload
from shared.queue import RENDER_QUEUE
from tests.conftest_api import image_bytes, queued_tasks, upload
from tests.test_api_styles import add_style


def hints_png(width: int, height: int, alpha: bool = True) -> bytes:
    pixels = np.zeros((height, width, 4 if alpha else 3), dtype=np.uint8)
    pixels[5:9, 5:20] = (200, 40, 30, 255)[: pixels.shape[2]]
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def grey_upload(client, headers, width: int = 64, height: int = 48) -> str:
    buffer = io.BytesIO()
    Image.new("L", (width, height), 120).save(buffer, format="PNG")
    return upload(client, headers, buffer.getvalue(), "scan.png").json["id"]


def submit(client, headers, **body):
    return client.post("/v1/jobs", json=body, headers=headers)


def storage_keys(app, *upload_ids: str) -> list[str]:
    with app.app_context():
        return [db.session.get(Upload, upload_id).storage_key for upload_id in upload_ids]


def test_a_batch_with_one_exemplar_and_hints_per_input_makes_one_item_per_scan(
    api_app, api_client, auth_headers, redis_broker
):
    scans = [grey_upload(api_client, auth_headers), grey_upload(api_client, auth_headers, 128, 96)]
    exemplar = upload(api_client, auth_headers, image_bytes(80, 60, "JPEG")).json["id"]
    hints = upload(api_client, auth_headers, hints_png(64, 48), "scan_hints.png").json["id"]  # for the first only
    response = submit(
        api_client, auth_headers, inputs=scans, colorize_from=exemplar, hints=[hints, None], chroma_smoothing=0.3
    )
    assert response.status_code == 201, response.json
    job = response.json
    assert [item["style_label"] for item in job["items"]] == ["colorized", "colorized"]
    assert queued_tasks(redis_broker, RENDER_QUEUE) == [("render_item", [item["id"]]) for item in job["items"]]
    exemplar_key, hints_key = storage_keys(api_app, exemplar, hints)
    with api_app.app_context():
        stored = db.session.scalars(select(JobItem).where(JobItem.job_id == job["id"]).order_by(JobItem.position))
        assert [item.recolor_sources for item in stored] == [
            {"exemplar_key": exemplar_key, "hints_key": hints_key},
            {"exemplar_key": exemplar_key},
        ]
        assert db.session.get(Job, job["id"]).params["color_mode"] == "recolor"


def test_colorize_from_may_name_a_style_with_an_image(api_app, api_client, auth_headers):
    style = add_style(api_client, auth_headers, "autochrome").json
    scan = grey_upload(api_client, auth_headers)
    response = submit(api_client, auth_headers, inputs=[scan], colorize_from="autochrome")
    assert response.status_code == 201, response.json
    with api_app.app_context():
        item = db.session.scalar(select(JobItem).where(JobItem.job_id == response.json["id"]))
        source_key = db.session.get(Style, style["id"]).source_key
        assert source_key and item.recolor_sources == {"exemplar_key": source_key}
    refused = submit(api_client, auth_headers, inputs=[scan], colorize_from="builtin:3")
    assert refused.status_code == 400 and "no image to take colours from" in refused.json["message"]


def test_unusable_exemplars_and_hints_are_refused_with_the_reason(api_client, auth_headers):
    scan = grey_upload(api_client, auth_headers)
    opaque = upload(api_client, auth_headers, hints_png(64, 48, alpha=False)).json["id"]
    wrong_shape = upload(api_client, auth_headers, hints_png(50, 50)).json["id"]
    cases = {
        "no transparency": {"hints": opaque},
        "not the shape of the photo": {"hints": wrong_shape},
        "neither an upload nor a style": {"colorize_from": "no-such-thing"},
        "leave out styles": {"hints": wrong_shape, "styles": [{"style": "builtin:3"}]},
        "lists 2 entries for 1 inputs": {"hints": [opaque, opaque]},
        "give at least one style": {},
    }
    for reason, body in cases.items():
        response = submit(api_client, auth_headers, inputs=[scan], **body)
        assert response.status_code in (400, 422), (reason, response.json)
        assert reason in str(response.json), (reason, response.json)
    not_an_image = upload(api_client, auth_headers, b"<html>a page</html>", "hints.png")
    assert not_an_image.status_code == 400 and "not an image" in not_an_image.json["message"]


def test_openapi_documents_the_recolour_fields(api_client):
    schema = api_client.get("/openapi.json").json
    text = str(schema)
    for field in ("colorize_from", "hints", "chroma_smoothing"):
        assert field in text
