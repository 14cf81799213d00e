"""``stylefarm render`` as a person runs it: a real process, real files, exit codes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
from PIL import Image

from tests.cli_process import run_stylefarm


def run_cli(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    return run_stylefarm(*args, env={"STYLEFARM_MODEL_CACHE_DIR": str(cache)})


def render_cat(data_dir: Path, tmp_path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    photo = str(data_dir / "photos" / "chelsea_cat.png")
    return run_cli("render", photo, "-o", str(tmp_path / "x.png"), *options, cache=tmp_path / "cache")


def test_render_blends_a_builtin_and_a_painting_into_the_named_file(data_dir, tmp_path):
    output = tmp_path / "out" / "cat.webp"
    result = run_cli(
        "render",
        str(data_dir / "photos" / "chelsea_cat.png"),
        "-o",
        str(output),
        "--style",
        "builtin:3",
        "--style",
        str(data_dir / "styles" / "great_wave_hokusai.jpg"),
        "--weight",
        "1",
        "--weight",
        "2",
        "--strength",
        "0.8",
        "--preserve-color",
        "--tile",
        "128",
        "--device",
        "cpu",
        cache=tmp_path / "cache",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(output)
    assert "tile" in result.stderr  # the progress bar
    with Image.open(output) as img:
        assert img.format == "WEBP" and img.size == (451, 300)
        assert np.asarray(img.convert("RGB")).std() > 10


def test_render_reports_bad_style_with_exit_code_2(data_dir, tmp_path):
    result = render_cat(data_dir, tmp_path, "--style", "builtin:26")
    assert result.returncode == 2
    assert "builtin:26" in result.stderr and "Traceback" not in result.stderr


def test_render_refuses_contradictory_colour_flags(data_dir, tmp_path):
    result = render_cat(data_dir, tmp_path, "--style", "builtin:1", "--preserve-color", "--recolor")
    assert result.returncode == 2 and "opposites" in result.stderr


def test_render_keeps_an_rgba_products_alpha_and_object_under_mask_alpha_keep(data_dir, tmp_path):
    cat = Image.open(data_dir / "photos" / "chelsea_cat.png").convert("RGBA").resize((96, 64))
    shape = Image.new("L", cat.size, 0)
    shape.paste(255, (24, 12, 72, 52))
    product = Image.new("RGBA", cat.size, (0, 0, 0, 0))
    product.paste(cat, (0, 0), shape)
    product.save(tmp_path / "product.png")
    out = tmp_path / "out.png"
    flags = ["--mask", "alpha", "--mask-mode", "keep", "--fidelity", "0.5", "--match-style-colors"]
    result = run_cli(
        "render", str(tmp_path / "product.png"), "-o", str(out), "--style", "builtin:2", *flags, cache=tmp_path / "c"
    )
    assert result.returncode == 0, result.stderr
    rendered, source = np.asarray(Image.open(out)), np.asarray(product)
    assert rendered.shape == (64, 96, 4)
    assert np.array_equal(rendered[..., 3], source[..., 3])
    assert np.array_equal(rendered[12:52, 24:72], source[12:52, 24:72])


def test_render_refuses_region_masks_that_do_not_pair_with_the_styles(data_dir, tmp_path):
    result = render_cat(data_dir, tmp_path, "--style", "builtin:1", "--style", "builtin:2", "--region-mask", "auto")
    assert result.returncode == 2 and "--region-mask" in result.stderr


def test_render_colours_a_grey_photo_from_hints_or_cleans_a_recolor_keeping_its_luminance(data_dir, tmp_path):
    with Image.open(data_dir / "photos" / "chelsea_cat.png") as img:
        grey = np.asarray(img.convert("L").resize((160, 120)))
    scan = tmp_path / "scan.png"
    Image.fromarray(grey).save(scan)
    strokes = np.zeros((60, 80, 4), dtype=np.uint8)  # a half-size canvas: scaled up to the photo
    strokes[20:24, 10:40] = (190, 120, 60, 255)
    hints = tmp_path / "hints.png"
    Image.fromarray(strokes).save(hints)
    runs = {"hinted": ["--hints", str(hints)], "painterly": ["--style", "builtin:3", "--recolor"]}
    for name, options in runs.items():
        output = tmp_path / f"{name}.png"
        result = run_cli("render", str(scan), "-o", str(output), *options, "--chroma-smoothing", "0.6",
                         cache=tmp_path / "cache")  # fmt: skip
        assert result.returncode == 0, result.stderr
        with Image.open(output) as out:
            assert np.array_equal(np.asarray(out.convert("L")), grey), name
    both = run_cli("render", str(scan), "-o", str(tmp_path / "x.png"), "--hints", str(hints), "--style", "builtin:3",
                   cache=tmp_path / "cache")  # fmt: skip
    assert both.returncode == 2 and "leave out --style" in both.stderr
