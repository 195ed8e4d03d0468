"""Periods said the way marketers say them: abbreviations, halves, "than", "X over X" shorthands.

The vocabulary (tools/analysis/calendar_words.py) is shared by the question reader and the tools'
period parser; these tests read periods with both, and plan a few questions end to end on the tiny
workspace of conftest.py (orders from 10 Jan to 15 Oct 2025).
"""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.planner.analysis import periods_of
from assistant.planner.timeframes import find_timeframes
from tools.analysis.calendar_words import over_unit
from tools.analysis.periods import parse_period, previous_period

TODAY = dt.date(2025, 11, 1)


def _labels(text: str) -> list[str]:
    return [f.label for f in find_timeframes(text, TODAY)]


@pytest.mark.parametrize(("text", "labels"), [
    ("how did oct do vs sep", ["October 2025", "September 2025"]),
    ("revenue oct vs sept", ["October 2025", "September 2025"]),
    ("orders in sept.", ["September 2025"]),
    ("orders mar vs feb", ["March 2025", "February 2025"]),
    ("orders than in Aug", ["August 2025"]),
])
def test_month_abbreviations_are_months_in_context(text: str, labels: list[str]) -> None:
    assert _labels(text) == labels


@pytest.mark.parametrize("text", ["may I see revenue by channel", "Jan's orders", "mar the launch"])
def test_a_month_abbreviation_that_is_an_ordinary_word_needs_context(text: str) -> None:
    assert _labels(text) == []


@pytest.mark.parametrize(("text", "labels"), [
    ("first half vs second half", ["H1 2025", "H2 2025"]),
    ("H1 vs H2 2025", ["H1 2025", "H2 2025"]),
    ("the second half of 2024", ["H2 2024"]),
    ("2025 h1", ["H1 2025"]),
])
def test_halves_of_a_year(text: str, labels: list[str]) -> None:
    assert _labels(text) == labels


@pytest.mark.parametrize(("text", "label"), [
    ("oct", "October 2025"), ("Sept 2025", "September 2025"), ("sept.", "September 2025"),
    ("h1 2025", "H1 2025"), ("first half of 2024", "H1 2024"), ("last half", "H1 2025"),
])
def test_the_tools_read_the_same_vocabulary(text: str, label: str) -> None:
    assert parse_period(text, TODAY).label == label


def test_the_half_before_h1_is_h2_of_the_year_before() -> None:
    assert previous_period(parse_period("H1 2025", TODAY)).label == "H2 2024"


@pytest.mark.parametrize(("text", "unit"), [
    ("revenue MoM", "month"), ("orders WoW", "week"), ("revenue y/y", "year"), ("QoQ growth", "quarter"),
    ("revenue month over month", "month"), ("orders week-on-week", "week"),
])
def test_over_shorthands_name_their_unit(text: str, unit: str) -> None:
    assert over_unit(text) == unit


@pytest.mark.parametrize(("text", "periods"), [
    ("is revenue higher than last month", ("this month", "last month")),
    ("orders vs September", ("this month", "2025-09-01..2025-09-30")),
    ("revenue MoM", ("this month", "previous")),
    ("orders WoW", ("this week", "previous")),
    ("revenue YoY", ("this year", "last_year")),
    ("how did October do compared to September", ("2025-10-01..2025-10-31", "2025-09-01..2025-09-30")),
    ("revenue first half vs second half", ("2025-07-01..2025-12-31", "2025-01-01..2025-06-30")),
])
def test_which_period_is_compared_with_which(text: str, periods: tuple[str, str]) -> None:
    assert periods_of(text, TODAY) == periods


def test_a_period_said_before_the_comparison_word_stays_the_current_one() -> None:
    assert periods_of("was last month better than the month before", TODAY) == ("last month", "previous")
