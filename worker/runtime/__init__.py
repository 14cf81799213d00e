"""What keeps a worker alive and honest around the work: context, progress, shutdown, limits, outages, sweeps.

The per-process context (database, storage, engine), heartbeats and progress in short
transactions, claiming items (``identity.py``, ``job_state.py``), SIGTERM hand-back, soft and hard
time limits, retrying through database outages, transient failures, and the sweeper that
requeues items whose worker went quiet. None of it knows what an item renders.
"""
