from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from shared.db import NUM_BUILTINS, Base, Style
from shared.db.migrate import MIGRATIONS_DIR, downgrade_to, upgrade_to_head
from shared.db.session import make_engine, make_session_factory

REPO = Path(__file__).resolve().parents[1]


def test_migrations_upgrade_postgres_and_sqlite_to_head_and_seed_26_builtins(database_url):
    upgrade_to_head(database_url)
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            styles = session.scalars(select(Style).order_by(Style.builtin_index)).all()
            versions = set(session.scalars(text("SELECT version_num FROM alembic_version")))
    finally:
        engine.dispose()
    assert versions == set(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())
    assert len(versions) == 1, "merge migration heads before release"
    assert len(styles) == NUM_BUILTINS
    assert [s.id for s in styles] == [f"builtin:{i}" for i in range(NUM_BUILTINS)]
    names = [s.name for s in styles]
    assert len(set(names)) == NUM_BUILTINS and not any(name.startswith("builtin") for name in names)
    assert names[0] == "pale-blue-wash" and names[19] == "blue-dab-texture"  # descriptive, not numbered
    assert {(s.kind, s.status, s.tenant_id) for s in styles} == {("builtin", "ready", None)}


def test_migrated_schema_matches_the_models(database_url):
    upgrade_to_head(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_migrations_downgrade_to_base_and_upgrade_again(database_url):
    upgrade_to_head(database_url)
    upgrade_to_head(database_url)  # already at head: nothing happens, no duplicate seed rows
    downgrade_to(database_url, "0001")
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM styles")).scalar_one() == 0
        downgrade_to(database_url, "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        upgrade_to_head(database_url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM styles")).scalar_one() == NUM_BUILTINS
    finally:
        engine.dispose()


def test_alembic_command_line_takes_the_url_from_stylefarm_settings(tmp_path):
    env = {**os.environ, "STYLEFARM_HOME": str(tmp_path / "home")}
    env.pop("STYLEFARM_DATABASE_URL", None)
    alembic = Path(sys.executable).with_name("alembic")
    done = subprocess.run(
        [str(alembic), "upgrade", "head"], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "home" / "stylefarm.db").is_file()
    assert "Running upgrade 0001 -> 0002" in done.stderr


def test_revision_files_have_dated_named_slugs():
    """File names read ``YYYY_MM_DD_<revision>_<slug>.py`` and carry the revision id they declare."""
    paths = sorted((MIGRATIONS_DIR / "versions").glob("*.py"))
    assert len(paths) >= 3
    for path in paths:
        match = re.fullmatch(r"\d{4}_\d{2}_\d{2}_(\w+?)_[a-z][a-z0-9_]*\.py", path.name)
        assert match, path.name
        assert f'revision: str = "{match.group(1)}"' in path.read_text(), path.name
