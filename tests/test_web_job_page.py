"""The job page as a person uses it, at a desktop width and a phone's (390 px), in real Chromium.

Submit from the form → follow progress → compare the output with its input (before/after) → open
it full size → download it under ``<input>__<style>.<ext>``; at both widths no page is wider than
the window. At desktop width also: retry a failed item, pause and resume a job, from the page.
The farm is the embedded one of ``test_web_ui`` (real API, real worker).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from shared.db import Job, JobItem, JobStatus
from shared.db.session import make_engine, make_session_factory
from tests.busy_worker import submit_waiting_job, worker_held_busy
from tests.test_farm_e2e import farm, farm_env  # noqa: F401 - the farm fixtures, reused
from tests.test_web_ui import (  # noqa: F401 - fixtures, reused
    RENDER_TIMEOUT_MS,
    _enter_key,
    _wait_images_loaded,
    browser,
    photo,
    small_previews,
    web_farm,
)

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
STYLE = "builtin:3"


def _overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the window (0: no horizontal scrolling)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def _submit_one(page: Page, photo_path) -> str:
    page.set_input_files("#input-files", str(photo_path))
    expect(page.locator("#inputs li[data-upload-id]")).to_have_count(1)
    page.locator(f"input[name=style][value='{STYLE}']").check()
    page.fill("#max-side", "256")
    page.click("#submit-button")
    page.wait_for_url(re.compile(r"/ui/jobs/[0-9a-f-]+$"))
    return page.url.rsplit("/", 1)[-1]


def _before_after_at_full_proportions(page: Page) -> None:
    _wait_images_loaded(page, "figure.item .compare img")
    after = page.locator(".compare img.after")
    natural = after.evaluate("img => img.naturalWidth / img.naturalHeight")
    box = after.bounding_box()
    assert box is not None and natural != pytest.approx(1.0, abs=0.05)  # the photo is not square...
    assert box["width"] / box["height"] == pytest.approx(natural, rel=0.03)  # ...and is not cropped to one
    page.locator(".compare-slider").evaluate(
        "s => { s.value = '20'; s.dispatchEvent(new Event('input', { bubbles: true })); }"
    )
    expect(page.locator(".compare")).to_have_attribute("data-split", "20")
    assert "80%" in page.locator(".compare .before-box").evaluate("b => b.style.clipPath")
    full = page.locator("a.full-size")
    expect(full).to_have_attribute("target", "_blank")
    assert (full.get_attribute("href") or "").startswith("blob:")


def _fail_the_item_then_retry_it_from_the_page(page: Page, database_url: str, job_id: str) -> None:
    """As if the render had failed: the page offers "Retry failed items", and the item renders again."""
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            session.get(Job, job_id).status = JobStatus.FAILED
            for item in session.query(JobItem).filter(JobItem.job_id == job_id):
                item.status, item.error, item.output_key = JobStatus.FAILED, "the worker fell over", None
    finally:
        engine.dispose()
    page.reload()
    expect(page.locator("figure.item[data-status=failed] .error")).to_have_text("the worker fell over")
    page.click("#retry-job")
    expect(page.locator("figure.item[data-status=succeeded]")).to_have_count(1, timeout=RENDER_TIMEOUT_MS)
    expect(page.locator("#job-status")).to_have_text("succeeded")
    expect(page.locator("#retry-job")).to_be_hidden()


def _pause_resume_and_cancel_from_the_page(page: Page, client, data_dir) -> None:
    """A job waiting behind a busy worker (busy_worker.py): paused, resumed, then canceled from its page."""
    with worker_held_busy(client, data_dir):
        job = submit_waiting_job(client, data_dir)
        page.goto(f"/ui/jobs/{job['id']}")
        page.click("#pause-job")
        expect(page.locator("#job-status")).to_have_text("paused")
        expect(page.locator("#pause-job")).to_be_hidden()
        page.click("#resume-job")
        expect(page.locator("#job-status")).to_have_text("queued")  # nothing of it has run yet
        page.click("#cancel-job")
        expect(page.locator("#job-status")).to_have_text("canceled", timeout=RENDER_TIMEOUT_MS)


@pytest.mark.parametrize("farm_env", ["embedded"], indirect=True)
def test_submit_follow_compare_and_download_at_desktop_and_phone_widths(web_farm, browser, photo, data_dir) -> None:  # noqa: F811
    stack, client = web_farm
    api_key = client.session.headers["Authorization"].removeprefix("Bearer ")
    style_name = next(s["name"] for s in client.styles() if s["id"] == STYLE)
    assert style_name == "electric-ribbons"
    for label, viewport in VIEWPORTS.items():
        context = browser.new_context(base_url=stack.url, viewport=viewport, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(30_000)
        script_errors: list[str] = []
        page.on("pageerror", lambda error, errors=script_errors: errors.append(str(error)))
        page.goto("/ui/new")
        _enter_key(page, api_key)
        assert _overflow(page) <= 0, f"{label}: the new-job page scrolls sideways"

        job_id = _submit_one(page, photo)
        expect(page.locator("figure.item")).to_have_count(1)
        expect(page.locator("#job-status")).to_have_text(re.compile("queued|running|succeeded"))
        expect(page.locator("figure.item[data-status=succeeded]")).to_have_count(1, timeout=RENDER_TIMEOUT_MS)
        expect(page.locator("#job-status")).to_have_text("succeeded")
        expect(page.locator("#job-counts")).to_contain_text("1 done")
        item = client.job(job_id)["items"][0]
        assert item["style_name"] == style_name and item["file_name"] == f"chelsea_cat__{style_name}.png"
        expect(page.locator("figure.item .style-name")).to_have_text(style_name)
        expect(page.locator("#job-params-list")).to_contain_text(style_name)
        expect(page.locator("#job-elapsed")).to_have_text(re.compile(r"^\d+ s$"))
        expect(page.locator("#pause-job")).to_be_hidden()
        expect(page.locator("#retry-job")).to_be_hidden()  # nothing failed

        _before_after_at_full_proportions(page)
        with page.expect_download() as info:
            page.locator("figure.item .download").click()
        assert info.value.suggested_filename == item["file_name"]
        assert _overflow(page) <= 0, f"{label}: the job page scrolls sideways"

        for _ in range(5):
            page.evaluate("Farm.show('Saved.'); Farm.show('Saved.'); Farm.show(String(Math.random()))")
        assert page.locator("#messages .message").count() <= 3  # messages do not pile up

        if label == "desktop":
            _fail_the_item_then_retry_it_from_the_page(page, stack.settings.database_url, job_id)
            _pause_resume_and_cancel_from_the_page(page, client, data_dir)
        page.goto("/ui/jobs")
        expect(page.locator(f"tr[data-job-id='{job_id}'] .style-names")).to_have_text(style_name)
        for path in ("/ui/jobs", "/ui/"):
            page.goto(path)
            page.wait_for_load_state("networkidle")
            assert _overflow(page) <= 0, f"{label}: {path} scrolls sideways"
        context.close()
        assert script_errors == [], (label, script_errors)
