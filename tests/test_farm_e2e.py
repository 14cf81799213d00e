"""The farm end to end: HTTP → API (gunicorn) → queue → worker process → storage → download.

Runs twice: against the real PostgreSQL, Redis and an S3 server (moto) on loopback, and on the
embedded default (SQLite, filesystem broker, local files) that needs no server at all.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator

import numpy as np
import pytest
import redis
from PIL import Image

from cli.client import FarmClient
from cli.stack import LocalStack
from shared.settings import Settings
from tests.conftest_farm import free_port
from tests.onnx_reference import psnr
from tests.worker_farm import claim_redis_db
from worker.engine.render import RenderOptions
from worker.engine.styles import StyleComponent, StyleSpec


@pytest.fixture(params=["services", "embedded"])
def farm_env(request, tmp_path, tmp_path_factory) -> dict[str, str]:
    env = {
        "STYLEFARM_HOME": str(tmp_path / "home"),
        "STYLEFARM_MODEL_CACHE_DIR": str(tmp_path_factory.getbasetemp() / "shared-model-cache"),
        "STYLEFARM_HEARTBEAT_INTERVAL_S": "1",
        "STYLEFARM_HEARTBEAT_TIMEOUT_S": "30",
    }
    if request.param == "services":
        postgres_url = request.getfixturevalue("postgres_url")
        endpoint = request.getfixturevalue("s3_endpoint")
        redis_db = claim_redis_db()

        def flush() -> None:
            with redis.Redis(db=redis_db) as client:
                client.flushdb()

        request.addfinalizer(flush)
        env.update(
            {
                "STYLEFARM_DATABASE_URL": postgres_url.render_as_string(hide_password=False),
                "STYLEFARM_BROKER_URL": f"redis://127.0.0.1:6379/{redis_db}",
                "STYLEFARM_STORAGE_BACKEND": "s3",
                "STYLEFARM_S3_BUCKET": f"farm-{os.getpid()}-{int(time.time())}",
                "STYLEFARM_S3_ENDPOINT_URL": endpoint,
                "STYLEFARM_S3_ACCESS_KEY_ID": "testing",
                "STYLEFARM_S3_SECRET_ACCESS_KEY": "testing",
            }
        )
    return env


@pytest.fixture
def farm(farm_env, monkeypatch) -> Iterator[tuple[LocalStack, FarmClient]]:
    for key, value in farm_env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    if settings.storage_backend == "s3":
        from shared.storage import storage_from_settings

        storage_from_settings(settings).ensure_bucket()  # type: ignore[attr-defined]
    stack = LocalStack(settings, free_port(), env=farm_env)
    try:
        stack.start(timeout_s=90)
        from api.auth.keys import create_api_key
        from shared.db.session import make_engine, make_session_factory

        engine = make_engine(settings.database_url)
        with make_session_factory(engine)() as session:
            key = create_api_key(session, "e2e")
        engine.dispose()
        yield stack, FarmClient(stack.url, key)
    finally:
        stack.stop()
        for name in ("worker", "api"):
            log = stack.log_dir / f"{name}.log"
            if log.exists():
                print(f"--- {name}.log (tail) ---\n" + log.read_text(errors="replace")[-3000:])


def test_multi_style_job_over_http_renders_outputs_equal_to_the_engine(farm, data_dir, engine):
    stack, client = farm
    photo_path = data_dir / "photos" / "chelsea_cat.png"
    wave_path = data_dir / "styles" / "great_wave_hokusai.jpg"
    started = time.monotonic()
    style = client.add_style(wave_path, "wave")
    deadline = time.monotonic() + 120
    while client.style(style["id"])["status"] != "ready":
        assert time.monotonic() < deadline, "the style was never embedded"
        time.sleep(0.2)
    upload = client.upload(photo_path)
    job = client.create_job(
        {
            "kind": "multi_style",
            "inputs": [upload["id"]],
            "styles": [{"style": "builtin:3"}, {"style": "wave"}],
            "output_format": "png",
            "tile_size": 256,
        }
    )
    assert len(job["items"]) == 2
    job = client.wait(job["id"], timeout_s=300)
    print(f"job finished {job['status']} in {time.monotonic() - started:.1f} s")
    assert job["status"] == "succeeded", job
    assert job["progress"]["items_done"] == 2
    assert job["progress"]["tiles_done"] == job["progress"]["tiles_total"] > 0

    photo = Image.open(photo_path).convert("RGB")
    expected = {
        "builtin:3": engine.render(photo, StyleSpec.single(StyleComponent(builtin=3)), RenderOptions(tile_size=256)),
        "wave": engine.render(photo, StyleSpec.single(StyleComponent(image=wave_path)), RenderOptions(tile_size=256)),
    }
    for item in job["items"]:
        destination = stack.settings.home / "downloads" / f"{item['id']}.png"
        client.download(item["download_url"], destination)
        with Image.open(io.BytesIO(destination.read_bytes())) as img:
            assert img.format == "PNG" and img.size == photo.size
            rendered = np.asarray(img.convert("RGB"))
        value = psnr(rendered, expected[item["style_label"]])
        print(f"{item['style_label']}: farm output vs direct engine render {value:.1f} dB")
        assert value >= 40.0
