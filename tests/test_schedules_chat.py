"""Schedules asked for in chat: the offline reading of standing requests, and the tool saving
one for the turn's caller (owner = actor, default destination = their Slack DM)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.planner.schedule_requests import schedule_request
from assistant.schedules.store import ScheduleStore
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings
from tests.conftest import build_tiny_warehouse
from tools.semantic_model import refresh_workspace_model


def test_weekly_briefing_to_a_channel() -> None:
    assert schedule_request(
        "Every Monday at 9:00 Europe/Berlin send me revenue, orders and new customers vs last week to #marketing"
    ) == {"timezone": "Europe/Berlin", "destination": "slack:#marketing", "cadence": "Every Monday at 9:00",
          "question": "revenue, orders and new customers vs last week"}


def test_alert_on_a_drop_below_normal() -> None:
    assert schedule_request("tell me when daily orders fall 30% below normal") == {
        "metric": "orders", "period": "day", "cadence": "every day at 8:00", "cooldown_s": 86400,
        "condition": {"kind": "change", "pct": 30.0, "direction": "down", "baseline": "normal"}}


def test_alert_on_a_threshold() -> None:
    found = schedule_request("alert me when weekly revenue drops below 5,000")
    assert found is not None and found["condition"] == {"kind": "threshold", "op": "below", "value": 5000.0}


@pytest.mark.parametrize("text", ["how many orders last Monday", "every customer in Germany", "revenue by week",
                                  "daily revenue last month", "weekly orders trend this year"])
def test_ordinary_questions_are_not_standing_requests(text: str) -> None:
    assert schedule_request(text) is None


@pytest.mark.integration
def test_chat_saves_the_schedule_for_the_asker(tmp_path: Path) -> None:
    from assistant.agent import Assistant

    home = tmp_path / "ws"
    home.mkdir()
    build_tiny_warehouse(home / "warehouse.duckdb")
    settings = MaraSettings(home=home, mode="offline", _env_file=None)  # type: ignore[call-arg]
    refresh_workspace_model(settings)
    with Assistant(settings) as assistant:
        made = assistant.run("every weekday at 8:30 send me revenue by channel yesterday", actor="slack:T1:U0123ABCD", scopes=EVERY_SCOPE)
        webhook = assistant.run("every day at 7am send me the order count to https://crm.example.com/h",
                                actor="key:ana", scopes=EVERY_SCOPE)
    (saved,) = ScheduleStore(settings).list()
    assert made.reply.startswith(f"Scheduled {saved.id}: the question “revenue by channel yesterday”")
    assert (saved.owner, saved.cron, saved.destinations) == ("slack:T1:U0123ABCD", "30 8 * * mon-fri",
                                                             ["slack:@U0123ABCD"])
    assert "Webhooks are set up with 'mara schedule add'" in webhook.reply
    shutil.rmtree(home)
