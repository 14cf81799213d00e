"""Run the ``stylefarm`` command line as a separate process, as a person or a script would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cli.stack import LocalStack
from shared.settings import Settings
from tests.conftest_farm import free_port

REPO = Path(__file__).resolve().parents[1]


def run_stylefarm(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **env}
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], capture_output=True, text=True, timeout=300, env=full_env, cwd=REPO
    )


@contextmanager
def cli_farm(
    tmp_path_factory: pytest.TempPathFactory, tenant: str, **settings_env: str
) -> Iterator[tuple[LocalStack, dict[str, str]]]:
    """An embedded farm (API, one worker) with ``settings_env`` on top, and the environment a CLI run needs."""
    home = tmp_path_factory.mktemp(f"{tenant}-farm")
    env = {
        "STYLEFARM_HOME": str(home),
        "STYLEFARM_MODEL_CACHE_DIR": str(tmp_path_factory.getbasetemp() / "shared-model-cache"),
        **settings_env,
    }
    stack = LocalStack(Settings(home=home, model_cache_dir=env["STYLEFARM_MODEL_CACHE_DIR"]), free_port(), env=env)
    try:
        stack.start(timeout_s=90)
        key = run_stylefarm("keys", "create", tenant, env=env).stdout.strip().splitlines()[-1]
        yield stack, {**env, "STYLEFARM_API_URL": stack.url, "STYLEFARM_API_KEY": key}
    finally:
        stack.stop()
