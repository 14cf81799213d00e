"""Out of device memory: the render runs again at half the tile size, then the item fails with a message.

On CPU, with the real ``torch.OutOfMemoryError`` raised by the engine's simulated memory limit
(setting ``simulated_device_memory_pixels``), not a mock of torch.
"""

from __future__ import annotations

import io
import logging

import numpy as np
import pytest
from PIL import Image

from shared.db import Base, Job, JobItem, JobStatus, Tenant, new_id
from shared.db.session import make_engine, make_session_factory
from shared.schemas.jobs import JobCreate
from shared.settings import Settings
from shared.storage import LocalStorage
from tests.worker_farm import builtin_ref
from worker.engine.memory import DeviceMemoryError
from worker.engine.render import RECEPTIVE_RADIUS, STRIDE, RenderOptions
from worker.engine.styles import StyleComponent, StyleSpec
from worker.engine.tiling import plan_tiles
from worker.jobs.executor import ItemRenderer
from worker.runtime.context import WorkerContext

TILED = {"thumbnail_side": 128, "single_pass_pixels": 0}
STYLE = StyleSpec.single(StyleComponent(builtin=3))


@pytest.fixture(scope="module")
def photo(data_dir) -> Image.Image:
    return Image.open(data_dir / "photos" / "chelsea_cat.png").convert("RGB").crop((0, 0, 320, 240))


def largest_window_pixels(photo: Image.Image, tile_size: int) -> int:
    tiles = plan_tiles(photo.width, photo.height, tile_size, RECEPTIVE_RADIUS, STRIDE)
    return max(height * width for height, width in (tile.window_shape for tile in tiles))


def test_a_tile_batch_out_of_memory_renders_again_at_half_the_tile_size(engine, photo, caplog):
    room = largest_window_pixels(photo, 64)
    assert room < largest_window_pixels(photo, 128)  # 128 px tiles do not fit, 64 px tiles do

    with caplog.at_level(logging.WARNING, logger="worker.engine.memory"):
        out = engine.render(photo, STYLE, RenderOptions(tile_size=128, simulated_memory_pixels=room, **TILED))

    assert np.array_equal(out, engine.render(photo, STYLE, RenderOptions(tile_size=64, **TILED)))
    assert "out of device memory at tile size 128" in caplog.text and "retrying at 64" in caplog.text


def test_a_render_that_does_not_fit_at_half_the_tile_size_fails_with_a_message(engine, photo):
    with pytest.raises(DeviceMemoryError) as raised:
        engine.render(photo, STYLE, RenderOptions(tile_size=128, simulated_memory_pixels=1, **TILED))
    assert raised.value.message.startswith("out of device memory at tile size 128 px and again at 64 px")


def test_an_item_out_of_memory_at_both_tile_sizes_fails_with_the_reason(engine, photo, database_url, tmp_path):
    settings = Settings(
        home=tmp_path,
        database_url=database_url.render_as_string(hide_password=False),
        tile_size=128,
        simulated_device_memory_pixels=1,
        **TILED,
    )
    database = make_engine(database_url)
    Base.metadata.create_all(database)
    storage = LocalStorage(tmp_path / "objects")
    context = WorkerContext(settings, database, make_session_factory(database), storage, _engine=engine)
    tenant = Tenant(id=new_id(), name=f"tenant-{new_id()}")
    job = Job(
        id=new_id(),
        tenant_id=tenant.id,
        kind="image",
        params=JobCreate(inputs=["u"], styles=[{"style": "builtin:3"}]).model_dump(),
    )
    item = JobItem(id=new_id(), job_id=job.id, input_key=f"uploads/{tenant.id}/u", style_ref=builtin_ref())
    buffer = io.BytesIO()
    photo.save(buffer, format="PNG")
    storage.put_bytes(item.input_key, buffer.getvalue(), "image/png")
    with context.sessions.begin() as session:
        for row in (tenant, job, item):
            session.add(row)
            session.flush()

    with pytest.raises(DeviceMemoryError):
        ItemRenderer(context, item.id, final_attempt=True).run()

    with context.sessions() as session:
        failed = session.get(JobItem, item.id)
        assert failed.status == JobStatus.FAILED
        assert failed.error.startswith("out of device memory at tile size 128 px and again at 64 px")
    database.dispose()
