"""``stylefarm up``'s worker runs two pool processes, below the API's priority: items render side by side.

One embedded farm (SQLite, filesystem broker, local files) as ``stylefarm up`` starts it, with the
default ``worker_concurrency``. Inputs are small crops of real photos, each of its own size, so an
output that landed on another item's key would show.
"""

from __future__ import annotations

import io
import os

from PIL import Image
from sqlalchemy import select

from cli.client import FarmClient
from cli.stack import LocalStack
from shared.db import JobItem
from shared.settings import Settings
from tests.conftest_farm import free_port


def _photo(data_dir, name: str, size: tuple[int, int]) -> bytes:
    with Image.open(data_dir / "photos" / name) as img:
        buffer = io.BytesIO()
        img.convert("RGB").resize(size).save(buffer, format="PNG")
        return buffer.getvalue()


def _pids(worker_ids: set[str]) -> list[int]:
    """The process ids in ``hostname:pid`` worker ids (worker/runtime/identity.py)."""
    return [int(worker_id.rsplit(":", 1)[1]) for worker_id in worker_ids]


def test_two_pool_processes_render_a_batch_side_by_side_and_a_failing_job_fails_alone(
    data_dir, tmp_path, tmp_path_factory
):
    env = {
        "STYLEFARM_HOME": str(tmp_path / "home"),
        "STYLEFARM_MODEL_CACHE_DIR": str(tmp_path_factory.getbasetemp() / "shared-model-cache"),
        "STYLEFARM_MIN_INPUT_SIDE": "32",  # a working side of 20 passes the schema, fails at the worker
        "STYLEFARM_RESULT_CACHE_ENABLED": "false",
    }
    settings = Settings(home=tmp_path / "home", model_cache_dir=env["STYLEFARM_MODEL_CACHE_DIR"])
    assert settings.worker_concurrency == 2
    stack = LocalStack(settings, free_port(), env=env)
    try:
        stack.start(timeout_s=120)
        from api.auth.keys import create_api_key
        from shared.db.session import make_engine, make_session_factory

        database = make_engine(settings.database_url)
        sessions = make_session_factory(database)
        with sessions() as session:
            key = create_api_key(session, "pool")
        client = FarmClient(stack.url, key)
        names = ["chelsea_cat.png", "coffee_cup.png", "golden_gate_bridge.jpg", "bayou_cypress.jpg"]
        sizes = [(300 + 7 * n, 200 + 3 * n) for n in range(len(names))]
        uploads = []
        for name, size in zip(names, sizes, strict=True):
            path = tmp_path / f"{len(uploads)}.png"
            path.write_bytes(_photo(data_dir, name, size))
            uploads.append(client.upload(path)["id"])
        good = client.create_job({"inputs": uploads, "styles": [{"style": "builtin:4"}]})
        bad = client.create_job({"inputs": uploads[:2], "styles": [{"style": "builtin:4"}], "working_side": 20})
        good, bad = client.wait(good["id"], timeout_s=300), client.wait(bad["id"], timeout_s=300)
        with sessions() as session:
            workers = set(session.scalars(select(JobItem.worker_id).where(JobItem.job_id.in_([good["id"], bad["id"]]))))
        database.dispose()
        # The renders run below the API's priority (settings.worker_nice), the pool processes included.
        niceness = {pid: os.getpriority(os.PRIO_PROCESS, pid) for pid in _pids(workers)}
        niceness_of_api = os.getpriority(os.PRIO_PROCESS, stack.processes["api"].pid)
    finally:
        stack.stop()

    assert good["status"] == "succeeded", good
    assert bad["status"] == "failed" and all(item["status"] == "failed" for item in bad["items"])
    assert all(item["error"] for item in bad["items"])
    assert len(workers) == 2, workers  # both pool processes took items
    assert set(niceness.values()) == {min(19, os.nice(0) + settings.worker_nice)} and settings.worker_nice > 0, niceness
    assert niceness_of_api == os.nice(0)
    for item in good["items"]:  # each output is its own input's render, at its own size
        assert (item["output"]["width"], item["output"]["height"]) == sizes[item["position"]], item
