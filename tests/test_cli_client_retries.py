"""The client tries a read again when the farm answers 503 (busy or away for a moment), never a write."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from cli.client import ClientError, FarmClient


class Busy(BaseHTTPRequestHandler):
    """Answers 503 (Retry-After: 0) to the first ``busy_for`` requests of each method, then 200."""

    busy_for = 2
    seen: ClassVar[dict[str, int]] = {}

    def _answer(self) -> None:
        count = self.seen[self.command] = self.seen.get(self.command, 0) + 1
        busy = count <= self.busy_for
        body = json.dumps({"message": "the database is not answering; retry later"} if busy else {"id": "j1"})
        self.send_response(503 if busy else 200)
        if busy:
            self.send_header("Retry-After", "0")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = do_POST = _answer

    def log_message(self, *_args: object) -> None:  # quiet
        pass


@pytest.fixture
def busy_server() -> Iterator[str]:
    Busy.seen = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), Busy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_read_is_tried_again_after_503_and_a_write_is_not(busy_server):
    client = FarmClient(busy_server, "key")
    assert client.job("j1") == {"id": "j1"}
    assert Busy.seen["GET"] == 3  # two 503s, then the answer
    with pytest.raises(ClientError) as refused:
        client.cancel("j1")
    assert refused.value.status == 503 and "retry later" in refused.value.message
    assert Busy.seen["POST"] == 1
