"""Archival recolouring on a real farm (issue 15): CLI batches, a 20 MP scan, the web page's hint painter.

One embedded farm (API under gunicorn, one Celery worker, SQLite, filesystem broker) serves the
module, with a recolour memory limit of ``MEMORY_LIMIT_MB``; every command runs as a real process.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from benchmarks.colour_difference import ciede2000, srgb_to_lab
from cli.client import FarmClient
from cli.stack import LocalStack
from tests.cli_process import cli_farm
from tests.cli_process import run_stylefarm as run
from tests.test_web_ui import _enter_key, browser  # noqa: F401 - the browser fixture, reused
from worker.engine.recolor.luminance import luma_of

MEMORY_LIMIT_MB = 1024
SCENE = {"sky": (110, 160, 220), "barn": (170, 40, 35), "grass": (60, 140, 50)}


@pytest.fixture(scope="module")
def farm(tmp_path_factory) -> Iterator[tuple[LocalStack, dict[str, str]]]:
    limits = {"STYLEFARM_RECOLOR_MEMORY_LIMIT_MB": str(MEMORY_LIMIT_MB), "STYLEFARM_TASK_SOFT_TIME_LIMIT_S": "600"}
    with cli_farm(tmp_path_factory, "archive", **limits) as (stack, env):
        try:
            yield stack, env
        finally:
            log = stack.log_dir / "worker.log"
            if log.exists():
                print("--- worker.log (tail) ---\n" + log.read_text(errors="replace")[-3000:])


def scene(height: int = 180, width: int = 240) -> np.ndarray:
    """Flat sky, barn and grass with film grain: where colour should stop is plain."""
    rng = np.random.default_rng(3)
    truth = np.empty((height, width, 3), dtype=np.int64)
    truth[: height * 4 // 9] = SCENE["sky"]
    truth[height * 4 // 9 :] = SCENE["grass"]
    truth[height // 3 : height * 7 // 9, width * 7 // 12 : width * 7 // 8] = SCENE["barn"]
    return np.clip(truth + rng.integers(-3, 4, truth.shape), 0, 255).astype(np.uint8)


def strokes(height: int, width: int) -> np.ndarray:
    hints = np.zeros((height, width, 4), dtype=np.uint8)
    for (fy, fx), name in [((0.17, 0.25), "sky"), ((0.55, 0.7), "barn"), ((0.9, 0.17), "grass")]:
        y, x = int(fy * height), int(fx * width)
        hints[y - 2 : y + 3, x - 15 : x + 15] = (*SCENE[name], 255)
    return hints


def save(pixels: np.ndarray, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def read_deep(path: Path) -> np.ndarray:
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return pixels[..., ::-1] if pixels.ndim == 3 else pixels


def test_a_folder_of_scans_takes_each_files_exemplar_or_hints_by_name(farm, data_dir, tmp_path):
    _, env = farm
    with Image.open(data_dir / "photos" / "golden_gate_bridge.jpg") as img:
        photo = np.asarray(img.convert("RGB").resize((320, 120)))
    deep = (luma_of(photo[:, 160:]).astype(np.uint32) * 257 + 77).astype(np.uint16)  # a 16-bit scan
    save(deep, tmp_path / "scans" / "bridge.png")
    truth = scene()
    save(luma_of(truth), tmp_path / "scans" / "farm.png")
    save(photo[:, :160], tmp_path / "exemplars" / "bridge.jpg")  # the other half of the same view
    save(strokes(*truth.shape[:2]), tmp_path / "hints" / "farm.png")

    lonely = run("submit", str(save(luma_of(truth), tmp_path / "lonely.png")), "--hints", str(tmp_path / "hints"),
                 env=env)  # fmt: skip
    assert lonely.returncode == 2 and "no exemplar or hints file with the name of 1 scan" in lonely.stderr

    out = tmp_path / "out"
    result = run("submit", str(tmp_path / "scans"), "--colorize-from", str(tmp_path / "exemplars"),
                 "--hints", str(tmp_path / "hints"), "--download", str(out), "--json", env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    [job] = report["jobs"]
    assert job["status"] == "succeeded" and len(job["items"]) == 2
    assert job["params"]["colorize_from"][1] is None and job["params"]["hints"][0] is None  # matched by name

    bridge = read_deep(out / "bridge__colorized.png")
    assert bridge.dtype == np.uint16 and np.array_equal(luma_of(bridge), deep)  # 16 bits, luminance kept
    coloured = read_deep(out / "farm__colorized.png")
    assert np.array_equal(luma_of(coloured), luma_of(truth))
    painted = strokes(*truth.shape[:2])[..., 3] > 0
    error = ciede2000(srgb_to_lab(coloured[painted]), srgb_to_lab(strokes(*truth.shape[:2])[painted][:, :3]))
    assert error.max() < 5.0, error.max()


def test_a_20_megapixel_scan_colourises_within_the_memory_limit(farm, tmp_path):
    stack, env = farm
    width, height = 5472, 3648
    ys, xs = np.mgrid[0:height, 0:width]
    grey = (40 + (xs * 150 // width) + (ys * 50 // height)).astype(np.uint8)
    grey[height // 3 : height * 2 // 3, width // 4 : width // 2] = 30  # a dark object
    scan = save(grey, tmp_path / "big.png")
    del xs, ys
    hints = np.zeros((height // 4, width // 4, 4), dtype=np.uint8)  # painted on a quarter-size canvas
    hints[300:310, 300:500] = (200, 60, 40, 255)
    hints[100:110, 900:1100] = (60, 90, 200, 255)
    result = run("submit", str(scan), "--hints", str(save(hints, tmp_path / "big_hints.png")),
                 "--download", str(tmp_path / "out"), "--json", env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    output = read_deep(tmp_path / "out" / "big__colorized.png")
    assert output.shape == (height, width, 3) and np.array_equal(luma_of(output), grey)
    assert abs(int(output[1220, 1600, 0]) - int(output[1220, 1600, 2])) > 20  # coloured where painted
    grew = [
        float(m)
        for m in re.findall(r"recoloured 5472×3648: peak growth (\d+) MB", (stack.log_dir / "worker.log").read_text())
    ]
    print(f"20 MP recolour: the worker grew by {grew} MB (limit {MEMORY_LIMIT_MB} MB)")
    assert grew and grew[-1] <= MEMORY_LIMIT_MB


def test_strokes_painted_on_the_web_page_colour_the_photo(farm, browser, tmp_path):  # noqa: F811
    stack, env = farm
    truth = scene(240, 320)
    photo = save(luma_of(truth), tmp_path / "barn.png")
    context = browser.new_context(base_url=stack.url)
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/ui/new")
    _enter_key(page, env["STYLEFARM_API_KEY"])
    page.set_input_files("#input-files", str(photo))
    expect(page.locator("#inputs li[data-upload-id]")).to_have_count(1)
    canvas = page.locator("#hint-canvas")
    expect(canvas).to_be_visible()
    page.fill("#hint-colour", "#aa2823")  # the barn's red
    box = canvas.bounding_box()
    assert box is not None
    start = (box["x"] + box["width"] * 0.65, box["y"] + box["height"] * 0.55)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + box["width"] * 0.1, start[1], steps=5)
    page.mouse.up()
    expect(canvas).to_have_attribute("data-painted", "true")
    page.click("#submit-button")
    page.wait_for_url(re.compile(r"/ui/jobs/[0-9a-f-]+$"))
    job_id = page.url.rsplit("/", 1)[1]
    context.close()
    client = FarmClient(stack.url, env["STYLEFARM_API_KEY"])
    job = client.wait(job_id, timeout_s=240)
    assert job["status"] == "succeeded", job
    assert job["params"]["hints"] and not job["params"]["styles"]
    target = tmp_path / "web.png"
    client.download(job["items"][0]["download_url"], target)
    with Image.open(io.BytesIO(target.read_bytes())) as img:
        out = np.asarray(img.convert("RGB"))
    assert np.array_equal(luma_of(out), luma_of(truth))
    barn = ciede2000(srgb_to_lab(out[150, 200]), srgb_to_lab(np.array(SCENE["barn"])))
    assert barn < 10.0, (out[150, 200], barn)
    assert errors == []
