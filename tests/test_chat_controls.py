"""Issue 19 without a browser: number formats, download names, draft cards, Stop, replacing a
turn (regenerate / edit and resend), the stop and search routes' ownership, CSV file names."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from api.app import create_app
from assistant.agent import Assistant
from foundation.errors import TurnCancelled
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings
from tests.conftest import keyed_workspace
from tests.test_api import LiveServer
from tools.copywriting.cards import draft_cards, preview
from tools.progress import check_cancelled
from tools.results import download_name, format_value, infer_format

# --- formats --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "fmt", "shown"), [
    (1138474.35, {"kind": "money", "currency": "USD"}, "$1,138,474"),
    (84.2, {"kind": "money", "currency": "USD"}, "$84.20"),
    (-12.5, {"kind": "money", "currency": "EUR"}, "-€12.50"),
    (2500, {"kind": "money", "currency": "SEK"}, "2,500 SEK"),
    (1005.5, {"kind": "money"}, "1,005.50"),  # no currency known: the cents stay
    (74.25, {"kind": "percent"}, "74.2%"),
    (0.43, {"kind": "share"}, "43%"),
    (0.4315, {"kind": "share"}, "43.1%"),
    (13552, {"kind": "id"}, "13552"),
    (1675, {"kind": "count"}, "1,675"),
    (None, {"kind": "money", "currency": "USD"}, "—"),
    ("Germany", None, "Germany"),
])
def test_format_value_reads_as_a_marketer_would(value: Any, fmt: Any, shown: str) -> None:
    assert format_value(value, fmt) == shown


def test_names_say_shares_percentages_and_ids() -> None:
    assert infer_format("revenue_share", [0.43, 0.15]) == {"kind": "share"}
    assert infer_format("share", [12.0, 80.0]) is None  # not within 0..1: not a share
    assert infer_format("repeat_rate_pct", [80.8]) == {"kind": "percent"}
    assert infer_format("customer_id", [13552]) == {"kind": "id"}
    assert infer_format("revenue", [1.0]) is None


@pytest.mark.parametrize(("title", "name"), [
    ("Revenue by country", "revenue-by-country.csv"),
    ('../../etc/passwd"\r\nSet-Cookie: x=1', "etc-passwd-set-cookie-x-1.csv"),
    ("Umsatz nach Bundesländern", "umsatz-nach-bundeslandern.csv"),
    ("", "mara-abc.csv"),
    ("🙂🙂", "mara-abc.csv"),
    ("x" * 300, "x" * 80 + ".csv"),
])
def test_download_names_are_the_result_title_made_safe(title: str, name: str) -> None:
    assert download_name(title, "mara-abc") == name


# --- draft cards ----------------------------------------------------------------------------------


def test_sms_draft_cards_count_characters_and_segments_by_encoding() -> None:
    variants = [
        {"text": "Hi {{first_name|there}}, 20% off jackets this week. Reply STOP to opt out", "checks": [
            {"name": "length", "passed": True, "detail": "within limits"}]},
        {"text": "Hi 🙂 jackets are 20% off this week. Reply STOP to opt out", "checks": [
            {"name": "sms_segments", "passed": False, "detail": "UCS-2, 1 segment"}]},
    ]
    plain, emoji = draft_cards("sms", variants, brief="jackets")
    item = plain["fields"][0]["items"][0]
    assert item["preview"].startswith("Hi Maya, 20% off")
    assert item["chars"] == len(variants[0]["text"]) - len("{{first_name|there}}") + 12  # merge field at width 12
    assert item["sms"] == {"encoding": "GSM-7", "units": item["chars"], "segments": 1}
    assert plain["sample_customer"] == {"first_name": "Maya"}
    assert emoji["fields"][0]["items"][0]["sms"]["encoding"] == "UCS-2"
    assert (plain["variant"], plain["of"], plain["fields"][0]["label"]) == (1, 2, "Message")
    assert emoji["checks"] == [{"name": "sms_segments", "passed": False, "detail": "UCS-2, 1 segment"}]


def test_merge_fields_without_a_sample_value_show_their_fallback_or_name() -> None:
    assert preview("Hi {{nickname|friend}} from {{store}}") == "Hi friend from [store]"


def test_a_long_sms_over_one_segment_counts_two() -> None:
    text = "x" * 170
    (card,) = draft_cards("sms", [{"text": text, "checks": []}])
    assert card["fields"][0]["items"][0]["sms"]["segments"] == 2


# --- Stop and replacing a turn ---------------------------------------------------------------------


def test_check_cancelled_outside_a_turn_does_nothing() -> None:
    check_cancelled()  # no agent run: nothing to stop


def _user_texts(history: list[Any]) -> list[str]:
    return [str(m.content) for m in history if isinstance(m, HumanMessage)]


def test_stop_ends_the_turn_and_leaves_a_whole_history(settings: MaraSettings) -> None:
    with Assistant(settings) as assistant:
        cancel = threading.Event()
        events = []
        for event in assistant.stream("How many customers do we have?", "c1", cancel=cancel, scopes=EVERY_SCOPE):
            events.append(event)
            if event.type == "tool_start":
                cancel.set()  # Stop pressed while the tool runs
        assert events[-1].type == "done" and events[-1].data["reply"] == "Stopped."
        history = assistant.history("c1")
        assert isinstance(history[-1], AIMessage) and history[-1].content == "Stopped."
        calls = {c["id"] for m in history if isinstance(m, AIMessage) for c in m.tool_calls}
        answered = {m.tool_call_id for m in history if isinstance(m, ToolMessage)}
        assert calls <= answered  # no tool call left without a result (an LLM would refuse the history)
        after = assistant.run("How many customers do we have?", "c1", scopes=EVERY_SCOPE)
        assert "6" in after.reply and after.error is None


def test_a_stop_before_the_model_is_called_answers_stopped(settings: MaraSettings) -> None:
    with Assistant(settings) as assistant:
        cancel = threading.Event()
        cancel.set()
        done = list(assistant.stream("revenue by country", "c2", cancel=cancel, scopes=EVERY_SCOPE))[-1]
        assert done.data["reply"] == "Stopped." and done.data["tool_calls"] == []
        assert isinstance(assistant.history("c2")[-1], AIMessage)


def test_turncancelled_is_a_mara_error_with_a_hint() -> None:
    err = TurnCancelled("The turn was stopped.", hint="Ask again when you are ready.")
    assert err.http_status == 409 and "Ask again" in str(err)


def test_replace_turn_puts_the_new_question_in_place_of_that_turn(settings: MaraSettings) -> None:
    with Assistant(settings) as assistant:
        for question in ("How many customers do we have?", "revenue by country", "How many orders do we have?"):
            assistant.run(question, "c3", scopes=EVERY_SCOPE)
        assistant.run("revenue by city", "c3", scopes=EVERY_SCOPE)
        assert len(_user_texts(assistant.history("c3"))) == 4
        list(assistant.stream("revenue by channel", "c3", replace_turn=2, scopes=EVERY_SCOPE))  # edit the 2nd question
        assert _user_texts(assistant.history("c3")) == ["How many customers do we have?", "revenue by channel"]
        list(assistant.stream("revenue by channel", "c3", replace_turn=2, scopes=EVERY_SCOPE))  # regenerate it
        assert _user_texts(assistant.history("c3")) == ["How many customers do we have?", "revenue by channel"]
        list(assistant.stream("How many orders do we have?", "c3", replace_turn=1, scopes=EVERY_SCOPE))  # the first
        assert _user_texts(assistant.history("c3")) == ["How many orders do we have?"]
        list(assistant.stream("revenue by country", "c3", replace_turn=9, scopes=EVERY_SCOPE))  # past the end: a new turn
        assert _user_texts(assistant.history("c3")) == ["How many orders do we have?", "revenue by country"]


# --- routes ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home, keys = keyed_workspace(tmp_path_factory.mktemp("controls"), {
        "alice": ("alice", ["chat", "data:read"]), "bob": ("bob", ["chat", "data:read"]), "admin": ("root", ["admin"])})
    settings = MaraSettings(home=home, mode="offline", rate_limit_per_minute=600, _env_file=None)  # type: ignore[call-arg]
    with LiveServer(create_app(settings)) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        yield {"http": http, "keys": keys}


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.integration
def test_stop_is_for_the_conversations_owner_only(two_keys: dict[str, Any]) -> None:
    http, keys = two_keys["http"], two_keys["keys"]
    http.post("/v1/chat", json={"message": "How many customers do we have?", "conversation_id": "alice-1",
                                "stream": False}, headers=_as(keys["alice"])).raise_for_status()
    assert http.post("/v1/conversations/alice-1/stop", headers=_as(keys["alice"])).json() == {"stopped": False}
    for other in ("bob", "admin"):  # stopping is a write: not even an admin stops another's turn
        assert http.post("/v1/conversations/alice-1/stop", headers=_as(keys[other])).status_code == 404
    assert http.post("/v1/conversations/nobody/stop", headers=_as(keys["alice"])).status_code == 404


@pytest.mark.integration
def test_search_is_scoped_to_the_key_and_takes_queries_as_plain_text(two_keys: dict[str, Any]) -> None:
    http, keys = two_keys["http"], two_keys["keys"]
    for who, question in (("alice", "revenue by country"), ("bob", "revenue by channel")):
        http.post("/v1/chat", json={"message": question, "stream": False}, headers=_as(keys[who])).raise_for_status()
    mine = http.get("/v1/conversations/search", params={"q": "Revenue  BY"}, headers=_as(keys["alice"])).json()
    assert {h["snippet"] for h in mine["hits"] if h["role"] == "user"} == {"revenue by country"}
    assert all(h["turn"] == 1 for h in mine["hits"])
    admin = http.get("/v1/conversations/search", params={"q": "revenue"}, headers=_as(keys["admin"])).json()
    assert admin["hits"] == []  # an admin searches its own conversations, not everyone's
    for hostile in ("%", "%%", ".*", "' OR '1'='1", "\\", "(?i)REV", "\x00"):
        response = http.get("/v1/conversations/search", params={"q": hostile}, headers=_as(keys["alice"]))
        assert response.status_code == 200 and response.json()["hits"] == [], hostile
    assert http.get("/v1/conversations/search", params={"q": "x" * 201}, headers=_as(keys["alice"])).status_code == 422
    assert http.get("/v1/conversations/search", params={"q": ""}, headers=_as(keys["alice"])).status_code == 422


@pytest.mark.integration
def test_a_result_csv_is_named_after_its_title(two_keys: dict[str, Any], tmp_path: Path) -> None:
    http, keys = two_keys["http"], two_keys["keys"]
    turn = http.post("/v1/chat", json={"message": "revenue by country", "stream": False},
                     headers=_as(keys["alice"])).json()
    table = next(e["data"] for e in turn["events"] if e["type"] == "table")
    response = http.get(f"/v1/artifacts/{table['artifact_id']}.csv", headers=_as(keys["alice"]))
    assert response.headers["content-disposition"] == 'attachment; filename="revenue-by-country.csv"'
    assert table["formats"][1]["kind"] == "money"
