"""One tenant's resources for isolation tests: what another tenant must never see or touch."""

from __future__ import annotations

import io
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api.extensions import db, object_store
from shared.db import Job, JobItem, JobStatus, Style
from shared.keys import output_key, style_thumbnail_key
from tests.conftest_api import image_bytes, issue_key, upload


@dataclass
class OwnedResources:
    """One tenant's upload, style (with a thumbnail), and finished job with an output."""

    headers: dict[str, str]
    upload_id: str
    style: dict
    job: dict
    item_id: str

    def ids(self) -> dict[str, str]:
        return {"job_id": self.job["id"], "style_id": self.style["id"], "item_id": self.item_id}


def make_owned_resources(app: Flask, client: FlaskClient, tenant: str = "acme") -> OwnedResources:
    """A new key of ``tenant`` with an upload, a style (with a stored thumbnail) and a job whose item
    succeeded with a stored output, all made through the API but the finished state."""
    headers = issue_key(app, tenant)
    upload_id = upload(client, headers).json["id"]
    style = client.post(
        "/v1/styles",
        data={"name": "mine", "file": (io.BytesIO(image_bytes()), "style.png")},
        headers=headers,
        content_type="multipart/form-data",
    ).json
    job = client.post(
        "/v1/jobs", json={"inputs": [upload_id], "styles": [{"style": "builtin:1"}]}, headers=headers
    ).json
    item_id = job["items"][0]["id"]
    with app.app_context():
        session, storage = db.session, object_store.storage
        tenant_id = session.scalar(select(Job.tenant_id).where(Job.id == job["id"]))
        item = session.get(JobItem, item_id)
        item.output_key = output_key(tenant_id, job["id"], 0, item_id, "png")
        item.status, item.output_format = JobStatus.SUCCEEDED, "png"
        storage.put_bytes(item.output_key, image_bytes(32, 32))
        row = session.get(Style, style["id"])
        row.thumbnail_key = style_thumbnail_key(tenant_id, style["id"])
        storage.put_bytes(row.thumbnail_key, image_bytes(16, 16, "JPEG"))
        session.commit()
    return OwnedResources(headers, upload_id, style, job, item_id)
