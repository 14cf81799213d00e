"""Odd but valid inputs through the whole farm, and a bad input that only the worker meets.

Real services: the API (in this process, Flask's test client) and a real Celery worker process
share a PostgreSQL schema, a Redis database and local storage. Odd formats must render like the
engine renders their decode, EXIF-rotated photos upright; an input that goes bad after it was
accepted fails its item with a reason, and the same worker renders the next job.
"""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from api.app import create_app
from api.auth.keys import create_api_key
from api.extensions import db, dispose
from shared.db import Upload
from shared.images import load_image
from tests import badinput_corpus as corpus
from tests.conftest_api import upload
from tests.onnx_reference import psnr
from tests.worker_farm import Farm, open_farm, wait_until
from worker.engine.from_settings import options_from_settings
from worker.engine.render import StyleEngine
from worker.engine.styles import StyleComponent, StyleSpec

pytestmark = pytest.mark.badinput

BUILTIN = 5
ODD_FORMATS = {
    "exif_rotated.jpg": corpus.exif_rotated_jpeg,
    "cmyk.jpg": corpus.cmyk_jpeg,
    "grey16.png": corpus.grey16_png,
    "palette.png": corpus.palette_png,
    "alpha.png": corpus.alpha_png,
    "animated.gif": corpus.animated_gif,
    "png_named.jpg": corpus.png,
}


@pytest.fixture(scope="module")
def farm(tmp_path_factory, postgres_session_url):
    with open_farm(tmp_path_factory, postgres_session_url, max_input_pixels=1_000_000) as farm:
        yield farm


@pytest.fixture(scope="module")
def worker(farm: Farm):
    worker = farm.start_worker("badinput")
    print(f"\nworker ready in {worker.wait_ready():.1f} s")
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def api(farm: Farm):
    app = create_app({**farm.settings.model_dump(), "TESTING": True})
    with app.app_context():
        key = create_api_key(db.session, "badinput")
    yield app.test_client(), {"Authorization": f"Bearer {key}"}
    dispose(app)


@pytest.fixture(scope="module")
def engine(farm: Farm) -> StyleEngine:
    return StyleEngine("cpu", cache_dir=farm.settings.model_cache_dir)


def _render(engine: StyleEngine, farm: Farm, image: Image.Image | np.ndarray) -> np.ndarray:
    return engine.render(image, StyleSpec.single(StyleComponent(builtin=BUILTIN)), options_from_settings(farm.settings))


def _finished_job(client, headers, job_id: str, timeout_s: float = 180.0) -> dict:
    def finished() -> dict | None:
        job = client.get(f"/v1/jobs/{job_id}", headers=headers).json
        return job if job["status"] in ("succeeded", "failed", "canceled") else None

    return wait_until(finished, timeout_s, f"job {job_id} to finish", interval_s=0.2)


def _download(client, headers, item: dict) -> np.ndarray:
    """An item's output as RGB pixels, streamed by the API (the response closed, so is its file)."""
    with client.get(item["download_url"], headers=headers) as result:
        assert result.status_code == 200
        return np.asarray(Image.open(io.BytesIO(result.data)).convert("RGB"))


def _submit(client, headers, upload_ids: list[str]) -> dict:
    body = {"inputs": upload_ids, "styles": [{"style": f"builtin:{BUILTIN}"}], "output_format": "png"}
    response = client.post("/v1/jobs", json=body, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def test_odd_formats_render_like_their_decode_and_exif_photos_come_out_upright(farm, worker, api, engine):
    client, headers = api
    data = {name: make() for name, make in ODD_FORMATS.items()}
    ids = {}
    for name, payload in data.items():
        response = upload(client, headers, payload, name)
        assert response.status_code == 201, (name, response.json)
        ids[response.json["id"]] = name
    started = time.monotonic()
    job = _finished_job(client, headers, _submit(client, headers, list(ids))["id"])
    print(f"{len(ids)} odd-format items rendered in {time.monotonic() - started:.1f} s")
    assert job["status"] == "succeeded", job

    for item in job["items"]:
        name = ids[item["input_id"]]
        output = _download(client, headers, item)
        value = psnr(output, _render(engine, farm, load_image(data[name], farm.settings.max_input_pixels)))
        print(f"{name}: output {output.shape[1]}×{output.shape[0]}, PSNR vs engine render of its decode {value:.1f} dB")
        assert output.shape == (corpus.HEIGHT, corpus.WIDTH, 3), name
        assert value >= 40, name

    rotated = next(item for item in job["items"] if ids[item["input_id"]] == "exif_rotated.jpg")
    output = _download(client, headers, rotated)
    upright = psnr(output, _render(engine, farm, corpus.pattern()))
    upside_down = psnr(output, _render(engine, farm, np.ascontiguousarray(corpus.pattern()[::-1, ::-1])))
    print(f"EXIF-rotated output vs upright render {upright:.1f} dB, vs upside-down render {upside_down:.1f} dB")
    assert upright > upside_down + 3


def test_an_input_gone_bad_after_upload_fails_its_item_with_a_reason_and_the_worker_goes_on(farm, worker, api):
    client, headers = api
    good, spoiled = (upload(client, headers, corpus.png(), "photo.png").json["id"] for _ in range(2))
    with farm.sessions() as session:
        key = session.get(Upload, spoiled).storage_key
    farm.storage.put_bytes(key, corpus.HTML)  # replaced in the store behind the API's back

    failed = _finished_job(client, headers, _submit(client, headers, [spoiled])["id"])
    item = failed["items"][0]
    print(f"spoiled input: job {failed['status']}, item error: {item['error']}")
    assert failed["status"] == "failed" and item["status"] == "failed"
    assert "not a readable image" in (item["error"] or "")

    assert worker.process.poll() is None, "the worker died"
    after = _finished_job(client, headers, _submit(client, headers, [good])["id"])
    assert after["status"] == "succeeded", after
