"""A small HTTP client for the farm's REST API, used by the ``stylefarm`` client commands.

It speaks only HTTP (requests), so scripts on any machine can drive a remote farm; errors come
back as ``ClientError`` with the server's status and reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

FINISHED = {"succeeded", "failed", "canceled"}


class ClientError(Exception):
    """The farm refused a request or could not be reached."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FarmClient:
    """Talks to ``base_url`` (e.g. http://127.0.0.1:8000) with one tenant's API key."""

    def __init__(self, base_url: str, api_key: str | None, timeout_s: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"
        self.timeout_s = timeout_s

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            response = self.session.request(method, self.base_url + path, timeout=self.timeout_s, **kwargs)
        except requests.RequestException as exc:
            raise ClientError(0, f"cannot reach the farm at {self.base_url}: {exc.__class__.__name__}") from None
        if response.status_code >= 400:
            try:
                body = response.json()
                message = body.get("message") or body.get("error") or response.text
            except ValueError:
                message = response.text or response.reason
            raise ClientError(response.status_code, f"{response.status_code}: {message}")
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(method, path, **kwargs).json()

    def upload(self, path: Path) -> dict[str, Any]:
        with path.open("rb") as handle:
            return self._json("POST", "/v1/uploads", files={"file": (path.name, handle)})

    def create_job(self, body: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self._json("POST", "/v1/jobs", json=body, headers=headers)

    def job(self, job_id: str) -> dict[str, Any]:
        return self._json("GET", f"/v1/jobs/{job_id}")

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self._json("POST", f"/v1/jobs/{job_id}/cancel")

    def jobs(self, status: str | None = None) -> dict[str, Any]:
        return self._json("GET", "/v1/jobs", params={"status": status} if status else {})

    def styles(self, query: str | None = None) -> dict[str, Any]:
        return self._json("GET", "/v1/styles", params={"q": query} if query else {})

    def add_style(self, path: Path, name: str) -> dict[str, Any]:
        with path.open("rb") as handle:
            return self._json("POST", "/v1/styles", files={"file": (path.name, handle)}, data={"name": name})

    def style(self, style_id: str) -> dict[str, Any]:
        return self._json("GET", f"/v1/styles/{style_id}")

    def download(self, job_id: str, item_id: str, destination: Path) -> Path:
        """Save one item's output (follows a presigned redirect when the store is S3)."""
        response = self._request("GET", f"/v1/jobs/{job_id}/items/{item_id}/result", stream=True)
        destination.parent.mkdir(parents=True, exist_ok=True)
        with destination.open("wb") as handle:
            for chunk in response.iter_content(1 << 20):
                handle.write(chunk)
        return destination

    def wait(
        self, job_id: str, on_update: Callable[[dict[str, Any]], None] | None = None, timeout_s: float | None = None
    ) -> dict[str, Any]:
        """Poll until the job finishes, calling ``on_update`` with each status document."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        delay = 0.1
        while True:
            job = self.job(job_id)
            if on_update is not None:
                on_update(job)
            if job["status"] in FINISHED:
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise ClientError(0, f"job {job_id} did not finish within {timeout_s:.0f} s")
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)
