"""Time expressions in a question → a date range ``[start, end)`` and a human label."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

MONTHS = {
    name: i
    for i, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
         ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
         ("october", "oct"), ("november", "nov"), ("december", "dec")],
        start=1,
    )
    for name in names
}
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "a": 1, "an": 1}
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))


@dataclass(frozen=True, slots=True)
class Timeframe:
    start: dt.date | None
    end: dt.date | None  # exclusive
    label: str


def _month_start(d: dt.date, shift: int = 0) -> dt.date:
    index = d.year * 12 + d.month - 1 + shift
    return dt.date(index // 12, index % 12 + 1, 1)


def _quarter_start(d: dt.date, shift: int = 0) -> dt.date:
    return _month_start(dt.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1), 3 * shift)


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS.get(word, 1)


def parse_timeframe(text: str, today: dt.date) -> Timeframe | None:
    """The first time expression in ``text`` relative to ``today``, or None."""
    t = text.lower()
    tomorrow = today + dt.timedelta(days=1)

    m = re.search(r"\b(?:last|past|previous|recent)\s+(\d+|[a-z]+)\s+(day|week|month|year)s?\b", t)
    if m:
        n, unit = _count(m.group(1)), m.group(2)
        if unit == "day":
            start = today - dt.timedelta(days=n - 1)
        elif unit == "week":
            start = today - dt.timedelta(days=7 * n - 1)
        elif unit == "month":
            first = _month_start(today, -n)  # the same day n calendar months ago, clamped to month end
            month_end = _month_start(first, 1) - dt.timedelta(days=1)
            start = first.replace(day=min(today.day, month_end.day)) + dt.timedelta(days=1)
        else:
            start = today - dt.timedelta(days=365 * n - 1)
        return Timeframe(start, tomorrow, f"the last {n} {unit}{'s' if n != 1 else ''} ({start} to {today})")

    m = re.search(r"\b(q[1-4])\s*(?:of\s+)?(\d{4})\b", t) or re.search(r"\b(\d{4})\s*(q[1-4])\b", t)
    if m:
        q_part = m.group(1) if m.group(1).startswith("q") else m.group(2)
        y_part = m.group(2) if m.group(1).startswith("q") else m.group(1)
        start = dt.date(int(y_part), 3 * (int(q_part[1]) - 1) + 1, 1)
        return Timeframe(start, _quarter_start(start, 1), f"{q_part.upper()} {y_part}")

    m = re.search(r"\bsince\s+(\d{4}-\d{2}-\d{2})\b", t)
    if m:
        start = dt.date.fromisoformat(m.group(1))
        return Timeframe(start, tomorrow, f"since {start}")
    m = re.search(rf"\bsince\s+({_MONTH_RE})\b(?:\s+(\d{{4}}))?", t)
    if m:
        year = int(m.group(2)) if m.group(2) else today.year
        start = dt.date(year, MONTHS[m.group(1)], 1)
        if start > today:
            start = start.replace(year=start.year - 1)
        return Timeframe(start, tomorrow, f"since {start.strftime('%B %Y')}")
    m = re.search(r"\bsince\s+(\d{4})\b", t)
    if m:
        start = dt.date(int(m.group(1)), 1, 1)
        return Timeframe(start, tomorrow, f"since {m.group(1)}")

    m = re.search(r"\bbetween\s+(\d{4}-\d{2}-\d{2})\s+and\s+(\d{4}-\d{2}-\d{2})\b", t)
    if m:
        start, last = dt.date.fromisoformat(m.group(1)), dt.date.fromisoformat(m.group(2))
        return Timeframe(start, last + dt.timedelta(days=1), f"{start} to {last}")

    m = re.search(rf"\b(?:in|during|for)?\s*({_MONTH_RE})\s+(\d{{4}})\b", t)
    if m:
        start = dt.date(int(m.group(2)), MONTHS[m.group(1)], 1)
        return Timeframe(start, _month_start(start, 1), start.strftime("%B %Y"))

    relative = {
        "today": (today, tomorrow, "today"),
        "yesterday": (today - dt.timedelta(days=1), today, "yesterday"),
        "this week": (today - dt.timedelta(days=today.weekday()), tomorrow, "this week"),
        "last week": (today - dt.timedelta(days=today.weekday() + 7), today - dt.timedelta(days=today.weekday()), "last week"),
        "this month": (_month_start(today), tomorrow, "this month"),
        "last month": (_month_start(today, -1), _month_start(today), "last month"),
        "this quarter": (_quarter_start(today), tomorrow, "this quarter"),
        "last quarter": (_quarter_start(today, -1), _quarter_start(today), "last quarter"),
        "previous quarter": (_quarter_start(today, -1), _quarter_start(today), "last quarter"),
        "this year": (dt.date(today.year, 1, 1), tomorrow, f"this year ({today.year})"),
        "year to date": (dt.date(today.year, 1, 1), tomorrow, f"year to date ({today.year})"),
        "ytd": (dt.date(today.year, 1, 1), tomorrow, f"year to date ({today.year})"),
        "last year": (dt.date(today.year - 1, 1, 1), dt.date(today.year, 1, 1), f"last year ({today.year - 1})"),
    }
    for phrase, (start, end, label) in relative.items():
        if re.search(rf"\b{phrase}\b", t):
            span = f"{start} to {end - dt.timedelta(days=1)}"
            return Timeframe(start, end, f"{label} ({span})" if "(" not in label else label)

    m = re.search(r"\b(?:in|during|for|of)\s+(\d{4})\b", t) or re.search(r"\b(20\d{2}|19\d{2})\b", t)
    if m:
        year = int(m.group(1))
        return Timeframe(dt.date(year, 1, 1), dt.date(year + 1, 1, 1), str(year))
    return None
