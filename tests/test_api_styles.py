"""The style library over HTTP: built-ins and a tenant's own styles, embedded by a worker later."""

from __future__ import annotations

import io

from api.extensions import db
from shared.db import Style, StyleStatus
from shared.queue import EMBED_STYLE, LIGHT_QUEUE
from tests.conftest_api import image_bytes, queued_tasks


def add_style(client, headers, name: str, data: bytes | None = None):
    files = {"file": (io.BytesIO(data or image_bytes(80, 60, "JPEG")), "painting.jpg"), "name": name}
    return client.post("/v1/styles", data=files, headers=headers, content_type="multipart/form-data")


def make_ready(app, style_id: str, thumbnail: bytes | None = None) -> None:
    """What embed_style does: store a vector (and a thumbnail) and mark the style ready."""
    from api.extensions import object_store
    from shared.keys import style_thumbnail_key

    with app.app_context():
        style = db.session.get(Style, style_id)
        style.vector = [0.01 * i for i in range(100)]
        style.status = StyleStatus.READY
        if thumbnail is not None:
            style.thumbnail_key = style_thumbnail_key(style.tenant_id, style.id)
            object_store.storage.put_bytes(style.thumbnail_key, thumbnail)
        db.session.commit()


def test_listing_shows_the_26_builtins_paginated_and_searchable(api_client, auth_headers):
    first = api_client.get("/v1/styles?limit=10", headers=auth_headers).json
    assert first["total"] == 26 and len(first["items"]) == 10 and first["next_offset"] == 10
    assert first["items"][0] == {**first["items"][0], "id": "builtin:1", "name": "black-bars-on-yellow", "public": True}
    everything = [s["name"] for s in first["items"]]
    offset = first["next_offset"]
    while offset is not None:
        page = api_client.get(f"/v1/styles?limit=10&offset={offset}", headers=auth_headers).json
        everything += [s["name"] for s in page["items"]]
        offset = page["next_offset"]
    assert len(everything) == 26 and everything == sorted(everything)  # by name, every built-in once
    found = api_client.get("/v1/styles?q=BLUE", headers=auth_headers).json
    assert {s["name"] for s in found["items"]} == {
        "pale-blue-wash", "blue-and-gold-blur", "misty-blue", "blue-orange-strokes", "blue-dab-texture"
    }  # fmt: skip
    assert api_client.get("/v1/styles?q=100%25", headers=auth_headers).json["total"] == 0  # % is literal


def test_bad_pagination_is_422_naming_the_parameter(api_client, auth_headers):
    response = api_client.get("/v1/styles?limit=0", headers=auth_headers)
    assert response.status_code == 422
    assert response.json["details"]["errors"][0]["loc"] == ["limit"]


def test_registering_a_style_makes_it_pending_and_enqueues_the_embedding_on_light(
    api_client, auth_headers, redis_broker
):
    response = add_style(api_client, auth_headers, "wave")
    assert response.status_code == 201, response.json
    style = response.json
    assert style["status"] == "pending" and style["kind"] == "vector" and style["public"] is False
    assert queued_tasks(redis_broker, LIGHT_QUEUE) == [(EMBED_STYLE, [style["id"]])]
    listed = api_client.get("/v1/styles?q=wave", headers=auth_headers).json["items"]
    assert [s["id"] for s in listed] == [style["id"]]


def test_a_pending_style_cannot_be_used_until_it_is_ready(api_app, api_client, auth_headers):
    from tests.conftest_api import upload

    style = add_style(api_client, auth_headers, "wave").json
    upload_id = upload(api_client, auth_headers).json["id"]
    body = {"inputs": [upload_id], "styles": [{"style": "wave"}]}
    refused = api_client.post("/v1/jobs", json=body, headers=auth_headers)
    assert refused.status_code == 400
    assert refused.json["message"] == "style wave is not ready (pending)"
    make_ready(api_app, style["id"])
    accepted = api_client.post("/v1/jobs", json=body, headers=auth_headers)
    assert accepted.status_code == 201, accepted.json
    assert accepted.json["items"][0]["style_label"] == "wave"


