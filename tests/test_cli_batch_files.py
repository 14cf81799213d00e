"""How ``stylefarm submit`` picks its inputs, reads ``--style`` values and names downloaded outputs.

These are the CLI's own rules, checked on real folders in a temporary directory; the farm-facing
behaviour is in ``test_cli_client.py``.
"""

from __future__ import annotations

import threading
from pathlib import Path

import click
import pytest

from cli.batch import job_bodies
from cli.download import plan_downloads, sanitise
from cli.exit_codes import ExitCode, exit_code_for_jobs
from cli.inputs import LocalInput, find_inputs, parse_style, style_choices
from cli.threads import map_in_threads


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_folders_give_sorted_images_and_videos_and_skip_the_rest(tmp_path):
    root = tmp_path / "catalogue"
    for name in ("b.JPG", "a.png", "clip.mp4", "notes.txt", "sub/c.webp", ".thumbs/d.png", ".hidden.png"):
        touch(root / name)
    odd = touch(tmp_path / "scan.raw")

    found = find_inputs([root, odd])
    assert [(str(i.relative), i.media) for i in found.inputs] == [
        ("a.png", "image"),
        ("b.JPG", "image"),
        ("clip.mp4", "video"),
        ("sub/c.webp", "image"),
        ("scan.raw", "image"),  # named explicitly: sent, and the farm judges it
    ]
    assert found.skipped == [root / "notes.txt"]
    flat = find_inputs([root], recursive=False)
    assert "sub/c.webp" not in {str(i.relative) for i in flat.inputs} and len(flat.inputs) == 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("builtin:3", ("builtin:3", None)),
        ("builtin:3:0.5", ("builtin:3", 0.5)),
        ("great-wave:2", ("great-wave", 2.0)),
        ("great-wave", ("great-wave", None)),
        ("ratio:wide", ("ratio:wide", None)),
    ],
)
def test_style_values_carry_an_optional_weight(value, expected):
    assert parse_style(value) == expected


def test_style_weights_are_checked_before_anything_is_uploaded():
    assert style_choices(["builtin:1:1", "wave:3"], [], blend=True) == [
        {"style": "builtin:1", "weight": 1.0},
        {"style": "wave", "weight": 3.0},
    ]
    assert style_choices(["a", "b"], [2.0, 1.0], blend=True)[0] == {"style": "a", "weight": 2.0}
    with pytest.raises(click.UsageError, match="not both"):
        style_choices(["a:1", "b"], [1.0, 2.0], blend=True)
    with pytest.raises(click.UsageError, match="--blend"):
        style_choices(["a:1", "b"], [], blend=False)
    with pytest.raises(click.BadParameter, match=">= 0"):
        parse_style("a:-1")


def job(job_id: str, *items: tuple[str, str, str]) -> dict[str, object]:
    """A job document shaped like the API's, with (input id, style label, format) per finished item."""
    return {
        "id": job_id,
        "items": [
            {
                "id": f"{job_id}-{n}",
                "position": n,
                "input_id": input_id,
                "style_label": label,
                "output": {"format": fmt},
                "download_url": f"/v1/jobs/{job_id}/items/{job_id}-{n}/result",
            }
            for n, (input_id, label, fmt) in enumerate(items)
        ],
    }


def test_output_names_are_readable_deterministic_and_never_clobber(tmp_path):
    out = tmp_path / "out"
    touch(out / "A__builtin-1.jpg")  # already there, different case: still a collision on macOS/Windows disks
    inputs = {
        "u1": LocalInput(Path("/cat/a.png"), Path("a.png")),
        "u2": LocalInput(Path("/cat/a.tif"), Path("a.tif")),
        "u3": LocalInput(Path("/cat/x/a b?.png"), Path("x/a b?.png")),
    }
    jobs = [
        job("j1", ("u1", "builtin:1", "jpeg"), ("u2", "builtin:1", "jpeg"), ("u1", "wave+builtin:2", "png")),
        job("j2", ("u3", "builtin:1", "tiff"), ("u9", "builtin:1", "webp")),
    ]
    jobs[1]["items"][0]["role"] = "render"
    jobs[0]["items"].append({**jobs[0]["items"][0], "id": "seg", "position": 9, "role": "segment"})

    names = [str(p.destination.relative_to(out)) for p in plan_downloads(jobs, inputs, out)]
    assert names == [
        "a__builtin-1-2.jpg",
        "a__builtin-1-3.jpg",
        "a__wave+builtin-2.png",
        "x/a-b__builtin-1.tif",
        "u9__builtin-1.webp",  # an upload this run did not make: named by its id
    ]
    assert names == [str(p.destination.relative_to(out)) for p in plan_downloads(jobs, inputs, out)]
    replaced = plan_downloads(jobs, inputs, out, overwrite=True)
    assert replaced[0].destination.name == "a__builtin-1.jpg"
    assert sanitise("../..") == "output" and sanitise("Été/2026:") == "Été-2026"


def test_exit_code_is_the_worst_job_outcome():
    assert exit_code_for_jobs(["succeeded", "succeeded"]) == ExitCode.OK == 0
    assert exit_code_for_jobs(["succeeded", "canceled"]) == ExitCode.CANCELED == 4
    assert exit_code_for_jobs(["canceled", "failed", "succeeded"]) == ExitCode.JOB_FAILED == 1


def test_transfers_run_in_parallel_keep_order_and_stop_at_the_first_error():
    started: list[int] = []
    both_running = threading.Barrier(2, timeout=5)

    def work(n: int) -> int:
        started.append(n)
        if n < 2:
            both_running.wait()  # deadlocks (then times out) unless two calls run at once
        if n == 3:
            raise ValueError("refused")
        return n * 10

    assert map_in_threads(work, range(3), threads=2) == [0, 10, 20]
    with pytest.raises(ValueError, match="refused"):
        map_in_threads(work, [3, *range(4, 400)], threads=1)
    assert len(started) < 3 + 397  # the calls queued behind the error were dropped


def test_videos_get_a_job_per_style_unless_blended_and_no_still_image_options():
    params = {"kind": "multi_style", "styles": [{"style": "a"}, {"style": "b"}], "blend": False, "output_format": "png"}
    assert job_bodies(params, ["u1", "u2"], "image") == [{**params, "inputs": ["u1", "u2"]}]
    videos = job_bodies(params, ["v1"], "video")
    assert [(body["kind"], body["styles"], body["inputs"]) for body in videos] == [
        ("video", [{"style": "a"}], ["v1"]),
        ("video", [{"style": "b"}], ["v1"]),
    ]
    assert all("output_format" not in body for body in videos)
    blended = job_bodies({**params, "blend": True}, ["v1"], "video")
    assert len(blended) == 1 and blended[0]["styles"] == params["styles"]
