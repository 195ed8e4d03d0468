"""“Number of customers” in a comparison: the customers who ordered in each period, and the answer says so.

Tiny workspace of conftest.py: customers signed up 2023–Jan 2025; orders from Jan to Oct 2025
(August: Ben; September: Dara and Emil).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from assistant.agent import Assistant
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings
from tools.analysis.analysis_tools import compare_periods
from tools.context import ToolContext

TODAY = dt.date(2025, 11, 1)


def _run(settings: MaraSettings, text: str) -> tuple[dict[str, Any], str]:
    with Assistant(settings, today=TODAY) as a:
        result = a.run(text, scopes=EVERY_SCOPE)
    (call,) = result.tool_calls
    return dict(call["args"]), result.reply


def test_customers_in_a_period_are_those_who_ordered_in_it(settings: MaraSettings) -> None:
    args, _ = _run(settings, "number of customers in September vs August")
    assert args["metric"] == {"agg": "count_distinct", "column": "orders.customer_id", "alias": "active_customers"}


def test_the_answer_says_which_customers_it_counted(settings: MaraSettings) -> None:
    _, reply = _run(settings, "number of customers in September vs August")
    assert reply.splitlines()[1] == "Customers counted: those with at least one order in the period (active customers), each once."


def test_sign_ups_stay_the_customers_table_by_its_sign_up_date(settings: MaraSettings) -> None:
    args, _ = _run(settings, "how many sign-ups in 2024 vs 2023")
    assert (args["table"], args["metric"]) == ("customers", {"agg": "count", "alias": "customers"})


def test_a_sign_up_count_says_it_counted_sign_ups(settings: MaraSettings) -> None:
    out = compare_periods(ToolContext(settings), period="2024", table="customers", metric={"agg": "count"},  # type: ignore[arg-type]
                          today=TODAY.isoformat())
    assert "Customers counted by signup date: those who joined in the period, not those who ordered in it." in out.text


def test_customers_of_a_country_are_those_of_it_who_ordered(settings: MaraSettings) -> None:
    args, _ = _run(settings, "number of customers in Germany in September vs August")
    assert (args["table"], args["filters"]) == ("orders", [{"column": "customers.country", "op": "=", "value": "Germany"}])
