"""The API's own request and response models (the job request itself is ``shared.schemas.jobs.JobCreate``).

They are what the OpenAPI document is generated from and what responses are validated against,
so the document cannot drift from what the routes send.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from spectree.model_adapter.pydantic_adapter import BaseFile

from shared.schemas.networks import NetworkFormatName, ValueRangeName
from shared.schemas.render_controls import ItemSettings, StyleDefaults

JobStatusName = Literal["queued", "running", "paused", "succeeded", "failed", "canceled"]
UploadContentType = Literal["image/png", "image/jpeg", "image/webp", "image/tiff"]


class ErrorOut(BaseModel):
    """Every error the API sends: a stable ``error`` code and a message for people."""

    error: str
    message: str
    status: int
    details: dict[str, Any] | None = None


class Page(BaseModel):
    """Offset pagination: ``next_offset`` in a list response is the ``offset`` of the next page."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0)


class PageOut(BaseModel):
    total: int
    limit: int
    offset: int
    next_offset: int | None


# Uploads.


class UploadForm(BaseModel):
    """``multipart/form-data`` with the image in ``file``."""

    file: BaseFile
    kind: Literal["image", "video"] = "image"


class UploadOut(BaseModel):
    id: str
    width: int
    height: int
    bytes: int
    format: str
    frames: int | None = Field(default=None, description="Videos: the number of frames.")


class PresignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content_type: UploadContentType | None = Field(
        default=None, description="If given, the PUT must send exactly this Content-Type."
    )


class PresignOut(BaseModel):
    id: str = Field(description="The upload id to list in a job's inputs once the PUT succeeded.")
    url: str
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str]
    expires_in_s: int


# Styles.


class StyleListQuery(Page):
    q: str | None = Field(default=None, max_length=120, description="Case-insensitive part of the name.")


class StyleForm(BaseModel):
    """``multipart/form-data``: the style image in ``file`` and its ``name``."""

    file: BaseFile
    name: str = Field(min_length=1, max_length=120)


class StylePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=120)
    defaults: StyleDefaults | None = None


class NetworkStyleForm(BaseModel):
    """``multipart/form-data``: a user network file in ``network`` (TorchScript or ONNX), its ``name``
    and how to call it (README, "Bring-your-own networks")."""

    network: BaseFile
    name: str = Field(min_length=1, max_length=120)
    format: NetworkFormatName | None = Field(default=None, description="Recognised from the file when not given.")
    value_range: ValueRangeName = Field(default="0,1", description="Pixel values the network takes and returns.")
    overlap: int | None = Field(default=None, ge=0, le=1024, description="Context pixels around each tile.")


class StyleOut(BaseModel):
    id: str
    name: str
    kind: Literal["builtin", "vector", "network"]
    status: Literal["pending", "ready", "failed"]
    public: bool
    builtin_index: int | None
    defaults: dict[str, Any]
    error: str | None
    thumbnail_url: str | None
    network_format: NetworkFormatName | None = None
    version: int = Field(default=1, description="Refined versions count up from the style they refine.")
    parent_id: str | None = Field(default=None, description="The style this version was refined from.")
    created_at: datetime
    updated_at: datetime


class StyleList(PageOut):
    items: list[StyleOut]


# Jobs.


class JobListQuery(Page):
    status: JobStatusName | None = None


class ProgressOut(BaseModel):
    items_total: int
    items_done: int = Field(description="Items that finished: succeeded, failed or canceled.")
    items_succeeded: int
    items_failed: int
    items_canceled: int
    items_running: int
    tiles_done: int
    tiles_total: int


class OutputOut(BaseModel):
    format: str | None
    bytes: int | None
    width: int | None
    height: int | None


class ItemOut(BaseModel):
    id: str
    position: int
    input_id: str
    style_label: str
    status: JobStatusName
    attempts: int
    tiles_done: int
    tiles_total: int
    error: str | None
    cached: bool = Field(default=False, description="The output was reused from an identical earlier render.")
    role: Literal["render", "segment", "join"] = Field(
        default="render", description="Video jobs: ``segment`` items are intermediate; the ``join`` item is the video."
    )
    group_index: int = Field(default=0, description="Which output of the job the item belongs to.")
    output: OutputOut | None
    download_url: str | None = Field(description="This API's URL of the result (a redirect on S3 storage).")
    started_at: datetime | None
    heartbeat_at: datetime | None = Field(
        default=None, description="When the item's worker last reported (running items: every few seconds)."
    )
    finished_at: datetime | None
    style_name: str = Field(default="", description="The style (or blend, ``a+b``) by its styles' names at submission.")
    input_name: str | None = Field(default=None, description="The input's file name as uploaded.")
    input_url: str | None = Field(default=None, description="This API's URL of the item's input (before/after views).")
    file_name: str | None = Field(
        default=None, description="The name downloads of this output get: ``<input>__<style>.<ext>``."
    )
    render_settings: ItemSettings | None = Field(
        default=None, description="What the item rendered with; ``from_style`` names values its style's defaults gave."
    )


class JobSummaryOut(BaseModel):
    id: str
    kind: str
    status: JobStatusName
    priority: int
    cancel_requested: bool
    error: str | None
    progress: ProgressOut
    params: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    style_names: list[str] = Field(
        default_factory=list, description="The job's styles (or blends) by name, in the order of its items."
    )


class WebhookDeliveryOut(BaseModel):
    id: str = Field(description="The event id (the body's ``id``): the same on every retry.")
    event: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    response_status: int | None
    last_error: str | None
    delivered_at: datetime | None


class JobOut(JobSummaryOut):
    items: list[ItemOut]
    webhooks: list[WebhookDeliveryOut] = Field(default_factory=list, description="Events sent to ``callback_url``.")


class JobList(PageOut):
    items: list[JobSummaryOut]


# Health.


class CheckOut(BaseModel):
    ok: bool
    detail: str | None = None
    duration_ms: float


class ReadyOut(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: dict[str, CheckOut]


class AliveOut(BaseModel):
    status: Literal["alive"]
