"""The offline planner's analyst moves read the measure, periods and grouping the marketer said.

Tiny workspace of conftest.py: eight orders from 10 Jan to 15 Oct 2025 (August 250.00, September 385.25).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from assistant.agent import Assistant
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings


def _call(settings: MaraSettings, text: str, today: dt.date) -> dict[str, Any]:
    with Assistant(settings, today=today) as a:
        (call,) = a.run(text, scopes=EVERY_SCOPE).tool_calls
    return dict(call)


def test_orders_past_the_end_of_the_data_stay_orders(settings: MaraSettings) -> None:
    call = _call(settings, "compare orders this month vs last month", dt.date(2025, 12, 7))
    assert call["args"]["metric"] == {"agg": "count", "alias": "orders"}


def test_anything_unusual_in_orders_past_the_data_stays_orders(settings: MaraSettings) -> None:
    call = _call(settings, "anything unusual in orders last month?", dt.date(2025, 12, 7))
    assert call["args"]["metric"] == {"agg": "count", "alias": "orders"}


def test_a_measure_the_data_lacks_is_not_answered_with_revenue(settings: MaraSettings) -> None:
    with Assistant(settings, today=dt.date(2025, 11, 1)) as a:
        result = a.run("compare refunds in September vs August", scopes=EVERY_SCOPE)
    assert "I couldn't find “refunds” in your data" in result.reply


def test_the_previous_30_days_are_the_30_before_the_last_30(settings: MaraSettings) -> None:
    call = _call(settings, "revenue last 30 days vs the previous 30 days", dt.date(2025, 10, 16))
    assert (call["args"]["period"], call["args"]["compare_to"]) == ("2025-09-17..2025-10-16", "2025-08-18..2025-09-16")


def test_last_week_vs_the_previous_week_are_two_weeks(settings: MaraSettings) -> None:
    call = _call(settings, "revenue last week vs the previous week", dt.date(2025, 10, 16))
    assert call["args"]["period"] != call["args"]["compare_to"]


def test_by_channel_before_the_periods_is_kept(settings: MaraSettings) -> None:
    call = _call(settings, "compare revenue by channel September vs August", dt.date(2025, 11, 1))
    assert call["args"].get("by") == "orders.channel"


def test_by_channel_before_relative_periods_is_kept(settings: MaraSettings) -> None:
    call = _call(settings, "revenue by channel last month vs the month before", dt.date(2025, 11, 1))
    assert call["args"].get("by") == "orders.channel"


def test_by_something_the_data_lacks_is_not_silently_dropped(settings: MaraSettings) -> None:
    with Assistant(settings, today=dt.date(2025, 11, 1)) as a:
        result = a.run("compare revenue by zodiac sign September vs August", scopes=EVERY_SCOPE)
    assert not any(c["name"] == "compare_periods" and "by" not in c["args"] for c in result.tool_calls)


def test_by_city_is_kept_although_city_has_many_values(settings: MaraSettings) -> None:
    call = _call(settings, "compare revenue by city September vs August", dt.date(2025, 11, 1))
    assert call["args"].get("by") == "customers.city"


def test_why_did_revenue_spike_is_explained_not_scanned_for_anomalies(settings: MaraSettings) -> None:
    call = _call(settings, "why did revenue spike in September?", dt.date(2025, 11, 1))
    assert call["name"] == "explain_change"


def test_what_about_germany_after_a_comparison_filters_the_same_comparison(settings: MaraSettings) -> None:
    with Assistant(settings, today=dt.date(2025, 11, 1)) as a:
        a.run("compare revenue in September vs August", conversation_id="f", scopes=EVERY_SCOPE)
        (call,) = a.run("what about Germany?", conversation_id="f", scopes=EVERY_SCOPE).tool_calls
    assert (call["name"], call["args"].get("filters")) == (
        "compare_periods", [{"column": "customers.country", "op": "=", "value": "Germany"}])
