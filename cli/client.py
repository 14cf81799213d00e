"""A small HTTP client for the farm's REST API, used by the ``stylefarm`` client commands.

It speaks only HTTP (requests), so scripts on any machine can drive a remote farm; errors come
back as ``ClientError`` with the server's status and reason. One ``requests.Session`` per thread,
because the batch commands upload and download from a small thread pool and a session is not
documented as thread-safe.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

FINISHED = {"succeeded", "failed", "canceled"}
PAGE_LIMIT = 200  # the API's largest page (api.schemas.Page)
# Reads the farm answers 503 (database or broker busy or away) are tried again, after its Retry-After
# or a growing pause; writes are not (an upload's body is spent, and a job may have been recorded).
READ_RETRIES = Retry(
    total=4, status_forcelist=[503], allowed_methods=["GET", "HEAD"], backoff_factor=0.5,
    respect_retry_after_header=True, raise_on_status=False,
)  # fmt: skip


class ClientError(Exception):
    """The farm refused a request (``status`` 4xx), failed (5xx) or could not be reached (0)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FarmClient:
    """Talks to ``base_url`` (e.g. http://127.0.0.1:8000) with one tenant's API key."""

    def __init__(self, base_url: str, api_key: str | None, timeout_s: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout_s = timeout_s
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        """This thread's session (connection reuse without sharing one session across threads)."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(max_retries=READ_RETRIES)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            if self.api_key:
                session.headers["Authorization"] = f"Bearer {self.api_key}"
            self._local.session = session
        return session

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """``path`` below the farm's address, or a full URL the farm handed out."""
        try:
            url = path if "://" in path else self.base_url + path
            response = self.session.request(method, url, timeout=self.timeout_s, **kwargs)
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

    def _pages(self, path: str, params: dict[str, Any], limit: int | None) -> Iterator[dict[str, Any]]:
        """Items of a paginated list, following ``next_offset`` until ``limit`` items (None: all)."""
        offset, seen = 0, 0
        while limit is None or seen < limit:
            page_limit = PAGE_LIMIT if limit is None else min(PAGE_LIMIT, limit - seen)
            page = self._json("GET", path, params={**params, "limit": page_limit, "offset": offset})
            for item in page["items"]:
                yield item
                seen += 1
            if page.get("next_offset") is None or not page["items"]:
                return
            offset = page["next_offset"]

    def upload(self, path: Path, media: str = "image") -> dict[str, Any]:
        """Send one input file; ``media`` other than image is named in the form's ``kind`` field."""
        data = {"kind": media} if media != "image" else {}
        with path.open("rb") as handle:
            return self._json("POST", "/v1/uploads", files={"file": (path.name, handle)}, data=data)

    def create_job(self, body: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self._json("POST", "/v1/jobs", json=body, headers=headers)

    def job(self, job_id: str) -> dict[str, Any]:
        return self._json("GET", f"/v1/jobs/{job_id}")

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self._json("POST", f"/v1/jobs/{job_id}/cancel")

    def control(self, job_id: str, action: str) -> dict[str, Any]:
        """``pause``, ``resume`` or ``retry`` (failed items) a job; the job after the change."""
        return self._json("POST", f"/v1/jobs/{job_id}/{action}")

    def jobs(self, status: str | None = None, limit: int | None = 50) -> list[dict[str, Any]]:
        """Your jobs, newest first (summaries without items)."""
        return list(self._pages("/v1/jobs", {"status": status} if status else {}, limit))

    def styles(self, query: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Styles you can use (the public built-ins and yours), optionally filtered by name."""
        return list(self._pages("/v1/styles", {"q": query} if query else {}, limit))

    def add_style(self, path: Path, name: str) -> dict[str, Any]:
        with path.open("rb") as handle:
            return self._json("POST", "/v1/styles", files={"file": (path.name, handle)}, data={"name": name})

    def add_network_style(self, path: Path, name: str, **fields: str | int) -> dict[str, Any]:
        """Register a TorchScript or ONNX file as a style; ``fields``: format, value_range, overlap."""
        with path.open("rb") as handle:
            files = {"network": (path.name, handle)}
            return self._json("POST", "/v1/styles/networks", files=files, data={"name": name, **fields})

    def style(self, style_id: str) -> dict[str, Any]:
        return self._json("GET", f"/v1/styles/{style_id}")

    def download(self, url: str, destination: Path) -> Path:
        """Save one output from its item's ``download_url`` (streamed, or a redirect to S3 presigned).

        ``url`` is the API's path (or a full URL). Written to a temporary name first, so an
        interrupted download never leaves a truncated file under the final name.
        """
        response = self._request("GET", url, stream=True)
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(f".{destination.name}.part")
        try:
            with partial.open("wb") as handle:
                for chunk in response.iter_content(1 << 20):
                    handle.write(chunk)
            os.replace(partial, destination)
        except requests.RequestException as exc:
            raise ClientError(0, f"download of {url} broke off: {exc.__class__.__name__}") from None
        finally:
            partial.unlink(missing_ok=True)
        return destination

    def wait_for(
        self,
        fetch: Callable[[], dict[str, Any]],
        done: Callable[[dict[str, Any]], bool],
        on_update: Callable[[dict[str, Any]], None] | None = None,
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """Poll ``fetch`` with a growing delay (0.1 s up to 1 s) until ``done`` says so."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        delay = 0.1
        while True:
            document = fetch()
            if on_update is not None:
                on_update(document)
            if done(document):
                return document
            if deadline is not None and time.monotonic() > deadline:
                raise ClientError(0, f"{document.get('id', '')} did not finish within {timeout_s:.0f} s")
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)

    def wait(
        self, job_id: str, on_update: Callable[[dict[str, Any]], None] | None = None, timeout_s: float | None = None
    ) -> dict[str, Any]:
        """Poll until the job finishes, calling ``on_update`` with each status document."""
        return self.wait_for(lambda: self.job(job_id), lambda job: job["status"] in FINISHED, on_update, timeout_s)

    def wait_style(self, style_id: str, timeout_s: float | None = None) -> dict[str, Any]:
        """Poll until an uploaded style is embedded (``ready``) or ``failed``."""
        return self.wait_for(
            lambda: self.style(style_id), lambda style: style["status"] != "pending", timeout_s=timeout_s
        )
