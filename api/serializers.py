"""Rows to response models: what a client sees of a style, a job and its items."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from api.schemas import ItemOut, JobOut, JobSummaryOut, OutputOut, ProgressOut, StyleOut, WebhookDeliveryOut
from shared.db import ItemRole, Job, JobItem, JobStatus, Style, Upload
from shared.db.webhooks import WebhookDelivery
from shared.output_names import output_file_name, style_display_name
from shared.webhooks.events import delivery_summary


def style_out(style: Style) -> StyleOut:
    thumbnail_url = url_for("styles.get_thumbnail", style_id=style.id) if style.thumbnail_key else None
    return StyleOut(
        id=style.id,
        name=style.name,
        kind=style.kind,
        status=style.status,
        public=style.tenant_id is None,
        builtin_index=style.builtin_index,
        defaults=style.defaults or {},
        error=style.error,
        thumbnail_url=thumbnail_url,
        network_format=style.network_format,
        version=style.version or 1,
        parent_id=style.parent_id,
        created_at=style.created_at,
        updated_at=style.updated_at,
    )


@dataclass
class _Tally:
    """Item counts by status and tile sums of one job."""

    by_status: dict[str, int]
    tiles_done: int = 0
    tiles_total: int = 0

    def add(self, status: str, count: int, tiles_done: int, tiles_total: int) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + count
        self.tiles_done += tiles_done
        self.tiles_total += tiles_total

    def progress(self) -> ProgressOut:
        counts = self.by_status
        finished = sum(counts.get(status, 0) for status in JobStatus if status.finished)
        return ProgressOut(
            items_total=sum(counts.values()),
            items_done=finished,
            items_succeeded=counts.get(JobStatus.SUCCEEDED, 0),
            items_failed=counts.get(JobStatus.FAILED, 0),
            items_canceled=counts.get(JobStatus.CANCELED, 0),
            items_running=counts.get(JobStatus.RUNNING, 0),
            tiles_done=self.tiles_done,
            tiles_total=self.tiles_total,
        )


def _summary_fields(job: Job, progress: ProgressOut, style_names: list[str] | None = None) -> dict[str, object]:
    return {
        "style_names": style_names or [],
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "priority": job.priority,
        "cancel_requested": job.cancel_requested,
        "error": job.error,
        "progress": progress,
        "params": job.params,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def job_summaries(session: Session, jobs: Iterable[Job]) -> list[JobSummaryOut]:
    """Jobs with their progress, counted for the whole page in one grouped query."""
    jobs = list(jobs)
    tallies = {job.id: _Tally({}) for job in jobs}
    if jobs:
        rows = session.execute(
            select(
                JobItem.job_id,
                JobItem.status,
                func.count(),
                func.coalesce(func.sum(JobItem.tiles_done), 0),
                func.coalesce(func.sum(JobItem.tiles_total), 0),
            )
            .where(JobItem.job_id.in_(tallies))
            .group_by(JobItem.job_id, JobItem.status)
        )
        for job_id, status, count, tiles_done, tiles_total in rows:
            tallies[job_id].add(status, int(count), int(tiles_done), int(tiles_total))
    names = _style_names_by_job(session, list(tallies))
    return [JobSummaryOut(**_summary_fields(job, tallies[job.id].progress(), names.get(job.id))) for job in jobs]


def _style_names_by_job(session: Session, job_ids: list[str]) -> dict[str, list[str]]:
    """Each job's distinct style names (one query for the page; items keep them in ``style_ref``)."""
    names: dict[str, list[str]] = {job_id: [] for job_id in job_ids}
    if not job_ids:
        return names
    name, label = JobItem.style_ref["name"].as_string(), JobItem.style_ref["label"].as_string()
    first = func.min(JobItem.position)
    rows = session.execute(  # only the two strings of each ref, grouped: not the copied style vectors
        select(JobItem.job_id, name, label, first)
        .where(JobItem.job_id.in_(job_ids), JobItem.role != ItemRole.SEGMENT)
        .group_by(JobItem.job_id, name, label)
        .order_by(JobItem.job_id, first)
    )
    for job_id, style_name, style_label, _position in rows:
        name = style_display_name({"name": style_name, "label": style_label})
        if name not in names[job_id]:
            names[job_id].append(name)
    return names


def input_names(session: Session | None, items: Iterable[JobItem]) -> dict[str, str]:
    """The client's file name of each input key among ``items`` that has an upload record."""
    keys = {item.input_key for item in items}
    if session is None or not keys:
        return {}
    rows = session.execute(select(Upload.storage_key, Upload.filename).where(Upload.storage_key.in_(keys)))
    return {key: filename for key, filename in rows if filename}


def item_out(item: JobItem, input_name: str | None = None) -> ItemOut:
    has_result = item.status == JobStatus.SUCCEEDED and item.output_key is not None
    style_name = style_display_name(item.style_ref)
    input_id = item.input_key.rsplit("/", 1)[-1]
    return ItemOut(
        id=item.id,
        position=item.position,
        input_id=input_id,
        style_label=str((item.style_ref or {}).get("label", "")),
        status=item.status,
        attempts=item.attempts,
        tiles_done=item.tiles_done,
        tiles_total=item.tiles_total,
        error=item.error,
        cached=item.cached,
        role=item.role,
        group_index=item.group_index,
        output=(
            OutputOut(format=item.output_format, bytes=item.output_bytes, width=item.width, height=item.height)
            if has_result
            else None
        ),
        download_url=url_for("jobs.get_result", job_id=item.job_id, item_id=item.id) if has_result else None,
        started_at=item.started_at,
        heartbeat_at=item.heartbeat_at,
        finished_at=item.finished_at,
        style_name=style_name,
        input_name=input_name,
        input_url=url_for("job_inputs.get_input", job_id=item.job_id, item_id=item.id),
        file_name=output_file_name(input_name or input_id, style_name, item.output_format) if has_result else None,
        render_settings=item.render_settings,
    )


def job_out(job: Job, items: list[JobItem]) -> JobOut:
    """A job with every item (``items`` are passed in: relationships never load lazily)."""
    tally = _Tally({})
    for item in items:
        tally.add(item.status, 1, item.tiles_done, item.tiles_total)
    names = input_names(object_session(job), items)
    styles = list(dict.fromkeys(style_display_name(item.style_ref) for item in items if item.role != ItemRole.SEGMENT))
    return JobOut(
        **_summary_fields(job, tally.progress(), styles),
        items=[item_out(item, names.get(item.input_key)) for item in items],
        webhooks=job_deliveries(job),
    )


def job_deliveries(job: Job) -> list[WebhookDeliveryOut]:
    """The webhook events of a job that has a callback URL (no query for the others)."""
    session = object_session(job)
    if not job.callback_url or session is None:
        return []
    rows = session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.job_id == job.id).order_by(WebhookDelivery.created_at)
    )
    return [WebhookDeliveryOut(**delivery_summary(row)) for row in rows]
