"""Fixtures for the farm's foundation: fresh databases (SQLite and PostgreSQL) and storage.

Real services only: a moto S3 server on loopback, the PostgreSQL at STYLEFARM_TEST_POSTGRES_URL
(default 127.0.0.1:5432/test; a fresh database per session, a fresh schema per test), SQLite
files in tmp dirs. Without PostgreSQL its tests are skipped, except under CI=true where they fail.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import URL, make_url
from sqlalchemy.orm import Session

from shared.db import Base
from shared.db.session import make_engine, make_session_factory
from shared.storage import LocalStorage, S3Storage, Storage

POSTGRES_URL = os.environ.get("STYLEFARM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
S3_CREDENTIALS = {"access_key_id": "testing", "secret_access_key": "testing"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _libpq(url: URL) -> str:
    """The psycopg conninfo for a SQLAlchemy URL (to run CREATE/DROP DATABASE outside SQLAlchemy)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_session_url() -> Iterator[URL]:
    """A database created for this test session and dropped (forcibly) at its end."""
    admin = make_url(POSTGRES_URL)
    try:
        conn = psycopg.connect(_libpq(admin), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {admin.host}:{admin.port} is required under CI: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {admin.host}:{admin.port} ({exc.__class__.__name__})")
    name = f"stylefarm_test_{uuid.uuid4().hex[:12]}"
    with conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield admin.set(database=name)
        finally:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_session_url: URL) -> Iterator[URL]:
    """An empty schema of the session database, made the connection's search_path."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(postgres_session_url), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield postgres_session_url.update_query_dict({"options": f"-csearch_path={schema}"})
        finally:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> URL:
    """An empty database, once as a SQLite file and once as a PostgreSQL schema."""
    if request.param == "sqlite":
        return make_url(f"sqlite:///{tmp_path}/farm.db")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def db_session(database_url: URL) -> Iterator[Session]:
    """A session on a database holding the models' tables (made by create_all, not migrations)."""
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible server (moto) on a free loopback port for the whole session."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_storage(s3_endpoint: str) -> S3Storage:
    """S3 storage on a bucket of its own, created for this test."""
    storage = S3Storage(f"sf-test-{uuid.uuid4().hex[:16]}", endpoint_url=s3_endpoint, **S3_CREDENTIALS)
    storage.ensure_bucket()
    return storage


@pytest.fixture
def local_storage(tmp_path: object) -> LocalStorage:
    return LocalStorage(tmp_path / "storage")  # type: ignore[operator]


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest) -> Storage:
    """Each storage backend in turn, for behaviour both must share."""
    return request.getfixturevalue(f"{request.param}_storage")
