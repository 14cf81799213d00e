"""One Flask blueprint module per resource (uploads, styles, jobs, job events, archives, webhooks, health, metrics).

A route parses the request, calls a service and serializes the answer; the rules themselves
(what a submission may contain, how a job is canceled) live in ``api/services/``, so they can be
read and tested without HTTP. All blueprints are registered in ``api/app.py``.
"""
