"""A short-lived, per-process memory of which tenant a valid API key belongs to.

Why: a client polling its jobs sends the same key many times a second, and looking it up costs
a database round trip and about a fifth of a status read's CPU (benchmarks/load.py). Only keys
found valid are remembered, for ``api_key_cache_s`` seconds at most: a revoked key, or a key
of a tenant that was disabled, is refused by every API process within that time. 0 turns the
cache off (each request looks its key up).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

MAX_ENTRIES = 10_000  # bounds the memory an API process spends on it; full means start afresh


@dataclass
class KeyCache:
    """``key hash -> tenant id`` for keys found valid less than ``ttl_s`` seconds ago."""

    ttl_s: float
    _entries: dict[str, tuple[str, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def tenant_of(self, key_hash: str) -> str | None:
        """The tenant of a key remembered as valid, or None (unknown, expired or cache off)."""
        entry = self._entries.get(key_hash)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def remember(self, key_hash: str, tenant_id: str) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key_hash] = (tenant_id, time.monotonic() + self.ttl_s)
