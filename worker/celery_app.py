"""Entry point of ``celery -A worker.celery_app worker -Q interactive,render,bulk,light``.

The one module that reads settings at import: Celery's ``-A`` loads a module and looks for a
module-level ``app``. Everything else takes its settings from ``create_worker_app``'s argument.
"""

from __future__ import annotations

from shared.settings import get_settings
from worker.engine.startup import collector_paused_for_torch

with collector_paused_for_torch():  # the tasks import torch; the pool forks after (engine/startup.py)
    from worker.factory import create_worker_app

app = create_worker_app(get_settings())
