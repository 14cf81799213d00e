"""The result controls' rows of ``benchmarks/quality.py`` (issue 13): fidelity and matched style colours.

Same measures as the main table (style distance in the predictor's space, Bhattacharyya colour
distance, luminance SSIM and Canny edge F-score against the photo), for the fast network without
controls (the baseline, same run), with structure-adaptive fusion at fidelity 0.3 / 0.6 / 1.0, and
with the painting's colours matched to the photo's before its vector is predicted. The "photo itself"
row is the photo's own distance to the painting: every render must stay below it (still styled).

    PYTHONPATH=. python -m benchmarks.quality --controls-only    # these rows alone (~1 min on 2 idle cores)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np
from PIL import Image

from worker.engine.render import RenderOptions, StyleEngine
from worker.engine.styles import StyleComponent, StyleSpec

FIDELITIES = (0.3, 0.6, 1.0)
ROWS = ["photo itself", "fast", *(f"fidelity {f}" for f in FIDELITIES), "match colours"]


@dataclass
class Rows:
    values: dict[str, dict[str, list[float]]] = field(
        default_factory=lambda: {row: {k: [] for k in ("style", "colour", "ssim", "edge", "s")} for row in ROWS}
    )

    def add(self, row: str, **measures: float) -> None:
        for name, value in measures.items():
            self.values[row][name].append(value)

    def mean(self, row: str, name: str) -> float:
        return float(np.mean(self.values[row][name]))


def control_rows(
    engine: StyleEngine,
    photos: list[np.ndarray],
    style_paths: list[Path],
    measure: Callable[[np.ndarray, np.ndarray, np.ndarray], dict[str, float]],
) -> Rows:
    """Render every photo × painting pair in each row's way; ``measure(output, photo, painting)`` scores it."""
    rows = Rows()
    for path in style_paths:
        painting = np.asarray(Image.open(path).convert("RGB"))
        vector = engine.style_vector(painting)
        spec = StyleSpec.single(StyleComponent(image=painting))
        for photo in photos:
            own = float(np.linalg.norm(engine.style_vector(photo) - vector))
            rows.add("photo itself", style=own, s=0.0, **measure(photo, photo, painting))
            for row in ROWS[1:]:
                fidelity = float(row.split()[1]) if row.startswith("fidelity") else 0.0
                options = RenderOptions(fidelity=fidelity, match_style_colors=row == "match colours")
                started = time.perf_counter()
                out = engine.render(photo, spec, options)
                seconds = time.perf_counter() - started
                distance = float(np.linalg.norm(engine.style_vector(out) - vector))
                rows.add(row, style=distance, s=seconds, **measure(out, photo, painting))
            print(f"  {path.name}: done a photo", flush=True)
    return rows


def report_controls(rows: Rows, pairs: int, side: int) -> bool:
    """Print the table and the floors; whether every floor holds."""
    base = rows.mean("fast", "style")
    print(f"\nResult controls: {pairs} photo × painting pairs at {side} px; baseline: fast network (same run)\n")
    print("| row | style distance | vs fast | colour dist | SSIM(Y) | edge F | s/image |")
    print("|" + "---|" * 7)
    for row in ROWS:
        print(
            f"| {row} | {rows.mean(row, 'style'):.3f} | {rows.mean(row, 'style') / base:.2f}x "
            f"| {rows.mean(row, 'colour'):.3f} | {rows.mean(row, 'ssim'):.3f} | {rows.mean(row, 'edge'):.3f} "
            f"| {rows.mean(row, 's'):.2f} |"
        )
    ladder = ["fast", *(f"fidelity {f}" for f in FIDELITIES)]
    ok = True
    for name, label in (("ssim", "SSIM(Y)"), ("edge", "edge F")):
        values = [rows.mean(row, name) for row in ladder]
        rising = all(a < b for a, b in pairwise(values))
        ok &= rising
        print(f"floor: {label} rises with fidelity ({' < '.join(f'{v:.3f}' for v in values)}): {rising}")
    own = rows.mean("photo itself", "style")
    for row in ROWS[1:]:
        below = rows.mean(row, "style") < own
        ok &= below
        print(f"floor: {row} style distance {rows.mean(row, 'style'):.3f} below the photo's own {own:.3f}: {below}")
    print("controls floor:", "PASS" if ok else "FAIL")
    return ok
