"""The scripted OpenAI-compatible server, driven by the real openai SDK and ChatOpenAI."""

from __future__ import annotations

import asyncio
import functools
import json
import operator
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from assistant.testing import (
    SCRIPT_EXHAUSTED,
    ScriptedOpenAIServer,
    ScriptedReply,
    ScriptedToolCall,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(30)]

MESSAGES: list[Any] = [
    {"role": "system", "content": "You are Mara."},
    {"role": "user", "content": "Who are our at-risk customers in Germany?"},
]
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "find_segment",
            "description": "Find customers in a segment.",
            "parameters": {
                "type": "object",
                "properties": {"segment": {"type": "string"}, "country": {"type": "string"}},
                "required": ["segment"],
            },
        },
    }
]


@pytest.fixture
def server() -> Iterator[ScriptedOpenAIServer]:
    with ScriptedOpenAIServer() as srv:
        yield srv


def make_client(srv: ScriptedOpenAIServer, **kwargs: Any) -> openai.OpenAI:
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", 5.0)
    return openai.OpenAI(base_url=srv.base_url, api_key="test", **kwargs)


# --- openai SDK: happy paths ---------------------------------------------------------


def test_plain_text_reply(server: ScriptedOpenAIServer) -> None:
    server.add(ScriptedReply("There are 42 at-risk customers in Germany."))
    resp = make_client(server).chat.completions.create(model="scripted-model", messages=MESSAGES)

    assert resp.object == "chat.completion"
    choice = resp.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "There are 42 at-risk customers in Germany."
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    assert resp.usage is not None
    assert resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens

    assert server.requests == [{"model": "scripted-model", "messages": MESSAGES}]
    assert server.request_headers[0]["authorization"] == "Bearer test"
    assert server.pending == 0


def test_tool_call_reply_with_parsed_arguments(server: ScriptedOpenAIServer) -> None:
    server.add(
        ScriptedReply(
            tool_calls=[
                ScriptedToolCall("find_segment", {"segment": "at_risk", "country": "DE"}),
                ScriptedToolCall("find_segment", '{"segment": "vip"}', id="call_custom"),
            ]
        )
    )
    resp = make_client(server).chat.completions.create(
        model="scripted-model", messages=MESSAGES, tools=TOOLS
    )

    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls or []
    assert [c.id for c in calls] == ["call_1", "call_custom"]
    assert all(c.type == "function" for c in calls)
    functions = [c.function for c in calls if c.type == "function"]
    assert [f.name for f in functions] == ["find_segment", "find_segment"]
    assert json.loads(functions[0].arguments) == {"segment": "at_risk", "country": "DE"}
    assert json.loads(functions[1].arguments) == {"segment": "vip"}
    assert server.requests[0]["tools"] == TOOLS


def test_streamed_text_reassembled_from_deltas(server: ScriptedOpenAIServer) -> None:
    text = "Here are three SMS variants for the autumn offer."
    server.add(ScriptedReply(text))
    stream = make_client(server).chat.completions.create(
        model="scripted-model", messages=MESSAGES, stream=True
    )
    chunks = list(stream)

    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    contents = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert len(contents) > 3
    assert "".join(contents) == text
    assert [c.choices[0].finish_reason for c in chunks][-1] == "stop"
    assert all(c.usage is None for c in chunks)
    assert server.requests[0]["stream"] is True


def test_streamed_tool_calls_reassembled(server: ScriptedOpenAIServer) -> None:
    args0 = {"segment": "at_risk", "country": "DE", "limit": 100}
    server.add(
        ScriptedReply(
            content="Looking that up.",
            tool_calls=[ScriptedToolCall("find_segment", args0), ScriptedToolCall("kb_search")],
        )
    )
    stream = make_client(server).chat.completions.create(
        model="scripted-model", messages=MESSAGES, tools=TOOLS, stream=True
    )

    calls: dict[int, dict[str, Any]] = {}
    arg_chunks: dict[int, int] = {}
    content = ""
    finish = None
    for chunk in stream:
        delta = chunk.choices[0].delta
        content += delta.content or ""
        finish = chunk.choices[0].finish_reason or finish
        for tc in delta.tool_calls or []:
            entry = calls.setdefault(tc.index, {"id": None, "name": None, "arguments": ""})
            if tc.id:
                assert entry["id"] is None and tc.type == "function"
                entry["id"] = tc.id
            if tc.function and tc.function.name:
                assert entry["arguments"] == ""  # the name comes before any argument text
                entry["name"] = tc.function.name
            if tc.function and tc.function.arguments:
                entry["arguments"] += tc.function.arguments
                arg_chunks[tc.index] = arg_chunks.get(tc.index, 0) + 1

    assert content == "Looking that up."
    assert finish == "tool_calls"
    assert calls[0]["id"] == "call_1" and calls[1]["id"] == "call_2"
    assert calls[0]["name"] == "find_segment" and calls[1]["name"] == "kb_search"
    assert json.loads(calls[0]["arguments"]) == args0
    assert json.loads(calls[1]["arguments"]) == {}
    assert arg_chunks[0] > 1  # arguments split across several chunks


