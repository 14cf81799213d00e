"""The app's extensions — database, object storage, task queue — each set up by ``init_app``.

Each keeps its state in ``app.extensions`` (not on the module object), so several apps with
different settings live side by side in one process, as they do in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from celery import Celery
from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shared.db.session import make_engine, make_session_factory, normalize_database_url
from shared.queue import make_celery
from shared.settings import Settings
from shared.storage import Storage, storage_from_settings

SETTINGS_KEY = "STYLEFARM_SETTINGS"
POSTGRES_CONNECT_TIMEOUT_S = 5  # a database that does not answer fails a request, not hangs it


def app_settings() -> Settings:
    """The settings the current app was built with (read once, in ``create_app``)."""
    return current_app.config[SETTINGS_KEY]


@dataclass
class _DatabaseState:
    engine: Engine
    session_factory: sessionmaker[Session]


class Database:
    """One engine per app and one session per request, closed (rolled back if open) on teardown."""

    name = "stylefarm.db"

    def init_app(self, app: Flask) -> None:
        settings: Settings = app.config[SETTINGS_KEY]
        url = normalize_database_url(settings.database_url)
        options: dict[str, Any] = {}
        if url.get_backend_name() == "postgresql":
            options["connect_args"] = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S}
        engine = make_engine(url, **options)
        app.extensions[self.name] = _DatabaseState(engine, make_session_factory(engine))
        app.teardown_appcontext(self._close_session)

    @property
    def engine(self) -> Engine:
        return current_app.extensions[self.name].engine

    @property
    def session(self) -> Session:
        """This request's session, opened on first use."""
        if "db_session" not in g:
            g.db_session = current_app.extensions[self.name].session_factory()
        return g.db_session

    @staticmethod
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


class ObjectStore:
    """The storage backend the settings name (a local folder or an S3 bucket)."""

    name = "stylefarm.storage"

    def init_app(self, app: Flask, storage: Storage | None = None) -> None:
        app.extensions[self.name] = storage or storage_from_settings(app.config[SETTINGS_KEY])

    @property
    def storage(self) -> Storage:
        return current_app.extensions[self.name]


@dataclass
class _QueueState:
    celery: Celery
    owned: bool  # made here (closed by dispose) rather than passed in by the caller


class TaskQueue:
    """The Celery app tasks are sent through, by name; the API never imports the worker."""

    name = "stylefarm.queue"

    def init_app(self, app: Flask, celery_app: Celery | None = None) -> None:
        if celery_app is None:
            app.extensions[self.name] = _QueueState(make_celery(app.config[SETTINGS_KEY]), owned=True)
        else:
            app.extensions[self.name] = _QueueState(celery_app, owned=False)

    @property
    def celery(self) -> Celery:
        return current_app.extensions[self.name].celery


db = Database()
object_store = ObjectStore()
task_queue = TaskQueue()


def dispose(app: Flask) -> None:
    """Close the app's pooled database and broker connections (tests, and a clean shutdown)."""
    app.extensions[Database.name].engine.dispose()
    queue: _QueueState = app.extensions[TaskQueue.name]
    if queue.owned:
        queue.celery.close()
