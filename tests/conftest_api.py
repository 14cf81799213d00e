"""Fixtures for the REST API: an app on a migrated database (SQLite and PostgreSQL), local storage
in a tmp dir, and Redis as the broker so tests read the very messages workers would get."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import URL

from api.app import create_app
from api.auth.keys import create_api_key
from api.extensions import db, dispose
from shared.db.migrate import upgrade_to_head
from tests.conftest_farm import S3_CREDENTIALS
from tests.worker_farm import API_TESTS_REDIS_DB

REDIS_DB = API_TESTS_REDIS_DB  # claimed farm tests never take it; STYLEFARM_TEST_API_REDIS_DB moves it
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
MAX_UPLOAD_BYTES = 300_000
MAX_INPUT_PIXELS = 1_000_000


@pytest.fixture
def redis_broker() -> Iterator[redis.Redis]:
    """The Redis database the API sends tasks to, emptied for this test."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({exc.__class__.__name__})")
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def make_api_app(database_url: URL, tmp_path, redis_broker) -> Iterator[Callable[..., Flask]]:
    """Build apps on one migrated database; keyword arguments override the test settings."""
    url = database_url.render_as_string(hide_password=False)
    upgrade_to_head(url)
    apps: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        config = {
            "home": str(tmp_path / "home"),
            "database_url": url,
            "broker_url": REDIS_URL,
            "max_upload_bytes": MAX_UPLOAD_BYTES,
            "max_input_pixels": MAX_INPUT_PIXELS,
            "api_key_cache_s": 0,  # a revoked key is refused at once (test_security.py covers the cache)
            "TESTING": True,
            **overrides,
        }
        app = create_app(config)
        apps.append(app)
        return app

    try:
        yield build
    finally:
        for app in apps:
            dispose(app)


def s3_overrides(bucket: str, endpoint: str) -> dict[str, str]:
    """Settings that keep an app's files in ``bucket`` of the test S3 server at ``endpoint``."""
    return {
        "storage_backend": "s3",
        "s3_bucket": bucket,
        "s3_endpoint_url": endpoint,
        "s3_access_key_id": S3_CREDENTIALS["access_key_id"],
        "s3_secret_access_key": S3_CREDENTIALS["secret_access_key"],
    }


@pytest.fixture
def api_app(make_api_app) -> Flask:
    return make_api_app()


@pytest.fixture
def api_client(api_app) -> FlaskClient:
    return api_app.test_client()


def issue_key(app: Flask, tenant: str) -> dict[str, str]:
    """Authorization headers with a new key of ``tenant``."""
    with app.app_context():
        key = create_api_key(db.session, tenant)
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def auth_headers(api_app) -> dict[str, str]:
    """Authorization headers of tenant "acme"."""
    return issue_key(api_app, "acme")


def image_bytes(
    width: int = 64, height: int = 48, fmt: str = "PNG", color: tuple[int, int, int] = (200, 90, 30)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, fmt)
    return buffer.getvalue()


def upload(client: FlaskClient, headers: dict[str, str], data: bytes | None = None, name: str = "photo.png") -> Any:
    """POST ``data`` (a small PNG by default) to /v1/uploads; the response."""
    files = {"file": (io.BytesIO(image_bytes() if data is None else data), name)}
    return client.post("/v1/uploads", data=files, headers=headers, content_type="multipart/form-data")


def queued_tasks(broker: redis.Redis, queue: str) -> list[tuple[str, list[Any]]]:
    """``(task name, args)`` of each message waiting in a Celery queue on Redis, oldest first."""
    messages = [json.loads(raw) for raw in reversed(broker.lrange(queue, 0, -1))]  # LPUSHed: newest first
    tasks = []
    for message in messages:
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        tasks.append((message["headers"]["task"], args))
    return tasks
