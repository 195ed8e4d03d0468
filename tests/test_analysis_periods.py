"""Periods for comparisons: reading them, the period before, like for like, and where the data ends."""

from __future__ import annotations

import datetime as dt

import pytest

from foundation.errors import ToolInputError
from tools.analysis.periods import (
    DataRange,
    Period,
    anchored,
    clip_to_data,
    like_for_like,
    parse_period,
    previous_period,
)

TODAY = dt.date(2026, 12, 7)  # a Monday
D = dt.date


def test_named_month_is_the_whole_calendar_month() -> None:
    p = parse_period("September 2025", TODAY)
    assert (p.start, p.end, p.label) == (D(2025, 9, 1), D(2025, 10, 1), "September 2025")


def test_bare_month_is_the_latest_one_that_has_started() -> None:
    assert parse_period("December", D(2026, 11, 30)).start == D(2025, 12, 1)


def test_quarter_and_year_forms() -> None:
    assert parse_period("Q1 2025", TODAY).end == D(2025, 4, 1)
    assert parse_period("2025q2", TODAY).start == D(2025, 4, 1)
    assert parse_period("2024", TODAY).end == D(2025, 1, 1)


def test_an_exact_range_that_is_a_month_is_named_as_the_month() -> None:
    assert parse_period("2025-09-01..2025-09-30", TODAY).label == "September 2025"


def test_this_month_is_partial_up_to_today() -> None:
    p = parse_period("this month", TODAY)
    assert (p.start, p.end, p.partial) == (D(2026, 12, 1), D(2026, 12, 8), True)


def test_last_month_is_complete() -> None:
    p = parse_period("last month", TODAY)
    assert (p.start, p.end, p.partial) == (D(2026, 11, 1), D(2026, 12, 1), False)


def test_unreadable_period_names_what_is_accepted() -> None:
    with pytest.raises(ToolInputError, match="can't read 'fortnight'") as err:
        parse_period("fortnight", TODAY)
    assert "Q3 2025" in str(err.value)


def test_previous_of_a_quarter_and_a_range() -> None:
    assert previous_period(parse_period("Q1 2025", TODAY)).label == "Q4 2024"
    days = previous_period(parse_period("2025-09-10..2025-09-19", TODAY))
    assert (days.start, days.end) == (D(2025, 8, 31), D(2025, 9, 10))


def test_same_period_last_year() -> None:
    assert previous_period(parse_period("September 2025", TODAY), "last_year").label == "September 2024"


def test_partial_month_is_compared_with_the_same_days_of_the_month_before() -> None:
    current = parse_period("this month", TODAY)
    before = like_for_like(current, previous_period(Period(current.start, D(2027, 1, 1), "", "month")))
    assert (before.start, before.end) == (D(2026, 11, 1), D(2026, 11, 8))


def test_a_period_past_the_data_becomes_the_latest_complete_one_with_a_note() -> None:
    period, note = clip_to_data(parse_period("this month", TODAY), DataRange(D(2024, 1, 1), D(2026, 10, 31)))
    assert period.label == "October 2026"
    assert note is not None and "ends on 2026-10-31" in note


def test_data_ending_mid_month_makes_the_previous_month_the_latest_complete_one() -> None:
    period, _ = clip_to_data(parse_period("this month", TODAY), DataRange(D(2024, 1, 1), D(2026, 11, 20)))
    assert period.label == "October 2026"


def test_data_ending_inside_the_period_cuts_it_and_marks_it_partial() -> None:
    period, note = clip_to_data(parse_period("November 2026", TODAY), DataRange(D(2024, 1, 1), D(2026, 11, 20)))
    assert (period.end, period.partial) == (D(2026, 11, 21), True)
    assert note is not None and "up to that day" in note


def test_a_period_before_the_data_is_a_clear_error() -> None:
    with pytest.raises(ToolInputError, match="runs from 2024-01-01 to 2026-10-31"):
        clip_to_data(parse_period("2020", TODAY), DataRange(D(2024, 1, 1), D(2026, 10, 31)))


def test_a_future_period_has_not_started() -> None:
    with pytest.raises(ToolInputError, match="not started"):
        anchored(parse_period("2027-03", TODAY), TODAY)
