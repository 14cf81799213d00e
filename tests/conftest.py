"""Shared fixtures: the real data folder beside the repository, one engine per session, and
the farm foundation's fixtures (databases, storage servers) from conftest_farm.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.stack import LocalStack
from shared.video.scheduling import current_scheduling, restore_scheduling
from tests import process_groups
from tests.conftest_api import (  # noqa: F401 - the REST API's fixtures
    api_app,
    api_client,
    auth_headers,
    make_api_app,
    redis_broker,
)
from tests.conftest_farm import (  # noqa: F401 - pytest finds fixtures by their names in this module
    database_url,
    db_session,
    local_storage,
    postgres_session_url,
    postgres_url,
    s3_endpoint,
    s3_storage,
    storage,
)

# The farms tests start (``LocalStack``, as ``stylefarm up``) serve a handful of clients: one gunicorn
# process with threads comes up in ~2 s, four processes importing the app on two cores in ~7.5 s.
os.environ.setdefault("STYLEFARM_API_WORKERS", "1")
os.environ.setdefault("STYLEFARM_API_THREADS", "8")

# ../shared/data beside the repository holds the real photographs, paintings and clips.
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA / "photos").is_dir():
        pytest.fail(f"the shared test data is missing: expected {DATA}")
    return DATA


@pytest.fixture(autouse=True)
def _scheduling_unchanged() -> Iterator[None]:
    """Fail the test that leaves this process at another scheduling policy, and put it back.

    Why: processes started later inherit the policy. An AV1 encode once left the session at
    real-time priority (shared/video/scheduling.py), and every farm after it starved its own API.
    """
    before = current_scheduling()
    yield
    assert not restore_scheduling(before), "this test changed the test process's scheduling policy (it is put back)"


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory):
    from worker.engine.render import StyleEngine

    return StyleEngine("cpu", cache_dir=tmp_path_factory.mktemp("model-cache"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """End what is left of every process group the tests started (none, when every stop ran)."""
    leftovers = process_groups.end_leftovers(process_groups.STARTED | LocalStack.started_groups)
    if leftovers:
        print(f"\nended {len(leftovers)} process groups a test had left running: {leftovers}")
