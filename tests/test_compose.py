"""docker-compose.yml speaks the same settings names the code reads."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from shared.settings import Settings

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _stylefarm_env(service: dict) -> dict[str, str]:
    return {k: str(v) for k, v in (service.get("environment") or {}).items() if k.startswith("STYLEFARM_")}


def test_every_stylefarm_variable_in_compose_is_a_setting(compose):
    fields = {f"STYLEFARM_{name.upper()}" for name in Settings.model_fields}
    used = set()
    for service in compose["services"].values():
        used |= set(_stylefarm_env(service))
    assert used, "compose should configure the farm through STYLEFARM_* variables"
    assert used <= fields, f"unknown settings in compose: {sorted(used - fields)}"


@pytest.mark.parametrize("service", ["api", "worker", "migrate"])
def test_each_farm_service_has_settings_that_validate(compose, service, monkeypatch, tmp_path):
    env = _stylefarm_env(compose["services"][service])
    env["STYLEFARM_HOME"] = str(tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.storage_backend == "s3" and settings.broker_url.startswith("redis://")
    assert settings.visibility_timeout_s > settings.task_time_limit_s


def test_compose_runs_redis_with_append_only_persistence_and_a_gpu_worker(compose):
    services = compose["services"]
    assert "--appendonly" in services["redis"]["command"]
    assert {"redis", "postgres", "minio", "create-bucket", "migrate", "api", "worker"} <= set(services)
    assert "gunicorn" in services["api"]["command"]
    devices = services["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
