"""Periods as half-open date ranges ``[start, end)``: parsing, the period to compare with, partial periods.

Relative periods ("this month", "last week") are anchored to ``today``; a period that is not over yet
(or that the data stops inside) is *partial*, and :func:`like_for_like` cuts the comparison period to
the same number of days ("month to date vs the same days last month"). :func:`clip_to_data` moves a
period the data has not reached yet to the latest complete one, saying so.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from foundation.errors import ToolInputError
from tools.analysis.calendar_words import (
    HALF_OF_RE,
    MONTHS,
    ORDINALS,
    UNIT_MONTHS,
    half_label,
    half_of_match,
)

Unit = Literal["day", "week", "month", "quarter", "half", "year"]

ACCEPTED = ("this/last week|month|quarter|half|year, today, yesterday, month to date, year to date, "
            "'2025-09', 'September 2025' or 'Sep 2025', 'Q3 2025', 'H1 2025' or 'first half of 2025', "
            "'first half of October' or 'second half of last year', '2025', "
            "or a range '2025-09-01..2025-09-15' (end inclusive)")


@dataclass(frozen=True, slots=True)
class Period:
    """Dates ``start`` ≤ d < ``end``; ``unit`` when it is one calendar unit; ``partial`` when cut short."""

    start: dt.date
    end: dt.date
    label: str
    unit: Unit | None = None
    partial: bool = False

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    def span(self) -> str:
        """``2025-09-01 to 2025-09-30``: the exact days, for the method details."""
        return f"{self.start} to {self.last_day}" if self.days > 1 else str(self.start)

    def to_dict(self) -> dict[str, object]:
        return {"start": str(self.start), "end": str(self.last_day), "label": self.label, "partial": self.partial}


def _month_start(d: dt.date, shift: int = 0) -> dt.date:
    index = d.year * 12 + d.month - 1 + shift
    return dt.date(index // 12, index % 12 + 1, 1)


def _add_months(d: dt.date, months: int) -> dt.date:
    first = _month_start(d, months)
    last = _month_start(first, 1) - dt.timedelta(days=1)
    return first.replace(day=min(d.day, last.day))


def unit_period(start: dt.date, unit: Unit) -> Period:
    """The calendar ``unit`` that starts on ``start`` (a Monday for weeks), labelled the way people say it."""
    if unit == "day":
        return Period(start, start + dt.timedelta(days=1), start.strftime("%a %d %b %Y"), unit)
    if unit == "week":
        return Period(start, start + dt.timedelta(days=7), f"the week of {start:%d %b %Y}", unit)
    end = _month_start(start, UNIT_MONTHS[unit])
    label = {"month": start.strftime("%B %Y"), "quarter": f"Q{(start.month - 1) // 3 + 1} {start.year}",
             "half": half_label(start.year, start.month)}.get(unit, str(start.year))
    return Period(start, end, label, unit)


def unit_containing(day: dt.date, unit: Unit) -> Period:
    """The calendar ``unit`` that contains ``day``."""
    if unit == "day":
        return unit_period(day, "day")
    if unit == "week":
        return unit_period(day - dt.timedelta(days=day.weekday()), "week")
    if unit == "month":
        return unit_period(day.replace(day=1), "month")
    if unit == "quarter":
        return unit_period(dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1), "quarter")
    if unit == "half":
        return unit_period(dt.date(day.year, 1 if day.month < 7 else 7, 1), "half")
    return unit_period(dt.date(day.year, 1, 1), "year")


def label_range(start: dt.date, end: dt.date) -> Period:
    """A range named as the calendar unit it is exactly (``September 2025``), else by its days."""
    for unit in ("month", "quarter", "half", "year", "week", "day"):
        candidate = unit_containing(start, unit)  # type: ignore[arg-type]
        if candidate.start == start and candidate.end == end:
            return candidate
    return Period(start, end, short_range(start, end))


_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*(?:\.\.|to|–|—|/)\s*(\d{4}-\d{2}-\d{2})$")
_RELATIVE = re.compile(r"^(this|last|previous|current)\s+(week|month|quarter|half|year)$")


_RELATIVE_WORDS = ("today", "yesterday", "month to date", "mtd", "year to date", "ytd", "quarter to date", "qtd",
                   "week to date", "wtd")


def is_relative(text: str) -> bool:
    """``text`` names a period relative to today ("this month", "last quarter", "ytd"), not a calendar one
    ("October", "2026-10-01..2026-10-31"): only a relative one may be moved to where the data ends."""
    raw = " ".join(str(text).strip().lower().replace("_", " ").split())
    return bool(_RELATIVE.match(raw)) or raw in _RELATIVE_WORDS


def parse_period(text: str, today: dt.date) -> Period:
    """``text`` as a period (see :data:`ACCEPTED`); relative ones are anchored to ``today``.

    A period still under way ends after ``today`` and is marked partial.
    """
    raw = " ".join(str(text).strip().lower().replace("_", " ").split())
    tomorrow = today + dt.timedelta(days=1)
    if m := _RANGE.match(raw):
        start, last = dt.date.fromisoformat(m.group(1)), dt.date.fromisoformat(m.group(2))
        if last < start:
            raise ToolInputError(f"The period '{text}' ends before it starts.", hint="Write the earlier date first.")
        return label_range(start, last + dt.timedelta(days=1))
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        day = dt.date.fromisoformat(raw)
        return unit_period(day, "day")
    if m := _RELATIVE.match(raw):
        unit: Unit = m.group(2)  # type: ignore[assignment]
        current = unit_containing(today, unit)
        if m.group(1) in ("last", "previous"):
            return previous_period(current)
        return _cut(current, tomorrow, f"this {unit}")
    if raw in ("today", "yesterday"):
        return unit_period(today - dt.timedelta(days=0 if raw == "today" else 1), "day")
    if raw in ("month to date", "mtd", "year to date", "ytd", "quarter to date", "qtd", "week to date", "wtd"):
        unit = {"m": "month", "y": "year", "q": "quarter", "w": "week"}[raw[0]]  # type: ignore[assignment]
        return _cut(unit_containing(today, unit), tomorrow, f"{unit} to date")
    if (m := re.fullmatch(r"(\d{4})-(\d{2})", raw)) and 1 <= int(m.group(2)) <= 12:
        return unit_period(dt.date(int(m.group(1)), int(m.group(2)), 1), "month")
    if (m := re.fullmatch(r"([a-z]+)\.?\s*(\d{4})?", raw)) and m.group(1) in MONTHS:
        year = int(m.group(2)) if m.group(2) else today.year
        start = dt.date(year, MONTHS[m.group(1)], 1)
        if not m.group(2) and start > today:  # "September" alone: the latest one that has started
            start = start.replace(year=year - 1)
        return unit_period(start, "month")
    if m := re.fullmatch(r"q([1-4])\s*(\d{4})?|(\d{4})\s*q([1-4])", raw):
        quarter = int(m.group(1) or m.group(4))
        year_text = m.group(2) or m.group(3)
        start = dt.date(int(year_text) if year_text else today.year, 3 * (quarter - 1) + 1, 1)
        if not year_text and start > today:
            start = start.replace(year=start.year - 1)
        return unit_period(start, "quarter")
    if m := re.fullmatch(HALF_OF_RE, raw):  # "first half of October", "second half of last year"
        start, end, whole = half_of_match(m, today)
        return unit_period(start, "half") if whole == "year" else label_range(start, end)
    if m := re.fullmatch(r"(?:the\s+)?(?:(first|1st|second|2nd)\s+half|h([12]))(?:\s+(?:of\s+)?(\d{4}))?|(\d{4})\s*h([12])", raw):
        half = ORDINALS[m.group(1)] if m.group(1) else int(m.group(2) or m.group(5))
        year_text = m.group(3) or m.group(4)
        start = dt.date(int(year_text) if year_text else today.year, 1 if half == 1 else 7, 1)
        if not year_text and start > today:
            start = start.replace(year=start.year - 1)
        return unit_period(start, "half")
    if re.fullmatch(r"\d{4}", raw) and 1900 <= int(raw) <= 2200:
        return unit_period(dt.date(int(raw), 1, 1), "year")
    raise ToolInputError(f"I can't read '{text}' as a period.", hint=f"Accepted: {ACCEPTED}.")


def short_range(start: dt.date, end: dt.date) -> str:
    """``1–6 Dec 2026``, ``28 Nov–3 Dec 2026``, ``6 Dec 2026``: the days of a cut period, briefly."""
    last = end - dt.timedelta(days=1)
    if last == start:
        return f"{last.day} {last:%b %Y}"
    if (start.year, start.month) == (last.year, last.month):
        return f"{start.day}–{last.day} {last:%b %Y}"
    if start.year == last.year:
        return f"{start.day} {start:%b}–{last.day} {last:%b %Y}"
    return f"{start.day} {start:%b %Y}–{last.day} {last:%b %Y}"


def whole_label(period: Period) -> str:
    """The name of the whole calendar period a cut one belongs to (``December 2026``)."""
    return unit_containing(period.start, period.unit).label if period.unit else period.label


def _cut(period: Period, end: dt.date, label: str) -> Period:
    if end >= period.end:
        return period
    return Period(period.start, end, short_range(period.start, end), period.unit, partial=True)


def previous_period(period: Period, mode: str = "previous") -> Period:
    """The period to compare ``period`` with: the one before it (``previous``) or a year earlier (``last_year``).

    A calendar unit steps by its unit (September → August, Q3 → Q2); any other range by its length.
    """
    if mode in ("last_year", "year_over_year", "yoy", "same period last year"):
        start, end = _add_months(period.start, -12), _add_months(period.end, -12)
        if period.unit and not period.partial:
            return unit_period(start, period.unit)
        return label_range(start, end)
    if mode != "previous":
        raise ToolInputError(f"Unknown comparison '{mode}'.", hint="Use 'previous', 'last_year' or a period.")
    if period.unit in UNIT_MONTHS:
        months = UNIT_MONTHS[period.unit]
        return unit_period(_month_start(period.start, -months), period.unit)
    if period.unit in ("week", "day"):
        return unit_period(period.start - dt.timedelta(days=7 if period.unit == "week" else 1), period.unit)
    return label_range(period.start - dt.timedelta(days=period.days), period.start)


def like_for_like(current: Period, previous: Period) -> Period:
    """``previous`` cut to as many days as a partial ``current`` has: “the same days last month”."""
    if not current.partial or previous.days <= current.days:
        return previous
    end = previous.start + dt.timedelta(days=current.days)
    return Period(previous.start, end, short_range(previous.start, end), previous.unit, partial=True)


@dataclass(frozen=True, slots=True)
class DataRange:
    """The first and last day that hold rows."""

    first: dt.date
    last: dt.date


def clip_to_data(period: Period, data: DataRange) -> tuple[Period, str | None]:
    """``period`` as far as the data reaches, and a note when that changed what is answered.

    - nothing in the data yet for it (it starts after the last day): the latest *complete* period of
      the same unit instead, e.g. "this month" in December on data that ends on 31 October → October;
    - the data stops inside it: cut to the last day and marked partial;
    - entirely before the data starts: :class:`ToolInputError` naming the range.
    """
    if period.end <= data.first:
        raise ToolInputError(
            f"Your data runs from {data.first} to {data.last}, so there is nothing for {period.label}.",
            hint="Ask about a period inside that range.")
    if period.start > data.last:
        unit = period.unit or "month"
        latest = unit_containing(data.last, unit)
        if latest.last_day != data.last:  # the unit the data ends in is not complete: the one before
            latest = previous_period(latest)
        note = f"Your data ends on {data.last}, so this is the latest complete {unit} in it, {latest.label}."
        return latest, note
    if period.last_day > data.last:
        end = data.last + dt.timedelta(days=1)
        cut = Period(period.start, end, short_range(period.start, end), period.unit, partial=True)
        return cut, f"Your data ends on {data.last}, so {whole_label(period)} is counted up to that day."
    return period, None


def anchored(period: Period, today: dt.date) -> Period:
    """``period`` cut at ``today`` (days after it have not happened), marked partial when that cut it."""
    tomorrow = today + dt.timedelta(days=1)
    if period.end <= tomorrow:
        return period
    if period.start >= tomorrow:
        raise ToolInputError(f"{period.label} has not started yet (today is {today}).", hint="Ask about a past period.")
    return _cut(period, tomorrow, period.label)
