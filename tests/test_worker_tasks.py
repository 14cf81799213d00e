"""The worker's tasks, run by a real ``celery worker`` process on Redis and PostgreSQL.

One worker serves the whole module; each test seeds its rows as the API would, sends the task by
name, and watches the database. Figures (seconds, tiles) are printed for ``pytest -s``.
"""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from shared.db import JobStatus, Style, StyleKind, StyleStatus, new_id
from shared.keys import style_source_key, style_thumbnail_key
from shared.queue import enqueue_embed
from tests.worker_farm import BUILTIN_STYLE, Farm, WorkerProcess, open_farm, png_bytes, wait_until
from worker.engine.from_settings import options_from_settings
from worker.engine.render import StyleEngine
from worker.engine.styles import StyleComponent, StyleSpec


@pytest.fixture(scope="module")
def farm(tmp_path_factory, postgres_session_url):
    with open_farm(tmp_path_factory, postgres_session_url) as farm:
        yield farm


@pytest.fixture(scope="module")
def worker(farm: Farm):
    worker = farm.start_worker("tasks")
    print(f"\nworker ready in {worker.wait_ready():.1f} s")
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def cat(data_dir) -> bytes:
    return (data_dir / "photos" / "chelsea_cat.png").read_bytes()


@pytest.fixture(scope="module")
def engine(farm: Farm) -> StyleEngine:
    """A direct engine, as the local CLI builds it, to compare the worker's results with."""
    return StyleEngine("cpu", cache_dir=farm.settings.model_cache_dir)


def events(item) -> list[str]:
    return [entry["event"] for entry in item.history]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def test_render_item_renders_into_storage_and_marks_item_succeeded(farm: Farm, worker: WorkerProcess, cat, engine):
    item_id = farm.add_item(cat, output_format="png")
    started = time.monotonic()
    farm.render(item_id)
    item = farm.wait_finished(item_id)
    seconds = time.monotonic() - started

    assert item.status == JobStatus.SUCCEEDED, item.error
    stored = farm.storage.get_bytes(item.output_key)
    output = np.asarray(Image.open(io.BytesIO(stored)).convert("RGB"))
    expected = engine.render(
        cat, StyleSpec.single(StyleComponent(builtin=BUILTIN_STYLE)), options_from_settings(farm.settings)
    )
    quality = psnr(output, expected)
    print(f"rendered 451×300 in {seconds:.2f} s (queue to done); PSNR vs direct render {quality:.1f} dB")
    assert output.shape == (300, 451, 3) and (item.width, item.height) == (451, 300)
    assert quality >= 40
    assert item.output_bytes == len(stored) and item.output_format == "png"
    assert item.output_key.endswith(f"0000-{item_id}.png") and farm.job_of(item_id).tenant_id in item.output_key
    assert item.attempts == 1 and item.tiles_done == item.tiles_total == 1
    assert events(item) == ["started", "succeeded"]
    job = farm.job_of(item_id)
    assert job.status == JobStatus.SUCCEEDED and job.started_at is not None and job.finished_at is not None


def test_bad_input_item_fails_with_message_without_retry(farm: Farm, worker: WorkerProcess):
    item_id = farm.add_item(b"this is a text file, not a photo\n")
    farm.render(item_id)
    item = farm.wait_finished(item_id)
    print(f"bad input failed with: {item.error}")

    assert item.status == JobStatus.FAILED
    assert "not a readable image" in item.error
    assert item.attempts == 1 and events(item) == ["started", "failed"]
    job = farm.job_of(item_id)
    assert job.status == JobStatus.FAILED and job.error == "1 of 1 items failed"


def test_cancel_requested_stops_item_between_tiles(farm: Farm, worker: WorkerProcess, cat):
    big = png_bytes(Image.open(io.BytesIO(cat)).resize((902, 600)))
    item_id = farm.add_item(big, tile_size=64)
    farm.render(item_id)
    first = farm.wait_for_item(item_id, lambda item: item.tiles_done >= 1, 30, "the first tile")
    farm.request_cancel(item_id)
    asked = time.monotonic()
    item = farm.wait_finished(item_id, timeout_s=30)
    print(f"canceled {time.monotonic() - asked:.2f} s after the request, at {item.tiles_done}/{item.tiles_total} tiles")

    assert item.status == JobStatus.CANCELED
    assert first.tiles_done <= item.tiles_done < item.tiles_total
    assert item.output_key is None and events(item) == ["started", "canceled"]
    assert farm.job_of(item_id).status == JobStatus.CANCELED


def test_paused_job_items_are_not_started(farm: Farm, worker: WorkerProcess, cat):
    paused_id = farm.add_item(cat, paused=True)
    later_id = farm.add_item(cat)
    farm.render(paused_id)
    farm.render(later_id)  # one worker process takes messages in order: the paused one was seen first
    assert farm.wait_finished(later_id).status == JobStatus.SUCCEEDED

    paused = farm.item(paused_id)
    assert paused.status == JobStatus.QUEUED and paused.attempts == 0 and paused.history == []
    assert paused.worker_id is None and paused.started_at is None
    assert farm.job_of(paused_id).status == JobStatus.PAUSED


def _add_style(farm: Farm, source: bytes) -> str:
    style_id = new_id()
    with farm.sessions.begin() as session:
        key = style_source_key(farm.tenant_id, style_id)
        farm.storage.put_bytes(key, source)
        session.add(Style(id=style_id, tenant_id=farm.tenant_id, name=f"style-{style_id}", source_key=key))
    return style_id


def _wait_style(farm: Farm, style_id: str) -> Style:
    def settled() -> Style | None:
        with farm.sessions() as session:
            style = session.get(Style, style_id)
        return style if style is not None and style.status != StyleStatus.PENDING else None

    return wait_until(settled, 60, "the style embedding")


def test_embed_style_sets_vector_and_thumbnail(farm: Farm, worker: WorkerProcess, data_dir, engine):
    source = (data_dir / "styles" / "great_wave_hokusai.jpg").read_bytes()  # 928 × 514
    style_id = _add_style(farm, source)
    started = time.monotonic()
    enqueue_embed(farm.app, style_id)
    style = _wait_style(farm, style_id)
    print(f"embedded a 928×514 style in {time.monotonic() - started:.2f} s")

    assert style.status == StyleStatus.READY and style.kind == StyleKind.VECTOR and style.error is None
    np.testing.assert_allclose(style.vector, engine.style_vector(source), atol=1e-4)
    assert style.thumbnail_key == style_thumbnail_key(farm.tenant_id, style_id)
    thumbnail = Image.open(io.BytesIO(farm.storage.get_bytes(style.thumbnail_key)))
    assert thumbnail.format == "JPEG" and thumbnail.size == (256, 142)


def test_embed_style_with_unreadable_source_fails_with_message(farm: Farm, worker: WorkerProcess):
    style_id = _add_style(farm, b"not an image")
    enqueue_embed(farm.app, style_id)
    style = _wait_style(farm, style_id)

    assert style.status == StyleStatus.FAILED and "not a readable image" in style.error
    assert style.vector is None and style.thumbnail_key is None


def test_canceled_job_items_are_canceled_without_rendering(farm: Farm, worker: WorkerProcess, cat):
    item_id = farm.add_item(cat)
    farm.request_cancel(item_id)
    farm.render(item_id)
    item = farm.wait_finished(item_id)

    assert item.status == JobStatus.CANCELED and item.attempts == 0 and events(item) == ["canceled"]
    assert farm.job_of(item_id).status == JobStatus.CANCELED
