"""What a process loads when it starts: ``stylefarm render`` and the worker import only what they use.

Why: on a small photo, start-up is most of a local render (``benchmarks/startup.py``): ``onnx`` alone
took ~1 s to import and SQLAlchemy ~0.3 s. ``onnx`` is needed only to convert the shipped weights
(cached after the first run), onnxruntime only for a user's ONNX network, and the database, storage
and queue only on the farm. Each check runs in a fresh process, since this one has imported everything.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cli_process import REPO

# A real ``stylefarm`` process (``cli.main``) that writes the names of its loaded modules on the way out.
RECORD_MODULES = """
import atexit, os, sys
atexit.register(lambda: open(os.environ["MODULES_FILE"], "w").write("\\n".join(sorted(sys.modules))))
from cli.main import main
main()
"""
FARM_ONLY = {"sqlalchemy", "alembic", "psycopg", "boto3", "botocore", "celery", "kombu", "redis", "flask", "gunicorn"}
CONVERSION_AND_OTHER_ROLES = {"onnx", "onnxruntime", "av", "cv2"}


def top_level_modules(*args: str, env: dict[str, str], tmp_path: Path) -> set[str]:
    """Run ``python ARGS`` from the repository; the top-level packages it had loaded (it writes ``MODULES_FILE``)."""
    modules_file = tmp_path / "modules.txt"
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "MODULES_FILE": str(modules_file), **env}
    result = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=300, env=full_env, cwd=REPO, check=False
    )
    assert result.returncode == 0, result.stderr
    return {name.split(".")[0] for name in modules_file.read_text().split()}


def test_a_render_with_cached_weights_loads_no_onnx_and_nothing_of_the_farm(data_dir, tmp_path):
    env = {"STYLEFARM_HOME": str(tmp_path / "home")}
    render = ["-c", RECORD_MODULES, "render", str(data_dir / "photos" / "chelsea_cat.png"), "--style", "builtin:3"]
    first = top_level_modules(*render, "-o", str(tmp_path / "first.png"), env=env, tmp_path=tmp_path)
    assert "onnx" in first  # the first run converts the shipped weights, and caches them
    cached = top_level_modules(*render, "-o", str(tmp_path / "second.png"), env=env, tmp_path=tmp_path)
    assert "torch" in cached and "worker" in cached
    assert not cached & (FARM_ONLY | CONVERSION_AND_OTHER_ROLES)


def test_the_worker_starts_without_onnx_onnxruntime_or_the_video_libraries(tmp_path):
    record = "import os, sys, worker.celery_app; open(os.environ['MODULES_FILE'], 'w').write('\\n'.join(sys.modules))"
    loaded = top_level_modules("-c", record, env={"STYLEFARM_HOME": str(tmp_path / "home")}, tmp_path=tmp_path)
    assert {"torch", "celery", "sqlalchemy"} <= loaded
    assert not loaded & CONVERSION_AND_OTHER_ROLES