def test_streaming_usage_with_include_usage(server: ScriptedOpenAIServer) -> None:
    server.add(ScriptedReply("Done."))
    chunks = list(
        make_client(server).chat.completions.create(
            model="scripted-model",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.prompt_tokens > 0 and last.usage.completion_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-2].choices[0].finish_reason == "stop"


# --- openai SDK: faults --------------------------------------------------------------


def test_server_error_and_rate_limit(server: ScriptedOpenAIServer) -> None:
    server.add(ScriptedReply(status=500), ScriptedReply(status=429, retry_after=7))
    client = make_client(server)

    with pytest.raises(openai.InternalServerError) as err500:
        client.chat.completions.create(model="scripted-model", messages=MESSAGES)
    assert err500.value.status_code == 500
    assert isinstance(err500.value.body, dict) and err500.value.body["type"] == "server_error"

    with pytest.raises(openai.RateLimitError) as err429:
        client.chat.completions.create(model="scripted-model", messages=MESSAGES)
    assert err429.value.response.headers["retry-after"] == "7"
    assert err429.value.code == "rate_limit_exceeded"
    assert len(server.requests) == 2


def test_sdk_retries_after_retry_after(server: ScriptedOpenAIServer) -> None:
    server.add(ScriptedReply(status=429, retry_after=0.05), ScriptedReply("ok"))
    resp = make_client(server, max_retries=1).chat.completions.create(
        model="scripted-model", messages=MESSAGES
    )
    assert resp.choices[0].message.content == "ok"
    assert [h["x-stainless-retry-count"] for h in server.request_headers] == ["0", "1"]


def test_garbage_body_raises(server: ScriptedOpenAIServer) -> None:
    server.add(ScriptedReply(raw_body='{"id": "chatcmpl-1", "choices": [{"mess'))
    with pytest.raises((json.JSONDecodeError, openai.APIResponseValidationError)):
        make_client(server).chat.completions.create(model="scripted-model", messages=MESSAGES)


def test_garbage_stream_event_raises(server: ScriptedOpenAIServer) -> None:
    server.add(ScriptedReply(raw_body="data: {not json\n\n"))
    stream = make_client(server).chat.completions.create(
        model="scripted-model", messages=MESSAGES, stream=True
    )
    with pytest.raises(json.JSONDecodeError):
        list(stream)


def test_delay_beyond_client_timeout(server: ScriptedOpenAIServer) -> None:
    server.add(ScriptedReply("too late", delay_s=5.0))
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        make_client(server, timeout=0.2).chat.completions.create(
            model="scripted-model", messages=MESSAGES
        )
    assert time.monotonic() - started < 2.0


def test_truncated_stream_is_a_connection_error(server: ScriptedOpenAIServer) -> None:
    server.add(ScriptedReply("one two three four five six seven eight", truncate_stream=True))
    stream = make_client(server).chat.completions.create(
        model="scripted-model", messages=MESSAGES, stream=True
    )
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) != "one two three four five six seven eight"


def test_exhausted_script_fails_loudly(server: ScriptedOpenAIServer) -> None:
    server.add(ScriptedReply("only one"))
    client = make_client(server)
    client.chat.completions.create(model="scripted-model", messages=MESSAGES)
    with pytest.raises(openai.InternalServerError, match=SCRIPT_EXHAUSTED):
        client.chat.completions.create(model="scripted-model", messages=MESSAGES)
    assert len(server.requests) == 2


def test_callable_script_sees_request() -> None:
    def respond(body: dict[str, Any]) -> ScriptedReply:
        return ScriptedReply(f"echo: {body['messages'][-1]['content']}")

    with ScriptedOpenAIServer(respond) as srv:
        client = make_client(srv)
        for word in ("a", "b"):
            resp = client.chat.completions.create(
                model="scripted-model", messages=[{"role": "user", "content": word}]
            )
            assert resp.choices[0].message.content == f"echo: {word}"
        with pytest.raises(TypeError):
            srv.add(ScriptedReply("x"))


