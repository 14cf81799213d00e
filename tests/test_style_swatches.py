"""Built-in styles get a picture: the sample photo rendered in each by a worker, recorded once."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import update

from api.extensions import db
from shared.db import Style
from shared.queue import LIGHT_QUEUE, RENDER_SWATCH
from tests.conftest_api import issue_key, queued_tasks
from tests.worker_farm import farm_from_settings, farm_settings
from worker.jobs.style_swatches import SWATCH_SIDE, render_builtin_swatch
from worker.runtime.context import WorkerContext


def test_a_builtin_swatch_is_rendered_once_and_recorded(tmp_path_factory):
    with farm_from_settings(farm_settings(tmp_path_factory)) as farm:
        context = WorkerContext.from_settings(farm.settings)
        try:
            first = [render_builtin_swatch(context, style_id) for style_id in ("builtin:3", "builtin:7")]
            again = render_builtin_swatch(context, "builtin:3")
            not_builtin = render_builtin_swatch(context, "no-such-style")
        finally:
            context.database.dispose()
        with farm.sessions() as session:
            styles = [session.get(Style, style_id) for style_id in ("builtin:3", "builtin:7", "builtin:4")]
    assert first == [True, True] and again is False and not_builtin is False
    pictures = []
    for style in styles[:2]:
        assert style.thumbnail_key and ":" not in style.thumbnail_key
        with Image.open(io.BytesIO(farm.storage.get_bytes(style.thumbnail_key))) as img:
            assert img.format == "JPEG" and max(img.size) == SWATCH_SIDE
            pictures.append(img.convert("L").resize((16, 16)).tobytes())
    assert pictures[0] != pictures[1]  # each style looks like itself
    assert styles[2].thumbnail_key is None  # only what was asked for


def test_the_api_queues_one_swatch_task_per_builtin_without_a_picture(api_app, api_client, redis_broker):
    headers = issue_key(api_app, "acme")
    with api_app.app_context():
        db.session.execute(update(Style).where(Style.id != "builtin:5").values(thumbnail_key="styles/x/thumbnail.jpg"))
        db.session.commit()
    response = api_client.post("/v1/styles/builtin-swatches", headers=headers)
    assert response.status_code == 202 and response.json == {"missing": 1}
    assert queued_tasks(redis_broker, LIGHT_QUEUE) == [(RENDER_SWATCH, ["builtin:5"])]
    assert api_client.post("/v1/styles/builtin-swatches").status_code == 401
