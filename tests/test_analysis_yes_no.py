"""A yes/no comparison (“Was revenue in March lower than in Feb?”) is answered Yes or No first.

Tiny workspace of conftest.py: revenue 250 in August 2025 and 385 in September 2025.
"""

from __future__ import annotations

import datetime as dt

from assistant.planner.analysis import yes_no_direction
from foundation.settings import MaraSettings
from tools.analysis.analysis_tools import compare_periods
from tools.context import ToolContext

TODAY = dt.date(2025, 11, 1)


def test_later_period_said_lower_asks_about_a_drop() -> None:
    assert yes_no_direction("Was revenue in March lower than in Feb?", TODAY) == "drop"


def test_earlier_period_said_lower_asks_about_a_rise() -> None:
    assert yes_no_direction("Was revenue in Feb lower than in March?", TODAY) == "rise"


def test_a_question_that_is_not_yes_no_asks_nothing() -> None:
    assert yes_no_direction("Revenue in March vs Feb", TODAY) is None


def test_a_percent_threshold_is_not_read_as_a_plain_direction() -> None:
    assert yes_no_direction("Did revenue grow more than 10% last month?", TODAY) is None


def _compare(settings: MaraSettings, asked: str) -> str:
    out = compare_periods(ToolContext(settings), period="2025-09", compare_to="2025-08", asked=asked,  # type: ignore[arg-type]
                          metric={"agg": "sum", "column": "orders.total", "alias": "revenue"}, table="orders", today=TODAY.isoformat())  # type: ignore[arg-type]
    return out.text


def test_a_drop_that_did_not_happen_is_answered_no(settings: MaraSettings) -> None:
    assert _compare(settings, "drop").startswith("No — Revenue rose 135 (+54.1%)")


def test_a_rise_that_happened_is_answered_yes(settings: MaraSettings) -> None:
    assert _compare(settings, "rise").startswith("Yes — Revenue rose 135 (+54.1%)")
