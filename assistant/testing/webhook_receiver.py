"""A local webhook receiver for tests and benchmarks: records signed requests, can fail on cue.

Example::

    with WebhookReceiver() as hook:
        hook.fail_next(2, status=503)        # the next two requests get 503
        ...                                   # send to hook.url
        assert hook.requests[-1].headers["idempotency-key"] == run_id

``verify(secret)`` recomputes ``X-Mara-Signature`` the way a receiver should.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(slots=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    at: float = field(default_factory=time.time)

    def verify(self, secret: str) -> bool:
        stamp = self.headers.get("x-mara-timestamp", "")
        expected = "v1=" + hmac.new(secret.encode(), stamp.encode() + b"." + self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers.get("x-mara-signature", ""))


class WebhookReceiver:
    """Listens on a free 127.0.0.1 port; ``url`` is where to send."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._fail: list[tuple[int, float]] = []  # (status, delay) for the next requests
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver._cond:
                    status, delay = receiver._fail.pop(0) if receiver._fail else (200, 0.0)
                    got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                                   0 if delay else status)
                    receiver.requests.append(got)  # recorded on arrival
                if delay:  # answered too late: counted as not delivered (status 0)
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:
                    pass
                with receiver._cond:
                    receiver._cond.notify_all()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def fail_next(self, times: int, status: int = 503, delay: float = 0.0) -> None:
        with self._cond:
            self._fail.extend([(status, delay)] * times)

    def ok(self) -> list[Received]:
        with self._cond:
            return [r for r in self.requests if 0 < r.status < 300]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len([r for r in self.requests if 0 < r.status < 300]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"webhook receiver: {len(self.requests)} requests, wanted {count} ok")
                self._cond.wait(left)
            return list(self.requests)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
