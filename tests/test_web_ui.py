"""The web page in a real browser (Debian's headless Chromium, tests/chromium.py) against a real farm.

The farm is the embedded one of ``test_farm_e2e`` (SQLite, filesystem broker, local files, the
API under gunicorn and a Celery worker process): the page is served by the API, calls the REST
API with the tenant's key, and the outputs are rendered by the worker.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import select

from cli.client import ClientError
from shared.db import Style, StyleKind
from shared.db.session import make_engine, make_session_factory
from shared.storage import storage_from_settings
from tests.busy_worker import submit_waiting_job, worker_held_busy
from tests.chromium import launch_chromium
from tests.test_farm_e2e import farm, farm_env  # noqa: F401 - the farm fixtures, reused
from worker.jobs.style_swatches import swatch_key

SWATCHES_TO_RENDER = ("builtin:3", "builtin:7")
PREVIEW_SIDE = 96  # small, so the test can tell a preview from the full render
MAX_OUTPUT_SIDE = 256
RENDER_TIMEOUT_MS = 240_000


EXPECT_TIMEOUT_MS = 30_000  # what a page shows may lag on a loaded 2-core CI machine; 5 s did not always do


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def small_previews(monkeypatch) -> None:
    """Previews at most PREVIEW_SIDE a side for the farm started after this fixture."""
    monkeypatch.setenv("STYLEFARM_PREVIEW_SIDE", str(PREVIEW_SIDE))


@pytest.fixture
def web_farm(small_previews, farm):  # noqa: F811 - the fixture imported above
    """The embedded farm, started with small previews, where only two built-ins lack a picture.

    Why: the worker would otherwise render all 26 swatches during the test (seconds each on a
    busy CI machine); two are enough to see the page ask for them and show them.
    """
    stack, _client = farm
    storage = storage_from_settings(stack.settings)
    picture = io.BytesIO()
    Image.new("RGB", (8, 8), (90, 120, 200)).save(picture, "JPEG")
    database = make_engine(stack.settings.database_url)
    try:
        with make_session_factory(database).begin() as session:
            for style in session.scalars(select(Style).where(Style.kind == StyleKind.BUILTIN)):
                if style.id not in SWATCHES_TO_RENDER:
                    style.thumbnail_key = swatch_key(style.id)
                    storage.put_bytes(style.thumbnail_key, picture.getvalue(), "image/jpeg")
    finally:
        database.dispose()
    return farm


def small_copy(source: Path, folder: Path, side: int = 320) -> Path:
    """A copy of ``source`` fitted within ``side`` pixels (same name, same format), in ``folder``."""
    with Image.open(source) as img:
        small = img.convert("RGB")
    small.thumbnail((side, side))
    path = folder / source.name
    small.save(path)
    return path


@pytest.fixture
def photo(data_dir, tmp_path) -> Path:
    """A real photograph, downscaled so the renders stay quick."""
    return small_copy(data_dir / "photos" / "chelsea_cat.png", tmp_path)


def _enter_key(page: Page, key: str) -> None:
    expect(page.locator("#key-gate")).to_be_visible()
    page.fill("#key-input", key)
    page.click("#key-form button[type=submit]")
    expect(page.locator("#content")).to_be_visible()


def _decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()  # the whole file decodes, not only its header
    return image


def _wait_images_loaded(page: Page, selector: str) -> None:
    page.wait_for_function(
        "sel => { const imgs = [...document.querySelectorAll(sel)];"
        " return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0); }",
        arg=selector,
    )


def _refused_upload_shows_the_apis_reason(page: Page, client, tmp_path: Path) -> None:
    junk = tmp_path / "notes.png"
    junk.write_bytes(b"this is not an image at all")
    with pytest.raises(ClientError) as refused:
        client.upload(junk)
    page.set_input_files("#input-files", str(junk))
    expect(page.locator(".message.error")).to_contain_text(refused.value.message.split(": ", 1)[1])
    page.locator("#inputs li[data-name='notes.png'] button").click()


def _preview_then_submit(page: Page, photo: Path) -> str:
    """Fill the job form (one photo, two built-ins), preview, submit; the new job's id."""
    page.set_input_files("#input-files", str(photo))
    expect(page.locator("#inputs li[data-upload-id]")).to_have_count(1)
    for style in ("builtin:3", "builtin:7"):
        page.locator(f"input[name=style][value='{style}']").check()
    page.fill("#max-side", str(MAX_OUTPUT_SIDE))

    page.click("#preview-button")
    previews = page.locator("#preview figure[data-status=succeeded] img.result")
    expect(previews).to_have_count(2, timeout=RENDER_TIMEOUT_MS)
    _wait_images_loaded(page, "#preview img.result")
    preview_sides = previews.evaluate_all("imgs => imgs.map(i => Math.max(i.naturalWidth, i.naturalHeight))")
    assert max(preview_sides) <= PREVIEW_SIDE, preview_sides

    page.click("#submit-button")
    page.wait_for_url(re.compile(r"/ui/jobs/[0-9a-f-]+$"))
    return page.url.rsplit("/", 1)[-1]


