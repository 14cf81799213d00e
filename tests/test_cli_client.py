"""The ``stylefarm`` client commands against a real farm on the embedded default.

One farm (API under gunicorn, a Celery worker, SQLite, filesystem broker) serves the module;
every command runs as a real process, as a script or a pipeline would run it. Inputs are small
crops of real photos so renders stay quick. The farm runs with ``min_input_side`` 32 (so a
working side of 20 px passes the request schema but fails its items at the worker).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from cli.client import FarmClient
from cli.inputs import LocalInput
from cli.stack import LocalStack
from shared.settings import Settings
from tests.busy_worker import worker_held_busy
from tests.cli_process import cli_farm, run_stylefarm
from tests.conftest_farm import free_port

REPO = Path(__file__).resolve().parents[1]
run = run_stylefarm


@pytest.fixture(scope="module")
def farm(tmp_path_factory) -> Iterator[tuple[LocalStack, dict[str, str]]]:
    with cli_farm(tmp_path_factory, "cli-tenant", STYLEFARM_MIN_INPUT_SIDE="32") as served:
        yield served


def small_photo(data_dir: Path, name: str, size: tuple[int, int], destination: Path) -> Path:
    """A real photo shrunk to ``size`` (each test input gets its own size, so outputs can be told apart)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(data_dir / "photos" / name) as img:
        img.convert("RGB").resize(size).save(destination)
    return destination


def builtin_name(env: dict[str, str], number: int) -> str:
    """A built-in's name as the farm lists it (items, pages and downloads use names, not ``builtin:N``)."""
    client = FarmClient(env["STYLEFARM_API_URL"], env["STYLEFARM_API_KEY"])
    return next(style["name"] for style in client.styles() if style["id"] == f"builtin:{number}")


