"""Follow-ups read from the conversation (issue 16): a chart of the last table, a copy draft in another channel,
and a message the data path cannot read going to the capability whose words it uses. Fast: no workspace."""

from __future__ import annotations

import datetime as dt

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from assistant.planner.copy_requests import copy_follow_up
from assistant.planner.model import OfflinePlanner, _chart_kind
from assistant.planner.routing import Route, Router
from foundation.settings import MaraSettings
from tools.context import ToolContext

TOOLS = ["query_data", "describe_data", "make_chart", "search_knowledge", "draft_copy", "analyze_feedback", "rfm_segments"]


def _after_a_table(asked: str = "revenue by channel") -> list[BaseMessage]:
    call = {"name": "query_data", "args": {}, "id": "call_1", "type": "tool_call"}
    return [HumanMessage(asked), AIMessage("", tool_calls=[call], additional_kwargs={"mara_plan": {"tool": "query_data"}}),
            ToolMessage("3 rows", tool_call_id="call_1", name="query_data", artifact={"data": {"artifact_id": "t-1"}}),
            AIMessage("Revenue by channel: ...")]


@pytest.mark.parametrize(("text", "kind"), [("show it as a line", "line"), ("turn that into a pie", "pie"),
                                            ("make that a bar chart", "bar"), ("visualise it", "chart")])
def test_a_chart_kind_is_read_with_or_without_the_word_chart(text: str, kind: str) -> None:
    assert _chart_kind(text) == kind


def test_a_line_item_is_no_chart() -> None:
    assert _chart_kind("count orders as a line item") is None


def test_a_chart_follow_up_charts_the_last_table() -> None:
    planner = OfflinePlanner(tool_names=TOOLS)
    message = planner._chart_of_previous("show it as a line", _after_a_table())
    assert message is not None and message.tool_calls[0]["args"] == {"artifact_id": "t-1", "kind": "line"}


@pytest.mark.parametrize("text", ["show it as a line", "bar chart please", "make that a pie chart"])
def test_a_chart_request_that_changes_nothing_charts_the_last_table(settings: MaraSettings, text: str) -> None:
    planner = OfflinePlanner(context=ToolContext(settings), tool_names=TOOLS, today=dt.date(2025, 11, 1))
    assert planner._chart_of_previous(text, _after_a_table("revenue by country")) is not None


def test_a_chart_follow_up_that_changes_the_question_queries_again(settings: MaraSettings) -> None:
    planner = OfflinePlanner(context=ToolContext(settings), tool_names=TOOLS, today=dt.date(2025, 11, 1))
    assert planner._chart_of_previous("and as a chart by month?", _after_a_table("revenue by country")) is None


def test_no_chart_without_an_earlier_table() -> None:
    assert OfflinePlanner(tool_names=TOOLS)._chart_of_previous("make that a pie chart", [HumanMessage("hi")]) is None


def test_an_unreadable_message_goes_to_the_capability_whose_words_it_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Router, "scores", lambda self, text: {"search_knowledge": 0.4, "query_data": 0.5})
    route = Route("query_data", 0.5, supported=frozenset({"search_knowledge"}))
    message = OfflinePlanner(tool_names=TOOLS)._supported_capability("which words should we steer clear of", route)
    assert message is not None and message.tool_calls[0]["name"] == "search_knowledge"


def test_a_data_questions_shape_keeps_the_data_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Router, "scores", lambda self, text: {"analyze_feedback": 0.6})
    route = Route("query_data", 0.5, supported=frozenset({"analyze_feedback"}), data_shape=True)
    assert OfflinePlanner(tool_names=TOOLS)._supported_capability("products customers love most", route) is None


@pytest.mark.parametrize(("text", "channel"), [("and as SMS?", "sms"), ("what about a push notification", "push"),
                                               ("and by text?", "sms")])
def test_a_short_follow_up_naming_another_channel_redrafts(text: str, channel: str) -> None:
    follow = copy_follow_up(text, {"channel": "email", "brief": "spring sale", "variants": 3})
    assert follow is not None and (follow["channel"], follow["brief"]) == (channel, "spring sale")


def test_a_new_copy_request_with_its_own_topic_is_no_follow_up() -> None:
    assert copy_follow_up("and an sms for the spring sale launch", {"channel": "email", "brief": "x", "variants": 3}) is None
