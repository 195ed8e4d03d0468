"""The API as clients use it: real uvicorn on 127.0.0.1, real HTTP through httpx."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from api.app import create_app
from api.routes.conversations import to_message
from api.sse import format_sse
from foundation.errors import MaraError, ModelProviderError, WarehouseError, WorkspaceError
from foundation.events import Event
from foundation.settings import MaraSettings
from tests.conftest import build_tiny_warehouse
from tools.audiences import AudienceNotFoundError

# --- helpers ---------------------------------------------------------------------------------


class LiveServer:
    """uvicorn serving an app in a background thread on a free 127.0.0.1 port."""

    def __init__(self, app: FastAPI) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def sse_events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    """Parse a text/event-stream body into (type, data) pairs, checking the frame format."""
    events = []
    for frame in response.text.split("\n\n"):
        if not frame.strip():
            continue
        lines = frame.split("\n")
        assert len(lines) == 2 and lines[0].startswith("event: ") and lines[1].startswith("data: ")
        events.append((lines[0][len("event: ") :], json.loads(lines[1][len("data: ") :])))
    return events


def assert_error(response: httpx.Response, status: int, type_: str) -> dict[str, Any]:
    """The response is Mara's JSON error shape with this status and type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["type"] == type_
    assert isinstance(error["message"], str) and error["message"]
    assert "Traceback" not in response.text
    return error


# --- fixtures: one real server over the tiny workspace, shared by this module -------------------


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory: pytest.TempPathFactory) -> MaraSettings:
    home = tmp_path_factory.mktemp("api") / "ws"
    home.mkdir()
    build_tiny_warehouse(home / "warehouse.duckdb")
    return MaraSettings(home=home, mode="offline", _env_file=None)  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def live(module_settings: MaraSettings) -> Iterator[str]:
    with LiveServer(create_app(module_settings)) as server:
        yield server.url


@pytest.fixture
def client(live: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def customers_turn(live: str) -> dict[str, Any]:
    """One non-streaming 'How many customers' turn, reused by several tests."""
    response = httpx.post(
        f"{live}/v1/chat",
        json={"message": "How many customers do we have?", "stream": False},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


# --- real HTTP against the offline assistant -----------------------------------------------------


@pytest.mark.integration
def test_healthz_reports_the_mode(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "mode": "offline"}


@pytest.mark.integration
def test_chat_without_streaming_returns_the_answer(customers_turn: dict[str, Any]) -> None:
    assert set(customers_turn) == {"reply", "conversation_id", "mode", "tool_calls", "events"}
    assert "**6** customers" in customers_turn["reply"]
    assert customers_turn["mode"] == "offline"
    assert [c["name"] for c in customers_turn["tool_calls"]] == ["query_data"]
    assert customers_turn["conversation_id"]
    assert customers_turn["events"][-1]["type"] == "done"


@pytest.mark.integration
def test_chat_streams_events_in_order_and_follow_ups_keep_context(client: httpx.Client) -> None:
    response = client.post("/v1/chat", json={"message": "How many customers do we have?"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response)
    types = [t for t, _ in events]
    assert (
        types.index("tool_start")
        < types.index("tool_end")
        < types.index("table")
        < types.index("text")
    )
    assert types[-1] == "done" and types.count("done") == 1
    done = events[-1][1]
    assert "**6** customers" in done["reply"]
    assert "".join(d["delta"] for t, d in events if t == "text") == done["reply"]
    conversation_id = done["conversation_id"]
    assert response.headers["x-conversation-id"] == conversation_id

    follow = client.post(
        "/v1/chat", json={"message": "and in Germany?", "conversation_id": conversation_id}
    )
    follow_done = sse_events(follow)[-1][1]
    assert follow_done["conversation_id"] == conversation_id
    assert "**2** customers" in follow_done["reply"]


@pytest.mark.integration
def test_conversation_history(client: httpx.Client, customers_turn: dict[str, Any]) -> None:
    response = client.get(f"/v1/conversations/{customers_turn['conversation_id']}")
    assert response.status_code == 200
    body = response.json()
    assert body["conversation_id"] == customers_turn["conversation_id"]
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant"]
    user, call, tool, answer = body["messages"]
    assert user == {"role": "user", "content": "How many customers do we have?"}
    assert call["tool_calls"][0]["name"] == "query_data"
    assert tool["name"] == "query_data" and tool["tool_call_id"] == call["tool_calls"][0]["id"]
    assert answer["content"] == customers_turn["reply"] and "tool_calls" not in answer

    missing = client.get("/v1/conversations/no-such-conversation")
    assert "no-such-conversation" in assert_error(missing, 404, "not_found")["message"]


@pytest.mark.integration
def test_artifact_csv_download(client: httpx.Client, customers_turn: dict[str, Any]) -> None:
    table = next(e["data"] for e in customers_turn["events"] if e["type"] == "table")
    response = client.get(f"/v1/artifacts/{table['artifact_id']}.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.text.splitlines() == ["customers", "6"]

    assert_error(client.get("/v1/artifacts/0123456789ab.csv"), 404, "not_found")
    assert_error(client.get("/v1/artifacts/..%2F..%2Fwarehouse.csv"), 404, "not_found")


@pytest.mark.integration
@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"message": ""}, "body.message"),
        ({"message": "   \n"}, "body.message"),
        ({"message": "x" * 20_001}, "body.message"),
        ({}, "body.message"),
        ({"message": "hi", "conversation_id": "../etc"}, "body.conversation_id"),
        ({"message": "hi", "stream": "sometimes"}, "body.stream"),
        ({"message": "hi", "temperature": 2}, "body.temperature"),
    ],
)
def test_invalid_chat_requests_get_422_json(
    client: httpx.Client, body: dict[str, Any], where: str
) -> None:
    error = assert_error(client.post("/v1/chat", json=body), 422, "validation_error")
    assert where in error["message"]
    assert error["details"][0]["loc"] == where.split(".")


