from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError, InvalidRequestError, StatementError
from sqlalchemy.orm import selectinload

from shared.db import ApiKey, Job, JobItem, JobStatus, Style, Tenant, hash_api_key, utcnow
from shared.db.session import make_engine, normalize_database_url


def add_tenant(session, name: str = "acme") -> Tenant:
    tenant = Tenant(name=name)
    session.add(tenant)
    session.flush()
    return tenant


def test_api_keys_are_stored_hashed(db_session):
    tenant = add_tenant(db_session)
    key, plaintext = ApiKey.issue(tenant.id, label="ci")
    db_session.add(key)
    db_session.commit()

    row = db_session.execute(text("SELECT * FROM api_keys")).mappings().one()
    assert all(plaintext not in str(value) for value in row.values())
    assert row["key_hash"] == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext.startswith(row["prefix"]) and len(row["prefix"]) == 11
    found = db_session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_api_key(plaintext))).one()
    assert found.matches(plaintext) and not found.matches(plaintext + "x")
    found.revoke()
    assert not found.active


def test_relationships_refuse_to_load_lazily(db_session):
    job = Job(tenant_id=add_tenant(db_session).id, kind="image")
    db_session.add(job)
    db_session.commit()
    db_session.expunge_all()
    loaded = db_session.get(Job, job.id)
    with pytest.raises(InvalidRequestError, match="lazy='raise'"):
        _ = loaded.items


def test_job_items_load_eagerly_in_position_order(db_session):
    job = Job(tenant_id=add_tenant(db_session).id, kind="multi_style", params={"styles": ["builtin:3"]})
    job.items = [
        JobItem(position=position, input_key=f"in/{position}.png", style_ref={"builtin": 3}) for position in (2, 0, 1)
    ]
    db_session.add(job)
    db_session.commit()
    db_session.expunge_all()
    loaded = db_session.scalars(select(Job).options(selectinload(Job.items))).one()
    assert [item.position for item in loaded.items] == [0, 1, 2]
    assert loaded.status == JobStatus.QUEUED and loaded.items[0].status == "queued"
    assert loaded.params == {"styles": ["builtin:3"]} and not loaded.cancel_requested


def test_idempotency_keys_are_unique_per_tenant_only(db_session):
    acme, other = add_tenant(db_session, "acme"), add_tenant(db_session, "other")
    db_session.add_all(
        [
            Job(tenant_id=acme.id, kind="image", idempotency_key="req-1"),
            Job(tenant_id=other.id, kind="image", idempotency_key="req-1"),
            Job(tenant_id=acme.id, kind="image"),
            Job(tenant_id=acme.id, kind="image"),  # several jobs without a key are fine
        ]
    )
    db_session.commit()
    db_session.add(Job(tenant_id=acme.id, kind="video", idempotency_key="req-1"))
    with pytest.raises(IntegrityError):
        db_session.commit()


def test_style_names_are_unique_per_tenant_and_among_public_styles(db_session):
    acme, other = add_tenant(db_session, "acme"), add_tenant(db_session, "other")
    db_session.add_all([Style(tenant_id=acme.id, name="ink"), Style(tenant_id=other.id, name="ink")])
    db_session.add(Style(id="builtin:0", name="builtin-00", kind="builtin", builtin_index=0, status="ready"))
    db_session.commit()
    db_session.add(Style(tenant_id=acme.id, name="ink"))
    with pytest.raises(IntegrityError):
        db_session.commit()
    db_session.rollback()
    db_session.add(Style(id="builtin:99", name="builtin-00", kind="builtin", builtin_index=1, status="ready"))
    with pytest.raises(IntegrityError):
        db_session.commit()


@pytest.mark.parametrize(
    "bad_style",
    [
        {"kind": "builtin", "builtin_index": 26},
        {"kind": "builtin", "builtin_index": None},
        {"kind": "vector", "builtin_index": 3},
        {"kind": "photo"},
        {"status": "done"},
    ],
)
def test_check_constraints_reject_inconsistent_styles(db_session, bad_style):
    db_session.add(Style(name="bad", **bad_style))
    with pytest.raises(IntegrityError, match="ck_styles_"):
        db_session.commit()


def test_check_constraints_reject_unknown_job_states_and_impossible_progress(db_session):
    tenant = add_tenant(db_session)
    db_session.add(Job(tenant_id=tenant.id, kind="image", status="lost"))
    with pytest.raises(IntegrityError, match="ck_jobs_status"):
        db_session.commit()
    db_session.rollback()
    job = Job(tenant_id=add_tenant(db_session).id, kind="image")
    job.items = [JobItem(input_key="in.png", tiles_done=5, tiles_total=4)]
    db_session.add(job)
    with pytest.raises(IntegrityError, match="ck_job_items_tiles"):
        db_session.commit()


def test_style_vector_must_be_100_finite_numbers():
    style = Style(name="mine", vector=[0.5] * 100)
    assert style.vector == [0.5] * 100
    for bad in ([0.5] * 99, [float("nan")] * 100):
        with pytest.raises(ValueError, match="100 finite numbers"):
            style.vector = bad


def test_timestamps_are_set_and_come_back_timezone_aware_utc(db_session):
    tenant = add_tenant(db_session)
    heartbeat = datetime(2026, 11, 21, 23, 30, tzinfo=timezone(timedelta(hours=2)))
    job = Job(tenant_id=tenant.id, kind="image")
    job.items = [JobItem(input_key="in.png", heartbeat_at=heartbeat)]
    db_session.add(job)
    db_session.commit()
    db_session.expunge_all()
    item = db_session.scalars(select(JobItem)).one()
    assert item.heartbeat_at == heartbeat and item.heartbeat_at.tzinfo == UTC
    assert item.heartbeat_at.hour == 21
    assert abs(item.created_at - utcnow()) < timedelta(minutes=1)


def test_naive_timestamps_are_refused(db_session):
    db_session.add(Job(tenant_id=add_tenant(db_session).id, kind="image", started_at=datetime(2026, 1, 1)))
    with pytest.raises(StatementError, match="timezone-aware"):
        db_session.commit()


def test_record_event_appends_to_history_and_is_persisted(db_session):
    job = Job(tenant_id=add_tenant(db_session).id, kind="image")
    job.items = [JobItem(input_key="in.png")]
    db_session.add(job)
    db_session.commit()
    item = job.items[0]
    item.record_event("started", worker_id="w1")
    db_session.commit()
    item.record_event("tile", done=1, total=4)
    db_session.commit()
    db_session.expunge_all()
    history = db_session.get(JobItem, item.id).history
    assert [event["event"] for event in history] == ["started", "tile"]
    assert history[1]["done"] == 1 and history[0]["worker_id"] == "w1"


def test_deleting_a_tenant_in_sql_cascades_to_its_keys_jobs_and_items(db_session):
    tenant = add_tenant(db_session)
    key, _ = ApiKey.issue(tenant.id)
    job = Job(tenant_id=tenant.id, kind="image")
    job.items = [JobItem(input_key="in.png")]
    db_session.add_all([key, job, Style(tenant_id=tenant.id, name="ink")])
    db_session.commit()
    db_session.execute(delete(Tenant).where(Tenant.id == tenant.id))
    db_session.commit()
    for model in (ApiKey, Job, JobItem, Style):
        assert db_session.scalar(select(func.count()).select_from(model)) == 0


def test_sqlite_engine_enables_wal_and_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/new/farm.db")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_postgres_urls_use_the_psycopg_3_driver():
    assert normalize_database_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_database_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_database_url("sqlite:///x.db").drivername == "sqlite"
