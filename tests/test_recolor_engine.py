"""Archival recolouring on arrays and files: exact luminance, hints honoured, clean chroma, bad input."""

from __future__ import annotations

import io
import tracemalloc

import cv2
import numpy as np
import pytest
from PIL import Image

from benchmarks.colour_difference import ciede2000, srgb_to_lab
from shared.errors import BadInputError, LimitExceededError
from worker.engine.recolor.colorize import ReadLimits, colorize
from worker.engine.recolor.guided_filter import guided_filter
from worker.engine.recolor.hints import read_hints
from worker.engine.recolor.luminance import Scan, load_scan, luma_of
from worker.engine.recolor.pipeline import RecolorOptions, plan_memory, recolor
from worker.jobs.encoding import encode_image


@pytest.fixture(scope="module")
def halves(data_dir) -> tuple[np.ndarray, np.ndarray]:
    """(exemplar, truth): the left and right halves of a colour photo at 256 px high."""
    img = Image.open(data_dir / "photos" / "golden_gate_bridge.jpg").convert("RGB")
    img = img.resize((round(img.width * 256 / img.height), 256), Image.Resampling.LANCZOS)
    pixels = np.asarray(img)
    middle = pixels.shape[1] // 2
    return pixels[:, :middle], pixels[:, middle:]


def png(pixels: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode).save(buffer, format="PNG")
    return buffer.getvalue()


def strokes_from(truth: np.ndarray, spots: list[tuple[int, int]]) -> np.ndarray:
    rgba = np.zeros((*truth.shape[:2], 4), dtype=np.uint8)
    for y, x in spots:
        rgba[y - 2 : y + 3, x - 12 : x + 12, :3] = truth[y, x]
        rgba[y - 2 : y + 3, x - 12 : x + 12, 3] = 255
    return rgba


def test_png_output_keeps_the_scans_luminance_exactly(halves):
    exemplar, truth = halves
    grey = np.asarray(Image.fromarray(truth).convert("L"))
    out = colorize(png(grey), RecolorOptions(), ReadLimits(), exemplar=png(exemplar))
    data, _ = encode_image(out, "png")
    with Image.open(io.BytesIO(data)) as img:
        assert img.mode == "RGB"
        assert np.array_equal(np.asarray(img.convert("L")), grey)
    assert np.abs(out.astype(int)[..., 0] - out[..., 2]).mean() > 3  # and it is in colour


def test_a_16_bit_greyscale_scan_comes_back_as_16_bit_png_with_its_luminance(halves):
    exemplar, truth = halves
    deep = (luma_of(truth).astype(np.uint32) * 257 + np.arange(truth.shape[1]) % 200).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(deep).save(buffer, format="PNG")  # mode I;16
    out = colorize(buffer.getvalue(), RecolorOptions(), ReadLimits(), exemplar=png(exemplar))
    assert out.dtype == np.uint16
    data, _ = encode_image(out, "png")
    read = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert read.dtype == np.uint16 and np.array_equal(luma_of(read), deep)
    eight = colorize(buffer.getvalue(), RecolorOptions(keep_16bit=False), ReadLimits(), exemplar=png(exemplar))
    assert eight.dtype == np.uint8 and np.array_equal(luma_of(eight), Scan(deep).as_8bit().luma)


def test_painted_strokes_get_their_colour_and_spread_within_their_region():
    # A synthetic scene of flat regions with film grain: sky, a red barn, grass.
    rng = np.random.default_rng(3)
    colours = {"sky": (110, 160, 220), "barn": (170, 40, 35), "grass": (60, 140, 50)}
    truth = np.empty((180, 240, 3), dtype=np.int64)
    truth[:80] = colours["sky"]
    truth[80:] = colours["grass"]
    truth[60:140, 140:210] = colours["barn"]
    truth = np.clip(truth + rng.integers(-3, 4, truth.shape), 0, 255).astype(np.uint8)
    hints = np.zeros((180, 240, 4), dtype=np.uint8)
    for (y, x), name in [((30, 60), "sky"), ((100, 170), "barn"), ((160, 40), "grass")]:
        hints[y - 2 : y + 3, x - 15 : x + 15] = (*colours[name], 255)
    out = recolor(Scan(luma_of(truth)), RecolorOptions(), hints=hints)
    painted = hints[..., 3] > 0
    stroke_error = ciede2000(srgb_to_lab(out[painted]), srgb_to_lab(hints[painted][:, :3]))
    assert stroke_error.max() < 5.0, stroke_error.max()
    for name, (y, x) in {"sky": (10, 220), "barn": (130, 150), "grass": (170, 230)}.items():  # far from strokes
        far = ciede2000(srgb_to_lab(out[y, x]), srgb_to_lab(np.array(colours[name])))
        assert far < 10.0, (name, far)


