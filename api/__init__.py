"""The HTTP service: the Flask factory (``app.py``), its extensions and one JSON error handler.

Requests come in through ``routes/`` (one blueprint per resource), are authenticated and metered by
``auth/``, and the rules they call (submit, cancel, resolve styles, record uploads) live in
``services/``; ``web/`` is the browser page. Nothing here imports torch or the worker: the API image
stays small and a request never waits on a model (the import contract in pyproject checks it).
"""
