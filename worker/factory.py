"""Build the worker's Celery app from settings: shared configuration, tasks, beat and context."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import celeryd_after_setup, task_failure, worker_process_init, worker_shutting_down

from shared.queue import make_celery
from shared.settings import Settings
from worker.runtime import pool_threads, shutdown, time_limits
from worker.runtime.context import configure_context, reset_context
from worker.runtime.sweeper import sweep_schedule
from worker.tasks import register_tasks


def create_worker_app(settings: Settings) -> Celery:
    """The worker's app; each pool process builds its own database, storage and engine on first use."""
    settings.ensure_directories()
    app = make_celery(settings)
    app.conf.beat_schedule = sweep_schedule(settings)
    app.conf.beat_schedule_filename = str(settings.home / "celerybeat-schedule")
    register_tasks(app, settings)
    configure_context(settings)
    worker_process_init.connect(_reset_after_fork, weak=False, dispatch_uid="stylefarm.worker.reset_context")
    celeryd_after_setup.connect(pool_threads.remember_pool_size, weak=False, dispatch_uid="stylefarm.worker.pool_size")
    # Faults: warm shutdown hands running items back; a hard time limit fails its item at once.
    worker_process_init.connect(shutdown.install_child_handler, weak=False, dispatch_uid="stylefarm.worker.hand_back")
    worker_shutting_down.connect(shutdown.signal_busy_children, weak=False, dispatch_uid="stylefarm.worker.shutdown")
    task_failure.connect(time_limits.on_task_failure, weak=False, dispatch_uid="stylefarm.worker.hard_time_limit")
    return app


def _reset_after_fork(**_: Any) -> None:
    """In a new pool child: drop anything inherited from the parent (nothing connects before the fork)."""
    reset_context()
