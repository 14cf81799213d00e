"""Uploaded files: what a tenant sent, under a key the farm chose.

Why a table: the storage key is generated from ids (never from the client's file name), the
client's name is kept only sanitised for display and download names, and the content hash lets
the result cache recognise the same bytes uploaded twice.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, TimestampMixin, new_id


class Upload(TimestampMixin, Base):
    """One uploaded image, video or network file of a tenant."""

    __tablename__ = "uploads"
    __table_args__ = (
        Index("ix_uploads_tenant_id_sha256", "tenant_id", "sha256"),
        CheckConstraint("media IN ('image', 'video', 'network')", name="media"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    storage_key: Mapped[str] = mapped_column(String(1024), unique=True)
    filename: Mapped[str] = mapped_column(String(255), default="")  # sanitised client file name
    content_type: Mapped[str] = mapped_column(String(127), default="application/octet-stream")
    media: Mapped[str] = mapped_column(String(16), default="image")
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64))
    width: Mapped[int | None]
    height: Mapped[int | None]
    frames: Mapped[int | None]  # videos: frame count read from the container
