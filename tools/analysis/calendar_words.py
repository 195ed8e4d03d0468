"""The words people use for calendar periods — one vocabulary for the question reader and the tools.

Months with their abbreviations ("sep", "sept", "oct."), quarters and halves ("Q3", "H1", "the first
half"), the calendar units and the "X over X" shorthands (WoW, MoM, QoQ, YoY). The planner's
timeframe reader (:mod:`assistant.planner.timeframes`) and the analysis tools' period parser
(:mod:`tools.analysis.periods`) both read periods with these, so a word one of them knows the other
knows too.
"""

from __future__ import annotations

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
