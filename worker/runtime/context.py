"""What a worker process holds: settings, a database session factory, storage and the engine.

Why per process and lazy: Celery's prefork pool forks children from the main process; database
connections and CUDA state must not cross a fork, so each child builds its own on first use (the
networks load on the first render, not at import). The settings are read once, by the app module.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shared.db.session import make_engine, make_session_factory
from shared.settings import Settings
from shared.storage import Storage, storage_from_settings

if TYPE_CHECKING:
    from worker.engine.render import StyleEngine


@dataclass
class WorkerContext:
    """The resources of one worker process, built from ``settings``."""

    settings: Settings
    database: Engine
    sessions: sessionmaker[Session]
    storage: Storage
    _engine: StyleEngine | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerContext:
        database = make_engine(settings.database_url)
        return cls(settings, database, make_session_factory(database), storage_from_settings(settings))

    @property
    def engine(self) -> StyleEngine:
        """The style engine, created on first use in this process (networks load on first render)."""
        if self._engine is None:
            import torch  # only where work is done

            from worker.engine.from_settings import engine_from_settings
            from worker.runtime.pool_threads import torch_threads

            torch.set_num_threads(torch_threads(self.settings))
            self._engine = engine_from_settings(self.settings)
        return self._engine


_settings: Settings | None = None
_context: WorkerContext | None = None
_context_pid: int | None = None


def configure_context(settings: Settings) -> None:
    """Say which settings this process's context is built from (the worker app does, once)."""
    global _settings
    _settings = settings
    reset_context()


def get_context() -> WorkerContext:
    """This process's context, built on first use and again in a forked child."""
    global _context, _context_pid
    if _settings is None:
        raise RuntimeError("worker context is not configured; build the app with worker.factory.create_worker_app")
    if _context is None or _context_pid != os.getpid():
        _context = WorkerContext.from_settings(_settings)
        _context_pid = os.getpid()
    return _context


def reset_context() -> None:
    """Forget the context (connections inherited from a parent are left to the parent)."""
    global _context, _context_pid
    if _context is not None and _context_pid != os.getpid():
        _context.database.dispose(close=False)  # SQLAlchemy's advice after fork: do not close parent's
    _context = None
    _context_pid = None
