"""The rules routes call: job submission and dispatch, job control, video submission, upload records, style refs.

Why apart from the routes: these are the decisions of the farm (which items a job has, which
queue they go to, what a tenant may reuse) and they take a database session and settings, not a
Flask request, so the same rule serves every route that needs it.
"""
