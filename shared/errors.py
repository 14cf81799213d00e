"""One error family for the whole farm.

Why: the API turns any ``StyleFarmError`` into JSON with one handler, and a worker records the
same ``code`` on the failed item, so callers never parse free-form messages.
"""

from __future__ import annotations

from typing import Any, ClassVar


class StyleFarmError(Exception):
    """Base of every error the farm raises on purpose.

    Args:
        message: what went wrong, phrased for the person who sent the request.
        details: optional JSON-safe context (limits, offending field, key).
    """

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    transient: ClassVar[bool] = False  # True: retrying the same call later may succeed

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        """The JSON body the API sends back (and a worker stores on a failed item)."""
        body: dict[str, Any] = {"error": self.code, "message": self.message, "status": self.status}
        if self.details:
            body["details"] = self.details
        return body


class RenderCanceled(StyleFarmError):
    """The cancellation check said stop: raised between tile batches or bands, by the torch engine and the
    recolour engine alike, so the item executor handles one cancel."""

    status = 409
    code = "canceled"


class BadInputError(StyleFarmError):
    """The request or the uploaded file cannot be processed as sent."""

    status = 400
    code = "bad_input"


class NotFoundError(StyleFarmError):
    """The resource does not exist (or belongs to another tenant: we do not say which)."""

    status = 404
    code = "not_found"


class ConflictError(StyleFarmError):
    """The request clashes with the current state (duplicate name, job already finished)."""

    status = 409
    code = "conflict"


class LimitExceededError(BadInputError):
    """An upload or an image is larger than the configured limits allow (bad input, sent as 413)."""

    status = 413
    code = "limit_exceeded"


class StorageError(StyleFarmError):
    """Object storage failed or is unreachable; worth retrying later."""

    status = 503
    code = "storage_unavailable"
    transient = True