def test_folder_in_two_styles_in_chunked_jobs_downloads_distinct_names_and_reports_json(farm, data_dir, tmp_path):
    _, env = farm
    catalogue = tmp_path / "catalogue"
    sizes = {"a.jpg": (96, 64), "a.png": (90, 60), "sub/a.png": (64, 80)}
    small_photo(data_dir, "coffee_cup.png", sizes["a.jpg"], catalogue / "a.jpg")
    small_photo(data_dir, "chelsea_cat.png", sizes["a.png"], catalogue / "a.png")
    small_photo(data_dir, "golden_gate_bridge.jpg", sizes["sub/a.png"], catalogue / "sub" / "a.png")
    (catalogue / "notes.txt").write_text("not a photo")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a__electric-ribbons.png").write_bytes(b"an earlier output")  # must survive the run

    result = run(
        "submit", str(catalogue), "--style", "builtin:3", "--style", "builtin:5", "--chunk-size", "2",
        "--download", str(out), "--json", env=env,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["exit_code"] == 0 and report["skipped"] == [str(catalogue / "notes.txt")]
    assert "skipped 1 file" in result.stderr
    jobs = report["jobs"]
    assert [len(job["items"]) for job in jobs] == [4, 2]  # 2 inputs × 2 styles, then 1 × 2
    assert all(job["status"] == "succeeded" for job in jobs)
    written = sorted(str(Path(p).relative_to(out)) for p in report["outputs"])
    assert written == [
        "a__electric-ribbons-2.png",
        "a__electric-ribbons-3.png",
        "a__ember-brushwork-2.png",
        "a__ember-brushwork.png",
        "sub/a__electric-ribbons.png",
        "sub/a__ember-brushwork.png",
    ]  # named by the styles' names (builtin:3, builtin:5), not the ids the command line gave
    assert (out / "a__electric-ribbons.png").read_bytes() == b"an earlier output"
    for item in (item for job in jobs for item in job["items"]):
        relative = str(Path(item["input_path"]).relative_to(catalogue))
        assert Path(item["output_path"]).name.startswith(f"a__{item['style_name']}")
        with Image.open(item["output_path"]) as img:
            assert img.format == "PNG" and img.size == sizes[relative], (relative, item["output_path"])


def test_blend_with_inline_weights_shows_a_bar_per_job_and_prints_the_saved_file(farm, data_dir, tmp_path):
    _, env = farm
    photo = small_photo(data_dir, "tubingen_neckarfront.jpg", (80, 56), tmp_path / "neckar front.jpg")
    out = tmp_path / "out"
    result = run(
        "submit", str(photo), "--style", "builtin:3:1", "--style", "builtin:5:3", "--blend", "--preview",
        "--format", "webp", "--download", str(out), env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    saved = out / "neckar-front__electric-ribbons+ember-brushwork.webp"
    assert result.stdout.splitlines() == [str(saved)]
    assert "100%" in result.stderr and "items 1/1, tiles 1/1, succeeded" in result.stderr  # the job's bar, full
    with Image.open(saved) as img:
        assert img.format == "WEBP" and img.size == (80, 56)
    newest = json.loads(run("list", "--limit", "1", "--json", env=env).stdout)
    assert len(newest) == 1 and newest[0]["status"] == "succeeded"
    params = newest[0]["params"]
    assert params["blend"] and params["preview"] and params["kind"] == "image"
    assert [(s["style"], s["weight"]) for s in params["styles"]] == [("builtin:3", 1.0), ("builtin:5", 3.0)]


def test_submit_without_wait_prints_the_job_id_and_status_shows_it(farm, data_dir, tmp_path):
    _, env = farm
    photo = small_photo(data_dir, "chelsea_cat.png", (72, 48), tmp_path / "cat.png")
    result = run("submit", str(photo), "--style", "builtin:1", env=env)
    assert result.returncode == 0, result.stderr
    job_id = result.stdout.strip()
    waited = run("status", job_id, "--wait", env=env)
    assert waited.returncode == 0 and waited.stdout.startswith(f"{job_id} succeeded: items 1/1")
    assert f"cat.png × {builtin_name(env, 1)}" in waited.stdout  # the uploaded file's name and the style's
    assert str(photo) not in waited.stdout  # the farm knows no local paths


def test_style_add_waits_until_ready_then_styles_and_list_show_what_exists(farm):
    _, env = farm
    added = run(
        "style", "add", "my-wave", str(REPO / "shared" / "samples" / "great_wave.jpg"), "--wait", "--json", env=env
    )
    assert added.returncode == 0, added.stderr
    style = json.loads(added.stdout)
    assert style["name"] == "my-wave" and style["status"] == "ready" and not style["public"]

    listed = json.loads(run("styles", "--json", env=env).stdout)
    assert sum(s["kind"] == "builtin" and s["public"] for s in listed) == 26
    assert [s["id"] for s in listed if s["name"] == "my-wave"] == [style["id"]]
    table = run("styles", "-q", "wave", env=env)
    assert table.returncode == 0 and table.stdout.splitlines()[0].split()[:4] == ["my-wave", "vector", "ready", "yours"]

    succeeded = json.loads(run("list", "--status", "succeeded", "--limit", "2", "--json", env=env).stdout)
    assert 1 <= len(succeeded) <= 2 and {job["status"] for job in succeeded} == {"succeeded"}
    assert json.loads(run("list", "--status", "paused", "--json", env=env).stdout) == []


def test_a_failed_job_exits_1_with_each_items_reason(farm, data_dir, tmp_path):
    _, env = farm
    photo = small_photo(data_dir, "coffee_cup.png", (60, 40), tmp_path / "cup.png")
    result = run("submit", str(photo), "--style", "builtin:2", "--working-side", "20", "--wait", "--json", env=env)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["exit_code"] == 1 and report["jobs"][0]["status"] == "failed"
    assert "working_side must be at least 32" in report["jobs"][0]["items"][0]["error"]
    text = run("submit", str(photo), "--style", "builtin:2", "--working-side", "20", "--wait", env=env)
    assert (
        text.returncode == 1 and f"{photo} × {builtin_name(env, 2)}: " in text.stderr and "working_side" in text.stderr
    )


def test_a_canceled_job_exits_4_when_followed(farm, data_dir, tmp_path):
    """The job is canceled before any of its items can run: an earlier job holds both worker
    processes meanwhile (busy_worker.py). Without it, 16 small items finished before the cancel
    arrived on a quiet machine, and the job ended as succeeded."""
    _, env = farm
    with worker_held_busy(FarmClient(env["STYLEFARM_API_URL"], env["STYLEFARM_API_KEY"]), data_dir):
        photo = small_photo(data_dir, "bayou_cypress.jpg", (192, 128), tmp_path / "bayou.jpg")
        styles = [arg for n in range(8, 24) for arg in ("--style", f"builtin:{n}")]  # 16 items
        job_id = run("submit", str(photo), *styles, env=env).stdout.strip()
        canceled = run("cancel", job_id, env=env)
        assert canceled.returncode == 0 and canceled.stdout.startswith(job_id)
        followed = run("status", job_id, "--wait", "--json", env=env)
    assert followed.returncode == 4, followed.stdout
    job = json.loads(followed.stdout)
    assert job["status"] == "canceled" and job["progress"]["items_canceled"] == 16


def test_refusals_exit_2_with_the_reason(farm, data_dir, tmp_path):
    _, env = farm
    photo = str(small_photo(data_dir, "chelsea_cat.png", (48, 32), tmp_path / "cat.png"))
    unknown = run("submit", photo, "--style", "no-such-style", env=env)
    assert unknown.returncode == 2
    assert "no-such-style" in unknown.stderr and "Traceback" not in unknown.stderr
    assert run("submit", photo, "--style", "builtin:1", env={**env, "STYLEFARM_API_KEY": "nope"}).returncode == 2
    missing_key = run("list", env={**env, "STYLEFARM_API_KEY": ""})
    assert missing_key.returncode == 2 and "STYLEFARM_API_KEY" in missing_key.stderr
    missing_url = run("list", env={**env, "STYLEFARM_API_URL": ""})
    assert missing_url.returncode == 2 and "STYLEFARM_API_URL" in missing_url.stderr
    unweighted = run("submit", photo, "--style", "builtin:1:2", "--style", "builtin:2", env=env)
    assert unweighted.returncode == 2 and "--blend" in unweighted.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = run("submit", str(empty), "--style", "builtin:1", env=env)
    assert nothing.returncode == 2 and "no images or videos" in nothing.stderr


def test_an_unreachable_farm_exits_3(farm, data_dir):
    _, env = farm
    closed = {**env, "STYLEFARM_API_URL": f"http://127.0.0.1:{free_port()}"}
    result = run("submit", str(data_dir / "photos" / "chelsea_cat.png"), "--style", "builtin:1", env=closed)
    assert result.returncode == 3 and "cannot reach" in result.stderr
    assert run("status", "some-job", env=closed).returncode == 3


def test_a_video_in_a_folder_becomes_a_video_job_and_downloads_one_mp4(farm, tmp_path):
    _, env = farm
    clip = tmp_path / "clips" / "noise.mp4"
    clip.parent.mkdir()
    write_clip(clip, frames=6, size=(64, 48))
    out = tmp_path / "out"
    result = run("submit", str(clip.parent), "--style", "builtin:6", "--download", str(out), "--json", env=env)
    assert result.returncode == 0, result.stderr
    (job,) = json.loads(result.stdout)["jobs"]
    assert job["kind"] == "video" and job["status"] == "succeeded"
    assert {item["role"] for item in job["items"]} == {"segment", "join"}
    assert sorted(p.name for p in out.iterdir()) == ["noise__indigo-cells.mp4"]
    with av.open(str(out / "noise__indigo-cells.mp4")) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert len(frames) == 6 and frames[0].shape == (48, 64, 3)


def write_clip(path: Path, frames: int, size: tuple[int, int]) -> None:
    """A short H.264 clip of noise (the farm's video path is what is tested, not its looks)."""
    width, height = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        rng = np.random.default_rng(0)
        for _ in range(frames):
            pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode())


def test_a_follower_gives_up_with_exit_5_on_a_job_that_stops_changing(tmp_path, data_dir):
    """No worker serves this farm, so the job stays queued and its document never changes."""
    env = {"STYLEFARM_HOME": str(tmp_path / "home"), "STYLEFARM_MIN_INPUT_SIDE": "32"}
    stack = LocalStack(Settings(home=tmp_path / "home"), free_port(), env=env)
    try:
        stack.start(timeout_s=90, worker=False)
        key = run("keys", "create", "stall-tenant", env=env).stdout.strip().splitlines()[-1]
        env = {**env, "STYLEFARM_API_URL": stack.url, "STYLEFARM_API_KEY": key}
        photo = small_photo(data_dir, "chelsea_cat.png", (64, 48), tmp_path / "cat.png")
        job_id = run("submit", str(photo), "--style", "builtin:3", env=env).stdout.strip()
        followed = run("status", job_id, "--wait", "--stall-timeout", "2", env=env)
        assert followed.returncode == 5, followed.stderr
        assert f"job {job_id} has not changed for" in followed.stderr and "1 queued" in followed.stderr
    finally:
        stack.stop()


def test_submit_with_a_mask_keeps_the_photo_inside_it_and_refuses_a_mask_that_does_not_fit(farm, data_dir, tmp_path):
    _, env = farm
    photo = small_photo(data_dir, "chelsea_cat.png", (64, 48), tmp_path / "cat.png")
    inside = np.zeros((48, 64), np.uint8)
    inside[8:40, 16:48] = 255
    Image.fromarray(inside).save(tmp_path / "mask.png")
    Image.fromarray(inside[:, :48]).save(tmp_path / "square.png")
    out = tmp_path / "out"
    flags = ["--mask", str(tmp_path / "mask.png"), "--mask-mode", "keep", "--fidelity", "0.3", "--json"]
    result = run("submit", str(photo), "--style", "builtin:4", *flags, "--download", str(out), env=env)
    assert result.returncode == 0, result.stderr
    saved = json.loads(result.stdout)["jobs"][0]["items"][0]["output_path"]
    rendered, original = np.asarray(Image.open(saved).convert("RGB")), np.asarray(Image.open(photo).convert("RGB"))
    assert np.array_equal(rendered[8:40, 16:48], original[8:40, 16:48])
    assert not np.array_equal(rendered[:8], original[:8])
    refused = run("submit", str(photo), "--style", "builtin:4", "--mask", str(tmp_path / "square.png"), env=env)
    assert refused.returncode == 2 and "48×48" in refused.stderr and "64×48" in refused.stderr
    regions = ["--style", "builtin:4", "--region-mask", str(tmp_path / "mask.png"), "--style", "builtin:9"]
    one = run("submit", str(photo), *regions, "--region-mask", "auto", "--feather", "2", "--wait", "--json", env=env)
    assert one.returncode == 0, one.stderr
    assert [len(job["items"]) for job in json.loads(one.stdout)["jobs"]] == [1], "two styles, one output"


def test_a_styles_defaults_render_unless_the_job_gives_its_own_and_the_item_shows_both(farm, data_dir, tmp_path):
    from cli.client import FarmClient
    from worker.engine.render import RenderOptions, StyleEngine
    from worker.engine.styles import StyleComponent, StyleSpec

    _, env = farm
    client = FarmClient(env["STYLEFARM_API_URL"], env["STYLEFARM_API_KEY"])
    painting = data_dir / "styles" / "great_wave_hokusai.jpg"
    style = client.wait_style(client.add_style(painting, "wave-with-defaults")["id"], timeout_s=120)
    defaults = {"strength": 0.4, "fidelity": 0.5, "color_mode": "preserve"}
    patched = client.session.patch(f"{client.base_url}/v1/styles/{style['id']}", json={"defaults": defaults})
    assert patched.status_code == 200, patched.text
    photo = small_photo(data_dir, "chelsea_cat.png", (64, 48), tmp_path / "cat.png")
    out = tmp_path / "out"
    result = run("submit", str(photo), "--style", "wave-with-defaults", "--strength", "0.8", "--download", str(out),
                 "--json", env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    item = client.job(document["jobs"][0]["id"])["items"][0]
    used = item["render_settings"]
    assert used["values"]["strength"] == 0.8, "the job's own value wins"
    assert used["values"]["fidelity"] == 0.5 and used["values"]["color_mode"] == "preserve"
    assert sorted(used["from_style"]) == ["color_mode", "fidelity"]
    rendered = np.asarray(Image.open(document["jobs"][0]["items"][0]["output_path"]).convert("RGB"))
    engine = StyleEngine("cpu", cache_dir=Path(env["STYLEFARM_MODEL_CACHE_DIR"]))
    expected = engine.render(
        Image.open(photo).convert("RGB"),
        StyleSpec.single(StyleComponent(image=painting)),
        RenderOptions(strength=0.8, fidelity=0.5, color_mode="preserve"),
    )
    assert np.abs(rendered.astype(int) - expected).mean() < 1.0


def test_early_downloads_are_renamed_into_place_and_a_failed_one_is_fetched_again(farm, data_dir, tmp_path):
    """``submit --download`` fetches outputs as polls show them; names are still given at the end."""
    from cli.client import FarmClient
    from cli.download import plan_downloads
    from cli.early_downloads import EarlyDownloads

    stack, env = farm
    client = FarmClient(stack.url, env["STYLEFARM_API_KEY"])
    photos = [small_photo(data_dir, "coffee_cup.png", (66 + n, 44), tmp_path / f"p{n}.png") for n in range(2)]
    uploads = [client.upload(photo)["id"] for photo in photos]
    job = client.wait(client.create_job({"inputs": uploads, "styles": [{"style": "builtin:2"}]})["id"], timeout_s=120)
    assert job["status"] == "succeeded"
    out = tmp_path / "out"
    early = EarlyDownloads(client, out, threads=2)
    broken = {**job, "items": [{**job["items"][0], "download_url": "/v1/nowhere"}, job["items"][1]]}
    early.offer([broken])  # the first item's early fetch fails (404)
    early.offer([job])  # already started: not fetched twice
    assert len(early.started) == 2
    inputs = {upload: LocalInput(photo, Path(photo.name)) for upload, photo in zip(uploads, photos, strict=True)}
    planned = plan_downloads([job], inputs, out)
    saved = early.finish(planned)
    names = [f"p{n}__{builtin_name(env, 2)}.png" for n in range(2)]  # <input>__<style>.<ext>
    assert [path.name for path in saved] == names
    for path, width in zip(saved, (66, 67), strict=True):
        with Image.open(path) as img:
            assert img.size == (width, 44)  # each output under its own input's name
    assert sorted(p.name for p in out.iterdir()) == names  # no early files left

    abandoned = EarlyDownloads(client, tmp_path / "abandoned", threads=1)
    abandoned.offer([job])
    abandoned.close()  # Ctrl-C or an error before the names were given: nothing half-named stays
    assert not any((tmp_path / "abandoned").glob(".*"))
