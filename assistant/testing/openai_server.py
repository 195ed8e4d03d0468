"""A scripted OpenAI-compatible HTTP server for tests and benchmarks.

The server speaks the Chat Completions wire format (``POST /v1/chat/completions``,
plain JSON and ``stream: true`` server-sent events) and ``GET /v1/models``, so the
real ``openai`` SDK and ``langchain_openai.ChatOpenAI`` can be exercised over real
HTTP without a real model. Every turn is scripted with a :class:`ScriptedReply`,
which can also inject faults: HTTP error statuses (with ``Retry-After``), delays
(client timeouts), verbatim garbage bodies and streams cut off mid-way.

Example::

    with ScriptedOpenAIServer([ScriptedReply("Hello!")]) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="test")
        client.chat.completions.create(model="m", messages=[...])
        assert server.requests[0]["messages"] == [...]

When the script runs out, the server answers HTTP 500 with an OpenAI-format error
whose message contains ``"script exhausted"``, so a missing reply fails loudly
instead of hanging.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = [
    "SCRIPT_EXHAUSTED",
    "ScriptedOpenAIServer",
    "ScriptedReply",
    "ScriptedToolCall",
    "error_body",
    "estimate_tokens",
]

logger = logging.getLogger(__name__)

#: Message fragment of the error returned when no scripted reply is left.
SCRIPT_EXHAUSTED = "script exhausted"

_ERROR_TYPES: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", None),
    409: ("invalid_request_error", None),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
}

_CLIENT_GONE = (ConnectionError, TimeoutError)


@dataclass
class ScriptedToolCall:
    """One tool call the scripted model makes.

    ``arguments`` is a dict (serialised as JSON) or a raw string sent verbatim, which
    may be invalid JSON on purpose. ``id`` defaults to ``call_<n>``, unique per server.
    """

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    def arguments_json(self) -> str:
        """Return the arguments as the JSON string that goes on the wire."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False)


@dataclass
class ScriptedReply:
    """One model turn: text and/or tool calls, optionally with an injected fault.

    Faults (``status``, ``raw_body`` and ``truncate_stream`` are mutually exclusive,
    except that ``raw_body`` may carry a ``status``):

    - ``status``: answer with this HTTP status and an OpenAI-format JSON error body.
    - ``retry_after``: seconds for a ``Retry-After`` header (needs ``status``).
    - ``delay_s``: sleep before answering (combinable with anything; use it to
      trigger client timeouts).
    - ``raw_body``: send this text verbatim (status 200 unless ``status`` is set),
      as ``application/json`` or, for streaming requests, ``text/event-stream``.
    - ``truncate_stream``: streaming requests get roughly half the chunks, then the
      connection is dropped without ``[DONE]`` or the closing HTTP chunk; a
      non-streaming request gets half its JSON body before the connection drops.
    - ``drop_connection``: read the request, then close the socket without answering
      (the client sees a connection error, as with a crashed or restarting upstream).
    - ``chunk_delay_s``: sleep between streamed chunks (a slow model; a client read
      timeout shorter than this fires mid-stream).
    """

    content: str | None = None
    tool_calls: list[ScriptedToolCall] = field(default_factory=list)
    status: int | None = None
    retry_after: float | None = None
    delay_s: float = 0.0
    raw_body: str | None = None
    truncate_stream: bool = False
    drop_connection: bool = False
    chunk_delay_s: float = 0.0

    def __post_init__(self) -> None:
        if self.drop_connection and (self.status is not None or self.raw_body is not None or self.truncate_stream):
            raise ValueError("drop_connection cannot be combined with status, raw_body or truncate_stream")
        if not (self.chunk_delay_s >= 0 and math.isfinite(self.chunk_delay_s)):
            raise ValueError(f"chunk_delay_s must be a finite number >= 0, got {self.chunk_delay_s}")
        if self.truncate_stream and (self.status is not None or self.raw_body is not None):
            raise ValueError("truncate_stream cannot be combined with status or raw_body")
        if self.retry_after is not None and self.status is None:
            raise ValueError("retry_after needs a status (e.g. 429)")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code (100-599), got {self.status}")
        if not (self.delay_s >= 0 and math.isfinite(self.delay_s)):
            raise ValueError(f"delay_s must be a finite number >= 0, got {self.delay_s}")


