"""``/metrics``: the farm's state in Prometheus's text format, read from its sources at each scrape.

Why a collector reading the database and the broker (not counters in this process): the API runs
as several gunicorn processes and the work happens in worker processes, so no one process saw
everything; the database and the broker did. What is exported is farm-wide and tenant-agnostic
(counts, queue lengths, timings; no ids or names of tenants), so the route needs no API key.

- ``stylefarm_jobs{state}``, ``stylefarm_items{state}``: rows by status.
- ``stylefarm_queue_depth{queue}``: messages waiting per Celery queue (Redis ``LLEN``, or the
  filesystem broker's message files).
- ``stylefarm_render_seconds`` and ``stylefarm_render_megapixels_per_second``: histograms over the
  ``metrics_window_items`` most recently rendered items (reused cached outputs excluded), exposed
  as ordinary histograms (``_bucket``, ``_count``, ``_sum``: what dashboards' ``rate()`` and
  ``histogram_quantile()`` queries expect). Gauge histograms would be the stricter type for a window
  that can lose observations, but the text format then names the series ``_gcount``/``_gsum``, which
  no stock dashboard reads; a shrinking window only shows as a counter reset to Prometheus.
- ``stylefarm_worker_device_info{worker,device}``: the device each worker of that window rendered on.
- ``stylefarm_metrics_source_up{source}``: 0 when the database or broker could not be read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import redis
from flask import Blueprint, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from spectree import Response as Responses
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from api.auth.bearer import public
from api.extensions import app_settings, db
from api.openapi import NO_AUTH, describe
from shared.db import Job, JobItem, JobStatus
from shared.queue import QUEUES
from shared.settings import Settings

log = logging.getLogger(__name__)

REGISTRY_KEY = "stylefarm.metrics"
RENDER_SECONDS_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
MEGAPIXELS_PER_SECOND_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 25, 50)

bp = Blueprint("metrics", __name__)


def bucket_counts(values: Sequence[float], bounds: Sequence[float]) -> list[tuple[str, float]]:
    """Cumulative ``(le, count)`` pairs for Prometheus, ending with ``+Inf``."""
    pairs = [(floatToGoString(bound), float(sum(value <= bound for value in values))) for bound in bounds]
    pairs.append(("+Inf", float(len(values))))
    return pairs


def _histogram(name: str, documentation: str, values: Sequence[float], bounds: Sequence[float]) -> Metric:
    return HistogramMetricFamily(name, documentation, buckets=bucket_counts(values, bounds), sum_value=sum(values))


def _succeeded_event(history: Iterable[Any]) -> dict[str, Any] | None:
    """The last ``succeeded`` event of an item's history, if it rendered (not reused a cached output)."""
    for entry in reversed(list(history or [])):
        if isinstance(entry, dict) and entry.get("event") == JobStatus.SUCCEEDED.value:
            return None if entry.get("cached_from") else entry
    return None


def queue_depths(settings: Settings) -> dict[str, int] | None:
    """Messages waiting in each queue, or None for a broker this cannot read."""
    if settings.broker_url.startswith(("redis://", "rediss://")):
        client = redis.Redis.from_url(settings.broker_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            return {queue: int(client.llen(queue)) for queue in QUEUES}
        finally:
            client.close()
    if settings.broker_url.startswith("filesystem://"):
        folder = Path(settings.broker_transport_options()["data_folder_in"])
        names = [path.name for path in folder.iterdir()] if folder.is_dir() else []
        # kombu's filesystem transport names each message "<stamp>_<uuid>.<queue>.msg".
        return {queue: sum(name.endswith(f".{queue}.msg") for name in names) for queue in QUEUES}
    return None


class FarmCollector(Collector):
    """Reads the farm's metrics at each scrape (see the module docstring)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "stylefarm_metrics_source_up", "Whether a source answered this scrape.", labels=["source"]
        )
        try:
            yield from self._database_metrics()
            up.add_metric(["database"], 1)
        except SQLAlchemyError as exc:
            log.warning("metrics: database unavailable: %s", exc)
            up.add_metric(["database"], 0)
        try:
            depths = queue_depths(self.settings)
        except (redis.RedisError, OSError) as exc:
            log.warning("metrics: broker unavailable: %s", exc)
            depths = None
            up.add_metric(["broker"], 0)
        if depths is not None:
            depth = GaugeMetricFamily("stylefarm_queue_depth", "Messages waiting in a queue.", labels=["queue"])
            for queue, count in depths.items():
                depth.add_metric([queue], count)
            up.add_metric(["broker"], 1)
            yield depth
        yield up

    def _database_metrics(self) -> Iterator[Metric]:
        with self.engine.connect() as conn:
            job_counts = dict(conn.execute(select(Job.status, func.count()).group_by(Job.status)).all())
            item_counts = dict(conn.execute(select(JobItem.status, func.count()).group_by(JobItem.status)).all())
            recent = conn.execute(
                select(JobItem.width, JobItem.height, JobItem.history)
                .where(JobItem.status == JobStatus.SUCCEEDED, JobItem.cached.is_(False))
                .order_by(JobItem.finished_at.desc())
                .limit(self.settings.metrics_window_items)
            ).all()
        for name, documentation, counts in (
            ("stylefarm_jobs", "Jobs by state.", job_counts),
            ("stylefarm_items", "Job items by state.", item_counts),
        ):
            family = GaugeMetricFamily(name, documentation, labels=["state"])
            for state in JobStatus:
                family.add_metric([state.value], counts.get(state.value, 0))
            yield family
        seconds: list[float] = []
        speeds: list[float] = []
        devices: dict[str, str] = {}
        for width, height, history in reversed(recent):  # oldest first: the newest device wins
            event = _succeeded_event(history)
            if event is None or not isinstance(event.get("seconds"), int | float) or event["seconds"] <= 0:
                continue
            seconds.append(float(event["seconds"]))
            if width and height:
                speeds.append(width * height / 1e6 / event["seconds"])
            if event.get("device") and event.get("worker_id"):
                devices[str(event["worker_id"])] = str(event["device"])
        yield _histogram(
            "stylefarm_render_seconds", "Seconds to render an item (recent items).", seconds, RENDER_SECONDS_BUCKETS
        )
        yield _histogram(
            "stylefarm_render_megapixels_per_second",
            "Output megapixels per second of rendering (recent items).",
            speeds,
            MEGAPIXELS_PER_SECOND_BUCKETS,
        )
        info = GaugeMetricFamily(
            "stylefarm_worker_device_info",
            "The device a worker rendered its recent items on.",
            labels=["worker", "device"],
        )
        for worker, device in sorted(devices.items()):
            info.add_metric([worker, device], 1)
        yield info


def _registry() -> CollectorRegistry:
    """This app's registry, made on first scrape (several apps in one process keep theirs apart)."""
    registry = current_app.extensions.get(REGISTRY_KEY)
    if registry is None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(FarmCollector(db.engine, app_settings()))
        current_app.extensions[REGISTRY_KEY] = registry
    return registry


@bp.get("/metrics")
@public
@describe(resp=Responses(HTTP_200=None), tags=["operations"], security=NO_AUTH)
def scrape() -> Response:
    """The farm's metrics in Prometheus's text format (no API key: counts and timings only)."""
    return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)
