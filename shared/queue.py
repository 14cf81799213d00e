"""The Celery application both sides share: broker, queues and the options for long GPU work.

The API only *sends* tasks by name (``send_task``) so it never imports the worker or torch; the
worker registers the tasks on an app built by the same function. The database is the record of
every job; Redis (or the embedded filesystem broker) is only the transport, so no result backend.
"""

from __future__ import annotations

from celery import Celery
from kombu import Exchange, Queue

from shared.settings import Settings

RENDER_ITEM = "render_item"
EMBED_STYLE = "embed_style"
SWEEP_LOST_ITEMS = "sweep_lost_items"

RENDER_QUEUE = "render"
LIGHT_QUEUE = "light"  # embeddings, thumbnails, sweeps: never waits behind a 100-megapixel render
QUEUES = (RENDER_QUEUE, LIGHT_QUEUE)


def make_celery(settings: Settings) -> Celery:
    """A Celery app configured from ``settings`` (no tasks registered here)."""
    app = Celery("stylefarm", broker=settings.broker_url, set_as_current=False)
    transport = settings.broker_transport_options()
    app.conf.update(
        broker_transport_options=transport,
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,  # progress and outputs live in the database
        # Each queue has its own exchange and routing key, so a message lands in exactly one queue.
        task_queues=[Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES],
        task_default_queue=RENDER_QUEUE,
        task_routes={EMBED_STYLE: {"queue": LIGHT_QUEUE}, SWEEP_LOST_ITEMS: {"queue": LIGHT_QUEUE}},
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


def enqueue_render(app: Celery, item_id: str, priority: int = 0) -> None:
    """Ask a worker to render one job item (workers load everything else by id)."""
    app.send_task(RENDER_ITEM, args=[item_id], queue=RENDER_QUEUE)


def enqueue_embed(app: Celery, style_id: str) -> None:
    """Ask a worker to compute the style vector and thumbnail of an uploaded style image."""
    app.send_task(EMBED_STYLE, args=[style_id], queue=LIGHT_QUEUE)