def _mask_controls_go_into_the_job(page: Page, client, photo: Path, tmp_path: Path) -> None:
    """The form's result controls: a mask image previewed over the photo, then sent with the job."""
    with Image.open(photo) as img:
        mask = Image.new("L", img.size, 0)
    mask.paste(255, (0, 0, mask.width // 2, mask.height))
    mask.save(tmp_path / "left-half.png")
    page.goto("/ui/new")
    page.set_input_files("#input-files", str(photo))
    expect(page.locator("#inputs li[data-upload-id]")).to_have_count(1)
    page.locator("input[name=style][value='builtin:3']").check()
    page.select_option("#mask-source", "file")
    page.set_input_files("#mask-file", str(tmp_path / "left-half.png"))
    page.select_option("#mask-mode", "keep")
    page.fill("#feather", "3")
    page.eval_on_selector("#fidelity", "el => { el.value = '0.5'; el.dispatchEvent(new Event('input')); }")
    expect(page.locator("#mask-preview")).to_be_visible()
    expect(page.locator("#mask-preview")).to_have_attribute("data-upload-id", re.compile(r".+"))
    tinted = page.evaluate(
        """() => { const c = document.getElementById("mask-canvas");
                   const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
                   return [d.length, c.width]; }"""
    )
    assert tinted[0] > 0 and tinted[1] > 0
    page.click("#submit-button")
    page.wait_for_url(re.compile(r"/ui/jobs/[0-9a-f-]+$"))
    params = client.job(page.url.rsplit("/", 1)[-1])["params"]
    assert params["mask_mode"] == "keep" and params["feather"] == 3 and params["fidelity"] == 0.5
    assert params["mask"] not in (None, "alpha", "auto")  # the uploaded mask's id


def _download_one_and_all(page: Page) -> None:
    with page.expect_download() as info:
        page.locator("figure.item .download").first.click()
    assert info.value.suggested_filename in {"chelsea_cat__blue-and-gold-blur.png", "chelsea_cat__electric-ribbons.png"}
    single = _decoded(Path(info.value.path()).read_bytes())
    assert single.format == "PNG" and max(single.size) == MAX_OUTPUT_SIDE

    with page.expect_download() as info:
        page.click("#download-zip")
    with zipfile.ZipFile(info.value.path()) as archive:
        names = archive.namelist()
        assert sorted(names) == ["chelsea_cat__blue-and-gold-blur.png", "chelsea_cat__electric-ribbons.png"]
        assert all(_decoded(archive.read(name)).size == single.size for name in names)


def _job_list_filters_by_status(page: Page, job_id: str) -> None:
    page.goto("/ui/jobs")
    page.select_option("#status-filter", "succeeded")
    expect(page.locator(f"tr[data-job-id='{job_id}']")).to_have_attribute("data-status", "succeeded")
    page.select_option("#status-filter", "failed")
    expect(page.locator(f"tr[data-job-id='{job_id}']")).to_have_count(0)


def _gallery_shows_pictures_and_takes_a_dropped_style(page: Page, painting: Path) -> None:
    page.goto("/ui/")
    for style_id in SWATCHES_TO_RENDER:  # rendered by the worker when the first page asked for them
        _wait_images_loaded(page, f"article[data-style-id='{style_id}'] .thumb img")
    transfer = page.evaluate_handle(
        """([name, bytes]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], name, { type: "image/jpeg" }));
            return transfer;
        }""",
        [painting.name, list(painting.read_bytes())],
    )
    page.dispatch_event("#style-drop", "drop", {"dataTransfer": transfer})
    expect(page.locator("#style-name")).to_have_value(painting.stem)
    page.click("#style-form button[type=submit]")
    card = page.locator("article[data-status=ready]", has=page.get_by_role("heading", name=painting.stem, exact=True))
    expect(card).to_have_count(1, timeout=RENDER_TIMEOUT_MS)
    _wait_images_loaded(page, f"article[data-style-id='{card.get_attribute('data-style-id')}'] .thumb img")


def _cancel_from_the_job_page(page: Page, client, data_dir: Path) -> None:
    """A job waiting behind a busy worker (busy_worker.py), canceled from its page before it ran."""
    with worker_held_busy(client, data_dir):
        job = submit_waiting_job(client, data_dir)
        page.goto(f"/ui/jobs/{job['id']}")
        page.click("#cancel-job")
        expect(page.locator("#job-status")).to_have_text("canceled", timeout=RENDER_TIMEOUT_MS)
        statuses = [item["status"] for item in client.job(job["id"])["items"]]
        assert statuses == ["canceled"] * 3, statuses


@pytest.mark.parametrize("farm_env", ["embedded"], indirect=True)
def test_the_web_page_makes_previews_jobs_and_styles_and_downloads_results(
    web_farm, browser, photo, data_dir, tmp_path
) -> None:
    stack, client = web_farm
    api_key = client.session.headers["Authorization"].removeprefix("Bearer ")
    context = browser.new_context(base_url=stack.url, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))

    page.goto("/ui/new")
    _enter_key(page, api_key)
    _refused_upload_shows_the_apis_reason(page, client, tmp_path)
    job_id = _preview_then_submit(page, photo)

    results = page.locator("figure.item[data-status=succeeded] img.result")
    expect(results).to_have_count(2, timeout=RENDER_TIMEOUT_MS)
    expect(page.locator("#job-status")).to_have_text("succeeded")
    job = client.job(job_id)
    assert sorted(item["style_label"] for item in job["items"]) == ["builtin:3", "builtin:7"]
    assert job["params"]["kind"] == "multi_style" and not job["params"]["preview"]
    job_url = f"{stack.url}/v1/jobs/{job_id}"
    assert job_url + "/events" in requested and job_url not in requested  # followed live, not polled
    _download_one_and_all(page)

    _job_list_filters_by_status(page, job_id)
    _gallery_shows_pictures_and_takes_a_dropped_style(
        page, small_copy(data_dir / "styles" / "great_wave_hokusai.jpg", tmp_path)
    )
    _cancel_from_the_job_page(page, client, data_dir)
    _mask_controls_go_into_the_job(page, client, photo, tmp_path)
    context.close()
    assert script_errors == []
