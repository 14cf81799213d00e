"""Tenants and their API keys.

Why only a hash: a leaked database must not leak working keys. Keys are long random tokens, so a
plain SHA-256 (no salt, no slow KDF) is enough and lets the API find a key with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db.base import Base, TimestampMixin, new_id, utcnow

API_KEY_PREFIX = "sf_"
_PREFIX_CHARS = 8  # random characters kept in clear after "sf_", to tell keys apart in listings


def hash_api_key(plaintext: str) -> str:
    """The hex SHA-256 of a key: what is stored and what a presented key is looked up by."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


class Tenant(TimestampMixin, Base):
    """A customer (or team) whose jobs, styles and results are isolated from everyone else's."""

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    disabled: Mapped[bool] = mapped_column(default=False)
    webhook_secret: Mapped[str | None] = mapped_column(String(64))  # HMAC key of this tenant's webhooks

    api_keys: Mapped[list[ApiKey]] = relationship(
        back_populates="tenant", lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )


class ApiKey(TimestampMixin, Base):
    """One API key of a tenant, stored as ``prefix`` (for display) and ``key_hash`` (for lookup)."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(120), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    tenant: Mapped[Tenant] = relationship(back_populates="api_keys", lazy="raise")

    @classmethod
    def issue(cls, tenant_id: str, label: str = "") -> tuple[ApiKey, str]:
        """A new key row and its plaintext; the plaintext is shown once and never stored."""
        plaintext = API_KEY_PREFIX + secrets.token_urlsafe(32)
        key = cls(
            tenant_id=tenant_id,
            label=label,
            prefix=plaintext[: len(API_KEY_PREFIX) + _PREFIX_CHARS],
            key_hash=hash_api_key(plaintext),
        )
        return key, plaintext

    def matches(self, plaintext: str) -> bool:
        """Whether ``plaintext`` is this key (constant-time comparison of the hashes)."""
        return hmac.compare_digest(self.key_hash, hash_api_key(plaintext))

    @property
    def active(self) -> bool:
        """Not revoked (the tenant's ``disabled`` flag is checked separately)."""
        return self.revoked_at is None

    def revoke(self) -> None:
        """Stop accepting this key from now on; the row stays for the audit trail."""
        if self.revoked_at is None:
            self.revoked_at = utcnow()
