"""Run the Alembic migrations from code (app start-up, CLI, tests).

Why a path next to this file: ``migrations/`` sits at the repository root, beside ``shared/``, so
an editable install (``pip install -e .``) finds it without packaging the revision files.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import URL

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str | URL) -> Config:
    """An Alembic config pointing at our revisions and at ``database_url`` (no alembic.ini needed)."""
    if not (MIGRATIONS_DIR / "env.py").is_file():
        raise FileNotFoundError(f"no Alembic migrations at {MIGRATIONS_DIR}; install with pip install -e .")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Passed as an attribute, not a main option: URLs with '%' (encoded passwords) break ini interpolation.
    if isinstance(database_url, URL):
        database_url = database_url.render_as_string(hide_password=False)
    config.attributes["database_url"] = database_url
    return config


def upgrade_to_head(database_url: str | URL) -> None:
    """Bring the database at ``database_url`` to the newest revision (a no-op when it is there)."""
    command.upgrade(alembic_config(database_url), "heads")


def downgrade_to(database_url: str | URL, revision: str) -> None:
    """Step the database back to ``revision`` (``"base"`` empties it); for tests and rollbacks."""
    command.downgrade(alembic_config(database_url), revision)
