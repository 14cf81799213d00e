"""API keys: every route needs one unless its view is marked ``@public``.

Why deny by default: a route added later without thought is closed, not open. A key is looked up
by its SHA-256 (one indexed query, remembered for ``api_key_cache_s``: api/auth/key_cache.py); the
tenant it belongs to becomes ``g.tenant_id``, and every query of a blueprint is scoped by it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from flask import Flask, current_app, g, request
from sqlalchemy import select, update

from api.auth.key_cache import KeyCache
from api.common import UnauthorizedError
from api.extensions import SETTINGS_KEY, db
from shared.db import ApiKey, Tenant, hash_api_key, utcnow

F = TypeVar("F", bound=Callable[..., object])

_PUBLIC_ATTR = "_stylefarm_public"
KEY_CACHE = "stylefarm.key_cache"
LAST_USED_RESOLUTION = timedelta(minutes=5)  # write last_used_at at most this often per key


def public(view: F) -> F:
    """Mark a view as reachable without an API key (health checks, the API document)."""
    setattr(view, _PUBLIC_ATTR, True)
    return view


def is_public(view: Callable[..., object]) -> bool:
    """Whether ``view`` was marked ``@public`` (reachable without a key)."""
    return bool(getattr(view, _PUBLIC_ATTR, False))


def init_app(app: Flask) -> None:
    app.extensions[KEY_CACHE] = KeyCache(app.config[SETTINGS_KEY].api_key_cache_s)
    app.before_request(_authenticate)


def current_tenant_id() -> str:
    """The tenant of the key this request was made with."""
    return g.tenant_id


def presented_key() -> str | None:
    """The key from ``Authorization: Bearer <key>``, else from ``X-API-Key``."""
    authorization = request.headers.get("Authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("X-API-Key", "").strip() or None


def _authenticate() -> None:
    if request.endpoint is None:  # no such route: let routing answer 404/405
        return
    if is_public(current_app.view_functions[request.endpoint]):
        return
    key = presented_key()
    if key is None:
        raise UnauthorizedError("an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
    key_hash = g.api_key_hash = hash_api_key(key)  # the rate limit counts by it too
    cache: KeyCache = current_app.extensions[KEY_CACHE]
    if (tenant_id := cache.tenant_of(key_hash)) is not None:
        g.tenant_id = tenant_id
        return
    session = db.session
    row = session.execute(
        select(ApiKey.id, ApiKey.tenant_id, ApiKey.last_used_at)
        .join(Tenant, Tenant.id == ApiKey.tenant_id)
        .where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None), Tenant.disabled.is_(False))
    ).first()
    if row is None:
        raise UnauthorizedError("the API key is unknown or revoked")
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        session.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=now))
        session.commit()
    cache.remember(key_hash, row.tenant_id)
    g.tenant_id = row.tenant_id
