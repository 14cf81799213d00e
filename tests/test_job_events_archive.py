"""A job's event stream and its zip of outputs, over HTTP on SQLite and PostgreSQL (no worker:
the test records what a worker would, on the items and in storage)."""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile

from sqlalchemy import delete

from api.extensions import db, object_store
from shared.db import Job, JobItem, JobStatus
from shared.keys import output_key
from tests.conftest_api import image_bytes, issue_key, upload
from tests.test_api_jobs import set_item, submit


def _events(body: str) -> list[tuple[str, str]]:
    """``(event, data)`` of each server-sent event in ``body``; ``("retry", ms)`` for a retry hint."""
    events = []
    for block in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if "event" in fields:
            events.append((fields["event"], fields["data"]))
        elif "retry" in fields:
            events.append(("retry", fields["retry"]))
    return events


def _finish_job(app, job_id: str, status: JobStatus) -> None:
    with app.app_context():
        db.session.get(Job, job_id).status = status
        db.session.commit()


def test_events_push_each_change_and_end_when_the_job_finishes(make_api_app):
    app = make_api_app(job_events_max_s=20.0, job_events_poll_s=0.05)
    client, headers = app.test_client(), issue_key(app, "acme")
    photo = upload(client, headers).json["id"]
    job = submit(client, headers, inputs=[photo], styles=[{"style": "builtin:1"}]).json
    item_id = job["items"][0]["id"]

    def work() -> None:  # what a worker records while the stream is open
        time.sleep(0.3)
        set_item(app, item_id, status=JobStatus.RUNNING, tiles_done=1, tiles_total=2)
        time.sleep(0.3)
        set_item(app, item_id, status=JobStatus.FAILED, tiles_done=1, tiles_total=2, error="boom")
        _finish_job(app, job["id"], JobStatus.FAILED)

    worker = threading.Thread(target=work)
    started = time.monotonic()
    worker.start()
    response = client.get(f"/v1/jobs/{job['id']}/events", headers=headers)
    body = response.get_data(as_text=True)
    worker.join()
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    events = _events(body)
    assert [name for name, _ in events][-1] == "end" and time.monotonic() - started < 10
    documents = [json.loads(data) for name, data in events if name == "job"]
    statuses = [(doc["status"], doc["items"][0]["status"], doc["items"][0]["tiles_done"]) for doc in documents]
    assert statuses[0] == ("queued", "queued", 0)
    assert ("queued", "running", 1) in statuses or ("running", "running", 1) in statuses
    assert statuses[-1] == ("failed", "failed", 1) and documents[-1]["items"][0]["error"] == "boom"
    assert len(documents) == len({json.dumps(doc) for doc in documents})  # each one a change


def test_a_stream_ends_with_a_retry_hint_after_its_time_limit(make_api_app):
    app = make_api_app(job_events_max_s=0.3, job_events_poll_s=0.05, job_events_heartbeat_s=0.1)
    client, headers = app.test_client(), issue_key(app, "acme")
    photo = upload(client, headers).json["id"]
    job = submit(client, headers, inputs=[photo], styles=[{"style": "builtin:1"}]).json
    body = client.get(f"/v1/jobs/{job['id']}/events", headers=headers).get_data(as_text=True)
    events = _events(body)
    assert [name for name, _ in events] == ["job", "retry"]
    assert ": keep-alive" in body


def test_a_job_deleted_while_followed_ends_its_stream_as_gone(make_api_app):
    app = make_api_app(job_events_max_s=20.0, job_events_poll_s=0.05)
    client, headers = app.test_client(), issue_key(app, "acme")
    photo = upload(client, headers).json["id"]
    job = submit(client, headers, inputs=[photo], styles=[{"style": "builtin:1"}]).json

    def delete_job() -> None:
        time.sleep(0.3)
        with app.app_context():
            db.session.execute(delete(JobItem).where(JobItem.job_id == job["id"]))
            db.session.execute(delete(Job).where(Job.id == job["id"]))
            db.session.commit()

    deleter = threading.Thread(target=delete_job)
    deleter.start()
    body = client.get(f"/v1/jobs/{job['id']}/events", headers=headers).get_data(as_text=True)
    deleter.join()
    assert _events(body)[-1] == ("end", '{"status": "gone"}')


def test_events_and_archive_of_another_tenants_job_are_404(api_app, api_client, auth_headers):
    photo = upload(api_client, auth_headers).json["id"]
    job = submit(api_client, auth_headers, inputs=[photo], styles=[{"style": "builtin:1"}]).json
    other = issue_key(api_app, "globex")
    for route in ("events", "archive"):
        assert api_client.get(f"/v1/jobs/{job['id']}/{route}", headers=other).status_code == 404
        assert api_client.get(f"/v1/jobs/{job['id']}/{route}").status_code == 401


def test_the_archive_holds_each_finished_output_named_by_input_and_style(api_app, api_client, auth_headers):
    photo = upload(api_client, auth_headers, name="holiday photo.png").json["id"]
    job = submit(
        api_client,
        auth_headers,
        kind="multi_style",
        inputs=[photo],
        styles=[{"style": "builtin:8"}, {"style": "builtin:9"}],
        output_format="jpeg",
    ).json
    archive_url = f"/v1/jobs/{job['id']}/archive"
    not_ready = api_client.get(archive_url, headers=auth_headers)
    assert not_ready.status_code == 404 and "no finished outputs" in not_ready.json["message"]

    first, second = job["items"]
    output = image_bytes(64, 48, "JPEG", (10, 200, 10))
    with api_app.app_context():
        tenant_id = db.session.get(Job, job["id"]).tenant_id
        key = output_key(tenant_id, job["id"], first["position"], first["id"], "jpeg")
        object_store.storage.put_bytes(key, output)
    set_item(api_app, first["id"], status=JobStatus.SUCCEEDED, output_key=key, output_format="jpeg",
             output_bytes=len(output))  # fmt: skip
    set_item(api_app, second["id"], status=JobStatus.FAILED, error="bad luck")

    response = api_client.get(archive_url, headers=auth_headers)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert f'filename="{job["id"]}.zip"' in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == ["holiday_photo__fine-colour-lines.jpg"]  # <input>__<style name>.<ext>
        assert archive.read(archive.namelist()[0]) == output
    finished = api_client.get(f"/v1/jobs/{job['id']}", headers=auth_headers).json["items"][0]
    assert finished["style_label"] == "builtin:8" and finished["style_name"] == "fine-colour-lines"
    assert finished["file_name"] == "holiday_photo__fine-colour-lines.jpg"
    single = api_client.get(finished["download_url"], headers=auth_headers)
    assert "filename=holiday_photo__fine-colour-lines.jpg" in single.headers["Content-Disposition"]
    assert single.get_data() == output
    single.close()