Script = Iterable[ScriptedReply] | Callable[[dict[str, Any]], ScriptedReply]


def estimate_tokens(text: str) -> int:
    """Rough token count used for ``usage``: one token per four characters, rounded up."""
    return math.ceil(len(text) / 4)


def _message_text(message: Any) -> str:
    """Concatenate the text a request message carries (content parts, tool calls)."""
    if not isinstance(message, dict):
        return ""
    parts: list[str] = []
    content = message.get("content")
    if isinstance(content, str):
        parts.append(content)
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
    for call in message.get("tool_calls") or []:
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            parts.append(str(function.get("name") or ""))
            parts.append(str(function.get("arguments") or ""))
    return "".join(parts)


def _prompt_tokens(body: dict[str, Any]) -> int:
    messages = body.get("messages")
    text = "".join(_message_text(m) for m in messages) if isinstance(messages, list) else ""
    if body.get("tools"):
        text += json.dumps(body["tools"])
    return estimate_tokens(text)


def _split_words(text: str) -> list[str]:
    """Split text into word-sized deltas that concatenate back to ``text``."""
    return re.findall(r"\S+\s*|\s+", text)


def _split_even(text: str, parts: int = 4) -> list[str]:
    """Split text into up to ``parts`` roughly equal, non-empty pieces."""
    if not text:
        return []
    size = max(1, math.ceil(len(text) / parts))
    return [text[i : i + size] for i in range(0, len(text), size)]


