"""Load test of the API on loopback: concurrent clients submitting jobs and reading their status.

Why: a farm is polled far more than it is written to (every client watches its jobs), so status
reads must stay fast while submissions come in. This brings up PostgreSQL + Redis + local
storage with the API under gunicorn exactly as ``stylefarm up`` does (``LocalStack``, via
benchmarks/farm.py's setup), without a render worker (workers run elsewhere in production and
would only compete for this machine's cores), then for a fixed time runs:

- status readers: ``GET /v1/jobs/<id>`` of random submitted jobs, paced to ``--status-rate``;
- submitters: ``POST /v1/jobs`` (one upload, one built-in style), paced to ``--submit-rate``.

Each client thread keeps its schedule (a late request is followed at once by the next one that
is due), so a slow server shows up as latency and a lower achieved rate rather than as fewer
requests asked for. Latency is from sending a request to having read its whole response.
Baseline, measured first in the same run: ``GET /healthz`` (no key, no database) at the status
rate — the cost of gunicorn, Flask and loopback HTTP alone. Floor: zero errors, and status reads
p99 ≤ 50 ms at 200 requests per second. Run ``python -m benchmarks.load --help`` for options.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # ``python benchmarks/load.py`` as well as ``-m benchmarks.load``
    sys.path.insert(0, str(REPO))

from benchmarks.engine import table  # noqa: E402
from benchmarks.farm import Farm, redis_setup, say, tree_cpu_seconds  # noqa: E402
from shared.settings import Settings  # noqa: E402

P99_FLOOR_MS = 50.0
STATUS_RATE_FLOOR = 200.0
SEED_JOBS = 20  # jobs submitted before the clock starts, so the first status reads have targets


@dataclass
class Samples:
    """Latencies and failures of one kind of request."""

    name: str
    target_rps: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    seconds: float = 0.0
    server_cpu_s: float = 0.0  # CPU the API's gunicorn processes used during the phase (all kinds together)

    def record(self, started: float, outcome: str | None) -> None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        with self.lock:
            self.latencies_ms.append(elapsed_ms)
            if outcome is not None:
                self.errors[outcome] += 1

    @property
    def count(self) -> int:
        return len(self.latencies_ms)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    def row(self, baseline: Samples | None) -> list[str]:
        p99 = self.percentile(0.99)
        ratio = f"{p99 / baseline.percentile(0.99):.2f}" if baseline is not None else "1.00"
        return [
            self.name,
            f"{self.target_rps:.0f}",
            f"{self.count / self.seconds:.1f}",
            f"{self.count:,}",
            f"{sum(self.errors.values())}",
            f"{statistics.median(self.latencies_ms):.1f}",
            f"{p99:.1f}",
            f"{max(self.latencies_ms):.1f}",
            ratio,
        ]


class Http:
    """One client thread's HTTP calls to the API over plain ``http.client``.

    Why not requests: the load generator shares the machine's two cores with the server it
    measures, and ``http.client`` costs a fraction of requests' CPU per call. The connection is
    kept where the server keeps it (gunicorn's threaded workers); sync workers close it after
    each response and ``http.client`` opens a new one for the next call.
    """

    def __init__(self, port: int, key: str | None) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, bytes]:
        headers = {**self.headers, "Content-Type": "application/json"} if body is not None else self.headers
        try:
            self.connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = self.connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()  # the next call starts on a fresh connection
            raise


Call = Callable[[Http], str | None]  # one request; None when it succeeded, else why not


def paced(samples: Samples, threads: int, duration_s: float, call: Call, client: Callable[[], Http]) -> None:
    """Run ``call`` from ``threads`` threads at ``samples.target_rps`` in all, for ``duration_s``."""
    interval = threads / samples.target_rps
    start = time.perf_counter() + 0.05
    end = start + duration_s

    def run_client(offset: float) -> None:
        due = start + offset
        own = client()
        while due < end:
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            sent = time.perf_counter()
            try:
                outcome = call(own)
            except (OSError, http.client.HTTPException) as exc:
                outcome = exc.__class__.__name__
            samples.record(sent, outcome)
            due += interval

    workers = [threading.Thread(target=run_client, args=(i * interval / threads,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    samples.seconds = max(duration_s, time.perf_counter() - start)  # late requests stretch the run


def _unexpected(status: int, expected: int) -> str | None:
    return None if status == expected else f"HTTP {status}"


@dataclass
class Load:
    """The API's port and key, one upload, and the jobs submitted so far."""

    port: int
    key: str
    upload_id: str
    job_ids: list[str] = field(default_factory=list)

    def client(self) -> Http:
        return Http(self.port, self.key)

    def submit(self, http_: Http) -> str | None:
        body = {"inputs": [self.upload_id], "styles": [{"style": "builtin:3"}]}
        status, data = http_.call("POST", "/v1/jobs", body)
        if status == 201:
            self.job_ids.append(json.loads(data)["id"])  # list.append is atomic under the GIL
        return _unexpected(status, 201)

    def read_status(self, http_: Http) -> str | None:
        return _unexpected(http_.call("GET", f"/v1/jobs/{random.choice(self.job_ids)}")[0], 200)

    def health(self, http_: Http) -> str | None:
        return _unexpected(http_.call("GET", "/healthz")[0], 200)


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 90, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def run(args: argparse.Namespace) -> tuple[Samples, Samples, Samples]:
    with (
        tempfile.TemporaryDirectory(prefix="stylefarm-load-") as work,
        redis_setup(Path(work), Path(work) / "models", "local") as setup,
    ):
        setup.env["STYLEFARM_API_THREADS"] = str(args.api_threads)
        setup.env["STYLEFARM_API_WORKERS"] = str(args.api_workers)
        if args.gunicorn_args:
            setup.env["GUNICORN_CMD_ARGS"] = args.gunicorn_args
        farm = Farm(setup)
        say(f"starting the API under gunicorn ({setup.description})")
        farm.start(worker=False)
        try:
            client = farm.client
            upload = client.session.post(f"{client.base_url}/v1/uploads", files={"file": ("p.png", _png())}, timeout=30)
            upload.raise_for_status()
            load = Load(farm.stack.port, client.api_key, upload.json()["id"])
            seeder = load.client()
            for _ in range(SEED_JOBS):
                assert load.submit(seeder) is None, "a seed job was refused"
            say(f"baseline: GET /healthz at {args.status_rate:g}/s for {args.baseline_s:g} s")
            api_pid = farm.stack.processes["api"].pid
            baseline = Samples("baseline: GET /healthz", args.status_rate)
            cpu_before = tree_cpu_seconds(api_pid)
            paced(baseline, args.status_threads, args.baseline_s, load.health, load.client)
            baseline.server_cpu_s = tree_cpu_seconds(api_pid) - cpu_before

            rates = f"{args.status_rate:g} status reads/s and {args.submit_rate:g} submissions/s"
            say(f"load: {rates} for {args.duration_s:g} s")
            status = Samples("GET /v1/jobs/<id> (status)", args.status_rate)
            submit = Samples("POST /v1/jobs (submit)", args.submit_rate)
            submitters = threading.Thread(
                target=paced, args=(submit, args.submit_threads, args.duration_s, load.submit, load.client)
            )
            cpu_before = tree_cpu_seconds(api_pid)
            submitters.start()
            paced(status, args.status_threads, args.duration_s, load.read_status, load.client)
            submitters.join()
            status.server_cpu_s = submit.server_cpu_s = tree_cpu_seconds(api_pid) - cpu_before
            return baseline, status, submit
        finally:
            farm.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration-s", type=float, default=30.0, help="length of the mixed load phase")
    parser.add_argument("--baseline-s", type=float, default=10.0, help="length of the /healthz baseline phase")
    parser.add_argument("--status-rate", type=float, default=STATUS_RATE_FLOOR, help="status reads per second")
    parser.add_argument("--submit-rate", type=float, default=20.0, help="job submissions per second")
    parser.add_argument("--status-threads", type=int, default=16)
    parser.add_argument("--submit-threads", type=int, default=4)
    parser.add_argument(
        "--api-workers",
        type=int,
        default=Settings.model_fields["api_workers"].default,
        help="gunicorn worker processes (the api_workers setting)",
    )
    parser.add_argument(
        "--api-threads",
        type=int,
        default=Settings.model_fields["api_threads"].default,
        help="threads per gunicorn worker (the api_threads setting; 1 = sync workers)",
    )
    parser.add_argument(
        "--gunicorn-args", default="", help="extra gunicorn options (GUNICORN_CMD_ARGS), e.g. '--keep-alive 5'"
    )
    args = parser.parse_args(argv)

    load_before = os.getloadavg()[0]  # other work on the machine shares its cores with this test
    baseline, status, submit = run(args)
    print(f"# API load test, {time.strftime('%Y-%m-%d %H:%M')}, {platform.node()}: {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}")  # fmt: skip
    worker_class = "sync" if args.api_threads == 1 else f"gthread, --threads {args.api_threads}"
    print(f"# PostgreSQL + Redis + local storage; API: gunicorn --workers {args.api_workers} ({worker_class})"
          + (f" {args.gunicorn_args}" if args.gunicorn_args else "") + "; no render worker")  # fmt: skip
    print(f"# {args.status_threads} status and {args.submit_threads} submit client threads on the same machine, "
          f"{args.duration_s:g} s (baseline {args.baseline_s:g} s); p99/base = p99 over /healthz's p99")  # fmt: skip
    print(f"# load average before the run: {load_before:.1f} (1 min) on {os.cpu_count()} CPUs\n")
    headers = ["request", "target/s", "achieved/s", "requests", "errors", "p50 ms", "p99 ms", "max ms", "p99/base"]
    phases = [status, submit] if submit.count else [status]  # --submit-rate 0: status reads alone
    print(table(headers, [baseline.row(None), *(phase.row(baseline) for phase in phases)]))
    errors = baseline.errors + status.errors + submit.errors
    if errors:
        print("\nerrors:", ", ".join(f"{reason} × {n}" for reason, n in errors.most_common()))
    mixed = status.count + submit.count
    print(
        f"\nAPI CPU (gunicorn master + workers, from /proc): {1000 * baseline.server_cpu_s / baseline.count:.2f} ms "
        f"per /healthz; {1000 * status.server_cpu_s / mixed:.2f} ms per request of the mixed load "
        f"({status.server_cpu_s / status.seconds:.2f} cores while it ran)"
    )
    achieved = status.count / status.seconds
    p99 = status.percentile(0.99)
    met = not errors and p99 <= P99_FLOOR_MS and achieved >= 0.95 * STATUS_RATE_FLOOR
    print(
        f"\nfloor (0 errors; status p99 ≤ {P99_FLOOR_MS:g} ms at {STATUS_RATE_FLOOR:g}/s): "
        f"{sum(errors.values())} errors, p99 {p99:.1f} ms at {achieved:.1f}/s -> {'MET' if met else 'NOT MET'}"
    )
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
