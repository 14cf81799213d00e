"""``stylefarm up`` stopped by SIGTERM (a service manager) or SIGINT (Ctrl-C) leaves no child behind.

Its API (gunicorn) and worker (Celery) lead process groups of their own, so a signal to ``up``
does not reach them by itself: ``up`` must stop them. The test starts ``up`` as a person would,
notes the pid of every process below it once the API answers and the worker's pool child exists,
signals ``up`` only, and checks each of those pids is gone (a zombie left to PID 1 counts as gone).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.cli_process import REPO
from tests.conftest_farm import free_port
from tests.process_groups import remember

STARTUP_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0


def descendants(pid: int) -> dict[int, str]:
    """Every process below ``pid`` (children's children too), with its command line."""
    found: dict[int, str] = {}
    pending = [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            children = (task / "children").read_text().split() if (task / "children").exists() else []
            for child in map(int, children):
                if child not in found:
                    cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    found[child] = cmdline.strip()
                    pending.append(child)
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _wait_for_farm(up: subprocess.Popen[bytes], url: str) -> dict[int, str]:
    """The processes below ``up`` once the API answers and the worker has its pool child."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        assert up.poll() is None, f"stylefarm up exited with {up.returncode}"
        try:
            api_up = requests.get(f"{url}/healthz", timeout=1).ok
        except requests.RequestException:
            api_up = False
        below = descendants(up.pid)
        gunicorns = [pid for pid, cmd in below.items() if "gunicorn" in cmd]
        celeries = [pid for pid, cmd in below.items() if "celery" in cmd]
        if api_up and len(gunicorns) >= 2 and len(celeries) >= 2:  # master + worker, main + pool child
            return below
        time.sleep(0.3)
    raise AssertionError(f"the farm did not come up within {STARTUP_TIMEOUT_S:.0f} s: {descendants(up.pid)}")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_up_stops_the_api_and_the_worker_when_signalled(signum, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "STYLEFARM_HOME": str(tmp_path / "home"),
        "STYLEFARM_API_WORKERS": "1",
        "STYLEFARM_API_THREADS": "2",
    }
    log = (tmp_path / "up.log").open("wb")
    up = subprocess.Popen(
        [sys.executable, "-m", "cli", "up", "--port", str(port)],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        # As a shell leaves a background command (``up &``, nohup): SIGINT ignored. up still stops on it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )  # fmt: skip
    remember(up.pid)
    children: dict[int, str] = {}
    try:
        children = _wait_for_farm(up, f"http://127.0.0.1:{port}")
        up.send_signal(signum)  # to up alone, as systemd's or a terminal's signal would be
        time.sleep(0.5)
        if up.poll() is None:
            up.send_signal(signum)  # an impatient repeat must not cut the stop short
        assert up.wait(timeout=STOP_TIMEOUT_S) == 0
        survivors = {pid: cmd for pid, cmd in children.items() if running(pid)}
        assert survivors == {}, f"still running after {signum.name}: {survivors}"
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait(timeout=10)
        for pid in children:  # each child leads its own group: end what a failed stop left
            if running(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
        log.close()
        print((tmp_path / "up.log").read_text(errors="replace")[-3000:])
