"""The result cache: the same input bytes, style and parameters reuse a stored output.

Key tests run without a worker; the farm test renders with a real worker process and checks the
second job's outputs are the first one's bytes, marked cached, while a changed parameter renders.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PIL import Image

from api.routes.metrics import FarmCollector
from shared.db import JobStatus
from shared.schemas.jobs import JobCreate
from tests.farm_jobs import add_job, enqueue_job, farm_with_worker
from tests.prometheus_text import sample, scrape_collector
from tests.worker_farm import Farm, builtin_ref, png_bytes
from worker.engine.render import RenderOptions
from worker.jobs.result_cache import cache_key


def _item(**params: Any) -> dict[str, Any]:
    request = JobCreate(inputs=["u1"], styles=[{"style": "builtin:3"}], **params)
    return {
        "item_id": "i1",
        "job_id": "j1",
        "tenant_id": "t1",
        "position": 0,
        "input_key": "uploads/t1/u1",
        "style_ref": builtin_ref(3),
        "params": request.model_dump(mode="json"),
    }


def test_the_key_ignores_ids_scheduling_and_names_but_not_anything_that_changes_pixels():
    photo, options = b"photo bytes", RenderOptions()
    base = cache_key(photo, _item(), options)
    other_ids = {**_item(), "item_id": "i2", "job_id": "j2", "position": 7, "input_key": "uploads/t1/u9"}
    assert cache_key(photo, other_ids, options) == base
    assert cache_key(photo, _item(priority=50, callback_url="https://example.com/hook"), options) == base
    relabelled = {**_item(), "style_ref": {**builtin_ref(3), "label": "my name for it"}}
    assert cache_key(photo, relabelled, options) == base

    assert cache_key(b"other photo bytes", _item(), options) != base
    assert cache_key(photo, {**_item(), "style_ref": builtin_ref(4)}, options) != base
    assert cache_key(photo, _item(strength=0.5), options) != base
    assert cache_key(photo, _item(output_format="jpeg"), options) != base
    assert cache_key(photo, _item(preview=True), options) != base
    assert cache_key(photo, _item(), RenderOptions(tile_size=256)) != base  # the farm's settings count too
    assert cache_key(photo, {**_item(), "segment": {"start": 0, "stop": 8}}, options) != base  # fields added later


@pytest.fixture(scope="module")
def farm(tmp_path_factory, postgres_session_url) -> Iterator[Farm]:
    with farm_with_worker(tmp_path_factory, postgres_session_url, "cache") as farm:
        yield farm


def _photo(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    return png_bytes(Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)))


def _run(farm: Farm, photos: list[bytes], **params: Any) -> list[Any]:
    seeded = add_job(farm, photos, **params)
    enqueue_job(farm, seeded)
    items = [farm.wait_finished(item_id, timeout_s=90) for item_id in seeded.item_ids]
    assert all(item.status == JobStatus.SUCCEEDED for item in items), [item.error for item in items]
    return items


def test_the_same_job_twice_reuses_the_outputs_and_a_changed_parameter_renders(farm):
    photos = [_photo(1), _photo(2)]
    first = _run(farm, photos)
    second = _run(farm, photos, priority=20)  # scheduling differs, pixels do not
    changed = _run(farm, photos[:1], strength=0.5)

    assert [item.cached for item in first] == [False, False]
    assert [item.cached for item in second] == [True, True]
    for original, reused in zip(first, second, strict=True):
        assert reused.cache_key == original.cache_key is not None
        assert reused.output_key != original.output_key  # its own copy, under its own job
        assert farm.storage.get_bytes(reused.output_key) == farm.storage.get_bytes(original.output_key)
        assert (reused.width, reused.height, reused.output_bytes) == (
            original.width,
            original.height,
            original.output_bytes,
        )
        assert reused.history[-1]["event"] == "succeeded" and reused.history[-1]["cached_from"] == original.id
    assert changed[0].cached is False and changed[0].cache_key != first[0].cache_key
    assert farm.storage.get_bytes(changed[0].output_key) != farm.storage.get_bytes(first[0].output_key)
    assert first[0].history[-1]["device"] == "cpu"  # rendered items say where (read by /metrics)

    # /metrics reads the same rows: three renders timed, the two reused outputs not.
    families = scrape_collector(FarmCollector(farm.sessions.kw["bind"], farm.settings))
    assert sample(families, "stylefarm_render_seconds_bucket", le="+Inf") == 3
    assert sample(families, "stylefarm_items", state="succeeded") == 5
    assert sample(families, "stylefarm_worker_device_info", device="cpu") == 1


def test_a_deleted_output_is_rendered_again_and_other_tenants_never_share(farm):
    photo = _photo(3)
    (first,) = _run(farm, [photo])
    farm.storage.delete(first.output_key)
    (again,) = _run(farm, [photo])
    assert again.cached is False and farm.storage.exists(again.output_key)

    other = Farm(farm.settings, farm.sessions, farm.storage, farm.app, _new_tenant(farm), farm.log_dir)
    (theirs,) = _run(other, [photo])
    assert theirs.cached is False and theirs.cache_key == again.cache_key


def _new_tenant(farm: Farm) -> str:
    from shared.db import Tenant, new_id

    with farm.sessions.begin() as session:
        tenant = Tenant(id=new_id(), name=f"other-{new_id()}")
        session.add(tenant)
    return tenant.id
