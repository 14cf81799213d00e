"""The WSGI entry point: ``gunicorn api.wsgi:app`` (settings from the ``STYLEFARM_*`` environment)."""

from __future__ import annotations

from api.app import create_app

app = create_app()
