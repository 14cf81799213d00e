"""The farm's database: models by aggregate, engine/session factory, and migrations."""

from __future__ import annotations

from shared.db.base import Base, new_id, utcnow
from shared.db.jobs import Job, JobItem, JobKind, JobStatus
from shared.db.styles import NUM_BUILTINS, STYLE_VECTOR_DIM, Style, StyleKind, StyleStatus, builtin_style_id
from shared.db.tenants import ApiKey, Tenant, hash_api_key

__all__ = [
    "NUM_BUILTINS",
    "STYLE_VECTOR_DIM",
    "ApiKey",
    "Base",
    "Job",
    "JobItem",
    "JobKind",
    "JobStatus",
    "Style",
    "StyleKind",
    "StyleStatus",
    "Tenant",
    "builtin_style_id",
    "hash_api_key",
    "new_id",
    "utcnow",
]
