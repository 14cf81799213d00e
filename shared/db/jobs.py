"""Jobs and their items: what was asked for, and the per-image work units workers pick up.

A job (one request) holds one or more items (one input image, or one video segment, each). Workers
take an item id, record progress on the item in short transactions, and finish the job when its
last item finishes; ``cancel_requested`` is how a cancel reaches a running worker.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db.base import Base, TimestampMixin, new_id, utcnow


class JobKind(StrEnum):
    IMAGE = "image"
    MULTI_STYLE = "multi_style"
    RECOLOR = "recolor"
    VIDEO = "video"
    REFINE_STYLE = "refine_style"  # tune a stored style vector (issue 7); a light job


class ItemRole(StrEnum):
    """What an item's worker does: render one image, render one video segment, or join segments."""

    RENDER = "render"
    SEGMENT = "segment"
    JOIN = "join"


class JobStatus(StrEnum):
    """States of a job and of each of its items."""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def finished(self) -> bool:
        """True for the states nothing moves out of."""
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED)


_STATUS_CHECK = "status IN ('queued', 'running', 'paused', 'succeeded', 'failed', 'canceled')"


class Job(TimestampMixin, Base):
    """One request of a tenant; ``params`` keeps the validated request body as submitted."""

    __tablename__ = "jobs"
    __table_args__ = (
        # A retried POST with the same Idempotency-Key finds the first job instead of making another.
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_jobs_tenant_id_created_at", "tenant_id", "created_at"),
        Index("ix_jobs_status_priority_created_at", "status", "priority", "created_at"),
        CheckConstraint("kind IN ('image', 'multi_style', 'recolor', 'video', 'refine_style')", name="kind"),
        CheckConstraint(_STATUS_CHECK, name="status"),
        CheckConstraint("priority BETWEEN -100 AND 100", name="priority"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    priority: Mapped[int] = mapped_column(default=0)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    callback_url: Mapped[str | None] = mapped_column(Text)  # webhook target, POSTed on completion

    items: Mapped[list[JobItem]] = relationship(
        back_populates="job",
        lazy="raise",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="JobItem.position",
    )


class JobItem(TimestampMixin, Base):
    """One unit of work of a job: one input rendered with ``style_ref``, tracked tile by tile."""

    __tablename__ = "job_items"
    __table_args__ = (
        UniqueConstraint("job_id", "position"),
        Index("ix_job_items_status_heartbeat_at", "status", "heartbeat_at"),  # finding lost items
        Index("ix_job_items_cache_key_status", "cache_key", "status"),  # finding a reusable output
        CheckConstraint("role IN ('render', 'segment', 'join')", name="role"),
        CheckConstraint(_STATUS_CHECK, name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        CheckConstraint("tiles_done >= 0 AND tiles_done <= tiles_total", name="tiles"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)  # order within the job (and of video segments)
    role: Mapped[str] = mapped_column(String(16), default=ItemRole.RENDER)
    # Which output of the job this item belongs to: a video's segments and its join share one group.
    group_index: Mapped[int] = mapped_column(default=0)
    segment: Mapped[dict[str, Any] | None]  # a video segment's frame range and overlap
    # Content hash of input bytes + style + parameters; an equal succeeded item's output is reused.
    cache_key: Mapped[str | None] = mapped_column(String(64))
    cached: Mapped[bool] = mapped_column(default=False)  # the output was reused, not rendered
    input_key: Mapped[str] = mapped_column(String(1024))
    style_ref: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    tiles_done: Mapped[int] = mapped_column(default=0)
    tiles_total: Mapped[int] = mapped_column(default=0)
    worker_id: Mapped[str | None]
    heartbeat_at: Mapped[datetime | None]
    output_key: Mapped[str | None] = mapped_column(String(1024))
    output_bytes: Mapped[int | None] = mapped_column(BigInteger)
    output_format: Mapped[str | None] = mapped_column(String(16))
    width: Mapped[int | None]
    height: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    history: Mapped[list[Any]] = mapped_column(default=list)
    # What the item renders with: the job's values, gaps filled from its style's defaults (issue 13).
    render_settings: Mapped[dict[str, Any] | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Issue 15: storage keys of the exemplar and/or hints that colour this item ({"exemplar_key", "hints_key"}).
    recolor_sources: Mapped[dict[str, Any] | None]

    job: Mapped[Job] = relationship(back_populates="items", lazy="raise")

    def record_event(self, event: str, **data: Any) -> None:
        """Append ``{"at", "event", ...data}`` to ``history``.

        Why a new list: the ORM only notices a JSON column change on assignment, not in-place edits.
        """
        entry = {"at": utcnow().isoformat(), "event": event, **data}
        self.history = [*(self.history or []), entry]
