"""Video facts both sides need: probing a container, the output a job asks for, how a clip is cut into segments.

The API probes and plans at submission (so a job meets only real clips and knows its segments);
workers plan and write from the same facts.
"""
