"""Issuing API keys (the ``stylefarm keys create TENANT`` command calls this)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import ApiKey, Tenant
from shared.errors import BadInputError


def create_api_key(session: Session, tenant_name: str, label: str = "") -> str:
    """A new key for ``tenant_name`` (the tenant is created if missing); returns the plaintext, shown once.

    Only the key's hash is stored, so the plaintext cannot be recovered later.
    """
    name = tenant_name.strip()
    if not name or len(name) > 120:
        raise BadInputError("a tenant name must be 1 to 120 characters")
    tenant = session.scalar(select(Tenant).where(Tenant.name == name))
    if tenant is None:
        tenant = Tenant(name=name)
        session.add(tenant)
        session.flush()
    key, plaintext = ApiKey.issue(tenant.id, label=label)
    session.add(key)
    session.commit()
    return plaintext
