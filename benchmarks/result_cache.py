"""Benchmark the result cache: an item served from a stored output against the same item rendered.

Why: the cache is worth its hashing and lookup only if a hit costs a small fraction of a render.
One run, on the embedded farm's pieces (SQLite, local files; ``ItemRenderer`` in this process, no
queue): each round renders a photo under new bytes (a miss: the baseline, the cache key is still
computed and stored) and then submits the very same bytes again (a hit: hash, lookup, copy). Both
sides run alternately on the same machine, so a busy spell hits both alike.
Run ``python -m benchmarks.result_cache --help`` for options.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.engine import PHOTO, _write_input, table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1067)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from shared.db import JobStatus
    from shared.settings import Settings
    from tests.farm_jobs import add_job
    from tests.worker_farm import farm_from_settings
    from worker.jobs.executor import ItemRenderer
    from worker.runtime.context import WorkerContext

    with tempfile.TemporaryDirectory() as home:
        photo_path = _write_input(PHOTO, args.width, args.height, Path(home) / "photo.png")
        photo = photo_path.read_bytes()
        settings = Settings(home=Path(home) / "farm", device="cpu")
        with farm_from_settings(settings) as farm:
            context = WorkerContext.from_settings(settings)

            def run(data: bytes) -> tuple[float, bool]:
                (item_id,) = add_job(farm, [data]).item_ids
                started = time.perf_counter()
                status = ItemRenderer(context, item_id).run()
                seconds = time.perf_counter() - started
                assert status == JobStatus.SUCCEEDED, status
                return seconds, farm.item(item_id).cached

            run(photo + b"warm-up")  # networks load on the first render
            misses, hits = [], []
            for round_index in range(args.rounds):
                fresh = photo + f"round-{round_index}".encode()  # trailing bytes: the same image, a new key
                seconds, cached = run(fresh)
                assert not cached
                misses.append(seconds)
                seconds, cached = run(fresh)
                assert cached
                hits.append(seconds)
            context.database.dispose()

    megapixels = args.width * args.height / 1e6
    miss, hit = statistics.median(misses), statistics.median(hits)
    print(f"{args.width}x{args.height} ({megapixels:.1f} MP) PNG, built-in style, CPU; median of {args.rounds}")
    print(
        table(
            ["item", "seconds", "vs render"],
            [
                ["rendered (cache miss; baseline)", f"{miss:.3f}", "1.00"],
                ["reused (cache hit)", f"{hit:.3f}", f"{hit / miss:.3f}"],
            ],
        )
    )


if __name__ == "__main__":
    main()
