"""The Celery worker: ``celery_app.py`` and ``factory.py`` build it, ``tasks.py`` holds the thin tasks.

A task takes an id and hands it to an executor in ``jobs/`` (what each item role does); ``runtime/``
is what keeps a worker honest while it runs (context, heartbeats, shutdown hand-back, time limits,
outages, the sweeper); ``engine/`` is the torch stylization engine and ``video/`` the video pipeline.
"""
