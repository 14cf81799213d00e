"""Per-API-key request rate limits, answered with 429 and Retry-After.

Why the ``limits`` library: its sliding-window counter is one atomic Redis script per request,
so every gunicorn worker (and every API machine) draws from the same allowance when the broker is
Redis; without Redis the count lives in this process's memory, which is right for the embedded
one-process farm. The allowance is ``rate_limit_burst`` requests in any window of
``rate_limit_burst / rate_limit_per_s`` seconds: a client may burst, then keeps to the rate.
The key is identified by the hash authentication computed (``g.api_key_hash``), and only once
it passed, so unknown keys never get a counter. If the counter store fails, the request is let
through (logged): a limiter must not turn a Redis hiccup into an outage of the whole API.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import SlidingWindowCounterRateLimiter
from redis.exceptions import RedisError

from api.extensions import SETTINGS_KEY
from shared.errors import StyleFarmError
from shared.settings import Settings

log = logging.getLogger(__name__)

EXTENSION = "stylefarm.rate_limit"
KEY_PREFIX = "stylefarm-rate"


class RateLimitedError(StyleFarmError):
    """Too many requests for now; the client should wait ``Retry-After`` seconds."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details={"retry_after_s": retry_after_s, **(details or {})})
        self.headers = {"Retry-After": str(retry_after_s)}


@dataclass(frozen=True)
class KeyRateLimiter:
    """One allowance per API key, counted in ``storage``."""

    limiter: SlidingWindowCounterRateLimiter
    item: RateLimitItem

    def check(self, key_hash: str) -> None:
        """Count one request of the key; ``RateLimitedError`` if it is over its allowance."""
        try:
            allowed = self.limiter.hit(self.item, key_hash)
            if allowed:
                return
            reset_at = self.limiter.get_window_stats(self.item, key_hash).reset_time
        except (RedisError, OSError) as exc:
            log.warning("rate limit store unavailable, request let through: %s", exc)
            return
        retry_after_s = max(1, math.ceil(reset_at - time.time()))
        raise RateLimitedError(
            f"this API key made more than {self.item.amount} requests in {self.item.multiples} s; "
            f"retry in {retry_after_s} s",
            retry_after_s=retry_after_s,
            details={"limit": self.item.amount, "window_s": self.item.multiples},
        )


def allowance(settings: Settings) -> RateLimitItem:
    """``rate_limit_burst`` requests per window of ``burst / per_s`` seconds (whole seconds, at least 1)."""
    window_s = max(1, round(settings.rate_limit_burst / settings.rate_limit_per_s))
    return RateLimitItemPerSecond(max(1, round(settings.rate_limit_per_s * window_s)), window_s)


def counter_store(settings: Settings) -> Storage:
    """Redis (the broker's server and database) when the broker is Redis, else this process's memory."""
    if settings.broker_url.startswith(("redis://", "rediss://")):
        return RedisStorage(settings.broker_url, key_prefix=KEY_PREFIX, socket_timeout=1)
    return MemoryStorage()


def init_app(app: Flask) -> None:
    """Count every authenticated request; call after ``auth.init_app`` (hooks run in order)."""
    settings: Settings = app.config[SETTINGS_KEY]
    if settings.rate_limit_per_s == 0:
        return
    storage = counter_store(settings)
    app.extensions[EXTENSION] = KeyRateLimiter(SlidingWindowCounterRateLimiter(storage), allowance(settings))
    app.before_request(_check_rate)


def _check_rate() -> None:
    key_hash = g.get("api_key_hash")
    if key_hash is None or "tenant_id" not in g:  # a public route, or routing answers 404/405
        return
    current_app.extensions[EXTENSION].check(key_hash)
