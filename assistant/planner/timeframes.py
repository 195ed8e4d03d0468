"""Time expressions in a question → date ranges ``[start, end)`` with a human label and where they were said.

:func:`find_timeframes` returns every expression (a comparison names two: “September vs August”),
each with its character span so the parser can tell which words a period explained.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tools.analysis.calendar_words import (
    AMBIGUOUS_MONTHS,
    HALF_OF_RE,
    MONTHS,
    ORDINALS,
    UNIT_MONTHS,
    half_label,
    half_of_match,
)
from tools.analysis.periods import short_range

_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "a": 1, "an": 1}
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
# a bare month name is a period only when written as one: "in September", "September's", "vs August"
# the words that put a bare month on a comparison's other side or into a period: "than Sep", "in oct"
_PERIOD_PREPOSITION = r"(?:in|during|for|of|vs\.?|versus|and|to|with|against|than|from|through|until)"


@dataclass(frozen=True, slots=True)
class Timeframe:
    start: dt.date | None
    end: dt.date | None  # exclusive
    label: str
    span: tuple[int, int] = (0, 0)  # characters of the question that said it
    unit: str | None = None  # "month", "quarter", "year" for a calendar period (comparisons, "the month before")
    bare: bool = False  # said without a year ("in March", "Q2"): the spec anchors it to the data's latest such period

    def year_earlier(self) -> Timeframe:
        """The same month or quarter one year before (a bare period moved back into the data)."""
        if self.start is None or self.end is None:
            return self
        start, end = _month_start(self.start, -12), _month_start(self.end, -12)
        return Timeframe(start, end, _calendar_label(start, self.unit or "month"), self.span, self.unit, self.bare)

    def shifted(self, steps: int) -> Timeframe:
        """The same calendar period ``steps`` units later (negative: earlier): “and the month before?”."""
        if self.unit is None or self.start is None:
            return self
        months = UNIT_MONTHS[self.unit] * steps
        start = _month_start(self.start, months)
        end = _month_start(start, UNIT_MONTHS[self.unit])
        return Timeframe(start, end, _calendar_label(start, self.unit), self.span, self.unit)


def _month_start(d: dt.date, shift: int = 0) -> dt.date:
    index = d.year * 12 + d.month - 1 + shift
    return dt.date(index // 12, index % 12 + 1, 1)


def _quarter_start(d: dt.date, shift: int = 0) -> dt.date:
    return _month_start(dt.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1), 3 * shift)


def _calendar_label(start: dt.date, unit: str) -> str:
    if unit == "month":
        return start.strftime("%B %Y")
    if unit == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if unit == "half":
        return half_label(start.year, start.month)
    return str(start.year)


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS.get(word, 1)


def _span_label(start: dt.date, end: dt.date) -> str:
    return f"{start} to {end - dt.timedelta(days=1)}"


Matcher = Callable[["re.Match[str]", dt.date], Timeframe | None]
_MATCHERS: list[tuple[re.Pattern[str], Matcher]] = []


def _matcher(pattern: str) -> Callable[[Matcher], Matcher]:
    def register(fn: Matcher) -> Matcher:
        _MATCHERS.append((re.compile(pattern), fn))
        return fn
    return register


@_matcher(rf"\b{HALF_OF_RE}")
def _half_of(m: re.Match[str], today: dt.date) -> Timeframe | None:
    """“the first half of October” (1–15 Oct), “the second half of last year” (H2 of last year), “the first
    half of Q3”: the half of what follows “of” — read before the month, quarter or year on its own."""
    start, end, unit = half_of_match(m, today)
    if unit == "year":
        return Timeframe(start, end, half_label(start.year, start.month), unit="half")
    return Timeframe(start, end, short_range(start, end))


@_matcher(r"\b(?:last|past|previous|recent|trailing)\s+(\d+|[a-z]+)\s+(day|week|month|year)s?\b")
def _last_n(m: re.Match[str], today: dt.date) -> Timeframe | None:
    if not (m.group(1).isdigit() or m.group(1) in _NUMBER_WORDS):
        return None
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
    return Timeframe(start, today + dt.timedelta(days=1), f"the last {n} {unit}{'s' if n != 1 else ''} ({start} to {today})")


@_matcher(r"\b(q[1-4])\s*(?:of\s+)?(\d{4})\b|\b(\d{4})\s*(q[1-4])\b")
def _quarter(m: re.Match[str], today: dt.date) -> Timeframe | None:
    q_part, y_part = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
    start = dt.date(int(y_part), 3 * (int(q_part[1]) - 1) + 1, 1)
    return Timeframe(start, _quarter_start(start, 1), f"{q_part.upper()} {y_part}", unit="quarter")


@_matcher(r"\bq([1-4])\b")
def _bare_quarter(m: re.Match[str], today: dt.date) -> Timeframe | None:
    """“Q3” alone: the latest such quarter that has started."""
    start = dt.date(today.year, 3 * (int(m.group(1)) - 1) + 1, 1)
    if start > today:
        start = start.replace(year=start.year - 1)
    return Timeframe(start, _quarter_start(start, 1), _calendar_label(start, "quarter"), unit="quarter", bare=True)


_ORDINAL_QUARTERS = {word: n for word, n in ORDINALS.items()}


@_matcher(r"\b(first|1st|second|2nd|third|3rd|fourth|4th)\s+quarter(?:\s+(?:of\s+)?(\d{4}))?\b")
def _ordinal_quarter(m: re.Match[str], today: dt.date) -> Timeframe | None:
    """“the first quarter” (of 2025): Q1 of that year, else the latest Q1 that has started."""
    quarter = _ORDINAL_QUARTERS[m.group(1)]
    start = dt.date(int(m.group(2)) if m.group(2) else today.year, 3 * (quarter - 1) + 1, 1)
    if not m.group(2) and start > today:
        start = start.replace(year=start.year - 1)
    return Timeframe(start, _quarter_start(start, 1), f"Q{quarter} {start.year}", unit="quarter", bare=not m.group(2))


@_matcher(r"\bsince\s+(\d{4}-\d{2}-\d{2})\b")
def _since_date(m: re.Match[str], today: dt.date) -> Timeframe | None:
    start = dt.date.fromisoformat(m.group(1))
    return Timeframe(start, today + dt.timedelta(days=1), f"since {start}")


@_matcher(rf"\bsince\s+({_MONTH_RE})\b(?:\s+(\d{{4}}))?")
def _since_month(m: re.Match[str], today: dt.date) -> Timeframe | None:
    year = int(m.group(2)) if m.group(2) else today.year
    start = dt.date(year, MONTHS[m.group(1)], 1)
    if start > today:
        start = start.replace(year=start.year - 1)
    return Timeframe(start, today + dt.timedelta(days=1), f"since {start.strftime('%B %Y')}")


@_matcher(r"\bsince\s+(\d{4})\b")
def _since_year(m: re.Match[str], today: dt.date) -> Timeframe | None:
    return Timeframe(dt.date(int(m.group(1)), 1, 1), today + dt.timedelta(days=1), f"since {m.group(1)}")


@_matcher(r"\b(?:between|from)\s+(\d{4}-\d{2}-\d{2})\s+(?:and|to|until|-)\s+(\d{4}-\d{2}-\d{2})\b")
def _between(m: re.Match[str], today: dt.date) -> Timeframe | None:
    start, last = dt.date.fromisoformat(m.group(1)), dt.date.fromisoformat(m.group(2))
    return Timeframe(start, last + dt.timedelta(days=1), f"{start} to {last}")


@_matcher(rf"\b({_MONTH_RE})\s*(?:-|–|to|through|until)\s*({_MONTH_RE})\s+(\d{{4}})\b")
def _month_range(m: re.Match[str], today: dt.date) -> Timeframe | None:
    year = int(m.group(3))
    start, last = dt.date(year, MONTHS[m.group(1)], 1), dt.date(year, MONTHS[m.group(2)], 1)
    if last < start:
        return None
    return Timeframe(start, _month_start(last, 1), f"{start.strftime('%b')}–{last.strftime('%b %Y')}")


@_matcher(rf"\b({_MONTH_RE})\.?\s+(\d{{4}})\b|\b(\d{{4}})-(\d{{2}})\b(?!-)")
def _month_year(m: re.Match[str], today: dt.date) -> Timeframe | None:
    if m.group(1):
        start = dt.date(int(m.group(2)), MONTHS[m.group(1)], 1)
    elif 1 <= int(m.group(4)) <= 12:
        start = dt.date(int(m.group(3)), int(m.group(4)), 1)
    else:
        return None
    return Timeframe(start, _month_start(start, 1), start.strftime("%B %Y"), unit="month")


@_matcher(rf"\b(?:{_PERIOD_PREPOSITION}\s+)?({_MONTH_RE})\b\.?(?:'s)?")
def _bare_month(m: re.Match[str], today: dt.date) -> Timeframe | None:
    """“in September”, “Oct vs Sep”: the latest such month that has started (this one when it is that month).

    A word that is also an ordinary word or a name ("may", "mar", "jan", "dec") is a month only with
    context: a preposition before it ("in May", "than Sep") or a comparison word and another month after
    it ("oct vs sep")."""
    word = m.group(1)
    if word in AMBIGUOUS_MONTHS and m.group(0).startswith(word) and not _compared_month_after(m):
        return None  # "may I see ...", "Jan's orders"
    start = dt.date(today.year, MONTHS[word], 1)
    if start > today:
        start = start.replace(year=today.year - 1)
    return Timeframe(start, _month_start(start, 1), start.strftime("%B %Y"), unit="month", bare=True)


_AFTER_MONTH = re.compile(rf"\.?(?:\s*|\s+[a-z' ]{{0,24}}\s+)(?:vs\.?|versus|compared (?:to|with)|against|than|and|or|to|-|–)\s*"
                          rf"(?:in\s+)?({_MONTH_RE})\b")


def _compared_month_after(m: re.Match[str]) -> bool:
    """A comparison word and another month after the match (a few words may come between): “oct vs sep”,
    “oct and nov”, “how did oct do vs sep”."""
    return _AFTER_MONTH.match(m.string, m.end()) is not None


@_matcher(r"\b(?:(?:the\s+)?(first|1st|second|2nd)\s+half|h([12]))(?:\s+(?:of\s+)?(\d{4}))?\b|\b(\d{4})\s*h([12])\b")
def _half(m: re.Match[str], today: dt.date) -> Timeframe | None:
    """“H1 2025”, “the second half of 2025”, “first half” alone (the latest such half that has started)."""
    half = ORDINALS[m.group(1)] if m.group(1) else int(m.group(2) or m.group(5))
    year_text = m.group(3) or m.group(4)
    start = dt.date(int(year_text) if year_text else today.year, 1 if half == 1 else 7, 1)
    if not year_text and start > today:
        start = start.replace(year=start.year - 1)
    return Timeframe(start, _month_start(start, 6), half_label(start.year, start.month), unit="half", bare=not year_text)


_RELATIVE = ("today", "yesterday", "this week", "last week", "previous week", "this month", "last month",
             "previous month", "this quarter", "last quarter", "previous quarter", "this year", "year to date",
             "ytd", "last year", "previous year")


@_matcher(r"\b(" + "|".join(_RELATIVE) + r")\b")
def _relative(m: re.Match[str], today: dt.date) -> Timeframe | None:
    tomorrow = today + dt.timedelta(days=1)
    phrase = m.group(1).replace("previous", "last")
    monday = today - dt.timedelta(days=today.weekday())
    table: dict[str, tuple[dt.date, dt.date, str, str | None]] = {
        "today": (today, tomorrow, "today", None),
        "yesterday": (today - dt.timedelta(days=1), today, "yesterday", None),
        "this week": (monday, tomorrow, "this week", None),
        "last week": (monday - dt.timedelta(days=7), monday, "last week", None),
        "this month": (_month_start(today), tomorrow, "this month", None),
        "last month": (_month_start(today, -1), _month_start(today), "last month", "month"),
        "this quarter": (_quarter_start(today), tomorrow, "this quarter", None),
        "last quarter": (_quarter_start(today, -1), _quarter_start(today), "last quarter", "quarter"),
        "this year": (dt.date(today.year, 1, 1), tomorrow, f"this year ({today.year})", None),
        "year to date": (dt.date(today.year, 1, 1), tomorrow, f"year to date ({today.year})", None),
        "ytd": (dt.date(today.year, 1, 1), tomorrow, f"year to date ({today.year})", None),
        "last year": (dt.date(today.year - 1, 1, 1), dt.date(today.year, 1, 1), f"last year ({today.year - 1})", "year"),
    }
    start, end, label, unit = table[phrase]
    if "(" not in label:
        label = f"{label} ({_span_label(start, end)})"
    return Timeframe(start, end, label, unit=unit)


@_matcher(r"\b(?:in|during|for|of)\s+(\d{4})\b|\b(20\d{2}|19\d{2})\b")
def _year(m: re.Match[str], today: dt.date) -> Timeframe | None:
    year = int(m.group(1) or m.group(2))
    if not 1900 <= year <= 2100:
        return None
    return Timeframe(dt.date(year, 1, 1), dt.date(year + 1, 1, 1), str(year), unit="year")


def _candidates(t: str, today: dt.date) -> Iterator[Timeframe]:
    for pattern, fn in _MATCHERS:
        for m in pattern.finditer(t):
            found = fn(m, today)
            if found is not None:
                yield Timeframe(found.start, found.end, found.label, m.span(), found.unit, found.bare)


def find_timeframes(text: str, today: dt.date, data_end: dt.date | None = None) -> list[Timeframe]:
    """Every time expression in ``text``, in order of mention; overlapping ones resolve to the
    earlier-registered (more specific) pattern, then the longer one.

    A month said without a year takes the year written on the month it is compared with (“dec vs nov 2025”:
    December 2025); else, with ``data_end``, it is the latest such month in the data, not the latest before today."""
    t = text.lower()
    taken: list[Timeframe] = []
    for frame in _candidates(t, today):  # registration order = priority
        if any(frame.span[0] < other.span[1] and other.span[0] < frame.span[1] for other in taken):
            continue
        taken.append(frame)
    found = _shared_years(sorted(taken, key=lambda f: f.span[0]), t)
    if data_end is not None:
        found = [_in_data(f, data_end) for f in found]
    return found


_BETWEEN_MONTHS = re.compile(r"^\s*(?:'s)?\s*(?:[a-z]+\s+){0,2}?(?:vs\.?|versus|compared (?:to|with)|against|than|and|or|to|-|–)\s*(?:in\s+)?$")


def _shared_years(frames: list[Timeframe], text: str) -> list[Timeframe]:
    """“dec vs nov 2025”, “Dec 2025 and Jan”: a bare month next to a month with a year shares that year."""
    out = list(frames)
    for i in range(len(out) - 1):
        a, b = out[i], out[i + 1]
        if a.unit != "month" or b.unit != "month" or a.bare == b.bare or a.start is None or b.start is None:
            continue
        if _BETWEEN_MONTHS.match(text[a.span[1]:b.span[0]]) is None:
            continue
        bare, dated = (a, b) if a.bare else (b, a)
        start = bare.start.replace(year=dated.start.year)  # type: ignore[union-attr]
        moved = Timeframe(start, _month_start(start, 1), start.strftime("%B %Y"), bare.span, "month")
        out[out.index(bare)] = moved
    return out


def _in_data(frame: Timeframe, data_end: dt.date) -> Timeframe:
    """A bare month or quarter after the data's end moved back a year at a time into the data."""
    moved = frame
    while moved.bare and moved.start is not None and moved.start > data_end and moved.unit in ("month", "quarter", "half"):
        moved = moved.year_earlier()
    return moved


def parse_timeframe(text: str, today: dt.date) -> Timeframe | None:
    """The first time expression in ``text`` relative to ``today``, or None."""
    found = find_timeframes(text, today)
    return found[0] if found else None


_BEFORE = re.compile(r"\b(?:the\s+)?(month|quarter|year)\s+before\b|\b(?:the\s+)?(?:previous|prior|preceding)\s+(month|quarter|year)\b")


def relative_to(text: str, previous: Timeframe | None) -> Timeframe | None:
    """“the month before”, “the previous quarter” in a follow-up: one unit before ``previous``."""
    m = _BEFORE.search(text.lower())
    if m is None or previous is None or previous.start is None:
        return None
    unit = m.group(1) or m.group(2)
    base = previous if previous.unit == unit else Timeframe(
        previous.start if unit == "month" else (_quarter_start(previous.start) if unit == "quarter" else dt.date(previous.start.year, 1, 1)),
        None, previous.label, previous.span, unit)
    shifted = base.shifted(-1)
    return Timeframe(shifted.start, shifted.end, shifted.label, m.span(), unit)
