"""Archival recolouring against the true colours: painterly recolor, exemplar, hints (issue 15).

Colour photos of ``../shared/data`` are turned grey (their Y) and coloured again. The target is
the right half of each photo; the exemplar is its left half (another crop of the same scene,
never the target itself). Modes:

(a)  today's ``recolor`` colour mode with a painting (Starry Night), chroma as the network made it;
(a') the same with the guided filter (``chroma_smoothing``, the farm's default);
(b)  colour from the exemplar (Welsh et al. 2002 + Reinhard et al. 2001, guided filter), matched
     on luminance statistics only; (b') also on the style predictor's features (what the farm does);
(c)  colour from 15 strokes painted with the true colour at 15 random spots (Levin et al. 2004).

Printed per mode: mean CIEDE2000 to the true photo (``benchmarks/colour_difference.py``), that
mean relative to (a) (the baseline, same run), and the chroma's high-frequency energy relative
to the true photo's (mean and worst photo). Floors (issue 15): (b), (b') and (c) at least 30 % below
(a) in ΔE00; every mode's high-frequency ratio at most 1.5.

    PYTHONPATH=. python -m benchmarks.recolor              # 5 photos at 512 px (~1 min on 2 idle cores)
    PYTHONPATH=. python -m benchmarks.recolor --side 768 --photos 8
"""

from __future__ import annotations

import argparse
import os
import time
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.colour_difference import chroma_high_frequency, mean_ciede2000
from worker.engine.recolor.luminance import Scan, luma_of
from worker.engine.recolor.pipeline import RecolorOptions, recolor
from worker.engine.recolor.predictor_features import predictor_features
from worker.engine.render import RenderOptions, StyleEngine
from worker.engine.styles import StyleComponent, StyleSpec

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
PHOTOS = [
    "tubingen_neckarfront.jpg",
    "golden_gate_bridge.jpg",
    "chelsea_cat.png",
    "mountain_lake_reflection.jpg",
    "bayou_cypress.jpg",
    "coffee_cup.png",
    "jellyfish_underwater.jpg",
    "colorado_welcome_sign.jpg",
]
PAINTING = DATA / "styles" / "starry_night_van_gogh.jpg"
STROKES = 15
MODES = ["(a) recolor, painting", "(a') recolor + guided filter", "(b) exemplar, luminance statistics"]
MODES += ["(c) 15 hint strokes", "(b') exemplar, + predictor (farm)"]


def halves(path: Path, side: int) -> tuple[np.ndarray, np.ndarray]:
    """(exemplar: left half, target: right half) of the photo at ``side`` px long side."""
    img = Image.open(path).convert("RGB")
    scale = side / max(img.size)
    img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)
    pixels = np.asarray(img)
    middle = pixels.shape[1] // 2
    return pixels[:, :middle], pixels[:, middle:]


def hint_strokes(truth: np.ndarray, count: int, seed: int) -> np.ndarray:
    """RGBA strokes: ``count`` short horizontal lines, each painted with the true colour at its centre."""
    rng = np.random.default_rng(seed)
    height, width = truth.shape[:2]
    strokes = np.zeros((height, width, 4), dtype=np.uint8)
    length, thick = max(4, width // 16), max(1, height // 200)
    for _ in range(count):
        y = int(rng.integers(thick, height - thick))
        x = int(rng.integers(length, width - length))
        strokes[y - thick : y + thick + 1, x - length // 2 : x + length // 2, :3] = truth[y, x]
        strokes[y - thick : y + thick + 1, x - length // 2 : x + length // 2, 3] = 255
    return strokes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--photos", type=int, default=5)
    parser.add_argument("--smoothing", type=float, default=RecolorOptions().chroma_smoothing)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    engine = StyleEngine("cpu")
    painting = StyleSpec((StyleComponent(1.0, image=PAINTING),))
    smoothed = RecolorOptions(chroma_smoothing=args.smoothing)
    results: dict[str, list[tuple[float, float, float]]] = {mode: [] for mode in MODES}
    for index, name in enumerate(PHOTOS[: args.photos]):
        example, truth = halves(DATA / "photos" / name, args.side)
        scan = Scan(luma_of(truth))
        grey = np.repeat(scan.luma[..., None], 3, axis=2)
        true_energy = chroma_high_frequency(truth)
        stylized = engine.render(grey, painting, RenderOptions(color_mode="recolor"))
        runs: dict[str, tuple[RecolorOptions, dict[str, np.ndarray]]] = {
            MODES[0]: (RecolorOptions(chroma_smoothing=0.0), {"stylized": stylized}),
            MODES[1]: (smoothed, {"stylized": stylized}),
            MODES[2]: (smoothed, {"exemplar": example}),
            MODES[4]: (smoothed, {"exemplar": example, "features": partial(predictor_features, engine)}),
            MODES[3]: (smoothed, {"hints": hint_strokes(truth, STROKES, index)}),
        }
        for mode, (options, sources) in runs.items():
            started = time.perf_counter()
            out = recolor(scan, options, **sources)
            seconds = time.perf_counter() - started
            assert (luma_of(out) == scan.luma).all(), f"{mode}: luminance changed"
            results[mode].append((mean_ciede2000(out, truth), chroma_high_frequency(out) / true_energy, seconds))
        print(f"  {name}: " + ", ".join(f"{m.split()[0]} {r[-1][0]:.1f}" for m, r in results.items()), flush=True)
    baseline = float(np.mean([r[0] for r in results[MODES[0]]]))
    print(f"\n{args.photos} photos, right halves at {args.side} px; exemplar = left half; smoothing {args.smoothing}")
    print(f"{'mode':34} {'mean dE00':>9} {'vs (a)':>7} {'HF/true mean':>12} {'HF/true max':>11} {'s/photo':>8}")
    for mode, rows in results.items():
        delta = float(np.mean([r[0] for r in rows]))
        energy = [r[1] for r in rows]
        seconds = float(np.mean([r[2] for r in rows]))
        line = f"{mode:34} {delta:9.2f} {delta / baseline:7.2f} {np.mean(energy):12.2f} {max(energy):11.2f}"
        print(f"{line} {seconds:8.2f}")
    print("floors: (b), (b'), (c) dE00 <= 0.70 x (a); HF/true max <= 1.5 for every mode")


if __name__ == "__main__":
    main()
