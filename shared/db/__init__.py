"""The farm's database: models by aggregate, engine/session factory, and migrations."""

from __future__ import annotations

from shared.db.base import Base, new_id, utcnow
from shared.db.jobs import ItemRole, Job, JobItem, JobKind, JobStatus
from shared.db.styles import NUM_BUILTINS, STYLE_VECTOR_DIM, Style, StyleKind, StyleStatus, builtin_style_id
from shared.db.tenants import ApiKey, Tenant, hash_api_key
from shared.db.uploads import Upload
from shared.db.webhooks import DeliveryStatus, WebhookDelivery

__all__ = [
    "NUM_BUILTINS",
    "STYLE_VECTOR_DIM",
    "ApiKey",
    "Base",
    "DeliveryStatus",
    "ItemRole",
    "Job",
    "JobItem",
    "JobKind",
    "JobStatus",
    "Style",
    "StyleKind",
    "StyleStatus",
    "Tenant",
    "Upload",
    "WebhookDelivery",
    "builtin_style_id",
    "hash_api_key",
    "new_id",
    "utcnow",
]
