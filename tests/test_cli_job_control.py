"""``stylefarm pause|resume|retry|download JOB``, ``keys list|revoke`` and ``--version``, run as a person would."""

from __future__ import annotations

import json
import time

import requests
from PIL import Image

from cli.client import FarmClient
from tests.busy_worker import worker_held_busy
from tests.cli_process import run_stylefarm as run
from tests.test_cli_client import farm, small_photo  # noqa: F401 - the module's farm fixture, reused


def test_download_pause_resume_and_retry_a_job_by_its_id(farm, data_dir, tmp_path):  # noqa: F811
    _, env = farm
    photo = small_photo(data_dir, "chelsea_cat.png", (72, 48), tmp_path / "cat photo.png")
    submitted = run("submit", str(photo), "--style", "builtin:3", "--wait", "--json", env=env)
    assert submitted.returncode == 0, submitted.stderr
    job_id = json.loads(submitted.stdout)["jobs"][0]["id"]

    out = tmp_path / "later"
    saved = run("download", job_id, "--out", str(out), env=env)
    assert saved.returncode == 0, saved.stderr
    assert saved.stdout.splitlines() == [str(out / "cat_photo__electric-ribbons.png")]  # <uploaded name>__<style name>
    with Image.open(out / "cat_photo__electric-ribbons.png") as img:
        assert img.size == (72, 48)

    nothing_failed = run("retry", job_id, env=env)
    assert nothing_failed.returncode == 2 and "no failed items" in nothing_failed.stderr
    finished = run("pause", job_id, env=env)
    assert finished.returncode == 2 and "already succeeded" in finished.stderr

    big = small_photo(data_dir, "bayou_cypress.jpg", (640, 480), tmp_path / "bayou.jpg")
    styles = [arg for index in (1, 2, 4) for arg in ("--style", f"builtin:{index}")]
    client = FarmClient(env["STYLEFARM_API_URL"], env["STYLEFARM_API_KEY"])
    with worker_held_busy(client, data_dir):  # the job waits in the queue while it is paused and resumed
        second = json.loads(run("submit", str(big), *styles, "--json", env=env).stdout)["jobs"][0]["id"]
        paused = run("pause", second, "--json", env=env)
        assert paused.returncode == 0 and json.loads(paused.stdout)["status"] == "paused"
        resumed = run("resume", second, "--json", env=env)
        assert resumed.returncode == 0 and json.loads(resumed.stdout)["status"] == "queued"
    waited = run("status", second, "--wait", "--json", env=env)
    assert json.loads(waited.stdout)["status"] == "succeeded", waited.stderr


def test_keys_are_listed_by_prefix_and_a_revoked_key_is_refused(farm):  # noqa: F811
    stack, env = farm
    key = run("keys", "create", "short-lived", env=env).stdout.strip().splitlines()[-1]
    listed = json.loads(run("keys", "list", "--json", env=env).stdout)
    mine = [entry for entry in listed if entry["tenant"] == "short-lived"]
    assert len(mine) == 1 and key.startswith(mine[0]["prefix"]) and key not in json.dumps(listed)
    assert requests.get(f"{stack.url}/v1/jobs", headers={"Authorization": f"Bearer {key}"}, timeout=10).ok

    revoked = run("keys", "revoke", mine[0]["id"], env=env)
    assert revoked.returncode == 0 and mine[0]["prefix"] in revoked.stdout
    assert json.loads(run("keys", "list", "--json", env=env).stdout)[-1]["revoked_at"] is not None
    time.sleep(stack.settings.api_key_cache_s + 0.5)
    refused = requests.get(f"{stack.url}/v1/jobs", headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert refused.status_code == 401
    unknown = run("keys", "revoke", "no-such-key", env=env)
    assert unknown.returncode == 2 and "no key match" in unknown.stderr


def test_version_names_the_package_version():
    from importlib.metadata import version

    shown = run("--version", env={})
    assert shown.returncode == 0 and shown.stdout.strip() == f"stylefarm, version {version('stylefarm')}"
