"""Messages land in exactly the queue they are meant for (on the real Redis)."""

from __future__ import annotations

import redis

from shared.queue import LIGHT_QUEUE, RENDER_QUEUE, enqueue_embed, enqueue_render, make_celery
from shared.settings import get_settings
from tests.worker_farm import claim_redis_db


def test_render_and_light_tasks_go_to_separate_queues(tmp_path):
    redis_db = claim_redis_db()
    client = redis.Redis(db=redis_db)
    app = make_celery(get_settings(home=tmp_path, broker_url=f"redis://127.0.0.1:6379/{redis_db}"))
    try:
        enqueue_embed(app, "style-1")
        enqueue_render(app, "item-1")
        enqueue_render(app, "item-2")
        assert client.llen(LIGHT_QUEUE) == 1
        assert client.llen(RENDER_QUEUE) == 2
    finally:
        app.close()
        client.flushdb()
        client.close()
