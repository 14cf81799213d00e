"""``/metrics``: scraped and parsed as Prometheus would, against rows and queues made for the test.

Rendered-item timings from a real worker are checked in test_result_cache.py (same collector).
"""

from __future__ import annotations

from sqlalchemy import update

from api.extensions import db, task_queue
from shared.db import JobItem, JobStatus
from shared.queue import BULK_QUEUE, RENDER_QUEUE, enqueue_render
from tests.conftest_api import upload
from tests.prometheus_text import parse, sample


def _succeed(app, item_id: str, width: int, height: int, **event: object) -> None:
    """Mark an item succeeded as a worker does (its history's last event carries the timing)."""
    with app.app_context():
        item = db.session.get(JobItem, item_id)
        item.record_event("succeeded", **event)
        db.session.execute(
            update(JobItem)
            .where(JobItem.id == item_id)
            .values(
                status=JobStatus.SUCCEEDED,
                width=width,
                height=height,
                history=item.history,
                cached="cached_from" in event,
            )
        )
        db.session.commit()


def test_the_scrape_counts_jobs_items_queues_and_recent_renders(api_app, api_client, auth_headers, redis_broker):
    ids = [upload(api_client, auth_headers).get_json()["id"] for _ in range(3)]
    job = api_client.post(
        "/v1/jobs", json={"inputs": ids, "styles": [{"style": "builtin:3"}]}, headers=auth_headers
    ).get_json()
    first, second, _third = (item["id"] for item in job["items"])
    _succeed(api_app, first, 2000, 1000, seconds=2.0, device="cuda:0", worker_id="w1@host")
    _succeed(api_app, second, 100, 100, seconds=0.5, cached_from=first)  # reused: not a render
    with api_app.app_context():
        enqueue_render(task_queue.celery, "extra-item", BULK_QUEUE)

    response = api_client.get("/metrics")  # no API key: a scraper has none
    assert response.status_code == 200 and response.mimetype == "text/plain"
    families = parse(response.get_data(as_text=True))

    assert sample(families, "stylefarm_jobs", state="queued") == 1  # no worker ran: the job is still queued
    assert sample(families, "stylefarm_jobs", state="succeeded") == 0
    assert sample(families, "stylefarm_items", state="succeeded") == 2
    assert sample(families, "stylefarm_items", state="queued") == 1
    assert sample(families, "stylefarm_queue_depth", queue=RENDER_QUEUE) == redis_broker.llen(RENDER_QUEUE) == 3
    assert sample(families, "stylefarm_queue_depth", queue=BULK_QUEUE) == 1
    assert families["stylefarm_render_seconds"].type == "histogram"
    assert sample(families, "stylefarm_render_seconds_bucket", le="1.0") == 0
    assert sample(families, "stylefarm_render_seconds_bucket", le="2.5") == 1
    assert sample(families, "stylefarm_render_seconds_bucket", le="+Inf") == 1
    assert sample(families, "stylefarm_render_seconds_count") == 1  # _count/_sum, as dashboards query them
    assert sample(families, "stylefarm_render_seconds_sum") == 2.0
    assert "_gcount" not in response.get_data(as_text=True) and "_gsum" not in response.get_data(as_text=True)
    assert sample(families, "stylefarm_render_megapixels_per_second_bucket", le="0.5") == 0
    assert sample(families, "stylefarm_render_megapixels_per_second_bucket", le="1.0") == 1  # 2 MP in 2 s
    assert sample(families, "stylefarm_worker_device_info", worker="w1@host") == 1
    assert sample(families, "stylefarm_worker_device_info", device="cuda:0") == 1
    assert sample(families, "stylefarm_metrics_source_up", source="database") == 1


def test_the_filesystem_broker_reports_its_queue_depth(make_api_app, tmp_path):
    app = make_api_app(broker_url="filesystem://")
    with app.app_context():
        enqueue_render(task_queue.celery, "item-a", BULK_QUEUE)
        enqueue_render(task_queue.celery, "item-b", BULK_QUEUE)
        enqueue_render(task_queue.celery, "item-c", RENDER_QUEUE)
    families = parse(app.test_client().get("/metrics").get_data(as_text=True))
    assert sample(families, "stylefarm_queue_depth", queue=BULK_QUEUE) == 2
    assert sample(families, "stylefarm_queue_depth", queue=RENDER_QUEUE) == 1


def test_a_database_that_does_not_answer_is_reported_not_raised(make_api_app):
    app = make_api_app(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    families = parse(response.get_data(as_text=True))
    assert sample(families, "stylefarm_metrics_source_up", source="database") == 0
    assert "stylefarm_jobs" not in families
