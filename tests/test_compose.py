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


@pytest.mark.parametrize("service", ["api", "worker", "migrate", "beat"])
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
    assert {"redis", "postgres", "minio", "create-bucket", "migrate", "api", "worker", "beat"} <= set(services)
    assert "gunicorn" in services["api"]["command"]
    devices = services["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_compose_runs_one_celery_beat_whose_schedule_sweeps_lost_items(compose, monkeypatch, tmp_path):
    """The sweep (lost items, stalled webhooks) is a beat schedule: compose must run exactly one beat."""
    from shared.queue import LIGHT_QUEUE, SWEEP_LOST_ITEMS
    from worker.factory import create_worker_app

    beat = compose["services"]["beat"]
    assert beat["command"][:4] == ["celery", "-A", "worker.celery_app", "beat"]
    assert beat["deploy"]["replicas"] == 1
    assert beat["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert not any("beat" in part or part == "-B" for part in compose["services"]["worker"]["command"][3:])
    for key, value in {**_stylefarm_env(beat), "STYLEFARM_HOME": str(tmp_path)}.items():
        monkeypatch.setenv(key, value)
    schedule = create_worker_app(Settings()).conf.beat_schedule
    sweeps = [entry for entry in schedule.values() if entry["task"] == SWEEP_LOST_ITEMS]
    assert len(sweeps) == 1 and sweeps[0]["options"]["queue"] == LIGHT_QUEUE


def test_compose_serves_presigned_downloads_outside_its_network(compose):
    """URLs are signed for a published MinIO port, and the bucket step allows the page's origin (CORS)."""
    env = _stylefarm_env(compose["services"]["api"])
    public = env["STYLEFARM_S3_PUBLIC_ENDPOINT_URL"]
    assert public != env["STYLEFARM_S3_ENDPOINT_URL"] and "minio" not in public
    port = public.rsplit(":", 1)[-1]
    assert f"{port}:9000" in compose["services"]["minio"]["ports"]
    bucket_step = compose["services"]["create-bucket"]
    script = " ".join(bucket_step["entrypoint"])
    assert "mc cors set farm/stylefarm" in script and "<AllowedMethod>GET</AllowedMethod>" in script
    api_port = compose["services"]["api"]["ports"][0].split(":")[0]
    assert bucket_step["environment"]["PAGE_ORIGIN"] == f"http://localhost:{api_port}"
    assert compose["services"]["minio"]["environment"]["MINIO_API_CORS_ALLOW_ORIGIN"] == f"http://localhost:{api_port}"
