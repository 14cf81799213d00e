"""The worker's Celery tasks: thin wrappers that load nothing but ids and call the executors.

Why thin: retries, time limits and acks are Celery's business; what happens to an item or a
style is decided by ``ItemRenderer``/``StyleEmbedder``, which tests can also run without a queue.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, Task

from shared.errors import StyleFarmError
from shared.queue import (
    EMBED_STYLE,
    REFINE_STYLE,
    RENDER_ITEM,
    RENDER_SWATCH,
    SWEEP_LOST_ITEMS,
    VALIDATE_NETWORK,
)
from shared.settings import Settings
from worker.jobs import style_swatches
from worker.jobs.embedder import StyleEmbedder
from worker.jobs.item_roles import item_executor
from worker.jobs.network_validator import NetworkValidator
from worker.jobs.style_refiner import StyleRefiner
from worker.jobs.webhooks import register_webhook_task
from worker.runtime import sweeper
from worker.runtime.context import get_context
from worker.runtime.failures import TRANSIENT_ERRORS
from worker.runtime.outages import retrying_through_database_outages
from worker.runtime.shutdown import handing_back

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
    context = get_context()
    # A warm shutdown requeues the message; a database outage never uses up the retries.
    with handing_back(), retrying_through_database_outages(task, context.settings.task_retry_backoff_max_s):
        item_executor(context, item_id, final_attempt=_final_attempt(task), app=task.app).run()


def embed_style(task: Task, style_id: str) -> None:
    """Compute an uploaded style's vector and thumbnail."""
    StyleEmbedder(get_context(), style_id, final_attempt=_final_attempt(task)).run()


def validate_network(task: Task, style_id: str) -> None:
    """Load a user network style's file and try it on a probe image."""
    NetworkValidator(get_context(), style_id, final_attempt=_final_attempt(task)).run()


def render_builtin_swatch(task: Task, style_id: str) -> None:
    """Render the thumbnail of a built-in style that has none (the sample photo in that style)."""
    style_swatches.render_builtin_swatch(get_context(), style_id)


def refine_style(task: Task, item_id: str) -> None:
    """Refine a style's vector: the one item of a ``refine_style`` job (worker/jobs/style_refiner.py)."""
    with handing_back():
        StyleRefiner(get_context(), item_id, final_attempt=_final_attempt(task)).run()


def sweep_lost_items(task: Task) -> None:
    """Queue again the items whose worker stopped sending heartbeats (run by beat)."""
    context = get_context()
    requeued = sweeper.requeue_lost_items(context.sessions, task.app, context.settings.heartbeat_timeout_s)
    if requeued:
        log.warning("requeued %d lost items: %s", len(requeued), ", ".join(requeued))


def retry_options(settings: Settings) -> dict[str, Any]:
    """``RETRYING`` with the configured number of retries and backoff cap."""
    return {
        **RETRYING,
        "max_retries": settings.task_max_retries,
        "retry_backoff_max": settings.task_retry_backoff_max_s,
    }


def register_tasks(app: Celery, settings: Settings) -> None:
    """Register the tasks on ``app`` under the names the API sends (``shared.queue``), retrying as ``settings`` say."""
    retrying = retry_options(settings)
    app.task(name=RENDER_ITEM, bind=True, shared=False, **retrying)(render_item)
    app.task(name=EMBED_STYLE, bind=True, shared=False, **retrying)(embed_style)
    app.task(name=VALIDATE_NETWORK, bind=True, shared=False, **retrying)(validate_network)
    app.task(name=RENDER_SWATCH, bind=True, shared=False, **retrying)(render_builtin_swatch)
    app.task(name=REFINE_STYLE, bind=True, shared=False, **retrying)(refine_style)
    app.task(name=SWEEP_LOST_ITEMS, bind=True, shared=False)(sweep_lost_items)
    register_webhook_task(app, settings)
