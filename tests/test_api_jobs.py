"""Jobs over HTTP: submission (items, queue messages, idempotency), control, progress, results."""

from __future__ import annotations

import time

from sqlalchemy import select

from api.extensions import db, object_store
from shared.db import Job, JobItem, JobStatus, utcnow
from shared.keys import output_key
from shared.queue import RENDER_ITEM, RENDER_QUEUE
from tests.conftest_api import image_bytes, queued_tasks, upload


def submit(client, headers, **body):
    return client.post("/v1/jobs", json=body, headers=headers)


def two_uploads(client, headers) -> list[str]:
    return [upload(client, headers).json["id"], upload(client, headers, image_bytes(40, 40, "JPEG")).json["id"]]


def set_item(app, item_id: str, **fields) -> JobItem:
    """What a worker records on an item (status, tiles, output)."""
    with app.app_context():
        item = db.session.get(JobItem, item_id)
        for name, value in fields.items():
            setattr(item, name, value)
        db.session.commit()
        return item


def test_multi_style_job_makes_inputs_times_styles_items_and_enqueues_each(
    api_app, api_client, auth_headers, redis_broker
):
    inputs = two_uploads(api_client, auth_headers)
    response = submit(
        api_client,
        auth_headers,
        kind="multi_style",
        inputs=inputs,
        styles=[{"style": "builtin:3"}, {"style": "builtin-07"}, {"style": "builtin:19", "weight": 2}],
        strength=0.8,
    )
    assert response.status_code == 201, response.json
    job = response.json
    assert job["status"] == "queued" and job["kind"] == "multi_style"
    assert [(i["position"], i["input_id"], i["style_label"]) for i in job["items"]] == [
        (position, inputs[position // 3], label)
        for position, label in enumerate(["builtin:3", "builtin-07", "builtin:19"] * 2)
    ]
    assert job["progress"] == {**job["progress"], "items_total": 6, "items_done": 0}
    assert queued_tasks(redis_broker, RENDER_QUEUE) == [(RENDER_ITEM, [item["id"]]) for item in job["items"]]
    with api_app.app_context():
        stored = db.session.scalars(select(JobItem).where(JobItem.job_id == job["id"]).order_by(JobItem.position))
        refs = [item.style_ref for item in stored]
        params = db.session.get(Job, job["id"]).params
    assert refs[1]["label"] == "builtin-07"
    [component] = refs[1]["components"]
    assert {k: component[k] for k in ("weight", "builtin", "vector", "style_id")} == {
        "weight": 1.0,
        "builtin": 7,
        "vector": None,
        "style_id": "builtin:7",
    }
    assert not any(value for key, value in component.items() if key not in ("weight", "builtin", "style_id"))
    assert params["strength"] == 0.8 and params["kind"] == "multi_style"


def test_a_blend_is_one_item_per_input(api_client, auth_headers, redis_broker):
    inputs = two_uploads(api_client, auth_headers)
    job = submit(
        api_client, auth_headers, inputs=inputs, styles=[{"style": "builtin:1", "weight": 1}, {"style": "builtin:2"}]
    ).json
    assert [item["style_label"] for item in job["items"]] == ["builtin:1+builtin:2"] * 2
    assert len(queued_tasks(redis_broker, RENDER_QUEUE)) == 2


def test_the_same_idempotency_key_returns_the_same_job(api_client, auth_headers, redis_broker):
    [photo, _] = two_uploads(api_client, auth_headers)
    body = {"inputs": [photo], "styles": [{"style": "builtin:4"}]}
    headers = {**auth_headers, "Idempotency-Key": "order-42"}
    first = api_client.post("/v1/jobs", json=body, headers=headers)
    again = api_client.post("/v1/jobs", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["id"] == first.json["id"]
    assert len(queued_tasks(redis_broker, RENDER_QUEUE)) == 1  # the retry sent nothing
    different = api_client.post("/v1/jobs", json={**body, "strength": 0.5}, headers=headers)
    assert different.status_code == 409
    fresh = api_client.post("/v1/jobs", json=body, headers={**auth_headers, "Idempotency-Key": "order-43"})
    assert fresh.status_code == 201 and fresh.json["id"] != first.json["id"]


def test_an_unknown_style_is_400_naming_it_and_nothing_is_made(api_app, api_client, auth_headers, redis_broker):
    [photo, _] = two_uploads(api_client, auth_headers)
    response = submit(api_client, auth_headers, inputs=[photo], styles=[{"style": "builtin:1"}, {"style": "monet"}])
    assert response.status_code == 400
    assert "'monet'" in response.json["message"]
    assert submit(api_client, auth_headers, inputs=[photo], styles=[{"style": "builtin:26"}]).status_code == 400
    assert queued_tasks(redis_broker, RENDER_QUEUE) == []
    with api_app.app_context():
        assert db.session.scalars(select(Job)).all() == []


def test_out_of_range_values_are_422_with_the_field(api_client, auth_headers):
    [photo, _] = two_uploads(api_client, auth_headers)
    response = submit(api_client, auth_headers, inputs=[photo], styles=[{"style": "builtin:1"}], strength=2)
    assert response.status_code == 422
    assert response.json["error"] == "validation_error"
    assert response.json["details"]["errors"][0]["loc"] == ["strength"]
    unknown_field = submit(api_client, auth_headers, inputs=[photo], styles=[{"style": "builtin:1"}], colour="red")
    assert unknown_field.status_code == 422
    not_json = api_client.post(
        "/v1/jobs", data="{not json", headers={**auth_headers, "Content-Type": "application/json"}
    )
    assert not_json.status_code == 400 and "not valid JSON" in not_json.json["message"]


def test_an_unknown_upload_is_400(api_client, auth_headers):
    for upload_id in ("no-such-upload", "../../etc/passwd", "builtin:1"):
        response = submit(api_client, auth_headers, inputs=[upload_id], styles=[{"style": "builtin:1"}])
        assert response.status_code == 400
        assert response.json["message"] == f"upload {upload_id!r} not found"


def test_canceling_a_queued_job_cancels_its_items_at_once(api_client, auth_headers):
    inputs = two_uploads(api_client, auth_headers)
    job = submit(api_client, auth_headers, inputs=inputs, styles=[{"style": "builtin:5"}]).json
    response = api_client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth_headers)
    assert response.status_code == 200
    canceled = response.json
    assert canceled["status"] == "canceled" and canceled["cancel_requested"] is True
    assert canceled["finished_at"] is not None
    assert {item["status"] for item in canceled["items"]} == {"canceled"}
    assert canceled["progress"]["items_done"] == canceled["progress"]["items_canceled"] == 2
    assert api_client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth_headers).status_code == 200  # idempotent


def test_canceling_while_an_item_runs_leaves_the_job_to_its_worker(api_app, api_client, auth_headers):
    inputs = two_uploads(api_client, auth_headers)
    job = submit(api_client, auth_headers, inputs=inputs, styles=[{"style": "builtin:5"}]).json
    set_item(api_app, job["items"][0]["id"], status=JobStatus.RUNNING, started_at=utcnow())
    canceled = api_client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth_headers).json
    assert canceled["status"] == "queued" and canceled["cancel_requested"] is True
    assert [item["status"] for item in canceled["items"]] == ["running", "canceled"]


