"""Style/content quality of the fast network, the fast network with a refined vector, and optimization mode.

Why no downloaded weights: the metric uses only what the farm ships. Style distance is the
Euclidean distance between the style predictor's vector (Ghiasi et al. 2017) of the output and
of the style image: the predictor was trained to summarise a painting's style in that vector,
so a smaller distance means the output carries more of that style. Content fidelity is the SSIM
of luminance (Wang et al. 2004, 11×11 Gaussian window, sigma 1.5) and the F-score of Canny edges
(matched within one pixel) against the photo. Baseline: the fast network, in the same run.

The predictor is also part of the loss that refinement and optimization minimize (the
style-embedding term, ``worker/engine/optimize/embedding.py``), so two further style measures are
printed that no loss targets directly as a whole: the Gram distance (the Gatys style loss on the
predictor's smoothed features, which is one loss term but not the measured distance) and a colour
distance no network takes part in: the Bhattacharyya distance between 8×8×8-bin RGB histograms of
output and painting (OpenCV ``compareHist``). Lower is closer to the painting for all three.

Refinement tunes each style's vector on crops of the bundled sample photo (shared/samples, at several
zooms), never on the photos measured here, so the table shows how the refined vector carries over
to new photos.

    PYTHONPATH=. python -m benchmarks.quality    # 3 photos × 3 paintings at 384 px (~3 min on 2 idle cores)
    PYTHONPATH=. python -m benchmarks.quality --side 512 --photos 4 --styles 4 --iterations 80
    PYTHONPATH=. python -m benchmarks.quality --controls-only    # fidelity and matched colours rows alone

The result controls' rows (fidelity 0.3/0.6/1.0, matched style colours) come from
``benchmarks/quality_controls.py`` and are printed after the main table.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from shared.settings import get_settings
from worker.engine.optimize.engine import OptimizeEngine, StyleTargetCache
from worker.engine.optimize.losses import style_loss
from worker.engine.optimize.options import OptimizeOptions
from worker.engine.refine import RefineOptions, refine_style_vector
from worker.engine.render import RenderOptions, StyleEngine, to_tensor
from worker.engine.styles import StyleComponent, StyleSpec

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
PHOTOS = ["tubingen_neckarfront.jpg", "golden_gate_bridge.jpg", "chelsea_cat.png", "mountain_lake_reflection.jpg"]
STYLES = ["starry_night_van_gogh.jpg", "great_wave_hokusai.jpg", "the_scream_munch.jpg"]
STYLES += ["composition_vii_kandinsky.jpg"]
SAMPLE = REPO / "shared" / "samples" / "astronaut.png"
MODES = ["fast", "fast+refined", "optimize"]
SSIM_FLOOR = 0.05  # refinement and optimization may lose at most this much SSIM against fast


def luminance(pixels: np.ndarray) -> np.ndarray:
    return pixels.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two luminance images in 0–255 (Wang et al. 2004 constants)."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (11, 11), 1.5)

    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    return float(np.mean(num / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))))


def edges(y: np.ndarray) -> np.ndarray:
    return cv2.Canny(cv2.GaussianBlur(y.astype(np.uint8), (5, 5), 1.0), 50, 150) > 0


def edge_f_score(output_y: np.ndarray, photo_y: np.ndarray) -> float:
    """F-score of the output's edges against the photo's, each matched within one pixel."""
    out, ref = edges(output_y), edges(photo_y)
    kernel = np.ones((3, 3), np.uint8)
    near_ref = cv2.dilate(ref.astype(np.uint8), kernel) > 0
    near_out = cv2.dilate(out.astype(np.uint8), kernel) > 0
    precision = (out & near_ref).sum() / max(out.sum(), 1)
    recall = (ref & near_out).sum() / max(ref.sum(), 1)
    return float(2 * precision * recall / max(precision + recall, 1e-9))


def colour_histogram(pixels: np.ndarray) -> np.ndarray:
    hist = cv2.calcHist([np.ascontiguousarray(pixels)], [0, 1, 2], None, [8, 8, 8], [0, 256] * 3)
    return cv2.normalize(hist, hist, norm_type=cv2.NORM_L1)


def colour_distance(output: np.ndarray, style: np.ndarray) -> float:
    """Bhattacharyya distance of 8×8×8-bin RGB histograms (0 = same colours, 1 = disjoint)."""
    return float(cv2.compareHist(colour_histogram(output), colour_histogram(style), cv2.HISTCMP_BHATTACHARYYA))


def gram_distance(optimizer: OptimizeEngine, targets: StyleTargetCache, output: np.ndarray) -> float:
    """The Gatys style loss of ``output`` on the predictor's smoothed features (targets at its long side)."""
    with torch.no_grad():
        feats = optimizer.features(to_tensor(output, optimizer.device, torch.float32))
        return float(style_loss(feats, targets(max(output.shape[:2]))))


