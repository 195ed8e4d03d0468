"""Usage and cost per conversation, actor and day; daily budgets per actor; `mara usage --json`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from assistant.agent import Assistant
from assistant.chat_models import reset_breakers
from assistant.cli_usage import usage_command
from assistant.testing import ScriptedOpenAIServer, ScriptedReply
from assistant.usage import check_budget, cost_usd, price_of, read_records, summarize, usage_report
from foundation.errors import BudgetExceeded, MaraError
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings


def write_usage(path: Path, records: list[dict]) -> None:  # type: ignore[type-arg]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")


RECORDS = [
    {"ts": "2026-11-01T09:00:00+00:00", "actor": "key:a", "conversation_id": "c1", "model": "gpt-4o-mini",
     "prompt_tokens": 1000, "completion_tokens": 100, "cost_usd": 0.00021},
    {"ts": "2026-11-01T10:00:00+00:00", "actor": "key:b", "conversation_id": "c2", "model": "gpt-4o",
     "prompt_tokens": 2000, "completion_tokens": 200, "cost_usd": 0.007},
    {"ts": "2026-11-02T08:00:00+00:00", "actor": "key:a", "conversation_id": "c1", "model": "offline-planner",
     "prompt_tokens": 50, "completion_tokens": 20, "cost_usd": 0.0},
]


def test_prices_come_from_the_table_and_settings_override(settings: MaraSettings) -> None:
    assert cost_usd("gpt-4o-mini-2024-07-18", 1000, 1000, settings) == pytest.approx(0.00015 + 0.0006)
    assert cost_usd("offline-planner", 1000, 1000, settings) == 0.0
    assert price_of("gpt-4o", settings) == {"prompt": 0.0025, "completion": 0.01}
    custom = settings.model_copy(update={"price_table": {"my-model": {"prompt": 1.0, "completion": 2.0}}})
    assert cost_usd("my-model-v2", 500, 250, custom) == pytest.approx(1.0)


def test_summaries_by_conversation_actor_and_day(settings: MaraSettings) -> None:
    write_usage(settings.usage_path, RECORDS)
    with settings.usage_path.open("a") as handle:
        handle.write('{"ts": "2026-11-02T09:00:00+00:00", "actor": "key:b", "prompt_t')  # a torn last line
    by_actor = {r.key: r for r in summarize(read_records(settings.usage_path), "actor")}
    assert by_actor["key:a"].turns == 2 and by_actor["key:a"].prompt_tokens == 1050
    assert by_actor["key:b"].cost_usd == pytest.approx(0.007)
    by_day = usage_report(settings, by="day")
    assert [g["day"] for g in by_day["groups"]] == ["2026-11-01", "2026-11-02"]
    assert by_day["total"]["turns"] == 3 and by_day["total"]["cost_usd"] == pytest.approx(0.00721)
    since = usage_report(settings, since=dt.date(2026, 11, 2), by="conversation")
    assert since["groups"] == [{"conversation": "c1", "turns": 1, "prompt_tokens": 50, "completion_tokens": 20,
                                "total_tokens": 70, "cost_usd": 0.0, "models": ["offline-planner"]}]
    with pytest.raises(MaraError, match="Use one of"):
        summarize([], "week")


def test_budget_refuses_once_the_day_is_spent(settings: MaraSettings) -> None:
    limited = settings.model_copy(update={"budget_usd_per_day": 0.005, "budgets_usd_per_day": {"key:b": 1.0}})
    write_usage(limited.usage_path, RECORDS)
    day = dt.date(2026, 11, 1)
    check_budget("key:a", limited, today=day)  # 0.00021 of 0.005
    check_budget("key:b", limited, today=day)  # its own, larger budget
    write_usage(limited.usage_path, [{**RECORDS[0], "cost_usd": 0.006}])  # appended later: read incrementally
    with pytest.raises(BudgetExceeded, match=r"key:a has used \$0\.0062 of its \$0\.01 daily LLM budget") as err:
        check_budget("key:a", limited, today=day)
    assert "MARA_BUDGET_USD_PER_DAY" in str(err.value)
    check_budget("key:a", limited, today=dt.date(2026, 11, 2))  # a new day
    check_budget("key:a", settings, today=day)  # no budget configured: unlimited


@pytest.mark.integration
def test_llm_turns_cost_money_and_the_budget_stops_them(settings: MaraSettings) -> None:
    reset_breakers()
    with ScriptedOpenAIServer([ScriptedReply(content="Hello there.")]) as server:
        llm = settings.model_copy(update={
            "mode": None, "llm_base_url": server.base_url, "llm_model": "gpt-4o", "budget_usd_per_day": 0.0001})
        with Assistant(llm) as assistant:
            first = assistant.run("hi", conversation_id="b", actor="key:m", scopes=EVERY_SCOPE)
            second = assistant.run("hi again", conversation_id="b", actor="key:m", scopes=EVERY_SCOPE)
            history = assistant.history("b")
        assert len(server.requests) == 1  # the refused turn never reached the model
    assert first.error is None and first.usage["cost_usd"] > 0.0001
    assert second.error is not None and "daily LLM budget" in second.error
    assert second.reply.startswith("Sorry — key:m has used")
    assert [m.content for m in history][-1] == second.reply  # the refusal is part of the conversation
    (record,) = [r for r in read_records(llm.usage_path) if r["conversation_id"] == "b" and r["cost_usd"]]
    assert record["actor"] == "key:m" and record["model"] == "gpt-4o"
    from assistant.audit import AuditLog

    refusals = [r for r in AuditLog(llm.home / "audit.sqlite").query(conversation_id="b") if r.kind == "refusal"]
    assert [(r.name, r.actor) for r in refusals] == [("budget", "key:m")]


def test_usage_cli_json(settings: MaraSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    write_usage(settings.usage_path, RECORDS)
    monkeypatch.setattr("assistant.cli_usage._settings", lambda: settings)
    app = typer.Typer()
    app.command("usage")(usage_command)
    app.command("noop")(lambda: None)  # a multi-command app, as in assistant.cli
    runner = CliRunner()
    result = runner.invoke(app, ["usage", "--by", "actor", "--since", "2026-11-01", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [g["actor"] for g in report["groups"]] == ["key:a", "key:b"] and report["by"] == "actor"
    bad = runner.invoke(app, ["usage", "--by", "week", "--json"])
    assert bad.exit_code != 0 and isinstance(bad.exception, MaraError)
    bad_date = runner.invoke(app, ["usage", "--since", "yesterday", "--json"])
    assert isinstance(bad_date.exception, MaraError) and "ISO" in str(bad_date.exception)
