"""Benchmark user networks (bring-your-own) in the engine against running the network directly, on CPU.

Why: the farm wraps a user's network in conversions, mirror padding, tiling, an onnxruntime session
or a TorchScript interpreter and a per-process cache. This measures, in one run on one image, what
that costs against the baseline of the same torch module called eagerly on the whole image, and
what the cache saves (a miss reads, hashes, loads and probes the file; a hit does none of it).

The network is a Johnson et al. 2016 style transformer (9×9 conv, two stride-2 convs, five residual
blocks with instance norm, two nearest-upsample convs, 9×9 conv) with random weights: speed does
not depend on what the weights learned. Run ``PYTHONPATH=. python -m benchmarks.custom_networks --help``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch

from worker.engine.custom_net import NetworkCache, NetworkSource
from worker.engine.render import RenderOptions, StyleEngine
from worker.engine.styles import StyleComponent, StyleSpec


def _conv(cin: int, cout: int, kernel: int, stride: int = 1) -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.ReflectionPad2d(kernel // 2),
        torch.nn.Conv2d(cin, cout, kernel, stride),
        torch.nn.InstanceNorm2d(cout, affine=True),
        torch.nn.ReLU(),
    )


class _Residual(torch.nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(_conv(channels, channels, 3), _conv(channels, channels, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Johnson(torch.nn.Module):
    """The feed-forward style network of Johnson et al. 2016, outputs squashed to 0–1."""

    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            _conv(3, 32, 9),
            _conv(32, 64, 3, 2),
            _conv(64, 128, 3, 2),
            *[_Residual(128) for _ in range(5)],
            torch.nn.Upsample(scale_factor=2.0, mode="nearest"),
            _conv(128, 64, 3),
            torch.nn.Upsample(scale_factor=2.0, mode="nearest"),
            _conv(64, 32, 3),
            torch.nn.ReflectionPad2d(4),
            torch.nn.Conv2d(32, 3, 9),
            torch.nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def export(module: torch.nn.Module) -> dict[str, bytes]:
    """The module as a TorchScript file and an ONNX file (legacy exporter: onnxscript is not installed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both exporters are marked deprecated in torch 2.9+
        script = io.BytesIO()
        torch.jit.save(torch.jit.trace(module, torch.rand(1, 3, 64, 64)), script)
        onnx_file = io.BytesIO()
        axes = {0: "n", 2: "h", 3: "w"}
        torch.onnx.export(
            module,
            (torch.rand(1, 3, 64, 64),),
            onnx_file,
            dynamo=False,
            input_names=["image"],
            output_names=["stylized"],
            dynamic_axes={"image": axes, "stylized": axes},
        )
    return {"torchscript": script.getvalue(), "onnx": onnx_file.getvalue()}


def best_of(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def photo(width: int, height: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([xs / width, ys / height, 0.5 + 0.5 * np.sin(xs / 23.0 + ys / 31.0)], -1) * 220.0
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=864)
    parser.add_argument("--height", type=int, default=576)
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=2, help="best of this many timed runs per case")
    args = parser.parse_args()
    torch.manual_seed(0)
    module = Johnson().eval()
    files = export(module)
    image = photo(args.width, args.height)
    megapixels = args.width * args.height / 1e6
    engine = StyleEngine("cpu")

    def eager() -> None:
        with torch.inference_mode():
            module(torch.from_numpy(image.transpose(2, 0, 1).copy()).float()[None] / 255.0)

    rows: list[tuple[str, float]] = [("eager torch module, whole image (baseline)", best_of(args.repeat, eager))]
    for network_format, data in files.items():
        source = NetworkSource(
            hashlib.sha256(data).hexdigest(), network_format, lambda data=data: data, overlap=args.overlap
        )  # type: ignore[arg-type]
        style = StyleSpec.single(StyleComponent(network=source))
        whole, tiled = RenderOptions(), RenderOptions(tile_size=args.tile, single_pass_pixels=0)
        engine.render(image[:64, :64], style, whole)  # loads it (timed separately below)
        rows.append(
            (
                f"farm {network_format}, whole image",
                best_of(args.repeat, lambda s=style, o=whole: engine.render(image, s, o)),
            )
        )
        rows.append(
            (
                f"farm {network_format}, tiles {args.tile} px + {args.overlap} px context",
                best_of(args.repeat, lambda s=style, o=tiled: engine.render(image, s, o)),
            )
        )
    baseline = rows[0][1]
    print(
        f"\nJohnson et al. 2016 network, {args.width} × {args.height} ({megapixels:.2f} MP), CPU, best of {args.repeat}"
    )
    print(f"{'case':<52} {'seconds':>8} {'MP/s':>7} {'time vs baseline':>17}")
    for label, seconds in rows:
        print(f"{label:<52} {seconds:>8.2f} {megapixels / seconds:>7.2f} {seconds / baseline:>16.2f}×")

    print(f"\nLoading, per format (file sizes: {', '.join(f'{k} {len(v) / 1e6:.1f} MB' for k, v in files.items())})")
    print(f"{'case':<60} {'seconds':>8} {'miss vs hit':>12}")
    for network_format, data in files.items():
        source = NetworkSource(hashlib.sha256(data).hexdigest(), network_format, lambda data=data: data)  # type: ignore[arg-type]
        miss = best_of(args.repeat, lambda s=source: NetworkCache(torch.device("cpu")).get(s))
        cache = NetworkCache(torch.device("cpu"))
        cache.get(source)
        hit = best_of(args.repeat, lambda s=source, c=cache: c.get(s))
        print(
            f"{network_format + ': cache miss (read, sha256, load, 64 px probe)':<60} {miss:>8.3f} {miss / hit:>11.0f}×"
        )
        print(f"{network_format + ': cache hit (baseline)':<60} {hit:>8.5f} {1.0:>11.0f}×")


if __name__ == "__main__":
    main()
