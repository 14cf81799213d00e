"""Engines and sessions from a database URL.

Why the SQLite pragmas: SQLite ignores foreign keys unless asked on every connection, and its
default journal blocks readers while a worker writes progress; WAL lets the API read meanwhile.

Why ``BEGIN IMMEDIATE`` on SQLite: the farm serializes state changes with ``SELECT ... FOR UPDATE``
(job row, then item rows), which SQLite's compiler silently drops. Without a replacement, a cancel
and a worker finishing the last running item both read the old statuses, each writes its half, and
the job stays ``running`` with every item finished (seen as a follower waiting forever). So a
statement that asks for ``FOR UPDATE`` first takes SQLite's write lock for the rest of the
transaction: the lock PostgreSQL takes on a row, SQLite takes on the database, before the read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

# How long a SQLite writer waits for another's lock before the request fails (the API answers 503).
# The embedded farm has a few writers on one machine (API threads, each pool process's progress and
# heartbeat); in CI a writer was seen holding the lock for ~12 s, and 5 s turned that wait into failed
# uploads (the cause: processes at real-time priority, shared/video/scheduling.py; a pool process that
# is not scheduled cannot commit). Waiting longer costs nothing when nothing waits.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalize_database_url(url: str | URL) -> URL:
    """Pick the drivers we ship: ``postgresql://`` and ``postgres://`` become psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for ``url``; for a SQLite file, its folder is created and WAL switched on.

    Args:
        url: any SQLAlchemy URL; PostgreSQL URLs are switched to the psycopg 3 driver.
        kwargs: passed to ``create_engine`` (``echo``, pool settings).
    """
    parsed = normalize_database_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _make_sqlite_engine(parsed, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)  # survive database restarts between long renders
    return create_engine(parsed, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``.

    ``expire_on_commit=False``: a worker commits, closes its session and then still reads the
    loaded attributes during a long render without touching the database again.
    """
    return sessionmaker(bind=engine, expire_on_commit=False)


def _make_sqlite_engine(url: URL, **kwargs: Any) -> Engine:
    in_memory = url.database in (None, "", ":memory:")
    if not in_memory:
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
        finally:
            cursor.close()

    event.listen(engine, "before_execute", _write_lock_for_update)
    return engine


def _write_lock_for_update(connection: Connection, statement: Any, *_args: Any) -> None:
    """Start the transaction with ``BEGIN IMMEDIATE`` when a statement asks for ``FOR UPDATE``.

    pysqlite opens a transaction only before the first write, so reads before it see whatever is
    committed; once this transaction holds the write lock no other can commit until it ends,
    which is what the row locks give on PostgreSQL. Busy waiting follows ``busy_timeout``.
    """
    if getattr(statement, "_for_update_arg", None) is None:
        return
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection is not None and not dbapi_connection.in_transaction:
        dbapi_connection.execute("BEGIN IMMEDIATE")
