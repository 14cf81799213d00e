"""Result controls through a real worker process (issue 13): style defaults used, a mask and alpha kept.

Rows are written as the API writes them (``render_settings`` with the style's defaults filled in);
the worker must render with those values and keep an RGBA input's alpha and masked object.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw
from sqlalchemy import update

from shared.db import JobItem, JobStatus
from shared.schemas.render_controls import settings_used
from tests.test_worker_tasks import farm, worker  # noqa: F401 - the module farm and its worker, reused
from tests.worker_farm import BUILTIN_STYLE, Farm, png_bytes
from worker.engine.render import RenderOptions
from worker.engine.styles import StyleComponent, StyleSpec


@pytest.fixture(scope="module")
def photo(data_dir) -> Image.Image:
    return Image.open(data_dir / "photos" / "chelsea_cat.png").convert("RGB").resize((96, 72))


def rendered(the_farm: Farm, item_id: str) -> np.ndarray:
    item = the_farm.wait_finished(item_id, timeout_s=120)
    assert item.status == JobStatus.SUCCEEDED, item.error
    with Image.open(io.BytesIO(the_farm.storage.get_bytes(item.output_key))) as img:
        return np.asarray(img)


def test_the_worker_renders_with_the_style_defaults_and_the_jobs_own_values(farm, worker, engine, photo):  # noqa: F811
    item_id = farm.add_item(png_bytes(photo), strength=0.9)
    used = settings_used(
        {"strength": 0.9, "color_mode": "stylized", "working_side": None, "fidelity": 0.0, "match_style_colors": False},
        {"strength"},
        [{"strength": 0.3, "color_mode": "preserve", "fidelity": 0.7}],
    )
    with farm.sessions.begin() as session:
        session.execute(update(JobItem).where(JobItem.id == item_id).values(render_settings=used))
    farm.render(item_id)
    out = rendered(farm, item_id)
    options = RenderOptions(strength=0.9, color_mode="preserve", fidelity=0.7, thumbnail_side=256, single_pass_pixels=0)
    expected = engine.render(photo, StyleSpec.single(StyleComponent(builtin=BUILTIN_STYLE)), options)
    difference = np.abs(out.astype(int) - expected).mean()
    print(f"farm vs engine with the item's settings: mean difference {difference:.3f}")
    assert difference < 0.5
    assert used["from_style"] == ["color_mode", "fidelity"]


def test_an_rgba_product_keeps_its_alpha_and_the_object_under_mask_alpha_keep(farm, worker, photo):  # noqa: F811
    shape = Image.new("L", photo.size, 0)
    ImageDraw.Draw(shape).ellipse((20, 10, 76, 62), fill=255)
    product = Image.new("RGBA", photo.size, (0, 0, 0, 0))
    product.paste(photo.convert("RGBA"), (0, 0), shape)
    item_id = farm.add_item(png_bytes(product), mask="alpha", mask_mode="keep", output_format="png")
    farm.render(item_id)
    out, source = rendered(farm, item_id), np.asarray(product)
    inside = source[..., 3] == 255
    assert out.shape == source.shape
    assert np.array_equal(out[..., 3], source[..., 3])
    assert np.array_equal(out[inside], source[inside])
