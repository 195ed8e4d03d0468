"""The OpenAI-compatible endpoint as OpenAI clients use it: the real ``openai`` SDK over HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from api.app import create_app
from api.openai_compat import ReplyRenderer, render_reply, table_markdown, transcript_hash
from api.runtime import Runtime
from foundation.errors import WarehouseError
from foundation.events import Event
from foundation.settings import MaraSettings
from tests.conftest import build_tiny_warehouse
from tests.test_api import LiveServer

QUESTION = "How many customers do we have?"


def untimed(text: str) -> str:
    """The reply with tool durations blanked (they differ from run to run)."""
    return re.sub(r"\(\d+ ms\)", "(? ms)", text)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("openai") / "ws"
    home.mkdir()
    build_tiny_warehouse(home / "warehouse.duckdb")
    settings = MaraSettings(home=home, mode="offline", _env_file=None)  # type: ignore[call-arg]
    with LiveServer(create_app(settings)) as server:
        yield server.url


@pytest.fixture
def client(live: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{live}/v1", api_key="x", max_retries=0, timeout=30) as c:
        yield c


def user(text: str) -> Any:
    return {"role": "user", "content": text}


@pytest.fixture(scope="module")
def answer(live: str) -> str:
    """One non-streaming answer to QUESTION, reused by several tests."""
    with openai.OpenAI(base_url=f"{live}/v1", api_key="x", max_retries=0, timeout=30) as c:
        completion = c.chat.completions.create(model="mara", messages=[user(QUESTION)])
    content = completion.choices[0].message.content
    assert content is not None
    return content


@pytest.mark.integration
def test_non_streaming_completion(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="mara", messages=[user(QUESTION)])
    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == "mara"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    content = choice.message.content or ""
    assert "**6**" in content
    assert content.startswith("_Used: query_data (")  # tool activity summarized first
    assert "| customers |" in content and "| 6 |" in content  # the result table as Markdown
    assert completion.usage is not None and completion.usage.total_tokens > 0


@pytest.mark.integration
def test_streaming_reassembles_to_the_same_text(client: openai.OpenAI, answer: str) -> None:
    stream = client.chat.completions.create(
        model="mara",
        messages=[user(QUESTION)],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    with_choices = [c for c in chunks if c.choices]
    assert with_choices[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in with_choices][-1] == "stop"
    assert all(c.choices[0].finish_reason is None for c in with_choices[:-1])
    text = "".join(c.choices[0].delta.content or "" for c in with_choices)
    assert untimed(text) == untimed(answer)
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None and last.usage.total_tokens > 0


@pytest.mark.integration
def test_stream_wire_format(live: str) -> None:
    body = {"model": "mara", "messages": [user(QUESTION)], "stream": True}
    with httpx.Client(base_url=live, timeout=30) as http:
        response = http.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-conversation-id"]
    frames = [f for f in response.text.split("\n\n") if f]
    assert all(f.startswith("data: ") and "\n" not in f for f in frames)
    assert frames[-1] == "data: [DONE]"
    chunks = [json.loads(f[len("data: ") :]) for f in frames[:-1]]
    first, final = chunks[0], chunks[-1]
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert final["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }
    assert all(set(c["choices"][0]["delta"]) == {"content"} for c in chunks[1:-1])
    assert all("usage" not in c for c in chunks)  # only with stream_options.include_usage


@pytest.mark.integration
def test_models_list(client: openai.OpenAI) -> None:
    models = client.models.list()
    assert [m.id for m in models.data] == ["mara"]
    assert client.models.retrieve("mara").owned_by == "mara"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


@pytest.mark.integration
def test_resending_history_continues_the_conversation(client: openai.OpenAI, answer: str) -> None:
    history: list[Any] = [user(QUESTION), {"role": "assistant", "content": answer}]
    follow = client.chat.completions.with_raw_response.create(
        model="mara", messages=[*history, user("and in Germany?")]
    )
    content = follow.parse().choices[0].message.content or ""
    assert "**2**" in content
    conversation_id = follow.headers["x-conversation-id"]
    # a third turn, streamed this time, resending the whole history, lands in the same place
    history += [user("and in Germany?"), {"role": "assistant", "content": content}]
    third = client.chat.completions.with_raw_response.create(
        model="mara", messages=[*history, user(QUESTION)], stream=True
    )
    assert third.headers["x-conversation-id"] == conversation_id
    assert "**6**" in "".join(c.choices[0].delta.content or "" for c in third.parse() if c.choices)


@pytest.mark.integration
def test_conversation_header_and_user_field(client: openai.OpenAI, live: str) -> None:
    headers = {"X-Conversation-Id": "crm-team-42"}
    client.chat.completions.create(model="mara", messages=[user(QUESTION)], extra_headers=headers)
    follow = client.chat.completions.create(
        model="mara", messages=[user("and in Germany?")], extra_headers=headers
    )
    assert "**2**" in (follow.choices[0].message.content or "")
    stored = httpx.get(f"{live}/v1/conversations/crm-team-42", timeout=30).json()
    assert [m["content"] for m in stored["messages"] if m["role"] == "user"] == [
        QUESTION,
        "and in Germany?",
    ]

    raw = client.chat.completions.with_raw_response.create(
        model="mara", messages=[user(QUESTION)], user="anna@example.com"
    )
    assert raw.headers["x-conversation-id"].startswith("user-")


@pytest.mark.integration
def test_unknown_model_is_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-4o", messages=[user(QUESTION)])
    assert info.value.code == "model_not_found"
    assert "gpt-4o" in info.value.message


def test_a_mara_error_mid_stream_keeps_its_status_type_and_code(
    client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    def turn_that_fails(*args: Any, **kwargs: Any) -> Iterator[Event]:
        yield Event("text", {"delta": "Counting"})
        raise WarehouseError("The warehouse stopped answering.")  # a 503 unstreamed

    monkeypatch.setattr(Runtime, "turn", turn_that_fails)
    with pytest.raises(openai.APIStatusError) as unstreamed:
        client.chat.completions.create(model="mara", messages=[user(QUESTION)])
    received: list[str] = []
    with pytest.raises(openai.APIError) as streamed:
        for chunk in client.chat.completions.create(
            model="mara", messages=[user(QUESTION)], stream=True
        ):
            received.extend(c.delta.content or "" for c in chunk.choices)
    assert "".join(received) == "Counting"  # the error came after content was sent
    assert unstreamed.value.status_code == 503
    # the in-stream error object is the unstreamed one plus the status the 200 could not carry
    assert streamed.value.body == {**unstreamed.value.body, "status": 503}


def assert_openai_error(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is OpenAI's error shape with this status."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    assert "Traceback" not in response.text
    return dict(error)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "mara", "messages": [{"role": "system", "content": "hi"}]}, "messages"),
        ({"model": "mara", "messages": []}, "messages"),
        ({"model": "mara"}, "messages"),
        ({"messages": [{"role": "user", "content": "hi"}]}, "model"),
        ({"model": "mara", "messages": [{"role": "robot", "content": "hi"}]}, "messages.0.role"),
        ({"model": "mara", "messages": [{"role": "user", "content": " "}]}, "messages.0.content"),
        ({"model": "mara", "messages": [{"role": "user", "content": "hi"}], "n": 2}, "n"),
    ],
)
def test_bad_requests_get_openai_errors(live: str, body: dict[str, Any], param: str) -> None:
    response = httpx.post(f"{live}/v1/chat/completions", json=body, timeout=30)
    error = assert_openai_error(response, 400)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param


@pytest.mark.integration
def test_malformed_json_and_bad_header(live: str, client: openai.OpenAI) -> None:
    bad = httpx.post(
        f"{live}/v1/chat/completions",
        content=b"{not json",
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert assert_openai_error(bad, 400)["code"] == "invalid_json"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="mara", messages=[user(QUESTION)], extra_headers={"X-Conversation-Id": "../x"}
        )


@pytest.mark.integration
def test_openapi_documents_the_bodies(live: str) -> None:
    spec = httpx.get(f"{live}/openapi.json", timeout=30).json()
    schemas = spec["components"]["schemas"]
    for name in ("ChatCompletionRequest", "ChatCompletion", "ModelList", "OpenAIErrorResponse"):
        assert name in schemas
    post = spec["paths"]["/v1/chat/completions"]["post"]
    assert "text/event-stream" in post["responses"]["200"]["content"]
    assert "404" in post["responses"]


# --- units -----------------------------------------------------------------------------------


def test_reply_puts_tools_first_and_tables_after_the_answer() -> None:
    rows = [[f"c{i}", i * 1.5] for i in range(30)]
    events = [
        Event("tool_start", {"id": "1", "name": "query_data", "args": {}}),
        Event("tool_end", {"id": "1", "name": "query_data", "ok": True, "duration_ms": 41.6}),
        Event("tool_end", {"id": "2", "name": "make_chart", "ok": False, "duration_ms": None}),
        Event(
            "table",
            {
                "artifact_id": "abc",
                "columns": ["country", "a|b"],
                "rows": rows,
                "row_count": 30,
                "truncated": False,
            },
        ),
        Event("chart", {"artifact_id": "def", "title": "Revenue", "spec": {}}),
        Event("text", {"delta": "Here "}),
        Event("text", {"delta": "it is."}),
        Event("usage", {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}),
        Event("done", {"reply": "Here it is."}),
    ]
    text, usage = render_reply(events, "http://h")
    assert text.startswith("_Used: query_data (42 ms), make_chart (failed)_\n\nHere it is.\n\n")
    assert "| country | a\\|b |" in text
    assert "| c19 | 28.50 |" in text and "| c20 |" not in text
    assert "_Showing 20 of 30 rows — full table: http://h/v1/artifacts/abc.csv_" in text
    assert text.endswith("_Chart: Revenue (shown in Mara's web chat)_")
    assert usage.total_tokens == 7
    # streaming emits the same pieces one event at a time
    renderer = ReplyRenderer("http://h")
    pieces = [p for e in events for p in renderer.feed(e) if isinstance(p, str)]
    assert "".join(pieces + renderer.finish()) == text


def test_table_markdown_small_table_has_no_footer() -> None:
    table = table_markdown({"columns": ["customers"], "rows": [[6]], "row_count": 1})
    assert table == "| customers |\n| --- |\n| 6 |"


def test_transcript_hash_ignores_surrounding_whitespace() -> None:
    assert transcript_hash([("user", "hi ")]) == transcript_hash([("user", "\nhi")])
    assert transcript_hash([("user", "hi")]) != transcript_hash([("assistant", "hi")])
