"""``stylefarm demo``, the README's first command: the whole farm on the embedded default renders
the bundled sample photo in four styles, shows progress, and prints each output's path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.cli_process import REPO
from tests.process_groups import remember

DEMO_TIMEOUT_S = 600


def test_the_demo_renders_the_sample_in_four_named_styles(tmp_path, tmp_path_factory):
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "STYLEFARM_HOME": str(tmp_path / "home"),
        "STYLEFARM_MODEL_CACHE_DIR": str(tmp_path_factory.getbasetemp() / "shared-model-cache"),
    }
    out_dir = tmp_path / "out"
    demo = subprocess.Popen(
        [sys.executable, "-m", "cli", "demo", "--out", str(out_dir)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    remember(demo.pid)
    try:
        stdout, stderr = demo.communicate(timeout=DEMO_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.kill(demo.pid, signal.SIGTERM)  # the demo stops its API and worker on SIGTERM
        stdout, stderr = demo.communicate(timeout=60)
        pytest.fail(f"the demo ran over {DEMO_TIMEOUT_S} s:\n{stderr[-3000:]}")
    assert demo.returncode == 0, stderr[-3000:]

    paths = [Path(line) for line in stdout.splitlines() if line.strip()]
    assert len(paths) == 4
    assert {path.parent for path in paths} == {out_dir.resolve()}
    styles = {path.stem.split("__", 1)[1] for path in paths}
    assert "great-wave" in styles and len(styles) == 4  # the painting registered as a style, three built-ins
    assert all(not name.startswith("builtin") for name in styles)  # built-ins by their names
    for path in paths:
        with Image.open(path) as img:
            assert img.size == (512, 512)  # the sample at full size
    job_line = next(line for line in stderr.splitlines() if line.startswith("job "))
    assert all(name in job_line for name in styles)
