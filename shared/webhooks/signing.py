"""Signing webhook bodies, and checking a signature the way a receiver should.

The header, in the style of Stripe's: ``StyleFarm-Signature: t=<unix seconds>,v1=<hex>``, where the
hex is HMAC-SHA256 keyed with the tenant's webhook secret over ``f"{t}.{body}"`` (the exact bytes
sent). Signing the timestamp with the body lets a receiver refuse a replayed old request; several
``v1=`` entries may appear (e.g. while a secret is rotated) and any one matching is enough.
No farm imports here: a receiver can copy this file, or use ``verify`` from the client package.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "StyleFarm-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300  # how old a signed timestamp a receiver accepts


class SignatureError(ValueError):
    """The signature header is missing, malformed, too old, or does not match the body."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}.".encode() + body`` keyed with ``secret``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The value of the ``StyleFarm-Signature`` header for ``body`` sent now (or at ``timestamp``)."""
    when = int(time.time()) if timestamp is None else timestamp
    return f"t={when},{SCHEME}={signature(secret, when, body)}"


def verify(
    secret: str, body: bytes, header: str | None, tolerance_s: float = DEFAULT_TOLERANCE_S, now: float | None = None
) -> int:
    """Check a received ``StyleFarm-Signature`` header; returns its timestamp, raises SignatureError.

    Args:
        body: the raw request body, exactly as received (not re-serialised JSON).
        tolerance_s: the most seconds the timestamp may differ from ``now``.
    """
    if not header:
        raise SignatureError(f"no {SIGNATURE_HEADER} header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == SCHEME and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError(f"malformed {SIGNATURE_HEADER} header: expected t=<unix>,{SCHEME}=<hex>")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise SignatureError(f"the signed timestamp is {current - timestamp:.0f} s off (tolerance {tolerance_s} s)")
    expected = signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureError("the signature does not match the body")
    return timestamp
