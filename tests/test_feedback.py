"""Thumbs up / down per turn, kept for review; an admin promotes a thumbs-up to a verified question."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from assistant.agent import Assistant
from assistant.evaluation.feedback import FeedbackError, list_feedback, promote, record_feedback
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings
from tests.conftest import keyed_workspace
from tests.test_api import LiveServer
from tools.semantic_model import load_semantic_model, refresh_workspace_model


@pytest.fixture
def rated(settings: MaraSettings) -> Iterator[tuple[Assistant, str]]:
    """A conversation of two turns: revenue by channel (rated up), then customers (rated down)."""
    refresh_workspace_model(settings)
    with Assistant(settings, today=dt.date(2025, 11, 15)) as assistant:
        conversation = assistant.run("Revenue by channel", scopes=EVERY_SCOPE).conversation_id
        assistant.run("How many customers do we have?", conversation, scopes=EVERY_SCOPE)
        history = assistant.history(conversation)
        record_feedback(assistant.audit, history, conversation, 1, "up", actor="cli:ana")
        record_feedback(assistant.audit, history, conversation, 2, "down", actor="cli:ana", comment="we have 7")
        yield assistant, conversation


def test_thumbs_down_is_kept_with_the_turn_for_review(rated: tuple[Assistant, str]) -> None:
    assistant, _ = rated
    (down,) = list_feedback(assistant.audit, "down")
    assert (down["question"], down["comment"]) == ("How many customers do we have?", "we have 7")


def test_the_latest_rating_of_a_turn_counts(rated: tuple[Assistant, str]) -> None:
    assistant, conversation = rated
    record_feedback(assistant.audit, assistant.history(conversation), conversation, 2, "up", actor="cli:ana")
    assert list_feedback(assistant.audit, "down") == []


def test_rating_a_turn_that_does_not_exist_says_how_many_there_are(rated: tuple[Assistant, str]) -> None:
    assistant, conversation = rated
    with pytest.raises(FeedbackError, match="has no turn 3; it has 2"):
        record_feedback(assistant.audit, assistant.history(conversation), conversation, 3, "up", actor="x")


def test_promoted_thumbs_up_becomes_a_verified_question(rated: tuple[Assistant, str]) -> None:
    assistant, conversation = rated
    promote(assistant.audit, assistant.settings.home, conversation, 1, actor="cli:admin")
    model = load_semantic_model(assistant.settings.home / "semantic.yaml")
    assert model is not None and [v.question for v in model.verified_questions or []] == ["Revenue by channel"]


def test_promoted_question_keeps_its_query(rated: tuple[Assistant, str]) -> None:
    assistant, conversation = rated
    entry = promote(assistant.audit, assistant.settings.home, conversation, 1, actor="cli:admin")
    assert entry["query"]["dimensions"] == ["orders.channel"]


def test_thumbs_down_cannot_be_promoted(rated: tuple[Assistant, str]) -> None:
    assistant, conversation = rated
    with pytest.raises(FeedbackError, match="has no thumbs-up"):
        promote(assistant.audit, assistant.settings.home, conversation, 2, actor="cli:admin")


# --- REST: owner-only feedback, admin-only promotion ------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home, keys = keyed_workspace(tmp_path_factory.mktemp("feedback"), {
        "ana": ("ana", ["chat", "data:read"]), "bo": ("bo", ["chat", "data:read"]), "admin": ("root", ["admin"])})
    settings = MaraSettings(home=home, mode="offline", rate_limit_per_minute=600, _env_file=None)  # type: ignore[call-arg]
    with LiveServer(create_app(settings)) as live:
        turn = httpx.post(f"{live.url}/v1/chat", json={"message": "Revenue by channel", "stream": False},
                          headers=bearer(keys["ana"]), timeout=60)
        assert turn.status_code == 200, turn.text
        yield {"url": live.url, "keys": keys, "conversation": turn.json()["conversation_id"], "home": home}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def feedback(server: dict[str, Any], who: str, turn: int, rating: str = "up") -> httpx.Response:
    url = f"{server['url']}/v1/conversations/{server['conversation']}/turns/{turn}/feedback"
    return httpx.post(url, json={"rating": rating}, headers=bearer(server["keys"][who]), timeout=30)


@pytest.mark.integration
def test_owner_rates_a_turn(server: dict[str, Any]) -> None:
    assert feedback(server, "ana", 1).json() == {"conversation_id": server["conversation"], "turn": 1, "rating": "up"}


@pytest.mark.integration
def test_another_key_cannot_rate_the_conversation(server: dict[str, Any]) -> None:
    assert feedback(server, "bo", 1).status_code == 404


@pytest.mark.integration
def test_an_admin_cannot_rate_another_owners_conversation(server: dict[str, Any]) -> None:
    """A rating is a write: admins read every conversation but write only their own."""
    assert feedback(server, "admin", 1).status_code == 404


def test_ratings_are_found_behind_many_other_audit_records(rated: tuple[Assistant, str]) -> None:
    from assistant.audit import AuditRecord, now

    assistant, conversation = rated
    for i in range(30):
        assistant.audit.append(AuditRecord(now(), "cli:x", f"other-{i}", "tool", "query_data", {}, ok=True))
    record_feedback(assistant.audit, assistant.history(conversation), conversation, 1, "down", actor="cli:ana")
    assert list_feedback(assistant.audit, "down", limit=20)[0]["turn"] == 1


@pytest.mark.integration
def test_unknown_turn_is_404(server: dict[str, Any]) -> None:
    assert feedback(server, "ana", 9).status_code == 404


@pytest.mark.integration
def test_unknown_rating_is_422(server: dict[str, Any]) -> None:
    assert feedback(server, "ana", 1, rating="meh").status_code == 422


@pytest.mark.integration
def test_promotion_needs_the_admin_scope(server: dict[str, Any]) -> None:
    url = f"{server['url']}/v1/conversations/{server['conversation']}/turns/1/promote"
    assert httpx.post(url, headers=bearer(server["keys"]["ana"]), timeout=30).status_code == 403


@pytest.mark.integration
def test_admin_promotes_a_thumbs_up(server: dict[str, Any]) -> None:
    feedback(server, "ana", 1)
    url = f"{server['url']}/v1/conversations/{server['conversation']}/turns/1/promote"
    response = httpx.post(url, headers=bearer(server["keys"]["admin"]), timeout=30)
    assert response.json()["question"] == "Revenue by channel"
    assert "Revenue by channel" in (Path(server["home"]) / "semantic.yaml").read_text()


def _turn_naming_a_customer(reply: str) -> list[Any]:
    """One turn whose tool result lists a customer by name, and a reply that repeats her name."""
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    call = {"name": "query_data", "args": {"metric": "customers"}, "id": "c1"}
    table = {"data": {"columns": ["first_name", "last_name", "orders"], "rows": [["Annabel", "Okafor", 3]]}}
    return [HumanMessage("Who ordered most?"), AIMessage("", tool_calls=[call]),
            ToolMessage("1 row", tool_call_id="c1", name="query_data", artifact=table), AIMessage(reply)]


def test_a_rated_reply_keeps_no_customer_name(tmp_path: Path) -> None:
    from assistant.audit import AuditLog

    audit = AuditLog(tmp_path / "audit.db")
    record_feedback(audit, _turn_naming_a_customer("Annabel Okafor (annabel@example.com) ordered 3 times."),
                    "c-1", 1, "down", actor="cli:ana")
    assert "Annabel" not in list_feedback(audit)[0]["reply"]


def test_a_rated_reply_is_cut_to_what_an_audit_detail_keeps(tmp_path: Path) -> None:
    from assistant.audit import AuditLog

    audit = AuditLog(tmp_path / "audit.db")
    record_feedback(audit, _turn_naming_a_customer("x" * 3000), "c-1", 1, "down", actor="cli:ana")
    assert len(list_feedback(audit)[0]["reply"]) == 500
