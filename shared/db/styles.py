"""The style library: the 26 public built-ins and each tenant's own styles.

A built-in style is an index into the 26-style network; a "vector" style is a 100-number
embedding computed by the style predictor from an uploaded image (``embed_style`` fills it in).
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, validates

from shared.db.base import Base, TimestampMixin, new_id

NUM_BUILTINS = 26
STYLE_VECTOR_DIM = 100


class StyleKind(StrEnum):
    BUILTIN = "builtin"
    VECTOR = "vector"
    NETWORK = "network"  # a user-supplied feed-forward network (TorchScript or ONNX) in storage


class StyleStatus(StrEnum):
    PENDING = "pending"  # uploaded, embedding not computed yet
    READY = "ready"
    FAILED = "failed"


def builtin_style_id(index: int) -> str:
    """The fixed id of built-in style ``index`` (``builtin:0`` .. ``builtin:25``), as clients write it."""
    return f"builtin:{index}"


class Style(TimestampMixin, Base):
    """A style a job can reference: public when ``tenant_id`` is NULL, else private to a tenant."""

    __tablename__ = "styles"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        # NULLs are distinct in unique constraints, so public names need their own partial index.
        Index(
            "uq_styles_public_name",
            "name",
            unique=True,
            sqlite_where=text("tenant_id IS NULL"),
            postgresql_where=text("tenant_id IS NULL"),
        ),
        CheckConstraint("kind IN ('builtin', 'vector', 'network')", name="kind"),
        CheckConstraint("status IN ('pending', 'ready', 'failed')", name="status"),
        CheckConstraint(
            "(kind = 'builtin' AND builtin_index IS NOT NULL AND builtin_index BETWEEN 0 AND 25)"
            " OR (kind IN ('vector', 'network') AND builtin_index IS NULL)",
            name="builtin_index",
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16), default=StyleKind.VECTOR)
    builtin_index: Mapped[int | None]
    vector: Mapped[list[Any] | None]
    status: Mapped[str] = mapped_column(String(16), default=StyleStatus.PENDING)
    source_key: Mapped[str | None] = mapped_column(String(1024))
    thumbnail_key: Mapped[str | None] = mapped_column(String(1024))
    defaults: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    network_key: Mapped[str | None] = mapped_column(String(1024))  # kind "network": the model file
    network_format: Mapped[str | None] = mapped_column(String(16))  # "torchscript" or "onnx"
    # kind "network": sha256, value range and tile overlap (shared.schemas.networks.NetworkOptions).
    network_options: Mapped[dict[str, Any] | None]
    # Refined versions of a style point at the style they were refined from.
    version: Mapped[int] = mapped_column(default=1)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("styles.id", ondelete="SET NULL"))

    @validates("vector")
    def _check_vector(self, _key: str, value: list[Any] | None) -> list[float] | None:
        """Refuse anything but 100 finite numbers before it reaches the database."""
        if value is None:
            return None
        floats = [float(v) for v in value]
        if len(floats) != STYLE_VECTOR_DIM or not all(math.isfinite(v) for v in floats):
            raise ValueError(f"a style vector must be {STYLE_VECTOR_DIM} finite numbers")
        return floats