# --- routes, lifecycle, async ------------------------------------------------------------


def test_models_route_and_unknown_route(server: ScriptedOpenAIServer) -> None:
    models = make_client(server).models.list()
    assert [m.id for m in models.data] == ["scripted-model"]

    resp = httpx.post(f"{server.base_url}/embeddings", json={"input": "x"})
    assert resp.status_code == 404
    assert resp.json()["error"]["type"] == "invalid_request_error"
    assert httpx.get(f"{server.base_url}/nope").status_code == 404
    bad = httpx.post(f"{server.base_url}/chat/completions", content=b"{nope")
    assert bad.status_code == 400 and "error" in bad.json()
    assert server.requests == []


def test_stop_interrupts_delays_and_frees_port() -> None:
    srv = ScriptedOpenAIServer([ScriptedReply("slow", delay_s=30)]).start()
    port = srv.port
    assert port > 0 and srv.base_url == f"http://127.0.0.1:{port}/v1"
    client = make_client(srv, timeout=0.1)
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="scripted-model", messages=MESSAGES)
    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < 2.0
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        pass
    srv.stop()  # idempotent


def test_async_client_streams(server: ScriptedOpenAIServer) -> None:
    server.add(ScriptedReply("async hello world"))

    async def run() -> str:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        stream = await client.chat.completions.create(
            model="scripted-model", messages=MESSAGES, stream=True
        )
        text = ""
        async for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
        await client.close()
        return text

    assert asyncio.run(run()) == "async hello world"


def test_reply_validation() -> None:
    with pytest.raises(ValueError):
        ScriptedReply(retry_after=1.0)
    with pytest.raises(ValueError):
        ScriptedReply(status=500, truncate_stream=True)
    with pytest.raises(ValueError):
        ScriptedReply(delay_s=-1)


# --- langchain_openai.ChatOpenAI ---------------------------------------------------------


def find_segment(segment: str, country: str | None = None) -> str:
    """Find customers in a marketing segment, optionally in one country."""
    return f"{segment}:{country}"


def make_llm(srv: ScriptedOpenAIServer, **kwargs: Any) -> ChatOpenAI:
    return ChatOpenAI(
        base_url=srv.base_url,
        api_key=SecretStr("test"),
        model="scripted-model",
        max_retries=0,
        **kwargs,
    )


def tool_call_reply() -> ScriptedReply:
    return ScriptedReply(
        tool_calls=[ScriptedToolCall("find_segment", {"segment": "at_risk", "country": "DE"})]
    )


def test_chat_openai_invoke_tool_calls(server: ScriptedOpenAIServer) -> None:
    server.add(tool_call_reply())
    msg = make_llm(server).bind_tools([find_segment]).invoke("at-risk customers in Germany?")

    assert isinstance(msg, AIMessage)
    assert msg.tool_calls == [
        {
            "name": "find_segment",
            "args": {"segment": "at_risk", "country": "DE"},
            "id": "call_1",
            "type": "tool_call",
        }
    ]
    assert msg.usage_metadata is not None and msg.usage_metadata["input_tokens"] > 0
    body = server.requests[0]
    assert body["model"] == "scripted-model"
    assert body["messages"] == [{"role": "user", "content": "at-risk customers in Germany?"}]
    assert [t["function"]["name"] for t in body["tools"]] == ["find_segment"]


def test_chat_openai_stream_tool_calls(server: ScriptedOpenAIServer) -> None:
    server.add(tool_call_reply())
    llm = make_llm(server, stream_usage=True).bind_tools([find_segment])
    chunks = list(llm.stream("at-risk customers in Germany?"))
    assert len(chunks) > 3
    merged = functools.reduce(operator.add, chunks)

    assert isinstance(merged, AIMessageChunk)
    assert merged.tool_calls == [
        {
            "name": "find_segment",
            "args": {"segment": "at_risk", "country": "DE"},
            "id": "call_1",
            "type": "tool_call",
        }
    ]
    assert merged.usage_metadata is not None and merged.usage_metadata["output_tokens"] > 0
    body = server.requests[0]
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert [t["function"]["name"] for t in body["tools"]] == ["find_segment"]