def test_duplicate_and_reserved_names_are_refused(api_client, auth_headers):
    assert add_style(api_client, auth_headers, "wave").status_code == 201
    duplicate = add_style(api_client, auth_headers, "wave")
    assert duplicate.status_code == 409
    assert add_style(api_client, auth_headers, "builtin-99").status_code == 400
    taken = add_style(api_client, auth_headers, "misty-blue")  # a built-in's name would shadow it
    assert taken.status_code == 400 and "built-in" in taken.json["message"]


def test_a_style_image_is_checked_like_an_upload(api_client, auth_headers):
    response = add_style(api_client, auth_headers, "junk", b"GIF89a broken")
    assert response.status_code == 400
    assert "image" in response.json["message"]


def test_renaming_and_setting_defaults_of_an_own_style(api_client, auth_headers):
    style = add_style(api_client, auth_headers, "wave").json
    response = api_client.patch(
        f"/v1/styles/{style['id']}",
        json={"name": "great wave", "defaults": {"strength": 0.6, "color_mode": "preserve"}},
        headers=auth_headers,
    )
    assert response.status_code == 200, response.json
    assert response.json["name"] == "great wave"
    assert response.json["defaults"] == {"strength": 0.6, "color_mode": "preserve"}
    bad = api_client.patch(f"/v1/styles/{style['id']}", json={"defaults": {"strength": 3}}, headers=auth_headers)
    assert bad.status_code == 422


def test_builtins_cannot_be_changed_or_deleted(api_client, auth_headers):
    assert api_client.patch("/v1/styles/builtin:3", json={"name": "mine"}, headers=auth_headers).status_code == 409
    assert api_client.delete("/v1/styles/builtin:3", headers=auth_headers).status_code == 409
    assert api_client.get("/v1/styles/builtin:3", headers=auth_headers).json["status"] == "ready"


def test_deleting_a_style_keeps_jobs_that_used_it(api_app, api_client, auth_headers):
    from tests.conftest_api import upload

    style = add_style(api_client, auth_headers, "wave").json
    make_ready(api_app, style["id"])
    upload_id = upload(api_client, auth_headers).json["id"]
    job = api_client.post(
        "/v1/jobs", json={"inputs": [upload_id], "styles": [{"style": "wave"}]}, headers=auth_headers
    ).json
    assert api_client.delete(f"/v1/styles/{style['id']}", headers=auth_headers).status_code == 204
    assert api_client.get(f"/v1/styles/{style['id']}", headers=auth_headers).status_code == 404
    assert api_client.get(f"/v1/jobs/{job['id']}", headers=auth_headers).status_code == 200


def test_thumbnail_is_streamed_once_a_worker_made_it(api_app, api_client, auth_headers):
    style = add_style(api_client, auth_headers, "wave").json
    assert api_client.get(f"/v1/styles/{style['id']}/thumbnail", headers=auth_headers).status_code == 404
    thumbnail = image_bytes(32, 24, "JPEG")
    make_ready(api_app, style["id"], thumbnail)
    described = api_client.get(f"/v1/styles/{style['id']}", headers=auth_headers).json
    with api_client.get(described["thumbnail_url"], headers=auth_headers) as response:  # closes the stream
        assert response.status_code == 200
        assert response.mimetype == "image/jpeg"
        assert response.get_data() == thumbnail


def test_tasks_go_through_a_celery_app_the_caller_passes_in(make_api_app, redis_broker, tmp_path):
    from shared.queue import make_celery
    from shared.settings import get_settings
    from tests.conftest_api import REDIS_URL, issue_key

    celery_app = make_celery(get_settings(home=str(tmp_path / "celery"), broker_url=REDIS_URL))
    try:
        app = make_api_app(celery_app=celery_app)
        style = add_style(app.test_client(), issue_key(app, "acme"), "wave").json
        assert queued_tasks(redis_broker, LIGHT_QUEUE) == [(EMBED_STYLE, [style["id"]])]
    finally:
        celery_app.close()


def test_built_ins_answer_to_their_name_their_id_and_their_former_name(api_client, auth_headers):
    from tests.conftest_api import upload

    upload_id = upload(api_client, auth_headers).json["id"]
    for written in ("electric-ribbons", "builtin:3", "builtin-03"):
        job = api_client.post(
            "/v1/jobs", json={"inputs": [upload_id], "styles": [{"style": written}]}, headers=auth_headers
        )
        assert job.status_code == 201, job.json
        assert job.json["items"][0]["style_label"] == written
