"""Optimization mode and style refinement through a real Celery worker process.

Real services: PostgreSQL, Redis and local storage shared by this process (which writes rows as
the API does) and one worker. Tiny images and a few iterations: the point is the farm's
behaviour (iteration progress, cancel between iterations, the refine task), not quality.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from shared.db import Job, JobItem, JobKind, JobStatus, Style, StyleKind, StyleStatus, new_id
from shared.keys import style_source_key
from shared.queue import enqueue_refine
from shared.schemas.style_refs import StyleComponentRef, StyleRef
from tests.worker_farm import Farm, open_farm, png_bytes, running_worker


@pytest.fixture(scope="module")
def farm(tmp_path_factory, postgres_session_url):
    # Time limits above the farm tests' default 60 s: optimization is CPU-heavy on a shared machine.
    with open_farm(tmp_path_factory, postgres_session_url, task_soft_time_limit_s=300, task_time_limit_s=360) as farm:
        yield farm


@pytest.fixture(scope="module")
def worker(farm: Farm):
    with running_worker(farm, "optimize") as worker:
        yield worker


@pytest.fixture(scope="module")
def photo(data_dir) -> bytes:
    return png_bytes(Image.open(data_dir / "photos" / "chelsea_cat.png").convert("RGB").resize((64, 48)))


@pytest.fixture(scope="module")
def image_style(farm: Farm, engine, data_dir) -> dict[str, Any]:
    """A ready image style of the farm's tenant; its resolved ``style_ref`` (vector and source image)."""
    painting = Image.open(data_dir / "styles" / "great_wave_hokusai.jpg").convert("RGB").resize((96, 64))
    style_id = new_id()
    key = style_source_key(farm.tenant_id, style_id)
    farm.storage.put_bytes(key, png_bytes(painting))
    vector = [float(v) for v in engine.style_vector(painting)]
    with farm.sessions.begin() as session:
        session.add(
            Style(id=style_id, tenant_id=farm.tenant_id, name=f"wave-{style_id[:6]}", kind=StyleKind.VECTOR,
                  status=StyleStatus.READY, source_key=key, vector=vector, defaults={})
        )  # fmt: skip
    component = StyleComponentRef(weight=1.0, vector=vector, style_id=style_id, source_key=key)
    return StyleRef(label="wave", components=[component]).model_dump()


def test_optimize_job_completes_with_iteration_progress(farm, worker, photo, image_style):
    optimize = {"iterations": 3, "scales": 1, "working_side": 64, "refine_iterations": 0}
    item_id = farm.add_item(photo, style_ref=image_style, method="optimize", optimize=optimize)
    farm.render(item_id)
    item = farm.wait_finished(item_id, timeout_s=120)

    assert item.status == JobStatus.SUCCEEDED, item.error
    assert (item.tiles_done, item.tiles_total) == (3, 3)  # iterations done / total
    output = np.asarray(Image.open(io.BytesIO(farm.storage.get_bytes(item.output_key))).convert("RGB"))
    assert output.shape == (48, 64, 3)


def test_optimize_job_cancels_between_iterations(farm, worker, photo, image_style):
    optimize = {"iterations": 400, "scales": 1, "working_side": 64, "optimizer": "adam", "init": "content"}
    item_id = farm.add_item(photo, style_ref=image_style, method="optimize", optimize=optimize)
    farm.render(item_id)
    farm.wait_for_item(item_id, lambda i: i.tiles_done >= 2, 120, "two iterations")
    farm.request_cancel(item_id)
    item = farm.wait_finished(item_id, timeout_s=120)

    assert item.status == JobStatus.CANCELED
    assert 2 <= item.tiles_done < 400 and item.tiles_total == 400


def test_refine_style_task_fills_in_the_new_version(farm, worker, image_style):
    parent = image_style["components"][0]
    child_id = new_id()
    key = style_source_key(farm.tenant_id, child_id)
    farm.storage.put_bytes(key, farm.storage.get_bytes(parent["source_key"]))
    params = {"kind": "refine_style", "style_id": parent["style_id"], "refined_style_id": child_id}
    params |= {"iterations": 3, "crops": 1, "crop_side": 64, "name": None}
    job = Job(id=new_id(), tenant_id=farm.tenant_id, kind=JobKind.REFINE_STYLE, params=params)
    item = JobItem(id=new_id(), job_id=job.id, position=0, input_key=key, style_ref=image_style)
    with farm.sessions.begin() as session:
        session.add(Style(id=child_id, tenant_id=farm.tenant_id, name=f"v2-{child_id[:6]}", kind=StyleKind.VECTOR,
                          status=StyleStatus.PENDING, source_key=key, defaults={}, version=2,
                          parent_id=parent["style_id"]))  # fmt: skip
        session.add(job)
        session.flush()
        session.add(item)
    enqueue_refine(farm.app, item.id)
    done = farm.wait_finished(item.id, timeout_s=180)

    assert done.status == JobStatus.SUCCEEDED, done.error
    assert (done.tiles_done, done.tiles_total) == (3, 3)
    refined = next(e for e in done.history if e["event"] == "refined")
    assert refined["style_id"] == child_id and refined["loss_after"] < refined["loss_before"]
    with farm.sessions() as session:
        child = session.get(Style, child_id)
        assert child.status == StyleStatus.READY and child.thumbnail_key is not None
        assert not np.allclose(child.vector, parent["vector"])
