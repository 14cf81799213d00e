"""Alembic environment: our models' metadata, the URL from our settings, batch mode on SQLite.

Why batch mode: SQLite cannot ALTER most things in place; Alembic's batch mode rebuilds the table,
so one revision file works on SQLite (single machine) and PostgreSQL (cluster) alike.
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import URL

from shared.db import Base
from shared.db.base import UTCDateTime
from shared.db.session import make_engine, normalize_database_url

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _database_url() -> URL:
    """The URL from the caller, then ``-x url=...``, then our settings (read here, once)."""
    url = config.attributes.get("database_url") or context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        from shared.settings import get_settings

        url = get_settings().database_url
    return normalize_database_url(url)


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Write our UTCDateTime as a plain ``sa.DateTime(timezone=True)`` so revisions don't import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kwargs: Any) -> None:
    url = kwargs.pop("url")
    context.configure(
        target_metadata=Base.metadata,
        render_as_batch=url.get_backend_name() == "sqlite",
        render_item=_render_item,
        compare_type=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    """Print the SQL instead of running it (``alembic upgrade head --sql``)."""
    url = _database_url()
    _configure(url=url, literal_binds=True, dialect_name=url.get_backend_name())
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = _database_url()
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            _configure(url=url, connection=connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
