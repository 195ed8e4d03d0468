"""A local fake of the Slack Web API for tests: records calls, injects errors and 429s.

Implements the methods Mara's Slack adapter calls — ``auth.test``, ``chat.postMessage``,
``chat.update``, ``views.publish`` (App Home), ``conversations.open`` (the DM with a user is
``D`` + the user id without its ``U``), and the three steps of ``files_upload_v2`` (``files.getUploadURLExternal``,
a raw upload ``POST``, ``files.completeUploadExternal``) — well enough for ``slack_sdk``'s
``WebClient`` pointed at :attr:`FakeSlack.api_url` (``MARA_SLACK_API_URL``).

Example::

    with FakeSlack() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.api_url)
        client.chat_postMessage(channel="C1", text="hi")
        assert slack.calls_to("chat.postMessage")[0].params["text"] == "hi"

Faults: :meth:`fail` makes a method answer ``{"ok": false, "error": ...}``;
:meth:`rate_limit` makes it answer HTTP 429 with ``Retry-After``. Each applies to the next
``times`` calls of that method.

Socket Mode: ``apps.connections.open`` hands out the URL of a local WebSocket server (started
on first use, needs the ``websockets`` package); :meth:`send_envelope` pushes an envelope to
the connected clients, and their acknowledgements land in :attr:`FakeSlack.socket_acks`.
Slash-command ``response_url`` posts to ``{base_url}/response/...`` land in
:attr:`FakeSlack.responses`.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

BOT_USER_ID = "UMARABOT"
BOT_ID = "BMARABOT"
TEAM_ID = "TFAKE"


@dataclass(slots=True)
class SlackCall:
    """One recorded Web API call: method, merged parameters, token, arrival time and answer.

    ``result`` is the JSON answer plus ``"status"`` (the HTTP status); it is filled in before
    waiters of :meth:`FakeSlack.wait_for` are woken.
    """

    method: str
    params: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class _Fault:
    times: int
    error: str | None = None
    retry_after: int | None = None


class FakeSlack:
    """The fake server. Use as a context manager; it listens on a free 127.0.0.1 port."""

    def __init__(self, token: str = "xoxb-test", app_token: str = "xapp-test") -> None:
        self.token = token
        self.app_token = app_token
        self.calls: list[SlackCall] = []
        self.uploads: dict[str, bytes] = {}
        self.socket_acks: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self._sockets: list[Any] = []
        self._ws_server: Any = None
        self._ws_thread: threading.Thread | None = None
        self._envelopes = itertools.count(1)
        self._faults: dict[str, list[_Fault]] = {}
        self._ts = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._cond = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        """The Web API base URL, ending with ``/`` as ``WebClient(base_url=...)`` expects."""
        return f"{self.base_url}/api/"

    # --- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        if self._ws_server is not None:
            self._ws_server.shutdown()
            if self._ws_thread is not None:
                self._ws_thread.join(timeout=5)

    # --- Socket Mode -----------------------------------------------------------------------

    def _socket_url(self) -> str:
        with self._cond:
            if self._ws_server is None:
                # lazy: websockets loads slowly; only this path needs it
                from websockets.sync.server import serve

                self._ws_server = serve(self._socket_session, "127.0.0.1", 0)
                self._ws_thread = threading.Thread(
                    target=self._ws_server.serve_forever, daemon=True
                )
                self._ws_thread.start()
            host, port = self._ws_server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/link"

    def _socket_session(self, connection: Any) -> None:
        connection.send(json.dumps({"type": "hello", "num_connections": 1}))
        with self._cond:
            self._sockets.append(connection)
            self._cond.notify_all()
        try:
            for raw in connection:
                with self._cond:
                    self.socket_acks.append(json.loads(raw))
                    self._cond.notify_all()
        except Exception:  # the client went away
            pass
        finally:
            with self._cond:
                self._sockets.remove(connection)

    def wait_for_socket(self, timeout: float = 15.0) -> None:
        """Block until a Socket Mode client is connected."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._sockets:
                if time.monotonic() > deadline:
                    raise TimeoutError("fake Slack: no Socket Mode client connected")
                self._cond.wait(deadline - time.monotonic())

    def send_envelope(self, payload: dict[str, Any], kind: str = "events_api") -> str:
        """Push a Socket Mode envelope to every connected client; its ``envelope_id``."""
        envelope_id = f"env-{next(self._envelopes)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": False,
            "retry_attempt": 0,
            "retry_reason": "",
        }
        with self._cond:
            sockets = list(self._sockets)
        for connection in sockets:
            connection.send(json.dumps(envelope))
        return envelope_id

    # --- faults and inspection -------------------------------------------------------------

    def fail(self, method: str, error: str = "internal_error", times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer ``{"ok": false, "error": error}``."""
        with self._cond:
            self._faults.setdefault(method, []).append(_Fault(times, error=error))

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer HTTP 429 with ``Retry-After``."""
        with self._cond:
            self._faults.setdefault(method, []).append(_Fault(times, retry_after=retry_after))

    def calls_to(self, method: str) -> list[SlackCall]:
        """The recorded calls of one method, in order (faulted calls included)."""
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def wait_for(
        self, predicate: Callable[[list[SlackCall]], bool], timeout: float = 30.0
    ) -> list[SlackCall]:
        """Block until ``predicate(calls)`` holds; raise ``TimeoutError`` otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(list(self.calls)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [
                        (c.method, c.params.get("channel"), c.result.get("ok")) for c in self.calls
                    ]
                    raise TimeoutError(f"fake Slack: condition not met; calls: {seen}")
                self._cond.wait(remaining)
            return list(self.calls)

    # --- the API ---------------------------------------------------------------------------

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method) or []
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        return fault

    def _answer(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        with self._cond:
            call = SlackCall(method, params, token)
            self.calls.append(call)
            fault = self._take_fault(method)
        status, headers, body = self._respond(method, params, token, fault)
        with self._cond:
            call.result = {"status": status, **body}
            self._cond.notify_all()
        return status, headers, body

    def _respond(
        self, method: str, params: dict[str, Any], token: str | None, fault: _Fault | None
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        if fault is not None and fault.retry_after is not None:
            body = {"ok": False, "error": "ratelimited"}
            return 429, {"Retry-After": str(fault.retry_after)}, body
        if fault is not None:
            return 200, {}, {"ok": False, "error": fault.error}
        expected = self.app_token if method == "apps.connections.open" else self.token
        if token != expected:
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {}, {"ok": False, "error": "unknown_method"}
        return 200, {}, {"ok": True, **handler(params)}

    def _api_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://fake.slack.com/",
            "team": "Fake Team",
            "user": "mara",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
        }

    def _api_apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": self._socket_url()}

    def _api_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        ts = f"{1700000000 + next(self._ts)}.000100"
        message = {"type": "message", "text": params.get("text"), "ts": ts, "bot_id": BOT_ID}
        return {"channel": params.get("channel"), "ts": ts, "message": message}

    def _api_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "channel": params.get("channel"),
            "ts": params.get("ts"),
            "text": params.get("text"),
        }

    def _api_chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"message_ts": f"{1700000000 + next(self._ts)}.000200"}

    def _api_views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        view = json.loads(view) if isinstance(view, str) else (view or {})
        return {"view": {"id": f"V{next(self._ts):08d}", "team_id": TEAM_ID, **view}}

    def _api_conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = str(params.get("users") or "")
        if not users:
            return {"ok": False, "error": "users_not_found"}
        return {"channel": {"id": "D" + users.split(",")[0].lstrip("U")}}

    def _api_files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{next(self._file_ids):08d}"
        return {"upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _api_files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        files = params.get("files")
        listed = json.loads(files) if isinstance(files, str) else (files or [])
        return {"files": [{"id": f.get("id"), "title": f.get("title")} for f in listed]}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_GET(self) -> None:
                self.do_POST()

            def do_POST(self) -> None:
                url = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if url.path.startswith("/upload/"):
                    with fake._cond:
                        fake.uploads[url.path.rsplit("/", 1)[1]] = raw
                        fake._cond.notify_all()
                    self._send(200, {}, b"OK - %d" % len(raw), "text/plain")
                    return
                if url.path.startswith("/response/"):  # slash-command response_url
                    with fake._cond:
                        fake.responses.append(json.loads(raw or b"{}"))
                        fake._cond.notify_all()
                    self._send(200, {}, b"ok", "text/plain")
                    return
                if not url.path.startswith("/api/"):
                    self._send(404, {}, b"not found", "text/plain")
                    return
                params: dict[str, Any] = dict(parse_qsl(url.query))
                kind = self.headers.get("Content-Type") or ""
                if raw and kind.startswith("application/json"):
                    params.update(json.loads(raw))
                elif raw:
                    params.update(parse_qsl(raw.decode("utf-8")))
                auth = self.headers.get("Authorization") or ""
                token = (
                    auth[len("Bearer ") :] if auth.startswith("Bearer ") else params.get("token")
                )
                status, headers, body = fake._answer(url.path[len("/api/") :], params, token)
                self._send(status, headers, json.dumps(body).encode(), "application/json")

            def _send(self, status: int, headers: dict[str, str], body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        return Handler