def test_a_finished_job_cannot_be_canceled_or_paused(api_app, api_client, auth_headers):
    [photo, _] = two_uploads(api_client, auth_headers)
    job = submit(api_client, auth_headers, inputs=[photo], styles=[{"style": "builtin:5"}]).json
    with api_app.app_context():
        db.session.get(Job, job["id"]).status = JobStatus.SUCCEEDED
        db.session.commit()
    assert api_client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth_headers).status_code == 409
    assert api_client.post(f"/v1/jobs/{job['id']}/pause", headers=auth_headers).status_code == 409


def test_pause_and_resume_requeues_only_the_items_not_started(api_app, api_client, auth_headers, redis_broker):
    inputs = two_uploads(api_client, auth_headers)
    job = submit(api_client, auth_headers, inputs=inputs, styles=[{"style": "builtin:6"}]).json
    redis_broker.delete(RENDER_QUEUE)  # as if the worker had taken (and skipped) both messages
    paused = api_client.post(f"/v1/jobs/{job['id']}/pause", headers=auth_headers).json
    assert paused["status"] == "paused"
    assert api_client.get("/v1/jobs?status=paused", headers=auth_headers).json["total"] == 1
    set_item(api_app, job["items"][0]["id"], status=JobStatus.SUCCEEDED, started_at=utcnow(), finished_at=utcnow())

    resumed = api_client.post(f"/v1/jobs/{job['id']}/resume", headers=auth_headers).json
    assert resumed["status"] == "running"  # one item already finished
    assert queued_tasks(redis_broker, RENDER_QUEUE) == [(RENDER_ITEM, [job["items"][1]["id"]])]
    again = api_client.post(f"/v1/jobs/{job['id']}/resume", headers=auth_headers)
    assert again.status_code == 200
    assert len(queued_tasks(redis_broker, RENDER_QUEUE)) == 1  # resuming twice sends no duplicate


