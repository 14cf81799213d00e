"""Each tenant's webhook signing secret: made on first use, rotated on request.

Why in the database and not derived from an API key: keys are stored only as hashes, and a
receiver must not need an API key (which can act on the account) just to check a signature.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.db import Tenant

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh secret: 32 random bytes, URL-safe (49 characters with the prefix; the column holds 64)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def tenant_secret(session: Session, tenant_id: str) -> str:
    """The tenant's secret, made now if it has none (two racing callers end with the same one)."""
    session.execute(
        update(Tenant)
        .where(Tenant.id == tenant_id, Tenant.webhook_secret.is_(None))
        .values(webhook_secret=new_secret())
    )
    secret = session.scalar(select(Tenant.webhook_secret).where(Tenant.id == tenant_id))
    if secret is None:
        raise LookupError(f"tenant {tenant_id} does not exist")
    return secret


def rotate_secret(session: Session, tenant_id: str) -> str:
    """Replace the tenant's secret; events signed from now on use the new one."""
    secret = new_secret()
    session.execute(update(Tenant).where(Tenant.id == tenant_id).values(webhook_secret=secret))
    return secret
