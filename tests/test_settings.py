from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.settings import Settings, get_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No STYLEFARM_* variable from the machine leaks in; home is a tmp dir."""
    for name in list(os.environ):
        if name.startswith("STYLEFARM_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("STYLEFARM_HOME", str(tmp_path / "home"))


def test_defaults_put_database_broker_storage_and_models_under_home(tmp_path):
    settings = get_settings()
    home = tmp_path / "home"
    assert settings.home == home
    assert settings.database_url == f"sqlite:///{home}/stylefarm.db"
    assert settings.broker_url == "filesystem://"
    assert settings.result_backend == f"db+sqlite:///{home}/celery-results.db"
    assert settings.storage_backend == "local"
    assert settings.storage_root == home / "storage"
    assert settings.model_cache_dir == home / "models"
    assert (settings.max_upload_bytes, settings.max_input_pixels) == (100 * 1024 * 1024, 120_000_000)
    assert (settings.min_input_side, settings.tile_size, settings.thumbnail_side) == (16, 512, 1024)


def test_environment_variables_override_defaults_and_are_converted(monkeypatch):
    monkeypatch.setenv("STYLEFARM_TILE_SIZE", "256")
    monkeypatch.setenv("STYLEFARM_DEVICE", "cuda")
    monkeypatch.setenv("STYLEFARM_DATABASE_URL", "postgresql+psycopg://farm@db:5432/farm")
    settings = get_settings()
    assert settings.tile_size == 256
    assert settings.device == "cuda"
    assert settings.database_url == "postgresql+psycopg://farm@db:5432/farm"


def test_explicit_arguments_win_over_the_environment_and_paths_are_not_rederived(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEFARM_TILE_SIZE", "256")
    settings = get_settings(tile_size=1024, storage_root=tmp_path / "elsewhere")
    assert settings.tile_size == 1024
    assert settings.storage_root == tmp_path / "elsewhere"
    assert settings.model_cache_dir == tmp_path / "home" / "models"


def test_home_given_as_argument_moves_every_derived_path(tmp_path):
    settings = Settings(home=tmp_path / "other")
    assert settings.database_url.endswith(f"{tmp_path}/other/stylefarm.db")
    assert settings.broker_dir == tmp_path / "other" / "broker"


def test_visibility_timeout_must_exceed_the_hard_time_limit():
    with pytest.raises(ValidationError, match="visibility_timeout_s must be above task_time_limit_s"):
        get_settings(task_time_limit_s=3600, visibility_timeout_s=3600)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"task_soft_time_limit_s": 100, "task_time_limit_s": 100}, "soft_time_limit"),
        ({"heartbeat_interval_s": 30, "heartbeat_timeout_s": 40}, "heartbeat_timeout_s"),
        ({"device": "gpu"}, "device"),
        ({"storage_backend": "ftp"}, "storage_backend"),
        ({"storage_backend": "s3"}, "s3_bucket"),
        ({"tile_size": 10}, "tile_size"),
        ({"max_upload_bytes": 0}, "max_upload_bytes"),
        ({"database_url": "not a url"}, "not a database URL"),
        ({"s3_presign_expiry_s": 8 * 24 * 3600}, "s3_presign_expiry_s"),
        ({"tile_sise": 512}, "tile_sise"),
    ],
)
def test_bad_values_are_rejected_at_construction(overrides, message):
    with pytest.raises(ValidationError, match=message):
        get_settings(**overrides)


def test_nothing_is_read_from_the_environment_at_import(monkeypatch):
    monkeypatch.setenv("STYLEFARM_TILE_SIZE", "not-a-number")
    code = "import shared.settings, shared.storage, shared.db, shared.db.session, shared.db.migrate"
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert imported.returncode == 0, imported.stderr
    with pytest.raises(ValidationError, match="tile_size"):
        get_settings()


def test_broker_transport_options_follow_the_broker_url():
    local = get_settings()
    options = local.broker_transport_options()
    assert options["data_folder_in"] == options["data_folder_out"] == str(local.broker_dir / "messages")
    redis = get_settings(broker_url="redis://127.0.0.1:6379/0", visibility_timeout_s=9000)
    assert redis.broker_transport_options() == {"visibility_timeout": 9000}


def test_ensure_directories_creates_the_local_folders(tmp_path):
    settings = get_settings()
    settings.ensure_directories()
    for folder in (settings.storage_root, settings.model_cache_dir, settings.broker_dir / "messages"):
        assert Path(folder).is_dir()


def test_s3_secret_is_hidden_in_repr_but_available_on_request():
    settings = get_settings(storage_backend="s3", s3_bucket="farm", s3_secret_access_key="hunter2")
    assert "hunter2" not in repr(settings)
    assert settings.s3_secret_access_key is not None
    assert settings.s3_secret_access_key.get_secret_value() == "hunter2"
