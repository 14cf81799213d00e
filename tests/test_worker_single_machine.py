"""The single-machine defaults ``stylefarm up`` starts with: SQLite and kombu's filesystem broker.

A real worker process renders one item per output format while this process reads the database
(SQLite in WAL mode lets both work at once).
"""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from shared.db import JobStatus
from tests.worker_farm import Farm, farm_from_settings, farm_settings


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    with farm_from_settings(farm_settings(tmp_path_factory, broker_url="filesystem://")) as farm:
        assert farm.settings.database_url.startswith("sqlite:///")
        yield farm


@pytest.fixture(scope="module")
def worker(farm: Farm):
    worker = farm.start_worker("local")
    print(f"\nworker on the filesystem broker ready in {worker.wait_ready():.1f} s")
    yield worker
    worker.stop()


@pytest.mark.parametrize(("output_format", "pil_format"), [("jpeg", "JPEG"), ("webp", "WEBP"), ("tiff", "TIFF")])
def test_sqlite_and_filesystem_broker_render_each_output_format(farm, worker, data_dir, output_format, pil_format):
    cat = (data_dir / "photos" / "chelsea_cat.png").read_bytes()
    item_id = farm.add_item(cat, output_format=output_format, quality=80)
    started = time.monotonic()
    farm.render(item_id)
    item = farm.wait_finished(item_id, timeout_s=60)
    print(f"{output_format}: {item.output_bytes:,} bytes in {time.monotonic() - started:.2f} s")

    assert item.status == JobStatus.SUCCEEDED, item.error
    output = Image.open(io.BytesIO(farm.storage.get_bytes(item.output_key)))
    assert output.format == pil_format and output.size == (451, 300)
    assert item.output_format == output_format and farm.job_of(item_id).status == JobStatus.SUCCEEDED
