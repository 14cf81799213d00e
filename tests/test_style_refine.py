"""Per-style refinement: the API records a new pending version, a worker fills in a better vector.

The refinement itself runs in process (``StyleRefiner``, the same code the ``refine_style`` task
runs) on tiny crops and a few iterations; tests/test_farm_optimize.py sends it through a real
worker. The tests check that a refined vector lowers the style distance on crops it was not tuned on.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from api.extensions import app_settings, db, object_store
from shared.db import Job, JobItem, JobStatus, Style, StyleKind, StyleStatus, Tenant, new_id
from shared.db.session import make_session_factory
from shared.keys import style_source_key
from shared.queue import LIGHT_QUEUE, REFINE_STYLE
from tests.conftest_api import queued_tasks, upload
from tests.worker_farm import png_bytes
from worker.engine.refine import (
    CROP_ZOOMS,
    RefineOptions,
    content_crops,
    refine_style_vector,
    style_distance_of_vector,
)
from worker.jobs.optimize_render import optimize_engine
from worker.jobs.style_refiner import StyleRefiner
from worker.runtime.context import WorkerContext


@pytest.fixture(scope="module")
def painting(data_dir) -> Image.Image:
    return Image.open(data_dir / "styles" / "great_wave_hokusai.jpg").convert("RGB").resize((96, 64))


def _add_ready_style(app, painting: Image.Image, engine) -> tuple[str, list[float]]:
    """A tenant's image style as embed_style leaves it: source image stored, vector, ready."""
    vector = [float(v) for v in engine.style_vector(painting)]
    with app.app_context():
        tenant = db.session.query(Tenant).filter_by(name="acme").one()
        style = Style(id=new_id(), tenant_id=tenant.id, name="wave", kind=StyleKind.VECTOR, defaults={})
        style.source_key = style_source_key(tenant.id, style.id)
        object_store.storage.put_bytes(style.source_key, png_bytes(painting))
        style.vector, style.status = vector, StyleStatus.READY
        db.session.add(style)
        db.session.commit()
        return style.id, vector


def test_refine_vector_lowers_the_style_distance_on_crops_it_never_saw(engine, painting, data_dir):
    """Trained on crops of one photo, measured (as benchmarks/quality.py measures) on another's."""
    optimizer = optimize_engine(engine, None)
    options = RefineOptions(iterations=6, crops=3, crop_side=64, learning_rate=0.03)
    result = refine_style_vector(optimizer, painting, [data_dir / "photos" / "chelsea_cat.png"], options)

    assert result.vector.shape == (100,) and not np.allclose(result.vector, result.initial_vector)
    assert min(result.losses[1:]) < result.losses[0], result.losses
    held_out = content_crops([data_dir / "photos" / "golden_gate_bridge.jpg"], 2, 64, 10**8)
    before = style_distance_of_vector(optimizer, result.initial_vector, painting, held_out)
    after = style_distance_of_vector(optimizer, result.vector, painting, held_out)
    assert after < 0.95 * before, (before, after, result.losses)


def test_content_crops_vary_zoom_and_position(data_dir):
    crops = content_crops([data_dir / "photos" / "chelsea_cat.png"], 6, 64, 10**8)
    assert len(crops) == 6 and all(c.shape == (64, 64, 3) for c in crops)
    assert len({c.tobytes() for c in crops}) == 6  # no two alike
    square = np.asarray(Image.open(data_dir / "photos" / "chelsea_cat.png").convert("RGB").resize((64, 64)))
    # A square photo fitted to the crop side has one crop at zoom 1; the other zooms have 5 positions each.
    assert len(content_crops([square], 16, 64, 10**8)) == 1 + 5 * (len(CROP_ZOOMS) - 1)


def test_refine_endpoint_makes_a_pending_version_and_a_worker_makes_it_ready(
    api_app, api_client, auth_headers, redis_broker, engine, painting
):
    style_id, vector = _add_ready_style(api_app, painting, engine)
    response = api_client.post(
        f"/v1/styles/{style_id}/refine", json={"iterations": 3, "crops": 1, "crop_side": 64}, headers=auth_headers
    )
    assert response.status_code == 202, response.json
    new_style, job = response.json["style"], response.json["job"]
    assert new_style["status"] == "pending" and new_style["version"] == 2 and new_style["parent_id"] == style_id
    assert new_style["name"] == "wave v2" and job["kind"] == "refine_style"
    assert job["params"]["refined_style_id"] == new_style["id"]
    item_id = job["items"][0]["id"]
    assert queued_tasks(redis_broker, LIGHT_QUEUE) == [(REFINE_STYLE, [item_id])]

    with api_app.app_context():  # the worker's view of the same database and storage
        database = db.engine
        context = WorkerContext(
            app_settings(), database, make_session_factory(database), object_store.storage, _engine=engine
        )
    assert StyleRefiner(context, item_id).run() == JobStatus.SUCCEEDED

    refined = api_client.get(f"/v1/styles/{new_style['id']}", headers=auth_headers).json
    assert refined["status"] == "ready" and refined["thumbnail_url"]
    with api_app.app_context():
        row = db.session.get(Style, new_style["id"])
        item = db.session.get(JobItem, item_id)
        assert row.vector is not None and not np.allclose(row.vector, vector)
        event = next(e for e in item.history if e["event"] == "refined")
        assert event["style_id"] == row.id and event["loss_after"] < event["loss_before"]
        assert db.session.get(Job, job["id"]).status == JobStatus.SUCCEEDED

    again = api_client.post(f"/v1/styles/{style_id}/refine", json={"iterations": 1}, headers=auth_headers)
    assert again.status_code == 202 and again.json["style"]["version"] == 3


def test_refine_refuses_builtins_and_limits_iterations(api_client, auth_headers):
    builtin = api_client.post("/v1/styles/builtin:3/refine", json={}, headers=auth_headers)
    assert builtin.status_code == 400 and "built-in" in builtin.json["message"]
    too_many = api_client.post("/v1/styles/builtin:3/refine", json={"iterations": 10**6}, headers=auth_headers)
    assert too_many.status_code in (400, 422)


def test_optimize_jobs_need_image_styles_and_stay_within_limits(api_client, auth_headers):
    upload_id = upload(api_client, auth_headers).json["id"]
    job = {"inputs": [upload_id], "styles": [{"style": "builtin:3"}], "method": "optimize"}
    builtin = api_client.post("/v1/jobs", json=job, headers=auth_headers)
    assert builtin.status_code == 400 and "needs an image style" in builtin.json["message"]
    too_long = api_client.post("/v1/jobs", json={**job, "optimize": {"iterations": 100_000}}, headers=auth_headers)
    assert too_long.status_code == 400 and "limited to 500" in too_long.json["message"]
    fast = api_client.post("/v1/jobs", json={**job, "method": "fast"}, headers=auth_headers)
    assert fast.status_code == 201 and fast.json["params"]["method"] == "fast"