@pytest.mark.integration
def test_malformed_json_and_unknown_routes_get_json_errors(client: httpx.Client) -> None:
    bad = client.post(
        "/v1/chat", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_error(bad, 422, "validation_error")
    assert "GET /v1/nope" in assert_error(client.get("/v1/nope"), 404, "not_found")["message"]
    assert_error(client.delete("/v1/chat"), 405, "method_not_allowed")


@pytest.mark.integration
def test_web_chat_is_served_without_remote_assets(client: httpx.Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    html = response.text
    assert "<title>" in html and "Mara" in html
    refs = re.findall(r"""<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)""", html, re.I)
    assert refs, "expected the page to load its script and stylesheet"
    assert not [r for r in refs if r.lower().startswith(("http://", "https://", "//"))]
    for asset in ("/static/app.js", "/static/app.css"):
        assert asset in refs
        served = client.get(asset)
        assert served.status_code == 200 and served.content
        assert "http://" not in served.text and "https://" not in served.text
        assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", served.text)


VENDOR_SCRIPTS = ("vega.min.js", "vega-lite.min.js", "vega-interpreter.min.js", "vega-embed.min.js")
#: Hosts the vendored chart libraries mention without loading anything from them: XML
#: namespaces (SVG), the Vega schema id, links in error messages and the (disabled) editor action.
VENDOR_URL_HOSTS = {"", "www.w3.org", "vega.github.io", "github.com"}


@pytest.mark.integration
def test_chart_libraries_are_vendored_and_csp_safe(client: httpx.Client) -> None:
    app_js = client.get("/static/app.js").text
    csp = client.get("/").headers["content-security-policy"]
    assert "unsafe-eval" not in csp and "unsafe-inline" not in csp
    # Vega runs its expressions through the interpreter, not eval, and injects no <style>
    assert "ast: true" in app_js and "vega.expressionInterpreter" in app_js
    assert "defaultStyle: false" in app_js
    for name in VENDOR_SCRIPTS:
        assert f'"{name}"' in app_js
        served = client.get(f"/static/vendor/{name}")
        assert served.status_code == 200, name
        assert "javascript" in served.headers["content-type"]
        assert len(served.content) > 4000
        assert "sourceMappingURL" not in served.text  # no requests for missing .map files
        hosts = {
            m.group(1).lower()
            for m in re.finditer(r"(?:https?:)?//([A-Za-z0-9.-]*)", served.text)
            if m.group(0).startswith("http")
        }
        assert hosts <= VENDOR_URL_HOSTS, (name, hosts - VENDOR_URL_HOSTS)
        assert not re.search(r"\bimport\s*\(|importScripts\(", served.text), name
    notice = client.get("/static/vendor/README.md")
    assert notice.status_code == 200 and "BSD-3-Clause" in notice.text
    assert client.get("/static/vendor/LICENSE").status_code == 200


@pytest.mark.integration
def test_openapi_documents_the_bodies(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for name in (
        "ChatRequest",
        "ChatResponse",
        "ErrorResponse",
        "HealthResponse",
        "ConversationResponse",
    ):
        assert name in schemas
    chat = spec["paths"]["/v1/chat"]["post"]
    assert "text/event-stream" in chat["responses"]["200"]["content"]
    assert "/" not in spec["paths"]
    assert client.get("/docs").status_code == 404  # Swagger UI would load from a CDN


# --- error mapping and streaming behaviour, with a scripted assistant ----------------------------


class ScriptedAssistant:
    """Stands in for :class:`assistant.agent.Assistant`: slow streams and chosen failures."""

    mode = "offline"

    def __init__(
        self, fail: Exception | None = None, steps: int = 200, delay: float = 0.02
    ) -> None:
        self.fail = fail
        self.steps = steps
        self.delay = delay
        self.produced = 0
        self.closed = threading.Event()

    def stream(self, message: str, conversation_id: str | None = None) -> Iterator[Event]:
        try:
            if self.fail is not None:
                raise self.fail
            for i in range(self.steps):
                time.sleep(self.delay)
                self.produced += 1
                yield Event("text", {"delta": f"{i} "})
            yield Event(
                "done",
                {
                    "reply": "",
                    "conversation_id": conversation_id,
                    "mode": self.mode,
                    "tool_calls": [],
                },
            )
        finally:
            self.closed.set()

    def history(self, conversation_id: str) -> list[Any]:
        if self.fail is not None:
            raise self.fail
        return []

    def close(self) -> None:
        """The caller owns it; the app must not close it."""
        raise AssertionError("the app closed an assistant it does not own")


@pytest.fixture
def settings_home(tmp_path: Path) -> MaraSettings:
    return MaraSettings(home=tmp_path, mode="offline", _env_file=None)  # type: ignore[call-arg]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("failure", "status", "type_"),
    [
        (
            MaraError("That request cannot be answered.", hint="Ask about customers."),
            400,
            "mara_error",
        ),
        (WorkspaceError("The workspace at /x is missing."), 503, "workspace_error"),
        (WarehouseError("The warehouse at db:5432 is unreachable."), 503, "warehouse_error"),
        (ModelProviderError("The LLM endpoint failed (APITimeoutError)."), 502, "model_provider_error"),
        (AudienceNotFoundError("No saved audience named 'Nobody'."), 404, "not_found"),
        (RuntimeError("secret internals"), 500, "internal_error"),
    ],
)
def test_failures_map_to_json_errors(
    settings_home: MaraSettings, failure: Exception, status: int, type_: str
) -> None:
    with LiveServer(create_app(settings_home, ScriptedAssistant(fail=failure))) as server:
        chat = httpx.post(f"{server.url}/v1/chat", json={"message": "hi", "stream": False})
        history = httpx.get(f"{server.url}/v1/conversations/abc")
    for response in (chat, history):
        error = assert_error(response, status, type_)
        if status == 500:
            assert "secret internals" not in response.text
        else:
            assert error["message"] == str(failure)


@pytest.mark.integration
def test_streaming_never_blocks_the_server_and_stops_when_the_client_leaves(
    settings_home: MaraSettings,
) -> None:
    scripted = ScriptedAssistant(steps=200, delay=0.02)  # 4 s if nobody stopped it
    with (
        LiveServer(create_app(settings_home, scripted)) as server,
        httpx.Client(base_url=server.url, timeout=10) as c,
    ):
        with c.stream("POST", "/v1/chat", json={"message": "hi"}) as response:
            lines = response.iter_lines()
            assert next(lines) == "event: text"
            started = time.monotonic()
            assert c.get("/healthz").status_code == 200  # the loop serves while the turn runs
            assert time.monotonic() - started < 0.5
        assert scripted.closed.wait(5), "the turn kept running after the client disconnected"
        assert scripted.produced < 150


# --- units ---------------------------------------------------------------------------------


def test_sse_frames_are_single_line_json() -> None:
    frame = format_sse(Event("text", {"delta": "line one\nline two <b>ü</b>"}))
    assert frame == 'event: text\ndata: {"delta":"line one\\nline two <b>ü</b>"}\n\n'.encode()


def test_progress_events_stream_and_validate() -> None:
    """Long tools report progress: an SSE frame, and a valid event of a non-streamed answer."""
    from pydantic import TypeAdapter

    from api.models import ChatEvent

    data = {"name": "predict_churn", "message": "training on 4,000 customers …"}
    assert format_sse(Event("progress", data)).startswith(b"event: progress\ndata: {")
    assert TypeAdapter(ChatEvent).validate_python({"type": "progress", "data": data}).data == data


def test_stored_messages_map_to_api_roles() -> None:
    call = {"id": "c1", "name": "query_data", "args": {"table": "customers"}}
    mapped = [
        to_message(HumanMessage(content="hi")),
        to_message(AIMessage(content="", tool_calls=[call])),
        to_message(ToolMessage(content="6", tool_call_id="c1", name="query_data")),
        to_message(AIMessage(content=[{"type": "text", "text": "**6**"}])),
    ]
    assert [m.role for m in mapped if m] == ["user", "assistant", "tool", "assistant"]
    assert mapped[1] is not None and mapped[1].tool_calls and mapped[1].tool_calls[0].id == "c1"
    assert mapped[3] is not None and mapped[3].content == "**6**"
