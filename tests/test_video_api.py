"""Video jobs over HTTP: video uploads are probed and limited; a video job is segments plus a join."""

from __future__ import annotations

import io

import pytest

from shared.queue import RENDER_ITEM, RENDER_QUEUE
from tests.conftest_api import issue_key, queued_tasks, upload
from tests.video_clips import CLIP, sine_tone_m4a


def upload_video(client, headers, data: bytes, name: str = "clip.mp4"):
    files = {"file": (io.BytesIO(data), name), "kind": "video"}
    return client.post("/v1/uploads", data=files, headers=headers, content_type="multipart/form-data")


def test_a_video_upload_reports_its_frames_and_size(api_client, auth_headers):
    response = upload_video(api_client, auth_headers, CLIP.read_bytes())
    assert response.status_code == 201, response.json
    assert (response.json["frames"], response.json["width"], response.json["height"]) == (24, 160, 90)
    assert response.json["format"] == "mp4"


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (sine_tone_m4a(), 400, "audio-only"),
        (CLIP.read_bytes()[:5000], 400, "not a readable video"),
        (b"GIF89a" + bytes(64), 400, "not a video"),
    ],
    ids=["audio only", "truncated", "an image"],
)
def test_bad_video_uploads_are_refused_with_the_reason(api_client, auth_headers, data, status, words):
    response = upload_video(api_client, auth_headers, data)
    assert response.status_code == status
    assert words in response.json["message"]


@pytest.mark.parametrize(
    ("setting", "value", "words"),
    [
        ("max_video_frames", 10, "too many frames"),
        ("max_video_seconds", 1.0, "too long"),
        ("max_video_pixels", 9000, "too large"),
    ],
)
def test_a_video_over_a_limit_is_refused_with_413(make_api_app, setting, value, words):
    app = make_api_app(**{setting: value})
    response = upload_video(app.test_client(), issue_key(app, "acme"), CLIP.read_bytes())
    assert response.status_code == 413
    assert words in response.json["message"]


def test_a_video_job_is_segments_enqueued_now_and_a_join_sent_later(make_api_app, redis_broker):
    app = make_api_app(video_segment_frames=10, video_overlap_frames=4)
    client, headers = app.test_client(), issue_key(app, "acme")
    videos = [upload_video(client, headers, CLIP.read_bytes()).json["id"] for _ in range(2)]
    body = {"kind": "video", "inputs": videos, "styles": [{"style": "builtin:3"}, {"style": "builtin:5"}]}
    response = client.post("/v1/jobs", json=body, headers=headers)
    assert response.status_code == 201, response.json
    items = response.json["items"]
    # Per input (the styles are one blend): frames 0-10, 10-20 (from 6), 20-24 (from 16), then the join.
    assert [(i["role"], i["group_index"], i["tiles_total"]) for i in items] == [
        ("segment", 0, 10), ("segment", 0, 14), ("segment", 0, 8), ("join", 0, 24),
        ("segment", 1, 10), ("segment", 1, 14), ("segment", 1, 8), ("join", 1, 24),
    ]  # fmt: skip
    segments = [item["id"] for item in items if item["role"] == "segment"]
    mine = {item["id"] for item in items}  # other test sessions may share this Redis database
    sent = [args[0] for name, args in queued_tasks(redis_broker, RENDER_QUEUE) if name == RENDER_ITEM]
    assert [item_id for item_id in sent if item_id in mine] == segments


def test_a_video_job_naming_an_image_is_refused(api_client, auth_headers):
    image_id = upload(api_client, auth_headers).json["id"]
    response = api_client.post(
        "/v1/jobs",
        json={"kind": "video", "inputs": [image_id], "styles": [{"style": "builtin:3"}]},
        headers=auth_headers,
    )
    assert response.status_code == 400
    assert "is not a video" in response.json["message"]


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"video_codec": "nosuchcodec"}, "unknown or has no encoder"),
        ({"video_container": "webm", "video_codec": "libx264"}, "cannot be written into a webm file"),
    ],
    ids=["unknown codec", "codec the container refuses"],
)
def test_a_video_job_asking_for_an_unwritable_output_is_refused(api_client, auth_headers, options, words):
    video_id = upload_video(api_client, auth_headers, CLIP.read_bytes()).json["id"]
    body = {"kind": "video", "inputs": [video_id], "styles": [{"style": "builtin:3"}], **options}
    response = api_client.post("/v1/jobs", json=body, headers=auth_headers)
    assert response.status_code == 400, response.json
    assert words in response.json["message"]


def test_a_video_job_may_ask_for_a_webm_output(api_client, auth_headers):
    video_id = upload_video(api_client, auth_headers, CLIP.read_bytes()).json["id"]
    body = {"kind": "video", "inputs": [video_id], "styles": [{"style": "builtin:3"}], "video_container": "webm"}
    response = api_client.post("/v1/jobs", json=body, headers=auth_headers)
    assert response.status_code == 201, response.json
    assert response.json["params"]["video_container"] == "webm"  # what the join worker will read