def test_progress_counts_items_and_tiles(api_app, api_client, auth_headers):
    inputs = two_uploads(api_client, auth_headers)
    job = submit(api_client, auth_headers, inputs=inputs, styles=[{"style": "builtin:6"}]).json
    set_item(api_app, job["items"][0]["id"], status=JobStatus.SUCCEEDED, tiles_done=4, tiles_total=4)
    set_item(api_app, job["items"][1]["id"], status=JobStatus.RUNNING, tiles_done=1, tiles_total=6)
    progress = api_client.get(f"/v1/jobs/{job['id']}", headers=auth_headers).json["progress"]
    assert progress == {
        "items_total": 2,
        "items_done": 1,
        "items_succeeded": 1,
        "items_failed": 0,
        "items_canceled": 0,
        "items_running": 1,
        "tiles_done": 5,
        "tiles_total": 10,
    }
    listed = api_client.get("/v1/jobs", headers=auth_headers).json
    assert listed["items"][0]["progress"] == progress


def test_listing_jobs_is_paginated_newest_first(api_client, auth_headers):
    [photo, _] = two_uploads(api_client, auth_headers)
    ids = [
        submit(api_client, auth_headers, inputs=[photo], styles=[{"style": f"builtin:{i}"}]).json["id"]
        for i in range(3)
    ]
    first = api_client.get("/v1/jobs?limit=2", headers=auth_headers).json
    second = api_client.get(f"/v1/jobs?limit=2&offset={first['next_offset']}", headers=auth_headers).json
    assert [j["id"] for j in first["items"] + second["items"]] == ids[::-1]
    assert first["total"] == 3 and second["next_offset"] is None
    assert api_client.get("/v1/jobs?status=done", headers=auth_headers).status_code == 422


def test_result_download_streams_the_output_of_a_finished_item(api_app, api_client, auth_headers):
    [photo, _] = two_uploads(api_client, auth_headers)
    job = submit(api_client, auth_headers, inputs=[photo], styles=[{"style": "builtin:8"}], output_format="jpeg").json
    item_id = job["items"][0]["id"]
    result_url = f"/v1/jobs/{job['id']}/items/{item_id}/result"
    not_ready = api_client.get(result_url, headers=auth_headers)
    assert not_ready.status_code == 404 and "no result yet (queued)" in not_ready.json["message"]

    output = image_bytes(64, 48, "JPEG", (10, 200, 10))
    with api_app.app_context():
        tenant_id = db.session.get(Job, job["id"]).tenant_id
        key = output_key(tenant_id, job["id"], 0, item_id, "jpeg")
        object_store.storage.put_bytes(key, output)
    set_item(
        api_app,
        item_id,
        status=JobStatus.SUCCEEDED,
        output_key=key,
        output_format="jpeg",
        output_bytes=len(output),
        width=64,
        height=48,
    )
    item = api_client.get(f"/v1/jobs/{job['id']}", headers=auth_headers).json["items"][0]
    assert item["download_url"] == result_url
    assert item["output"] == {"format": "jpeg", "bytes": len(output), "width": 64, "height": 48}
    with api_client.get(result_url, headers=auth_headers) as response:
        assert response.status_code == 200
        assert response.mimetype == "image/jpeg"
        assert response.content_length == len(output)
        assert response.get_data() == output
    assert api_client.get(f"/v1/jobs/{job['id']}/items/nope/result", headers=auth_headers).status_code == 404


def test_a_broker_that_is_down_is_503_and_leaves_no_job_behind(make_api_app):
    from tests.conftest_api import issue_key
    from tests.conftest_farm import free_port

    app = make_api_app(broker_url=f"redis://127.0.0.1:{free_port()}/0")
    client, headers = app.test_client(), issue_key(app, "acme")
    [photo, _] = two_uploads(client, headers)
    started = time.monotonic()
    response = submit(client, {**headers, "Idempotency-Key": "k1"}, inputs=[photo], styles=[{"style": "builtin:1"}])
    assert time.monotonic() - started < 10
    assert response.status_code == 503
    assert response.json["error"] == "queue_unavailable" and response.headers["Retry-After"]
    assert client.get("/v1/jobs", headers=headers).json["total"] == 0  # a retry with key k1 starts afresh
    assert client.get("/readyz").json["checks"]["broker"]["ok"] is False
