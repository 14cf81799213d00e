"""The Flask application factory: settings read once, extensions, blueprints, one error handler.

Every error leaves as JSON: ``StyleFarmError`` with its own status, pydantic validation as 422
with the fields at fault, HTTP errors (404, 405, 413) with their status, a database that does not
answer as 503 with Retry-After — a bad request never becomes a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from flask import Flask, Response, jsonify
from pydantic import ValidationError
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from api import openapi, web
from api.auth import bearer, rate_limit
from api.common import DatabaseUnavailableError
from api.extensions import SETTINGS_KEY, db, object_store, task_queue
from api.routes import (
    health,
    job_archive,
    job_events,
    job_inputs,
    job_queue,
    jobs,
    metrics,
    style_networks,
    style_refine,
    style_swatches,
    styles,
    uploads,
    webhooks,
)
from shared.errors import BadInputError, LimitExceededError, StyleFarmError
from shared.settings import Settings, get_settings

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5
# Room for the multipart envelope (boundaries, part headers, the ``kind`` field) around a file of
# exactly ``max_upload_bytes``; the file itself is held to the limit when it is read.
MULTIPART_ENVELOPE_BYTES = 64 * 1024

BLUEPRINTS = (health.bp, openapi.bp, uploads.bp, styles.bp, jobs.bp, job_events.bp, job_archive.bp, web.bp, web.root_bp)
BLUEPRINTS += (webhooks.bp, metrics.bp)
BLUEPRINTS += (style_networks.bp,)
BLUEPRINTS += (job_queue.bp, job_inputs.bp)
BLUEPRINTS += (style_swatches.bp,)
BLUEPRINTS += (style_refine.bp,)


def create_app(config_override: dict[str, Any] | None = None) -> Flask:
    """Build the API.

    Args:
        config_override: settings fields (``database_url``, ``broker_url``, ...) that win over the
            ``STYLEFARM_*`` environment; ``celery_app`` to send tasks through an existing Celery
            app; upper-case keys (``TESTING``) go to Flask's own config.
    """
    overrides = dict(config_override or {})
    celery_app: Celery | None = overrides.pop("celery_app", None)
    flask_config = {key: overrides.pop(key) for key in list(overrides) if key.isupper()}
    settings = get_settings(**overrides)
    if _uses_local_files(settings):
        settings.ensure_directories()

    app = Flask(__name__, static_folder=None)
    app.config.update(
        {SETTINGS_KEY: settings, "MAX_CONTENT_LENGTH": settings.max_upload_bytes + MULTIPART_ENVELOPE_BYTES}
    )
    app.config.update(flask_config)
    app.json.sort_keys = False  # type: ignore[attr-defined]

    db.init_app(app)
    object_store.init_app(app)
    task_queue.init_app(app, celery_app)
    bearer.init_app(app)
    rate_limit.init_app(app)  # after auth: counts only requests with a valid key
    webhooks.init_app(app)
    _register_error_handlers(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    return app


def _uses_local_files(settings: Settings) -> bool:
    """Whether this configuration writes below ``home`` (SQLite, local storage, filesystem broker)."""
    return (
        settings.database_url.startswith("sqlite")
        or settings.storage_backend == "local"
        or settings.broker_url.startswith("filesystem://")
    )


def error_response(error: StyleFarmError) -> Response:
    """The JSON body and headers of ``error`` (Retry-After on transient errors)."""
    response = jsonify(error.to_dict())
    response.status_code = error.status
    response.headers.update(getattr(error, "headers", {}))
    if error.transient:
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(StyleFarmError)
    def _farm_error(error: StyleFarmError) -> Response:
        return error_response(error)

    @app.errorhandler(ValidationError)
    def _invalid_request(error: ValidationError) -> Response:
        fields = [
            {"loc": list(detail["loc"]), "msg": detail["msg"], "type": detail["type"]}
            for detail in error.errors(include_url=False, include_context=False, include_input=False)
        ]
        summary = "; ".join(f"{'.'.join(map(str, f['loc'])) or 'body'}: {f['msg']}" for f in fields)
        response = jsonify(
            {"error": "validation_error", "message": summary, "status": 422, "details": {"errors": fields}}
        )
        response.status_code = 422
        return response

    @app.errorhandler(DataError)
    def _unstorable_value(error: DataError) -> Response:
        # The database refused a value it cannot hold (a NUL character, a string past its column).
        log.info("refused a value the database cannot store: %s", error.orig)
        return error_response(BadInputError("the request holds a value that cannot be stored (e.g. a NUL character)"))

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeoutError)
    def _database_down(error: Exception) -> Response:
        log.warning("database unavailable: %s", error)
        return error_response(DatabaseUnavailableError("the database is not answering; retry later"))

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        if isinstance(error, RequestEntityTooLarge):
            limit = app.config[SETTINGS_KEY].max_upload_bytes
            return error_response(
                LimitExceededError(
                    f"the request body is larger than the upload limit of {limit:,} bytes",
                    details={"max_upload_bytes": limit},
                )
            )
        response = error.get_response()
        code = (error.name or "error").lower().replace(" ", "_")
        body = {"error": code, "message": error.description or error.name, "status": error.code}
        response.data = jsonify(body).get_data()
        response.content_type = "application/json"
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(StyleFarmError("an internal error occurred; it has been logged"))
