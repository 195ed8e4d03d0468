"""The event contract: one summary of a finished turn, and typed payloads in the OpenAPI schema."""

from __future__ import annotations

from pathlib import Path

from api.app import create_app
from foundation.events import Event, TurnSummary
from foundation.settings import MaraSettings

TURN = [
    Event("tool_start", {"id": "c1", "name": "query_data", "args": {"sql": "SELECT 1"}}),
    Event("text", {"delta": "42 customers."}),
    Event("usage", {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "cost_usd": 0.0}),
    Event("done", {"reply": "42 customers.", "conversation_id": "abc", "mode": "offline",
                   "tool_calls": [{"name": "query_data", "args": {"sql": "SELECT 1"}}]}),
]


def test_summary_takes_the_reply_and_ids_from_done() -> None:
    turn = TurnSummary.from_events(TURN)
    assert (turn.reply, turn.conversation_id, turn.mode) == ("42 customers.", "abc", "offline")


def test_summary_takes_the_usage_and_tool_calls() -> None:
    turn = TurnSummary.from_events(TURN)
    assert turn.usage["total_tokens"] == 15 and turn.tool_calls[0]["name"] == "query_data"


def test_a_failed_turn_shows_its_first_error() -> None:
    events = [Event("error", {"message": "The warehouse is unreachable."}), Event("error", {"message": "later"}),
              Event("done", {"reply": "", "conversation_id": "abc", "mode": "offline", "tool_calls": []})]
    assert TurnSummary.from_events(events).shown_reply() == "The warehouse is unreachable."


def test_an_unfinished_turn_says_so() -> None:
    assert TurnSummary.from_events(TURN[:2]).finished is False


def test_openapi_shows_each_event_payload(tmp_path: Path) -> None:
    settings = MaraSettings(home=tmp_path, mode="offline", _env_file=None)  # type: ignore[call-arg]
    schemas = create_app(settings).openapi()["components"]["schemas"]
    events = schemas["ChatResponse"]["properties"]["events"]["items"]
    assert set(events["discriminator"]["mapping"]) == {
        "text", "tool_start", "tool_end", "progress", "table", "chart", "citation", "draft", "usage", "error", "done"
    }
    assert {"reply", "conversation_id", "mode", "tool_calls"} <= set(schemas["DoneData"]["required"])
    assert {"channel", "variant", "fields", "checks", "sample_customer"} <= set(schemas["DraftData"]["required"])
