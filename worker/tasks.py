"""The worker's Celery tasks: thin wrappers that load nothing but ids and call the executors.

Why thin: retries, time limits and acks are Celery's business; what happens to an item or a
style is decided by ``ItemRenderer``/``StyleEmbedder``, which tests can also run without a queue.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, Task

from shared.errors import StyleFarmError
from shared.queue import EMBED_STYLE, RENDER_ITEM, SWEEP_LOST_ITEMS
from worker import sweeper
from worker.context import get_context
from worker.embedder import StyleEmbedder
from worker.executor import ItemRenderer
from worker.failures import TRANSIENT_ERRORS

log = logging.getLogger(__name__)

MAX_RETRIES = 5

# Transient errors retry with exponential backoff (1, 2, 4, … s, jittered); bad input never does.
RETRYING: dict[str, Any] = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": MAX_RETRIES,
    "throws": (StyleFarmError,),  # expected failures: logged without a traceback
}


def _final_attempt(task: Task) -> bool:
    return task.request.retries >= (task.max_retries or 0)


def render_item(task: Task, item_id: str) -> None:
    """Render one job item into storage and record the outcome on the item and its job."""
    ItemRenderer(get_context(), item_id, final_attempt=_final_attempt(task)).run()


def embed_style(task: Task, style_id: str) -> None:
    """Compute an uploaded style's vector and thumbnail."""
    StyleEmbedder(get_context(), style_id, final_attempt=_final_attempt(task)).run()


def sweep_lost_items(task: Task) -> None:
    """Queue again the items whose worker stopped sending heartbeats (run by beat)."""
    context = get_context()
    requeued = sweeper.requeue_lost_items(context.sessions, task.app, context.settings.heartbeat_timeout_s)
    if requeued:
        log.warning("requeued %d lost items: %s", len(requeued), ", ".join(requeued))


def register_tasks(app: Celery) -> None:
    """Register the tasks on ``app`` under the names the API sends (``shared.queue``)."""
    app.task(name=RENDER_ITEM, bind=True, shared=False, **RETRYING)(render_item)
    app.task(name=EMBED_STYLE, bind=True, shared=False, **RETRYING)(embed_style)
    app.task(name=SWEEP_LOST_ITEMS, bind=True, shared=False)(sweep_lost_items)
