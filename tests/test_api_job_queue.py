"""Retrying a job's failed items, and a job's place in the queue with its estimated time left."""

from __future__ import annotations

from api.extensions import db
from shared.db import Job, JobStatus, utcnow
from shared.queue import RENDER_ITEM, RENDER_QUEUE
from tests.conftest_api import queued_tasks
from tests.test_api_jobs import set_item, submit, two_uploads


def _set_job(app, job_id: str, **fields) -> None:
    with app.app_context():
        job = db.session.get(Job, job_id)
        for name, value in fields.items():
            setattr(job, name, value)
        db.session.commit()


def test_retry_queues_only_the_failed_items_again_and_keeps_the_outputs(
    api_app, api_client, auth_headers, redis_broker
):
    inputs = two_uploads(api_client, auth_headers)
    job = submit(api_client, auth_headers, inputs=inputs, styles=[{"style": "builtin:3"}]).json
    good, bad = job["items"]
    early = api_client.post(f"/v1/jobs/{job['id']}/retry", headers=auth_headers)
    assert early.status_code == 409 and "still queued" in early.json["message"]

    set_item(api_app, good["id"], status=JobStatus.SUCCEEDED, output_key="outputs/kept.png", output_format="png")
    set_item(api_app, bad["id"], status=JobStatus.FAILED, error="the image could not be read", attempts=3)
    _set_job(api_app, job["id"], status=JobStatus.FAILED, error="1 of 2 items failed", finished_at=utcnow())
    redis_broker.delete(RENDER_QUEUE)

    retried = api_client.post(f"/v1/jobs/{job['id']}/retry", headers=auth_headers)
    assert retried.status_code == 200, retried.json
    assert retried.json["status"] == "running" and retried.json["error"] is None
    statuses = {item["id"]: (item["status"], item["error"], item["attempts"]) for item in retried.json["items"]}
    assert statuses == {good["id"]: ("succeeded", None, 0), bad["id"]: ("queued", None, 0)}
    assert queued_tasks(redis_broker, RENDER_QUEUE) == [(RENDER_ITEM, [bad["id"]])]  # only the failure again

    _set_job(api_app, job["id"], status=JobStatus.SUCCEEDED, finished_at=utcnow())
    set_item(api_app, bad["id"], status=JobStatus.SUCCEEDED)
    nothing = api_client.post(f"/v1/jobs/{job['id']}/retry", headers=auth_headers)
    assert nothing.status_code == 409 and "no failed items" in nothing.json["message"]


def test_queue_position_counts_earlier_unfinished_items_and_estimates_from_recent_renders(
    api_app, api_client, auth_headers, redis_broker
):
    inputs = two_uploads(api_client, auth_headers)
    first = submit(api_client, auth_headers, inputs=inputs, styles=[{"style": "builtin:1"}]).json
    second = submit(api_client, auth_headers, inputs=inputs[:1], styles=[{"style": "builtin:2"}]).json
    unknown = api_client.get(f"/v1/jobs/{second['id']}/queue", headers=auth_headers).json
    assert unknown["items_ahead"] == 2 and unknown["position"] == 3 and unknown["eta_s"] is None  # nothing rendered yet

    done, running = first["items"]
    set_item(api_app, done["id"], status=JobStatus.SUCCEEDED, finished_at=utcnow(),
             history=[{"event": "succeeded", "seconds": 4.0}])  # fmt: skip
    set_item(api_app, running["id"], status=JobStatus.RUNNING)
    queue = api_client.get(f"/v1/jobs/{second['id']}/queue", headers=auth_headers).json
    assert queue["items_ahead"] == 1 and queue["items_left"] == 1 and queue["running_now"] == 1
    assert queue["mean_item_s"] == 4.0 and queue["eta_s"] == 8.0  # (1 ahead + 1 left) × 4 s, one at a time
    assert api_client.get(f"/v1/jobs/{first['id']}/queue", headers=auth_headers).json["items_ahead"] == 0


def test_an_items_input_is_served_to_the_jobs_owner_only(api_app, api_client, auth_headers):
    from tests.conftest_api import image_bytes, issue_key, upload

    picture = image_bytes(40, 30, "PNG")
    upload_id = upload(api_client, auth_headers, picture).json["id"]
    item = submit(api_client, auth_headers, inputs=[upload_id], styles=[{"style": "builtin:3"}]).json["items"][0]
    response = api_client.get(item["input_url"], headers=auth_headers)
    assert response.status_code == 200 and response.get_data() == picture and response.mimetype == "image/png"
    response.close()
    assert api_client.get(item["input_url"], headers=issue_key(api_app, "someone-else")).status_code == 404


def test_job_listings_name_their_styles(api_client, auth_headers):
    inputs = two_uploads(api_client, auth_headers)
    styles = [{"style": "builtin:3"}, {"style": "builtin-14"}]
    job = submit(api_client, auth_headers, inputs=inputs, kind="multi_style", styles=styles).json
    assert job["style_names"] == ["electric-ribbons", "misty-blue"]
    listed = api_client.get("/v1/jobs", headers=auth_headers).json["items"]
    names = [entry["style_names"] for entry in listed if entry["id"] == job["id"]]
    assert names == [["electric-ribbons", "misty-blue"]]