def test_the_guided_filter_equals_a_direct_window_by_window_computation():
    rng = np.random.default_rng(1)
    guide = cv2.GaussianBlur(rng.random((24, 31)).astype(np.float32), (0, 0), 1.5)
    guide[:, 15:] += 0.5  # an edge
    source = rng.normal(size=(24, 31, 2)).astype(np.float32)
    radius, eps = 2, 0.01
    padded_i = np.pad(guide, radius, mode="symmetric")
    padded_p = np.pad(source, ((radius, radius), (radius, radius), (0, 0)), mode="symmetric")
    a = np.zeros_like(source)
    b = np.zeros_like(source)
    for y in range(guide.shape[0]):
        for x in range(guide.shape[1]):
            window_i = padded_i[y : y + 2 * radius + 1, x : x + 2 * radius + 1].reshape(-1)
            window_p = padded_p[y : y + 2 * radius + 1, x : x + 2 * radius + 1].reshape(-1, 2)
            cov = (window_i[:, None] * window_p).mean(0) - window_i.mean() * window_p.mean(0)
            a[y, x] = cov / (window_i.var() + eps)
            b[y, x] = window_p.mean(0) - a[y, x] * window_i.mean()

    def window_mean(values: np.ndarray) -> np.ndarray:
        padded = np.pad(values, ((radius, radius), (radius, radius), (0, 0)), mode="symmetric")
        out = np.zeros_like(values)
        for y in range(values.shape[0]):
            for x in range(values.shape[1]):
                out[y, x] = padded[y : y + 2 * radius + 1, x : x + 2 * radius + 1].mean((0, 1))
        return out

    expected = window_mean(a) * guide[..., None] + window_mean(b)
    assert np.abs(guided_filter(guide, source, radius, eps) - expected).max() < 1e-4


def test_guided_smoothing_removes_brush_texture_from_a_painterly_recolour(halves):
    _, truth = halves
    rng = np.random.default_rng(2)
    confetti = np.clip(truth.astype(int) + rng.integers(-60, 60, truth.shape), 0, 255).astype(np.uint8)
    scan = Scan(luma_of(truth))

    def chroma_noise(rgb: np.ndarray) -> float:
        ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb).astype(np.float32)[..., 1:]
        return float(((ycc - cv2.GaussianBlur(ycc, (0, 0), 2.0)) ** 2).mean())

    raw = recolor(scan, RecolorOptions(chroma_smoothing=0.0), stylized=confetti)
    clean = recolor(scan, RecolorOptions(chroma_smoothing=0.5), stylized=confetti)
    assert np.array_equal(luma_of(raw), scan.luma) and np.array_equal(luma_of(clean), scan.luma)
    assert chroma_noise(clean) < 0.1 * chroma_noise(raw)


def test_a_colour_photo_given_as_the_scan_is_converted_to_its_luminance(halves):
    exemplar, truth = halves
    out = colorize(png(truth), RecolorOptions(), ReadLimits(), exemplar=png(exemplar))
    assert np.array_equal(luma_of(out), np.asarray(Image.fromarray(truth).convert("L")))


def test_unusable_hints_and_exemplars_are_refused_with_a_reason(halves):
    _, truth = halves
    grey = png(luma_of(truth))
    size = (truth.shape[1], truth.shape[0])
    with pytest.raises(BadInputError, match="no transparency"):
        read_hints(png(truth), size, 10**8)
    with pytest.raises(BadInputError, match="not the shape of the photo"):
        read_hints(png(np.zeros((100, 100, 4), np.uint8), "RGBA"), size, 10**8)
    with pytest.raises(BadInputError, match="not a readable image"):
        read_hints(b"<html>not an image</html>", size, 10**8)
    with pytest.raises(BadInputError, match="no painted pixels"):
        colorize(grey, RecolorOptions(), ReadLimits(), hints=png(np.zeros((*truth.shape[:2], 4), np.uint8), "RGBA"))
    with pytest.raises(BadInputError, match="not a readable image"):
        colorize(grey, RecolorOptions(), ReadLimits(), exemplar=b"GIF89a broken")
    half = np.asarray(Image.fromarray(strokes_from(truth, [(50, 50)])).resize((size[0] // 2, size[1] // 2)))
    assert colorize(grey, RecolorOptions(), ReadLimits(), hints=png(half, "RGBA")).shape == (*truth.shape[:2], 3)


def test_memory_stays_within_the_plan_and_a_plan_over_the_limit_is_refused(halves):
    _, truth = halves
    big = np.asarray(Image.fromarray(luma_of(truth)).resize((1400, 1100)))
    scan = Scan(big)
    hints = np.asarray(Image.fromarray(strokes_from(truth, [(40, 40), (200, 100)])).resize((1400, 1100)))
    options = RecolorOptions(working_side=512, hint_solve_side=256)
    tracemalloc.start()
    try:
        recolor(scan, options, hints=hints)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    planned = plan_memory(scan, options, True, 256 * 201)
    assert peak <= planned, (peak, planned)
    with pytest.raises(LimitExceededError, match="recolor_memory_limit_mb"):
        recolor(scan, RecolorOptions(memory_limit_mb=4), hints=hints)


def test_a_scan_is_brought_down_to_the_output_side(halves):
    _, truth = halves
    scan = load_scan(png(luma_of(truth)), 10**8, 16, max_side=100)
    assert max(scan.size) == 100 and scan.luma.dtype == np.uint8
