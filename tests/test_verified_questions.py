"""Verified questions in semantic.yaml: validated, reused by the offline planner, offered to the LLM."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from assistant.agent import Assistant
from assistant.planner.verified import match_verified
from foundation.errors import SemanticModelError
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings
from tools.context import ToolContext
from tools.semantic_model import load_semantic_model, refresh_workspace_model

TODAY = dt.date(2025, 11, 15)
WEB_LAST_MONTH = {
    "question": "Revenue from web orders last month",
    "query": {"table": "orders", "metrics": [{"agg": "sum", "column": "total"}],
              "filters": [{"column": "channel", "op": "=", "value": "web"}],
              "time_range": {"start": "2025-10-01", "end": "2025-11-01"}},
}
GOLD_IN_GERMANY = {
    "question": "How many gold tier customers are in Germany?",
    "sql": "SELECT count(*) AS customers FROM customers WHERE loyalty_tier = 'gold' AND country = 'Germany'",
}


def with_verified(settings: MaraSettings, *questions: dict[str, object]) -> MaraSettings:
    refresh_workspace_model(settings)
    path = settings.home / "semantic.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["verified_questions"] = list(questions)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return settings


def test_a_verified_question_needs_exactly_one_of_query_or_sql(tmp_path: Path) -> None:
    path = tmp_path / "semantic.yaml"
    path.write_text(yaml.safe_dump({"verified_questions": [{"question": "How many orders?"}]}))
    with pytest.raises(SemanticModelError, match="verified_questions.0: Value error, give exactly one of query"):
        load_semantic_model(path)


def test_verified_questions_survive_a_refresh(settings: MaraSettings) -> None:
    with_verified(settings, WEB_LAST_MONTH)
    refresh_workspace_model(settings, changed=["orders"])
    model = load_semantic_model(settings.home / "semantic.yaml")
    assert model is not None and [v.question for v in model.verified_questions or []] == [WEB_LAST_MONTH["question"]]


def test_generated_model_has_no_verified_section(settings: MaraSettings) -> None:
    refresh_workspace_model(settings)
    assert "verified_questions" not in (settings.home / "semantic.yaml").read_text()


def match(settings: MaraSettings, text: str):  # type: ignore[no-untyped-def]
    return match_verified(text, ToolContext(settings).profile(), settings.home, TODAY)


def test_new_period_and_value_are_substituted(settings: MaraSettings) -> None:
    with_verified(settings, WEB_LAST_MONTH)
    found = match(settings, "revenue from app orders this year")
    assert (found.args["filters"], found.args["time_range"]) == (
        [{"column": "channel", "op": "=", "value": "app"}], {"start": "2025-01-01", "end": "2025-11-16"})


def test_sql_value_is_substituted(settings: MaraSettings) -> None:
    with_verified(settings, GOLD_IN_GERMANY)
    assert "country = 'France'" in match(settings, "How many gold tier customers are in France?").args["sql"]


def test_a_different_breakdown_is_not_a_match(settings: MaraSettings) -> None:
    with_verified(settings, WEB_LAST_MONTH)
    assert match(settings, "revenue by channel") is None


def test_offline_planner_answers_with_the_verified_query(settings: MaraSettings) -> None:
    with_verified(settings, WEB_LAST_MONTH)
    with Assistant(settings, today=TODAY) as assistant:
        reply = assistant.run("revenue from app orders this year", scopes=EVERY_SCOPE).reply
    assert "**490.50**" in reply  # app orders of 2025: 180.50 + 310.00


def test_offline_planner_says_it_used_a_verified_question(settings: MaraSettings) -> None:
    with_verified(settings, WEB_LAST_MONTH)
    with Assistant(settings, today=TODAY) as assistant:
        reply = assistant.run("revenue from app orders this year", scopes=EVERY_SCOPE).reply
    assert "verified question “Revenue from web orders last month”" in reply


@pytest.mark.integration
def test_llm_mode_offers_them_in_the_system_prompt(settings: MaraSettings) -> None:
    from assistant.chat_models import reset_breakers
    from assistant.testing import ScriptedOpenAIServer, ScriptedReply

    reset_breakers()
    with_verified(settings, GOLD_IN_GERMANY)
    with ScriptedOpenAIServer([ScriptedReply(content="Two.")]) as server:
        llm = settings.model_copy(update={"mode": None, "llm_base_url": server.base_url, "llm_max_retries": 0})
        with Assistant(llm) as assistant:
            assistant.run("How many gold customers in France?", scopes=EVERY_SCOPE)
        system = server.requests[0]["messages"][0]["content"]
    assert "“How many gold tier customers are in Germany?” → run_sql" in system
