"""Halves of what follows “of” and bare months placed where the data is (review of issue 18, findings 1–3).

“the first half of October” is 1–15 October, not H1 of the year; “the second half of last year” is H2 of
last year; a month said without a year takes the year written on the month it is compared with, else the
latest such month in the data; and a period the user named is never swapped for another one.
"""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.planner.analysis import periods_of
from assistant.planner.timeframes import find_timeframes
from foundation.errors import ToolInputError
from tools.analysis.calendar_words import half_of
from tools.analysis.compare import resolve_periods
from tools.analysis.periods import DataRange, is_relative, parse_period

TODAY = dt.date(2026, 12, 7)
DATA_END = dt.date(2026, 11, 20)
D = dt.date


def _spans(text: str, data_end: dt.date | None = None) -> list[tuple[dt.date | None, dt.date | None]]:
    return [(f.start, f.end) for f in find_timeframes(text, TODAY, data_end)]


def test_first_half_of_a_month_is_its_first_fifteen_days() -> None:
    assert half_of(1, D(2026, 10, 1), 1) == (D(2026, 10, 1), D(2026, 10, 16))


def test_second_half_of_a_month_runs_to_its_end() -> None:
    assert half_of(2, D(2026, 2, 1), 1) == (D(2026, 2, 16), D(2026, 3, 1))


def test_first_half_of_a_quarter_ends_in_the_middle_of_its_middle_month() -> None:
    assert half_of(1, D(2026, 7, 1), 3) == (D(2026, 7, 1), D(2026, 8, 16))


def test_halves_of_october_compared_are_day_ranges() -> None:
    assert periods_of("Revenue in the first half of October vs the second half of October", TODAY) == (
        "2026-10-16..2026-10-31", "2026-10-01..2026-10-15")


def test_second_half_of_last_year_is_h2_of_last_year() -> None:
    assert periods_of("Revenue in the second half of last year vs the first half of last year", TODAY) == (
        "2025-07-01..2025-12-31", "2025-01-01..2025-06-30")


def test_first_half_of_this_month_is_read_as_one_timeframe() -> None:
    assert _spans("orders in the first half of this month") == [(D(2026, 12, 1), D(2026, 12, 16))]


def test_half_of_a_year_written_out_is_still_the_calendar_half() -> None:
    assert _spans("revenue in the first half of 2025") == [(D(2025, 1, 1), D(2025, 7, 1))]


def test_the_tools_period_parser_reads_a_half_month() -> None:
    p = parse_period("first half of October", TODAY)
    assert (p.start, p.end) == (D(2026, 10, 1), D(2026, 10, 16))


def test_the_tools_period_parser_reads_the_half_of_last_year() -> None:
    p = parse_period("the second half of last year", TODAY)
    assert (p.start, p.end, p.label) == (D(2025, 7, 1), D(2026, 1, 1), "H2 2025")


def test_a_bare_month_takes_the_year_of_the_month_it_is_compared_with() -> None:
    assert _spans("Revenue in dec vs nov 2025") == [(D(2025, 12, 1), D(2026, 1, 1)), (D(2025, 11, 1), D(2025, 12, 1))]


def test_a_bare_month_after_the_data_ends_is_the_latest_such_month_in_the_data() -> None:
    assert _spans("Jan revenue vs Dec revenue", DATA_END) == [(D(2026, 1, 1), D(2026, 2, 1)), (D(2025, 12, 1), D(2026, 1, 1))]


def test_a_bare_month_inside_the_data_stays_this_year() -> None:
    assert _spans("orders in October", DATA_END) == [(D(2026, 10, 1), D(2026, 11, 1))]


@pytest.mark.parametrize("text", ["this month", "last quarter", "ytd", "today"])
def test_relative_periods_are_relative(text: str) -> None:
    assert is_relative(text)


@pytest.mark.parametrize("text", ["October", "2026-12-01..2026-12-31", "Q3 2025", "H1 2026"])
def test_named_periods_are_not_relative(text: str) -> None:
    assert not is_relative(text)


class _Reader:
    """Only the data's range: all resolve_periods reads."""

    def data_range(self) -> DataRange:
        return DataRange(D(2025, 1, 1), DATA_END)


def test_a_named_month_past_the_data_is_refused_not_swapped() -> None:
    with pytest.raises(ToolInputError, match="nothing for December 2026"):
        resolve_periods(_Reader(), "2026-12-01..2026-12-31", "2025-11-01..2025-11-30", today=TODAY)  # type: ignore[arg-type]


def test_this_month_past_the_data_is_the_latest_complete_month_with_a_note() -> None:
    periods = resolve_periods(_Reader(), "this month", "previous", today=D(2026, 12, 7))  # type: ignore[arg-type]
    assert (periods.current.label, periods.notes[0]) == (
        "October 2026", "Your data ends on 2026-11-20, so this is the latest complete month in it, October 2026.")


def test_a_half_under_way_is_compared_with_the_first_days_of_the_other_half_and_says_so() -> None:
    periods = resolve_periods(_Reader(), "2026-07-01..2026-12-31", "2026-01-01..2026-06-30", today=TODAY)  # type: ignore[arg-type]
    assert "is compared with the first 143 days of H1 2026 (1 Jan–23 May 2026)" in periods.notes[-1]
