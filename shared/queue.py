"""The Celery application both sides share: broker, queues and the options for long GPU work.

The API only *sends* tasks by name (``send_task``) so it never imports the worker or torch; the
worker registers the tasks on an app built by the same function. The database is the record of
every job; Redis (or the embedded filesystem broker) is only the transport, so no result backend.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Exchange, Queue

from shared.fs_broker import TRANSPORT as FILESYSTEM_TRANSPORT
from shared.settings import Settings

RENDER_ITEM = "render_item"
EMBED_STYLE = "embed_style"
VALIDATE_NETWORK = "validate_network"
SWEEP_LOST_ITEMS = "sweep_lost_items"
DELIVER_WEBHOOK = "deliver_webhook"
RENDER_SWATCH = "render_builtin_swatch"
REFINE_STYLE = "refine_style"  # the one item of a refine_style job (issue 7), on the light queue

RENDER_QUEUE = "render"
LIGHT_QUEUE = "light"  # embeddings, thumbnails, sweeps: never waits behind a 100-megapixel render
INTERACTIVE_QUEUE = "interactive"  # previews and small urgent jobs: someone is waiting on the result
BULK_QUEUE = "bulk"  # big batches: everything else goes first
# Workers consume all of them. Kombu's Redis transport (and its filesystem one) polls a worker's
# queues round-robin and moves the queue it just took from to the end, so a message in any other
# queue waits at most one item of the bulk queue (or of any one queue), never the whole batch.
QUEUES = (INTERACTIVE_QUEUE, RENDER_QUEUE, BULK_QUEUE, LIGHT_QUEUE)
WORKER_QUEUES = ",".join(QUEUES)  # ``celery worker -Q`` of a worker that takes every kind of work


def make_celery(settings: Settings) -> Celery:
    """A Celery app configured from ``settings`` (no tasks registered here)."""
    app = Celery("stylefarm", broker=settings.broker_url, set_as_current=False)
    transport = settings.broker_transport_options()
    if settings.broker_url.startswith("filesystem://"):
        app.conf.broker_transport = FILESYSTEM_TRANSPORT  # kombu's, with atomic message files
    app.conf.update(
        broker_transport_options=transport,
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,  # progress and outputs live in the database
        # Each queue has its own exchange and routing key, so a message lands in exactly one queue.
        task_queues=[Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES],
        task_default_queue=RENDER_QUEUE,
        task_routes={
            name: {"queue": LIGHT_QUEUE} for name in (EMBED_STYLE, VALIDATE_NETWORK, SWEEP_LOST_ITEMS, DELIVER_WEBHOOK)
        },
        # Ack only after the task body ran, and give the message back if the process dies
        # (SIGKILL, OOM): acks_late alone does not survive a killed worker.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # Each worker process holds one task at a time; prefetching would hoard long renders.
        worker_prefetch_multiplier=1,
        # Soft limit raises inside the task (the item is failed with a message); the hard limit
        # kills a stuck process. Both need the prefork pool. The visibility timeout (Redis) is
        # above the hard limit, checked by Settings, so a running task is never redelivered.
        task_soft_time_limit=settings.task_soft_time_limit_s,
        task_time_limit=settings.task_time_limit_s,
        # Renders fragment memory (large numpy/torch buffers): recycle processes now and then.
        worker_max_tasks_per_child=100,
        # With acks_late, a lost broker connection means the message goes back to the queue:
        # stop the running task instead of finishing work another worker will redo.
        worker_cancel_long_running_tasks_on_connection_loss=True,
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
    )
    return app


def render_queue(params: dict[str, Any], items_total: int, settings: Settings) -> str:
    """The queue of a job's render items, from its stored request and size.

    Previews, and urgent (``priority`` > 0) jobs of at most ``interactive_max_items`` items, are
    interactive; jobs of ``bulk_min_items`` or more, or with a negative priority, are bulk.
    """
    priority = int(params.get("priority") or 0)
    if params.get("preview") or (priority > 0 and items_total <= settings.interactive_max_items):
        return INTERACTIVE_QUEUE
    if priority < 0 or items_total >= settings.bulk_min_items:
        return BULK_QUEUE
    return RENDER_QUEUE


def enqueue_render(app: Celery, item_id: str, queue: str = RENDER_QUEUE) -> None:
    """Ask a worker to render one job item (workers load everything else by id)."""
    app.send_task(RENDER_ITEM, args=[item_id], queue=queue)


def enqueue_embed(app: Celery, style_id: str) -> None:
    """Ask a worker to compute the style vector and thumbnail of an uploaded style image."""
    app.send_task(EMBED_STYLE, args=[style_id], queue=LIGHT_QUEUE)


def enqueue_swatch(app: Celery, style_id: str) -> None:
    """Ask a worker to render the thumbnail of a built-in style (one task each: renders wait for one at most)."""
    app.send_task(RENDER_SWATCH, args=[style_id], queue=LIGHT_QUEUE)


def enqueue_validate_network(app: Celery, style_id: str) -> None:
    """Ask a worker to load a user network style's file and try it on a probe image."""
    app.send_task(VALIDATE_NETWORK, args=[style_id], queue=LIGHT_QUEUE)


def enqueue_webhook(app: Celery, delivery_id: str) -> None:
    """Ask a worker to POST one recorded webhook event to its callback URL."""
    app.send_task(DELIVER_WEBHOOK, args=[delivery_id], queue=LIGHT_QUEUE)


def enqueue_refine(app: Celery, item_id: str) -> None:
    """Ask a worker to refine a style's vector (the item of a ``refine_style`` job)."""
    app.send_task(REFINE_STYLE, args=[item_id], queue=LIGHT_QUEUE)
