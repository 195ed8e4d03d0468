"""Fault injection: the real openai SDK (through langchain-openai) over HTTP against a scripted server
that times out, rate-limits, fails, cuts streams and sends broken tool calls.

Every turn must end with a useful answer or a clear error, the conversation history must stay
whole, and no raw e-mail address or phone number from the demo data may reach the server.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from assistant.agent import Assistant
from assistant.chat_models import CircuitBreaker, RetryPolicy, breaker_for, reset_breakers
from assistant.demo_data import build_demo_data
from assistant.testing import ScriptedOpenAIServer, ScriptedReply, ScriptedToolCall
from assistant.testing.faults import FAULT_KINDS, FaultInjector, leaked_values
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings

pytestmark = pytest.mark.integration

TIMEOUT_S = 0.5


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo")
    build_demo_data(home / "warehouse.duckdb", customers=300, seed=11)
    return home


@pytest.fixture(scope="module")
def demo_pii(demo_home: Path) -> list[str]:
    con = duckdb.connect(str(demo_home / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT email, phone FROM customers").fetchall()
    finally:
        con.close()
    return [v for row in rows for v in row if v]


@pytest.fixture(scope="module")
def first_name(demo_home: Path) -> str:
    con = duckdb.connect(str(demo_home / "warehouse.duckdb"), read_only=True)
    try:
        row = con.execute("SELECT first_name FROM customers ORDER BY customer_id LIMIT 1").fetchone()
    finally:
        con.close()
    assert row is not None
    return str(row[0])


@pytest.fixture(autouse=True)
def _fresh_circuits() -> Iterator[None]:
    reset_breakers()
    yield
    reset_breakers()


def llm(home: Path, server: ScriptedOpenAIServer, **extra: object) -> MaraSettings:
    base: dict[str, object] = {
        "home": home, "llm_base_url": server.base_url, "llm_model": "gpt-4o-mini", "llm_timeout_s": TIMEOUT_S,
        "llm_max_retries": 2, "llm_backoff_base_s": 0.02, "llm_backoff_max_s": 0.1,
    }
    return MaraSettings(_env_file=None, **{**base, **extra})  # type: ignore[arg-type]


def streamed(events: list) -> str:  # type: ignore[type-arg]
    return "".join(e.data["delta"] for e in events if e.type == "text")


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_every_fault_is_survived_without_leaking_pii(
    kind: str, demo_home: Path, demo_pii: list[str], first_name: str
) -> None:
    script = FaultInjector([kind], timeout_s=TIMEOUT_S)
    with ScriptedOpenAIServer(script) as server, Assistant(llm(demo_home, server)) as assistant:
        result = assistant.run("Who is our first customer?", conversation_id=f"f-{kind}", actor="key:test", scopes=EVERY_SCOPE)
        history = assistant.history(f"f-{kind}")
        requests = server.requests
    assert script.injected == [kind]
    assert result.error is None, result.error
    assert result.notice is None  # retries or a corrective message were enough: no fallback needed
    assert result.reply.startswith("I looked up your customers")
    assert result.reply.endswith(f"the first one is {first_name}.")  # the placeholder was restored for the user
    if kind in ("invalid_json", "wrong_types", "hallucinated_tool"):
        assert "after 1 corrected tool call" in result.reply
    if kind == "truncated_stream":
        assert "answering again" in streamed(result.events)
    else:
        assert streamed(result.events) == result.reply
    assert history[0].content == "Who is our first customer?" and history[-1].content == result.reply
    assert leaked_values(requests, demo_pii) == []


def test_corrective_messages_say_what_was_wrong(demo_home: Path) -> None:
    script = FaultInjector(["invalid_json", "hallucinated_tool", "wrong_types"])
    with ScriptedOpenAIServer(script) as server, Assistant(llm(demo_home, server)) as assistant:
        result = assistant.run("Who is our first customer?", scopes=EVERY_SCOPE)
        requests = server.requests
    assert result.reply.startswith("I looked up your customers (after 3 corrected tool calls)")
    corrections = [m["content"] for m in requests[3]["messages"] if m["role"] == "tool"]
    assert "not a valid JSON object" in corrections[0] and "Call run_sql again" in corrections[0]
    assert "no tool named 'export_all_customers'" in corrections[1] and "run_sql" in corrections[1]
    assert "Input should be a valid string" in corrections[2]


def test_broken_tool_calls_forever_stop_at_the_step_limit(demo_home: Path) -> None:
    script = FaultInjector(["invalid_json"] * 20)
    with ScriptedOpenAIServer(script) as server, Assistant(llm(demo_home, server, max_steps=4)) as assistant:
        result = assistant.run("loop", scopes=EVERY_SCOPE)
        assert len(server.requests) <= 5
        assert assistant.history(result.conversation_id)[0].content == "loop"
    assert result.error is not None and "4 steps" in result.error


def test_retry_after_is_honoured(demo_home: Path) -> None:
    script = FaultInjector([ScriptedReply(status=429, retry_after=0.6)])
    with ScriptedOpenAIServer(script) as server, Assistant(llm(demo_home, server)) as assistant:
        started = time.perf_counter()
        result = assistant.run("Who is our first customer?", scopes=EVERY_SCOPE)
        elapsed = time.perf_counter() - started
        assert len(server.requests) == 3  # the 429, its retry (the tool call), the answer
    assert result.error is None and result.notice is None
    assert elapsed >= 0.6


def test_a_retry_after_longer_than_a_turn_can_wait_falls_back_at_once(demo_home: Path) -> None:
    script = FaultInjector([ScriptedReply(status=429, retry_after=3600)])
    with ScriptedOpenAIServer(script) as server, Assistant(llm(demo_home, server)) as assistant:
        started = time.perf_counter()
        result = assistant.run("How many customers do we have?", scopes=EVERY_SCOPE)
        assert time.perf_counter() - started < 5
        assert len(server.requests) == 1
    assert result.error is None
    assert result.notice is not None and "RateLimitError" in result.notice
    assert "**300**" in result.reply


def test_provider_down_degrades_then_the_circuit_opens_and_recovers(demo_home: Path) -> None:
    down = [ScriptedReply(status=503)] * 5
    script = FaultInjector(down)
    now = [0.0]  # the breaker's clock: the open window ends when the test says so, not when a loaded CI box does
    with ScriptedOpenAIServer(script) as server, \
            Assistant(llm(demo_home, server, circuit_failures=5, circuit_open_s=30)) as assistant:
        breaker_for(assistant.settings).clock = lambda: now[0]
        first = assistant.run("How many customers do we have?", conversation_id="c", scopes=EVERY_SCOPE)
        assert len(server.requests) == 3  # one try + two retries, then the offline planner answers
        second = assistant.run("How many orders are there?", conversation_id="c", scopes=EVERY_SCOPE)
        assert len(server.requests) == 5  # two more failures open the circuit (5 in a row) mid-turn
        third = assistant.run("and in Germany?", conversation_id="c", scopes=EVERY_SCOPE)
        assert len(server.requests) == 5  # open: the endpoint is not even asked
        now[0] += 31
        fourth = assistant.run("Who is our first customer?", conversation_id="c", scopes=EVERY_SCOPE)
        assert len(server.requests) == 7  # half-open trial succeeds, circuit closes
        history = assistant.history("c")
        recovered_request = server.requests[5]
    for result in (first, second, third):
        assert result.error is None
        assert result.notice is not None and "offline planner" in result.notice
        assert result.reply.startswith("⚠️ The language model is unavailable")
        assert streamed(result.events) == result.reply
        assert result.events[-1].data["degraded"] is True
    assert "**300**" in first.reply
    assert "skipped for another" in (third.notice or "")
    assert fourth.notice is None and fourth.reply.startswith("I looked up your customers")
    humans = [m.content for m in history if type(m).__name__ == "HumanMessage"]
    assert humans == ["How many customers do we have?", "How many orders are there?", "and in Germany?",
                      "Who is our first customer?"]
    # the model that comes back sees the whole conversation, including the offline answers
    sent = [m.get("content") or "" for m in recovered_request["messages"]]
    assert "How many customers do we have?" in sent and any("offline planner" in c for c in sent)


def test_without_fallback_a_dead_provider_is_one_clear_error(demo_home: Path) -> None:
    script = FaultInjector([ScriptedReply(status=500)] * 3)
    with ScriptedOpenAIServer(script) as server:
        with Assistant(llm(demo_home, server, llm_fallback_offline=False)) as assistant:
            result = assistant.run("How many customers do we have?", conversation_id="e", scopes=EVERY_SCOPE)
            assert assistant.history("e")[0].content == "How many customers do we have?"
        assert len(server.requests) == 3
    assert result.error is not None and "LLM endpoint failed" in result.error
    assert result.reply.startswith("Sorry — ")


def test_usage_and_audit_record_degraded_turns(demo_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "ws"
    home.mkdir()
    (home / "warehouse.duckdb").write_bytes((demo_home / "warehouse.duckdb").read_bytes())
    script = FaultInjector([None, None, ScriptedReply(status=500), ScriptedReply(status=500), ScriptedReply(status=500)])
    with ScriptedOpenAIServer(script) as server, Assistant(llm(home, server)) as assistant:
        ok = assistant.run("Who is our first customer?", conversation_id="u", actor="key:a", scopes=EVERY_SCOPE)
        degraded = assistant.run("How many customers do we have?", conversation_id="u", actor="key:a", scopes=EVERY_SCOPE)
    assert ok.usage["cost_usd"] > 0 and degraded.usage["cost_usd"] == 0
    from assistant.audit import AuditLog
    from assistant.usage import read_records

    records = list(read_records(home / "usage.jsonl"))
    assert [r.get("degraded", False) for r in records] == [False, True]
    assert all(r["actor"] == "key:a" for r in records)
    turns = [r for r in AuditLog(home / "audit.sqlite").query(conversation_id="u") if r.kind == "turn"]
    assert [t.args.get("degraded", False) for t in turns] == [False, True]


# --- unit: breaker and backoff ------------------------------------------------------------------


def test_circuit_breaker_states() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=2, open_s=10, clock=lambda: now[0])
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state == "closed" and breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow() and breaker.retry_in() == 10
    now[0] = 10.5
    assert breaker.state == "half-open"
    assert breaker.allow() and not breaker.allow()  # exactly one trial
    breaker.record_failure()  # the trial failed: open again
    assert breaker.state == "open"
    now[0] = 21
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed" and breaker.consecutive == 0


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    policy = RetryPolicy(max_retries=5, base_s=1, max_s=4, retry_after_max_s=30)
    assert [policy.delay(i, rng=lambda: 1.0) for i in range(6)] == [1, 2, 4, 4, 4, None]
    assert policy.delay(0, rng=lambda: 0.0) == 0
    assert policy.delay(0, retry_after=7, rng=lambda: 0.0) == 7
    assert policy.delay(0, retry_after=60) is None


def test_scripted_server_injects_the_new_faults() -> None:
    import openai

    with ScriptedOpenAIServer([ScriptedReply(drop_connection=True),
                               ScriptedReply(content="a b c d", chunk_delay_s=0.3)]) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=0.2)
        with pytest.raises(openai.APIConnectionError):
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        with pytest.raises((openai.APIConnectionError, openai.APITimeoutError)):  # noqa: PT012
            stream = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], stream=True)
            list(stream)
    with pytest.raises(ValueError, match="drop_connection"):
        ScriptedReply(drop_connection=True, status=500)
    assert ScriptedToolCall("x", "{bad").arguments_json() == "{bad"


def test_unparseable_tool_calls_become_calls_with_a_correction() -> None:
    from langchain_core.messages import AIMessage

    from assistant.agent import INVALID_ARGS, _mark_invalid_calls

    message = AIMessage(content="", invalid_tool_calls=[
        {"name": "run_sql", "args": '{"sql": "SELECT', "id": "call_9", "error": "bad json", "type": "invalid_tool_call"}])
    _mark_invalid_calls(message)
    assert message.invalid_tool_calls == []
    (call,) = message.tool_calls
    assert call["id"] == "call_9" and call["args"][INVALID_ARGS] == {"raw": '{"sql": "SELECT', "error": "bad json"}


def test_provider_errors_are_classified() -> None:
    import httpx
    import openai

    from assistant.chat_models import classify
    from foundation.errors import ProviderUnavailable, StreamInterrupted

    request = httpx.Request("POST", "http://x/v1/chat/completions")

    def status(code: int, headers: dict[str, str] | None = None) -> openai.APIStatusError:
        response = httpx.Response(code, headers=headers or {}, request=request)
        return openai.APIStatusError("boom", response=response, body=None)

    limited = classify(status(429, {"retry-after": "3"}))
    assert limited is not None and limited.retryable and limited.retry_after == 3
    bad_request = classify(status(400))
    assert bad_request is not None and not bad_request.retryable and not bad_request.counts
    assert classify(status(503)) is not None and classify(status(503)).retryable  # type: ignore[union-attr]
    assert classify(openai.APIConnectionError(request=request)).retryable  # type: ignore[union-attr]
    assert classify(StreamInterrupted("cut")).retryable  # type: ignore[union-attr]
    assert not classify(ProviderUnavailable("open")).counts  # type: ignore[union-attr]
    assert classify(KeyError("bug")) is None