@dataclass
class StyleRef:
    """What every output is measured against: the painting's vector, Gram targets and pixels."""

    vector: np.ndarray
    targets: StyleTargetCache
    pixels: np.ndarray


@dataclass
class Scores:
    style_distance: list[float] = field(default_factory=list)
    gram: list[float] = field(default_factory=list)
    colour: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    edge_f: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def add(self, optimizer: OptimizeEngine, output: np.ndarray, photo: np.ndarray, style: StyleRef, secs: float):
        self.style_distance.append(float(np.linalg.norm(optimizer.engine.style_vector(output) - style.vector)))
        self.gram.append(gram_distance(optimizer, style.targets, output))
        self.colour.append(colour_distance(output, style.pixels))
        self.ssim.append(ssim(luminance(output), luminance(photo)))
        self.edge_f.append(edge_f_score(luminance(output), luminance(photo)))
        self.seconds.append(secs)


def fitted(path: Path, side: int) -> np.ndarray:
    img = Image.open(path).convert("RGB")
    scale = side / max(img.size)
    return np.asarray(img.resize((round(img.width * scale) // 4 * 4, round(img.height * scale) // 4 * 4)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--side", type=int, default=384, help="long side of the photos (px)")
    parser.add_argument("--photos", type=int, default=3)
    parser.add_argument("--styles", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=OptimizeOptions.iterations, help="optimization steps")
    parser.add_argument("--optimizer", choices=["lbfgs", "adam"], default="lbfgs")
    parser.add_argument("--content-weight", type=float, default=OptimizeOptions.content_weight)
    parser.add_argument("--style-weight", type=float, default=OptimizeOptions.style_weight)
    parser.add_argument("--embedding-weight", type=float, default=OptimizeOptions.embedding_weight)
    parser.add_argument("--refine-embedding-weight", type=float, default=RefineOptions.embedding_weight)
    parser.add_argument("--refine-iterations", type=int, default=RefineOptions.iterations, help="Adam steps per vector")
    parser.add_argument("--crops", type=int, default=RefineOptions.crops, help="content crops for refinement")
    parser.add_argument("--controls-only", action="store_true", help="only the fidelity / matched colours rows")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}", flush=True)
    if args.controls_only:
        controls(StyleEngine("cpu", cache_dir=get_settings().model_cache_dir), args)
        return

    engine = StyleEngine("cpu", cache_dir=get_settings().model_cache_dir)
    optimizer = OptimizeEngine(engine)
    options = RenderOptions()
    opt = OptimizeOptions(
        iterations=args.iterations,
        optimizer=args.optimizer,
        working_side=args.side,
        content_weight=args.content_weight,
        style_weight=args.style_weight,
        embedding_weight=args.embedding_weight,
    )
    refine = RefineOptions(
        iterations=args.refine_iterations, crops=args.crops, embedding_weight=args.refine_embedding_weight
    )
    scores = {mode: Scores() for mode in MODES}
    for style_name in STYLES[: args.styles]:
        style_path = DATA / "styles" / style_name
        style_img = Image.open(style_path).convert("RGB")
        style_vec = engine.style_vector(style_img)
        style = StyleRef(style_vec, optimizer.style_targets([(1.0, style_img)], 10**9), np.asarray(style_img))
        started = time.perf_counter()
        refined = refine_style_vector(optimizer, style_img, [SAMPLE], refine).vector
        refine_s = time.perf_counter() - started
        print(f"{style_name}: refined in {refine_s:.1f} s", flush=True)
        fast_spec = StyleSpec.single(StyleComponent(vector=style_vec.tolist()))
        refined_spec = StyleSpec.single(StyleComponent(vector=refined.tolist()))
        for photo_name in PHOTOS[: args.photos]:
            photo = fitted(DATA / "photos" / photo_name, args.side)
            for mode in MODES:
                started = time.perf_counter()
                if mode == "optimize":
                    out = optimizer.render(photo, fast_spec, [(1.0, style_img)], options, opt)
                else:
                    out = engine.render(photo, refined_spec if mode == "fast+refined" else fast_spec, options)
                scores[mode].add(optimizer, out, photo, style, time.perf_counter() - started)
            row = "  ".join(f"{m} {scores[m].style_distance[-1]:.2f}/{scores[m].ssim[-1]:.3f}" for m in MODES)
            print(f"  {photo_name}: style distance/SSIM  {row}", flush=True)
    report(scores, args)
    controls(engine, args)


def controls(engine: StyleEngine, args: argparse.Namespace) -> None:
    """The result controls' rows (quality_controls.py) on the same photos and paintings."""
    from benchmarks.quality_controls import control_rows, report_controls

    def measure(output: np.ndarray, photo: np.ndarray, painting: np.ndarray) -> dict[str, float]:
        y_out, y_photo = luminance(output), luminance(photo)
        return {
            "colour": colour_distance(output, painting),
            "ssim": ssim(y_out, y_photo),
            "edge": edge_f_score(y_out, y_photo),
        }

    photos = [fitted(DATA / "photos" / name, args.side) for name in PHOTOS[: args.photos]]
    paths = [DATA / "styles" / name for name in STYLES[: args.styles]]
    rows = control_rows(engine, photos, paths, measure)
    report_controls(rows, len(photos) * len(paths), args.side)


def report(scores: dict[str, Scores], args: argparse.Namespace) -> None:
    base = scores["fast"]
    pairs = len(base.ssim)
    print(f"\n{pairs} photo × painting pairs at {args.side} px; baseline: fast network (same run)\n")
    header = "| mode | style distance | vs fast | Gram dist | colour dist | SSIM(Y) | edge F | s/image |"
    print(header)
    print("|" + "---|" * 8)
    for mode in MODES:
        s = scores[mode]
        ratio = np.mean(s.style_distance) / np.mean(base.style_distance)
        print(
            f"| {mode} | {np.mean(s.style_distance):.3f} | {ratio:.2f}x | {np.mean(s.gram):.3f} "
            f"| {np.mean(s.colour):.3f} | {np.mean(s.ssim):.3f} "
            f"| {np.mean(s.edge_f):.3f} | {np.mean(s.seconds):.2f} |"
        )
    print()
    ok = True
    for mode in ("fast+refined", "optimize"):
        s = scores[mode]
        lower = np.mean(s.style_distance) < np.mean(base.style_distance)
        drop = np.mean(base.ssim) - np.mean(s.ssim)
        passed = lower and drop <= SSIM_FLOOR
        ok &= passed
        print(
            f"floor {mode}: style distance lower than fast: {lower}; SSIM drop {drop:+.3f} "
            f"(max {SSIM_FLOOR}) -> {'PASS' if passed else 'FAIL'}"
        )
    print("floor:", "PASS" if ok else "FAIL")


if __name__ == "__main__":
    main()