def error_body(status: int, message: str) -> dict[str, Any]:
    """Return an error body in OpenAI's format for an HTTP status."""
    err_type, code = _ERROR_TYPES.get(status, ("server_error", None))
    return {"error": {"message": message, "type": err_type, "param": None, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    # --- plumbing -------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, add=True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.owner._track(self.connection, add=False)

    def handle(self) -> None:
        with contextlib.suppress(*_CLIENT_GONE):
            super().handle()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        logger.debug("%s - %s", self.address_string(), format % args)

    def _send_bytes(
        self,
        status: int,
        payload: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self._send_bytes(status, json.dumps(body).encode(), headers=headers)

    def _send_error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._send_json(status, error_body(status, message), headers)

    def _path(self) -> str:
        return self.path.split("?", 1)[0].rstrip("/")

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    # --- routes ---------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        """Serve ``/v1/models`` and ``/v1/models/<id>``."""
        owner = self.server.owner
        path = self._path()
        model = {"id": owner.model, "object": "model", "created": 0, "owned_by": "scripted"}
        if path == "/v1/models":
            self._send_json(200, {"object": "list", "data": [model]})
        elif path == f"/v1/models/{owner.model}":
            self._send_json(200, model)
        else:
            self._not_found()

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        """Serve ``/v1/chat/completions``."""
        raw = self._read_body()
        if self._path() != "/v1/chat/completions":
            self._not_found()
            return
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            self._send_error(400, f"We could not parse the JSON body of your request: {exc}")
            return
        if not isinstance(body, dict):
            self._send_error(400, "The request body must be a JSON object.")
            return
        owner = self.server.owner
        headers = {key.lower(): value for key, value in self.headers.items()}
        reply = owner._record_and_next(body, headers)
        if isinstance(reply, str):
            self._send_error(500, reply)
            return
        if reply.delay_s and owner._stopping.wait(reply.delay_s):
            self.close_connection = True
            return
        stream = bool(body.get("stream"))
        if reply.drop_connection:
            self._drop_connection()
            return
        if reply.status is not None or reply.raw_body is not None:
            self._send_fault(reply, stream)
        elif stream:
            self._send_stream(reply, body)
        else:
            self._send_completion(reply, body)

    def do_PUT(self) -> None:  # noqa: N802 - stdlib naming
        """Unknown method/route: 404."""
        self._read_body()
        self._not_found()

    do_DELETE = do_PATCH = do_PUT

    def _not_found(self) -> None:
        self._send_error(404, f"Invalid URL ({self.command} {self.path})")

    # --- replies --------------------------------------------------------------

    def _send_fault(self, reply: ScriptedReply, stream: bool) -> None:
        status = reply.status or 200
        headers: dict[str, str] = {}
        if reply.retry_after is not None:
            headers["Retry-After"] = f"{reply.retry_after:g}"
        if reply.raw_body is not None:
            ctype = "text/event-stream" if stream and status == 200 else "application/json"
            self._send_bytes(status, reply.raw_body.encode(), ctype, headers)
        else:
            message = f"Scripted error {status}"
            with contextlib.suppress(ValueError):
                message += f": {HTTPStatus(status).phrase}"
            self._send_error(status, message, headers)

    def _send_completion(self, reply: ScriptedReply, body: dict[str, Any]) -> None:
        owner = self.server.owner
        tool_calls = owner._resolve_tool_calls(reply)
        message: dict[str, Any] = {
            "role": "assistant",
            "content": reply.content,
            "refusal": None,
            "annotations": [],
        }
        if tool_calls:
            message["tool_calls"] = [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments_json()},
                }
                for call_id, call in tool_calls
            ]
        response = {
            **owner._envelope(body, "chat.completion"),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": "tool_calls" if tool_calls else "stop",
                }
            ],
            "usage": owner._usage(body, reply),
        }
        payload = json.dumps(response).encode()
        if reply.truncate_stream:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self._drop_connection()
            return
        self._send_bytes(200, payload)

    def _send_stream(self, reply: ScriptedReply, body: dict[str, Any]) -> None:
        owner = self.server.owner
        events = list(owner._stream_events(reply, body))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if reply.truncate_stream:
            events = events[: max(1, len(events) // 2)]
        for i, event in enumerate(events):
            if reply.chunk_delay_s and i and owner._stopping.wait(reply.chunk_delay_s):
                self._drop_connection()
                return
            data = f"data: {event}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            if reply.chunk_delay_s:
                self.wfile.flush()
        if reply.truncate_stream:
            self._drop_connection()
            return
        done = b"data: [DONE]\n\n"
        self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done))

    def _drop_connection(self) -> None:
        """Close the socket abruptly, as a crashed upstream would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: ScriptedOpenAIServer) -> None:
        self.owner = owner
        super().__init__(address, _Handler)


class ScriptedOpenAIServer:
    """An OpenAI-compatible HTTP server answering from a script of :class:`ScriptedReply`.

    ``replies`` is either an iterable consumed one reply per chat-completions request,
    or a callable that receives the request body and returns the reply. Use as a
    context manager, or call :meth:`start` / :meth:`stop`.
    """

    def __init__(
        self,
        replies: Script = (),
        model: str = "scripted-model",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.model = model
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._responder: Callable[[dict[str, Any]], ScriptedReply] | None = None
        self._queue: deque[ScriptedReply] = deque()
        if callable(replies):
            self._responder = replies
        else:
            self._queue.extend(replies)
        self._requests: list[dict[str, Any]] = []
        self._request_headers: list[dict[str, str]] = []
        self._call_ids = itertools.count(1)
        self._completion_ids = itertools.count(1)
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- public API -----------------------------------------------------------

    @property
    def base_url(self) -> str:
        """Base URL to hand to clients, e.g. ``http://127.0.0.1:54321/v1``."""
        if self._httpd is None:
            raise RuntimeError("server not started; call start() or use it as a context manager")
        return f"http://{self.host}:{self.port}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every ``/chat/completions`` JSON body received, in order (a snapshot copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def request_headers(self) -> list[dict[str, str]]:
        """Headers (lower-cased names) of each entry in :attr:`requests`, same order."""
        with self._lock:
            return list(self._request_headers)

    @property
    def pending(self) -> int:
        """Number of scripted replies not yet consumed (0 for a callable script)."""
        with self._lock:
            return len(self._queue)

    def add(self, *replies: ScriptedReply) -> None:
        """Append replies to the end of the script."""
        if self._responder is not None:
            raise TypeError("cannot add replies to a server scripted with a callable")
        with self._lock:
            self._queue.extend(replies)

    def start(self) -> ScriptedOpenAIServer:
        """Bind the port (0 = a free one) and serve in a background thread."""
        if self._httpd is not None:
            raise RuntimeError("server already started")
        self._stopping.clear()
        self._httpd = _HTTPServer((self.host, self.port), self)
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"scripted-openai-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, interrupt pending delays and close open connections."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> ScriptedOpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- internals used by the handler ----------------------------------------

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _record_and_next(
        self, body: dict[str, Any], headers: dict[str, str]
    ) -> ScriptedReply | str:
        """Record the request; return the next reply, or an error message."""
        with self._lock:
            self._requests.append(body)
            self._request_headers.append(headers)
            if self._responder is None:
                if self._queue:
                    return self._queue.popleft()
                count = len(self._requests)
                return f"{SCRIPT_EXHAUSTED}: no scripted reply left for request #{count}"
            responder = self._responder
        try:
            reply = responder(body)
        except Exception as exc:  # surfaced to the client as a 500
            logger.exception("scripted responder failed")
            return f"scripted responder raised {type(exc).__name__}: {exc}"
        if not isinstance(reply, ScriptedReply):
            return f"{SCRIPT_EXHAUSTED}: responder returned {type(reply).__name__}"
        return reply

    def _resolve_tool_calls(self, reply: ScriptedReply) -> list[tuple[str, ScriptedToolCall]]:
        with self._lock:
            return [(c.id or f"call_{next(self._call_ids)}", c) for c in reply.tool_calls]

    def _envelope(self, body: dict[str, Any], obj: str) -> dict[str, Any]:
        with self._lock:
            n = next(self._completion_ids)
        model = body.get("model")
        return {
            "id": f"chatcmpl-scripted{n}",
            "object": obj,
            "created": int(time.time()),
            "model": model if isinstance(model, str) and model else self.model,
            "system_fingerprint": "fp_scripted",
        }

    def _usage(self, body: dict[str, Any], reply: ScriptedReply) -> dict[str, int]:
        completion_text = (reply.content or "") + "".join(
            c.name + c.arguments_json() for c in reply.tool_calls
        )
        prompt = _prompt_tokens(body)
        completion = estimate_tokens(completion_text)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def _stream_events(self, reply: ScriptedReply, body: dict[str, Any]) -> Iterator[str]:
        """Yield the JSON text of each ``chat.completion.chunk`` for a streamed reply."""
        envelope = self._envelope(body, "chat.completion.chunk")
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        tool_calls = self._resolve_tool_calls(reply)

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> str:
            data: dict[str, Any] = {
                **envelope,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
                ],
            }
            if include_usage:
                data["usage"] = None
            return json.dumps(data)

        first: dict[str, Any] = {"role": "assistant", "content": "", "refusal": None}
        if reply.content is None and tool_calls:
            first["content"] = None
        yield chunk(first)
        for piece in _split_words(reply.content or ""):
            if piece:
                yield chunk({"content": piece})
        for index, (call_id, call) in enumerate(tool_calls):
            head = {
                "index": index,
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            yield chunk({"tool_calls": [head]})
            for piece in _split_even(call.arguments_json()):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        yield chunk({}, "tool_calls" if tool_calls else "stop")
        if include_usage:
            yield json.dumps({**envelope, "choices": [], "usage": self._usage(body, reply)})
