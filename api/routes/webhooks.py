"""``/v1/webhook-secret``: the key receivers check event signatures with; and sending events the API records.

Why the API records events too: a cancel that settles every item finishes the job in the API's
own transaction, so its ``job.canceled`` event is sent from here once that commits.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Flask
from pydantic import BaseModel, Field
from spectree import Response as Responses
from sqlalchemy.orm import Session

from api.auth.bearer import current_tenant_id
from api.extensions import Database, TaskQueue, db
from api.openapi import spec
from api.schemas import ErrorOut
from shared.webhooks.events import send_after_commit
from shared.webhooks.secrets import rotate_secret, tenant_secret
from shared.webhooks.signing import SIGNATURE_HEADER

bp = Blueprint("webhooks", __name__, url_prefix="/v1/webhook-secret")


class WebhookSecretOut(BaseModel):
    secret: str = Field(description="HMAC-SHA256 key of your webhook signatures; keep it private.")
    header: str = Field(default=SIGNATURE_HEADER, description="The request header that carries the signature.")
    scheme: str = Field(
        default="t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<raw body>'>", description="How the header is built."
    )


def init_app(app: Flask) -> None:
    """Send the deliveries a request's transaction recorded once it commits."""
    send_after_commit(app.extensions[Database.name].session_factory, app.extensions[TaskQueue.name].celery)


def _answer(secret_of: Callable[[Session, str], str]) -> WebhookSecretOut:
    session = db.session
    secret = secret_of(session, current_tenant_id())
    session.commit()
    return WebhookSecretOut(secret=secret)


@bp.get("")
@spec.validate(resp=Responses(HTTP_200=WebhookSecretOut, HTTP_401=ErrorOut), tags=["webhooks"])
def get_secret() -> WebhookSecretOut:
    """Your webhook signing secret (made on first use)."""
    return _answer(tenant_secret)


@bp.post("")
@spec.validate(resp=Responses(HTTP_200=WebhookSecretOut, HTTP_401=ErrorOut), tags=["webhooks"])
def rotate() -> WebhookSecretOut:
    """Replace your webhook signing secret; events from now on are signed with the new one."""
    return _answer(rotate_secret)
