"""The agent loop end to end on the embedded default: offline planner, real tools, real persistence."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import StructuredTool

from assistant.agent import Assistant
from assistant.planner import OfflinePlanner
from foundation.errors import ToolInputError
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings
from tools.charts import mark_type
from tools.context import ToolContext
from tools.registry import build_tools


@pytest.fixture
def assistant(settings: MaraSettings) -> Iterator[Assistant]:
    with Assistant(settings) as a:
        yield a


def test_how_many_customers_is_answered_with_a_tool_call(assistant: Assistant) -> None:
    result = assistant.run("How many customers do we have?", scopes=EVERY_SCOPE)
    assert [c["name"] for c in result.tool_calls] == ["query_data"]
    assert "**6** customers" in result.reply
    assert "Offline mode" not in result.reply  # the front ends say it once (web badge, CLI banner)
    assert result.mode == "offline"
    assert result.error is None


def test_events_come_in_order(assistant: Assistant) -> None:
    types = [e.type for e in assistant.stream("revenue by country", scopes=EVERY_SCOPE)]
    assert types.index("tool_start") < types.index("tool_end") < types.index("table") < types.index("text")
    assert types[-2:] == ["usage", "done"]


def test_usage_is_recorded_per_turn(assistant: Assistant, settings: MaraSettings) -> None:
    result = assistant.run("How many customers do we have?", conversation_id="u", scopes=EVERY_SCOPE)
    assert result.usage["prompt_tokens"] > 0 and result.usage["completion_tokens"] > 0
    (line,) = settings.usage_path.read_text().splitlines()
    record = json.loads(line)
    assert record["conversation_id"] == "u" and record["tools"] == ["query_data"]
    assert record["prompt_tokens"] == result.usage["prompt_tokens"]


def test_follow_up_keeps_context_across_processes(settings: MaraSettings) -> None:
    with Assistant(settings) as first:
        first.run("How many customers do we have?", conversation_id="thread-1", scopes=EVERY_SCOPE)
    with Assistant(settings) as second:  # a new process would see the same SQLite store
        result = second.run("and in Germany?", conversation_id="thread-1", scopes=EVERY_SCOPE)
        assert "**2** customers" in result.reply
        assert len(second.history("thread-1")) >= 6


def test_greeting_needs_no_tool(assistant: Assistant) -> None:
    result = assistant.run("hello", scopes=EVERY_SCOPE)
    assert result.tool_calls == []
    assert "Ask me" in result.reply


def test_write_requests_are_refused(assistant: Assistant) -> None:
    result = assistant.run("delete all customers in Germany", scopes=EVERY_SCOPE)
    assert result.tool_calls == []
    assert "read-only" in result.reply
    assert assistant.run("How many customers in Germany?", scopes=EVERY_SCOPE).reply.startswith("**2**")


def test_hostile_sql_comes_back_as_a_tool_error_not_a_crash(assistant: Assistant) -> None:
    result = assistant.run("SELECT * FROM orders; DROP TABLE orders", scopes=EVERY_SCOPE)
    assert result.error is None
    assert "multi-statement" in result.reply
    assert "**8** orders" in assistant.run("how many orders?", scopes=EVERY_SCOPE).reply


def test_unknown_breakdown_is_admitted(assistant: Assistant) -> None:
    result = assistant.run("revenue by shoe size", scopes=EVERY_SCOPE)
    assert result.tool_calls == []
    assert "couldn't find a column" in result.reply and "country" in result.reply


def test_tool_exception_reaches_the_model_as_a_tool_message(settings: MaraSettings) -> None:
    """A crashing tool becomes the tool's output (status=error); the turn still ends with a reply."""

    def query_data(table: str) -> tuple[str, dict[str, object]]:
        """Always fails."""
        raise RuntimeError("disk on fire")

    broken = StructuredTool.from_function(query_data, name="query_data", response_format="content_and_artifact")
    ctx = ToolContext(settings)
    tools = [t for t in build_tools(ctx) if t.name != "query_data"] + [broken]
    with Assistant(settings, model=OfflinePlanner(context=ctx), tools=tools) as a:
        result = a.run("How many customers do we have?", conversation_id="t", scopes=EVERY_SCOPE)
        messages = a.history("t")
    errors = [m for m in messages if isinstance(m, ToolMessage) and m.status == "error"]
    assert len(errors) == 1 and "disk on fire" in str(errors[0].content)
    assert "couldn't answer" in result.reply


