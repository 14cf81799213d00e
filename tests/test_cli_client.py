"""The ``stylefarm`` client commands against a real farm on the embedded default.

One farm (API under gunicorn, a Celery worker, SQLite, filesystem broker) serves the module;
every command runs as a real process, as a script or a pipeline would run it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from api.stack import LocalStack
from shared.settings import Settings
from tests.cli_process import run_stylefarm
from tests.conftest_farm import free_port

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def farm(tmp_path_factory) -> Iterator[tuple[LocalStack, dict[str, str]]]:
    home = tmp_path_factory.mktemp("cli-farm")
    env = {
        "STYLEFARM_HOME": str(home),
        "STYLEFARM_MODEL_CACHE_DIR": str(tmp_path_factory.getbasetemp() / "shared-model-cache"),
    }
    stack = LocalStack(Settings(home=home, model_cache_dir=env["STYLEFARM_MODEL_CACHE_DIR"]), free_port(), env=env)
    try:
        stack.start(timeout_s=90)
        key = run("keys", "create", "cli-tenant", env=env).stdout.strip().splitlines()[-1]
        yield stack, {**env, "STYLEFARM_API_URL": stack.url, "STYLEFARM_API_KEY": key}
    finally:
        stack.stop()


run = run_stylefarm


def test_submit_a_folder_in_two_styles_waits_and_downloads_named_outputs(farm, data_dir, tmp_path):
    _, env = farm
    catalogue = tmp_path / "catalogue"
    catalogue.mkdir()
    for name in ("chelsea_cat.png", "coffee_cup.png"):
        shutil.copy(data_dir / "photos" / name, catalogue / name)
    out = tmp_path / "out"
    result = run(
        "submit", str(catalogue), "--style", "builtin:3", "--style", "builtin:5", "--format", "jpeg",
        "--wait", "--download", str(out), "--json", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)
    assert job["status"] == "succeeded" and len(job["items"]) == 4
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "chelsea_cat_builtin-3.jpg",
        "chelsea_cat_builtin-5.jpg",
        "coffee_cup_builtin-3.jpg",
        "coffee_cup_builtin-5.jpg",
    ]
    with Image.open(out / "coffee_cup_builtin-5.jpg") as img:
        assert img.format == "JPEG" and img.size == (600, 400)
    status = run("status", job["id"], "--json", env=env)
    assert status.returncode == 0 and json.loads(status.stdout)["status"] == "succeeded"


def test_submit_without_wait_prints_the_job_id(farm, data_dir):
    _, env = farm
    result = run("submit", str(data_dir / "photos" / "chelsea_cat.png"), "--style", "builtin:1", env=env)
    assert result.returncode == 0, result.stderr
    job_id = result.stdout.strip()
    status = run("status", job_id, env=env)
    assert status.returncode == 0 and status.stdout.startswith(job_id)


def test_unknown_style_exits_2_with_the_reason(farm, data_dir):
    _, env = farm
    result = run("submit", str(data_dir / "photos" / "chelsea_cat.png"), "--style", "no-such-style", env=env)
    assert result.returncode == 2
    assert "no-such-style" in result.stderr and "Traceback" not in result.stderr


def test_wrong_key_exits_2_and_unreachable_farm_exits_3(farm, data_dir):
    _, env = farm
    photo = str(data_dir / "photos" / "chelsea_cat.png")
    assert run("submit", photo, "--style", "builtin:1", env={**env, "STYLEFARM_API_KEY": "nope"}).returncode == 2
    closed = {**env, "STYLEFARM_API_URL": f"http://127.0.0.1:{free_port()}"}
    result = run("submit", photo, "--style", "builtin:1", env=closed)
    assert result.returncode == 3 and "cannot reach" in result.stderr
