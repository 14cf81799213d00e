"""Who is asking and how much they may ask: bearer API keys, their cache, rate limits and quotas.

Kept together because every request passes through them in this order (key, then rate limit),
and submissions check the tenant's queue quota; none of it knows about any one resource.
"""