def test_fixable_tool_errors_are_marked_as_retries_with_a_budget(settings: MaraSettings) -> None:
    calls = {"n": 0}

    def query_data(table: str) -> tuple[str, dict[str, object]]:
        """Asks for a fix every time."""
        calls["n"] += 1
        raise ToolInputError(f"Unknown table '{table}'.", hint="Valid: customers, orders.")

    tool = StructuredTool.from_function(query_data, name="query_data", response_format="content_and_artifact")
    ctx = ToolContext(settings)
    with Assistant(settings, model=OfflinePlanner(context=ctx), tools=[tool]) as a:
        a.run("How many customers do we have?", conversation_id="r", scopes=EVERY_SCOPE)
        messages = a.history("r")
    retry = [m for m in messages if isinstance(m, ToolMessage)][0]
    assert retry.additional_kwargs.get("retry") is True
    assert "Fix the arguments and call query_data again" in str(retry.content)


@pytest.mark.integration
def test_brand_question_is_answered_from_knowledge_with_citations(settings: MaraSettings) -> None:
    """Offline, a compliance question is answered by quoting the ingested brand documents."""
    from knowledge.sample import sample_brand_path
    from knowledge.store import KnowledgeBase

    KnowledgeBase(settings.chroma_path).ingest([sample_brand_path() / "compliance.md"])
    with Assistant(settings) as a:
        result = a.run("What opt-out text must every SMS include?", scopes=EVERY_SCOPE)
    assert [c["name"] for c in result.tool_calls] == ["search_knowledge"]
    assert "Reply STOP to opt out" in result.reply
    assert "compliance.md" in result.reply
    citations = [e for e in result.events if e.type == "citation"]
    assert citations and all(c.data["source"].endswith("compliance.md") for c in citations[:2])


def test_charts_come_with_breakdowns_and_on_request(assistant: Assistant) -> None:
    first = assistant.run("revenue by country", conversation_id="charts", scopes=EVERY_SCOPE)
    (chart,) = [e for e in first.events if e.type == "chart"]
    assert chart.data["spec"]["mark"]["type"] == "bar"
    pie = assistant.run("make that a pie chart", conversation_id="charts", scopes=EVERY_SCOPE)
    assert [c["name"] for c in pie.tool_calls] == ["make_chart"]
    (arc,) = [e for e in pie.events if e.type == "chart"]
    assert mark_type(arc.data["spec"]) == "arc"
    assert arc.data["table_id"] == chart.data["table_id"]


def test_copy_is_drafted_offline_within_channel_limits(assistant: Assistant) -> None:
    result = assistant.run("draft 2 SMS for our autumn sale with 20% off jackets for at-risk customers", scopes=EVERY_SCOPE)
    assert [c["name"] for c in result.tool_calls] == ["draft_copy"]
    assert result.tool_calls[0]["args"]["variants"] == 2
    assert result.reply.count("**Variant") == 2 and "✓ all checks passed" in result.reply
    assert "Reply STOP to opt out" in result.reply


def test_copy_follow_ups_keep_the_brief(assistant: Assistant) -> None:
    """“3 more variants”, “make them shorter”, “now as a push”: the previous draft's brief carries over."""
    first = assistant.run("Draft 3 email subject lines for our spring sale with 20% off tents", conversation_id="copy", scopes=EVERY_SCOPE)
    brief = first.tool_calls[0]["args"]["brief"]
    more = assistant.run("Draft 3 more email variants", conversation_id="copy", scopes=EVERY_SCOPE)
    args = more.tool_calls[0]["args"]
    assert (args["brief"], args["skip"], args["variants"]) == (brief, 3, 3)
    assert more.reply.count("**Variant") == 3
    subjects = lambda reply: {line for line in reply.splitlines() if "ubject" in line}  # noqa: E731
    assert subjects(more.reply) != subjects(first.reply)  # new angles, not the same three again
    shorter = assistant.run("make them shorter", conversation_id="copy", scopes=EVERY_SCOPE)
    assert shorter.tool_calls[0]["args"]["length"] == "short" and shorter.tool_calls[0]["args"]["brief"] == brief
    push = assistant.run("now as a push notification", conversation_id="copy", scopes=EVERY_SCOPE)
    assert push.tool_calls[0]["args"]["channel"] == "push" and push.tool_calls[0]["args"]["brief"] == brief
    unrelated = assistant.run("how many customers do we have?", conversation_id="copy", scopes=EVERY_SCOPE)
    assert unrelated.tool_calls[0]["name"] == "query_data"


def test_short_offline_drafts_are_shorter() -> None:
    from tools.copywriting.drafting import draft_copy

    def size(result) -> int:  # type: ignore[no-untyped-def]
        return sum(len(str(v[f])) for v in result.variants for f in ("subject", "preheader", "body"))

    # a brief with a proof point besides the offer: "short" keeps the offer and drops the rest
    brief = "Spring sale: 20% off tents until Sunday. Our tents are storm-tested in 60 mph winds and pack down to 2 kg."
    standard = draft_copy("email", brief, variants=3)
    short = draft_copy("email", brief, variants=3, length="short")
    assert size(short) < size(standard)
    assert all(c["passed"] for v in short.variants for c in v["checks"] if c["name"] == "length")
