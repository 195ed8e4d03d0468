"""The words people use for calendar periods — one vocabulary for the question reader and the tools.

Months with their abbreviations ("sep", "sept", "oct."), quarters and halves ("Q3", "H1", "the first
half"), the calendar units and the "X over X" shorthands (WoW, MoM, QoQ, YoY). The planner's
timeframe reader (:mod:`assistant.planner.timeframes`) and the analysis tools' period parser
(:mod:`tools.analysis.periods`) both read periods with these, so a word one of them knows the other
knows too.
"""

from __future__ import annotations

import datetime as dt
import re

#: Month names and abbreviations → month number.
MONTHS: dict[str, int] = {
    name: i
    for i, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
         ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
         ("october", "oct"), ("november", "nov"), ("december", "dec")],
        start=1,
    )
    for name in names
}
#: Month words that are also ordinary words or names ("may", "mar", "jan", "dec"...): a period only
#: with context (a preposition before, a comparison word after, a year, or another month).
AMBIGUOUS_MONTHS = frozenset(name for name in MONTHS if len(name) <= 4 and name not in ("june", "july"))

#: Calendar units and their length in months (weeks and days are counted in days).
UNIT_MONTHS = {"month": 1, "quarter": 3, "half": 6, "year": 12}
#: "the first half", "second quarter": ordinal words → number.
ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4}
#: Shorthands for "this unit vs the one before": WoW, MoM, QoQ, YoY (also w/w, m/m, q/q, y/y).
OVER_UNITS = {"w": "week", "m": "month", "q": "quarter", "y": "year", "d": "day"}
OVER_RE = re.compile(r"\b(?:(day|week|month|quarter|year)[\s-]+(?:over|on)[\s-]+\1|([dwmqy])o\2|([dwmqy])/\3)\b", re.I)
#: Words that put the period after them on the *other* side of a comparison ("than last month").
COMPARED_RE = re.compile(r"\b(?:than|vs\.?|versus|against|compared\s+(?:to|with)|relative\s+to)\s+(?:in\s+|the\s+|in\s+the\s+)?$",
                         re.I)

MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))


def over_unit(text: str) -> str | None:
    """The unit of a "week over week" / "MoM" / "y/y" shorthand in ``text``, if any."""
    m = OVER_RE.search(text)
    if m is None:
        return None
    word = (m.group(1) or m.group(2) or m.group(3)).lower()
    return word if len(word) > 1 else OVER_UNITS[word]


def half_label(year: int, month: int) -> str:
    """``H1 2025`` for a half-year starting in ``month`` (1 or 7)."""
    return f"H{1 if month < 7 else 2} {year}"


def _month_shift(d: dt.date, shift: int) -> dt.date:
    index = d.year * 12 + d.month - 1 + shift
    return dt.date(index // 12, index % 12 + 1, 1)


def half_of(half: int, start: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """``[start, end)`` of the first (``half`` = 1) or second half of the ``months``-long period that starts on
    ``start``: “the first half of October” is 1–15 Oct, of Q3 1 Jul–15 Aug, of 2025 January–June.

    An even number of months splits at a month's start; an odd one in the middle month, after its 15th."""
    if months % 2 == 0:
        middle = _month_shift(start, months // 2)
    else:
        middle = _month_shift(start, months // 2).replace(day=16)
    return (start, middle) if half == 1 else (middle, _month_shift(start, months))


#: “the first half of …”: what the half is of — a month (“October”, “Oct 2025”, “this month”, “the month”),
#: a quarter (“Q3”, “Q3 2025”, “last quarter”) or a year (“2025”, “last year”).
HALF_OF_RE = (rf"(?:the\s+)?(first|1st|second|2nd)\s+half\s+of\s+(?:the\s+)?"
              rf"(?:(this|current|last|previous)\s+(month|quarter|year)|(month|quarter|year)\b|"
              rf"({MONTH_RE})\b\.?(?:\s+(\d{{4}}))?|q([1-4])(?:\s+(?:of\s+)?(\d{{4}}))?|(\d{{4}}))")


def half_of_match(m: re.Match[str], today: dt.date) -> tuple[dt.date, dt.date, str]:
    """``(start, end, unit)`` for a :data:`HALF_OF_RE` match, anchored to ``today`` when no year is said
    (a month or quarter alone: the latest such one that has started)."""
    half = ORDINALS[m.group(1)]
    which, unit = m.group(2), m.group(3) or m.group(4)
    if m.group(9):
        return (*half_of(half, dt.date(int(m.group(9)), 1, 1), 12), "year")
    if m.group(5):
        start = dt.date(int(m.group(6)) if m.group(6) else today.year, MONTHS[m.group(5)], 1)
        if not m.group(6) and start > today:
            start = start.replace(year=start.year - 1)
        return (*half_of(half, start, 1), "month")
    if m.group(7):
        start = dt.date(int(m.group(8)) if m.group(8) else today.year, 3 * (int(m.group(7)) - 1) + 1, 1)
        if not m.group(8) and start > today:
            start = start.replace(year=start.year - 1)
        return (*half_of(half, start, 3), "quarter")
    back = 1 if which in ("last", "previous") else 0
    if unit == "month":
        start = _month_shift(today.replace(day=1), -back)
    elif unit == "quarter":
        start = _month_shift(dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), -3 * back)
    else:
        start = dt.date(today.year - back, 1, 1)
    return (*half_of(half, start, UNIT_MONTHS[unit]), unit)
