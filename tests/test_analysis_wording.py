"""How the analysis answers read: each number said once, a named group as the lead, no tool names.

Tiny workspace of conftest.py: August 250.00, September 385.25 of revenue.
"""

from __future__ import annotations

import pytest

from assistant.planner.compose import compose_error_reply
from foundation.errors import ToolInputError
from foundation.settings import MaraSettings
from tools.analysis.analysis_tools import compare_periods, explain_change
from tools.analysis.explain import Breakdown, Contribution, Explanation
from tools.context import ToolContext
from tools.query_spec import Metric

REVENUE = {"agg": "sum", "column": "orders.total", "alias": "revenue"}
ANALYSIS_TOOLS = ("compare_periods", "explain_change", "find_anomalies")


def test_a_false_premise_explanation_says_the_change_once(settings: MaraSettings) -> None:
    out = explain_change(ToolContext(settings), period="2025-09", metric=REVENUE, table="orders",  # type: ignore[arg-type]
                         premise="drop", today="2025-11-01")
    assert out.text.count("+54.1%") == 1


def test_a_false_premise_explanation_goes_on_with_what_moved_it(settings: MaraSettings) -> None:
    out = explain_change(ToolContext(settings), period="2025-09", metric=REVENUE, table="orders",  # type: ignore[arg-type]
                         premise="drop", today="2025-11-01")
    assert out.text.splitlines()[1].startswith("What moved it: first-time customers' revenue rose from 0 to 385")


def test_a_false_premise_comparison_says_the_change_once(settings: MaraSettings) -> None:
    out = compare_periods(ToolContext(settings), period="2025-09", metric=REVENUE, table="orders",  # type: ignore[arg-type]
                          premise="drop", today="2025-11-01")
    assert out.text.count("+54.1%") == 1


def _explanation_with_unnamed_rows(comparison: object) -> Explanation:
    campaign = Breakdown("campaign", [Contribution("(none)", 100.0, 900.0, 800.0), Contribution("spring", 50.0, 10.0, -40.0),
                                      Contribution("summer", 40.0, 20.0, -20.0)], 740.0, 3)
    channel = Breakdown("channel", [Contribution("web", 100.0, 600.0, 500.0), Contribution("app", 90.0, 330.0, 240.0)], 740.0, 2)
    return Explanation(comparison, [campaign, channel])  # type: ignore[arg-type]


def test_rows_without_a_value_never_lead_the_explanation() -> None:
    assert _explanation_with_unnamed_rows(None).lead.dimension == "channel"  # type: ignore[union-attr]


def test_rows_without_a_value_do_not_count_as_the_largest_line() -> None:
    campaign = _explanation_with_unnamed_rows(None).breakdowns[0]
    assert campaign.concentration == pytest.approx(40 / 860)


def test_the_error_reply_names_no_tool() -> None:
    reply = compose_error_reply("compare_periods", "Error: Both periods are the same (September 2025).")
    assert not any(name in reply for name in ANALYSIS_TOOLS)


def test_explaining_a_distinct_count_refuses_without_naming_a_tool(settings: MaraSettings) -> None:
    with pytest.raises(ToolInputError) as refused:
        explain_change(ToolContext(settings), period="2025-10", table="orders",  # type: ignore[arg-type]
                       metric=Metric(agg="count_distinct", column="orders.customer_id"), today="2025-11-01")
    assert not any(name in f"{refused.value} {refused.value.hint}" for name in ANALYSIS_TOOLS)


def test_this_month_past_the_data_against_the_latest_complete_month_is_the_month_the_data_ends_in(
        settings: MaraSettings) -> None:
    out = compare_periods(ToolContext(settings), period="this month", compare_to="2025-09-01..2025-09-30",  # type: ignore[arg-type]
                          metric=REVENUE, table="orders", today="2025-11-01")
    assert (out.data["current"]["start"], out.data["current"]["end"]) == ("2025-10-01", "2025-10-15")
