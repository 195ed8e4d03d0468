"""Compare a metric between two periods, overall and optionally by one dimension.

:func:`resolve_periods` turns what was asked ("this month", "September 2025", compared with the
previous period or the same period last year) into two periods the data can answer, anchored to
today and to where the data ends, like for like when the current one is partial; :func:`compare`
reads both (one query per period, one more per period for a breakdown).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from foundation.errors import ToolInputError
from tools.analysis.measures import Measure, Reader, Totals
from tools.analysis.periods import (
    DataRange,
    Period,
    anchored,
    clip_to_data,
    is_relative,
    like_for_like,
    parse_period,
    previous_period,
    unit_containing,
    whole_label,
)

_COMPARE_MODES = ("previous", "last_year", "year_over_year", "yoy", "same period last year")


@dataclass(slots=True)
class Periods:
    """The two periods compared, why they may differ from what was asked, and the data's range."""

    current: Period
    previous: Period
    data: DataRange
    notes: list[str] = field(default_factory=list)
    # the other period as asked, when it was cut to the days the partial one has: its whole total is said too
    previous_whole: Period | None = None


def resolve_periods(reader: Reader, period: str | Period, compare_to: str | Period = "previous", *,
                    today: dt.date | None = None, same_days: bool = True) -> Periods:
    """Two comparable periods for ``period`` vs ``compare_to`` (``previous``, ``last_year`` or a period).

    Anchored to ``today`` and to the data: a period the data has not reached becomes the latest complete
    one (said in a note); a partial period is compared with the same number of days of the other
    (``same_days``). A comparison period entirely before the data raises :class:`ToolInputError`.
    """
    today = today or dt.date.today()
    asked = parse_period(period, today) if isinstance(period, str) else period
    current = anchored(asked, today) if asked.start <= today else asked
    data = reader.data_range()
    if isinstance(period, str) and not is_relative(period) and current.start > data.last:
        # a period the user named ("December", "2026-12-01..2026-12-31") is never swapped for another one
        raise ToolInputError(f"Your data ends on {data.last}, so there is nothing for {whole_label(asked)} yet.",
                             hint="Ask about a period up to that day.")
    current, note = clip_to_data(current, data)
    notes = [note] if note else []
    if isinstance(compare_to, Period):
        previous = compare_to
    elif compare_to.strip().lower().replace("-", " ") in _COMPARE_MODES or compare_to.strip().lower() in _COMPARE_MODES:
        mode = compare_to.strip().lower().replace(" ", "_").replace("-", "_")
        full = current
        if current.partial and current.unit:  # step from the whole unit, then cut like for like
            full = Period(current.start, current.start + dt.timedelta(days=400), current.label, current.unit)
        previous = previous_period(full if mode == "previous" else current, "previous" if mode == "previous" else "last_year")
    else:
        previous = parse_period(compare_to, today)
        if note and asked.unit and previous.start == previous_period(unit_containing(asked.start, asked.unit)).start:
            previous = previous_period(current)  # "this month vs last month" past the data's end: the month before
        elif note and current.unit and previous.start < current.end and current.start < previous.end:
            # "orders vs September" with September the latest complete month: the month the data ends in, so far
            latest, cut_note = clip_to_data(unit_containing(data.last, current.unit), data)
            if latest.end <= previous.start or previous.end <= latest.start:
                current, notes = latest, [f"Your data ends on {data.last}, so this is {whole_label(latest)} up to that day."]
    whole: Period | None = None
    if same_days and current.partial:
        cut = like_for_like(current, previous)
        if cut is not previous:
            whole = previous
            same = f"the first {cut.days} days" if cut.start == previous.start else "the same days"  # a half's first 143 days
            notes.append(f"{whole_label(current)} is not complete, so {current.label} is compared with {same} "
                         f"of {whole_label(previous)} ({cut.label}).")
        previous = cut
    if previous.start == current.start and previous.end == current.end:
        raise ToolInputError(f"Both periods are the same ({current.label}), so there is nothing to compare.",
                             hint="Compare it with the period before it or with a different period.")
    if previous.start < current.end and current.start < previous.end:
        raise ToolInputError(f"{current.label} and {previous.label} overlap, so the days they share would be counted in "
                             "only one of them.", hint="Compare two periods that do not share days, e.g. the period just before.")
    if previous.end <= data.first:
        raise ToolInputError(
            f"Your data starts on {data.first}, so there is nothing to compare {current.label} with ({previous.label}).",
            hint=f"Compare it with a period after {data.first}, e.g. the period just before it.")
    if previous.start < data.first:
        notes.append(f"Your data starts on {data.first}, so {previous.label} is only partly covered.")
    if previous.start > data.last:
        raise ToolInputError(f"Your data ends on {data.last}, so there is nothing for {previous.label}.",
                             hint="Compare with an earlier period.")
    return Periods(current, previous, data, notes, whole if whole is not None and whole.start < data.last else None)


@dataclass(slots=True)
class GroupChange:
    name: str
    previous: float | None
    current: float | None

    @property
    def change(self) -> float | None:
        if self.previous is None or self.current is None:
            return None
        return self.current - self.previous

    @property
    def pct(self) -> float | None:
        return pct_change(self.previous, self.current)


def pct_change(previous: float | None, current: float | None) -> float | None:
    """Relative change in %, None from zero or a missing value."""
    if previous is None or current is None or previous == 0:
        return None
    return 100.0 * (current - previous) / abs(previous)


@dataclass(slots=True)
class Comparison:
    """A metric in two periods (and per group of ``by``)."""

    measure: Measure
    periods: Periods
    previous_totals: Totals
    current_totals: Totals
    by: str | None = None
    groups: list[GroupChange] = field(default_factory=list)
    hidden_groups: int = 0  # groups beyond those listed (folded into "other")
    previous_whole: float | None = None  # the other period in full (when it was cut like for like)

    @property
    def previous(self) -> float | None:
        return self.measure.value(self.previous_totals.parts)

    @property
    def current(self) -> float | None:
        return self.measure.value(self.current_totals.parts)

    @property
    def change(self) -> float | None:
        if self.previous is None or self.current is None:
            return None
        return self.current - self.previous

    @property
    def pct(self) -> float | None:
        return pct_change(self.previous, self.current)

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.measure.label, "unit": self.measure.unit,
            "current": {**self.periods.current.to_dict(), "value": self.current, "rows": self.current_totals.rows},
            "previous": {**self.periods.previous.to_dict(), "value": self.previous, "rows": self.previous_totals.rows},
            "change": self.change, "pct_change": self.pct,
            "by": self.by,
            "groups": [{"name": g.name, "previous": g.previous, "current": g.current, "change": g.change, "pct_change": g.pct}
                       for g in self.groups],
            "notes": list(self.periods.notes),
            "data_range": {"first": str(self.periods.data.first), "last": str(self.periods.data.last)},
        }


def compare(reader: Reader, periods: Periods, by: str | None = None, *, top: int = 20) -> Comparison:
    """The metric in both periods; with ``by``, per group (the ``top`` largest, the rest as "other")."""
    cube = reader.cube([periods.previous, periods.current], [by] if by else [])  # one query when it can
    if cube is not None:
        previous, current = cube.dimensions[by] if by else cube.totals
    else:
        previous = reader.totals(periods.previous)
        current = reader.totals(periods.current)
        if by:
            previous = reader.by(periods.previous, by, previous)
            current = reader.by(periods.current, by, current)
    result = Comparison(reader.measure, periods, previous, current)
    if periods.previous_whole is not None and not by:
        whole = clip_to_data(periods.previous_whole, periods.data)[0]
        result.previous_whole = reader.measure.value(reader.totals(whole).parts)
    if by:
        result.by = by
        names = sorted(set(previous.groups) | set(current.groups),
                       key=lambda n: -abs(reader.measure.value(current.groups.get(n, _zero(reader))) or 0.0))
        shown = names[:top]
        for name in shown:
            result.groups.append(GroupChange(name, _group_value(reader, previous, name), _group_value(reader, current, name)))
        rest = names[top:]
        if rest or previous.truncated or current.truncated:
            other = [_other_parts(reader, t, shown) for t in (previous, current)]
            if reader.measure.kind != "other":
                result.groups.append(GroupChange("other", reader.measure.value(other[0]), reader.measure.value(other[1])))
            result.hidden_groups = len(rest)
    return result


def _zero(reader: Reader) -> list[float]:
    return [0.0] * len(reader.measure.components)


def _group_value(reader: Reader, totals: Totals, name: str) -> float | None:
    parts = totals.groups.get(name)
    if parts is None:
        return 0.0 if reader.measure.kind == "additive" else None
    return reader.measure.value(parts)


def _other_parts(reader: Reader, totals: Totals, shown: list[str]) -> list[float]:
    """What the groups not shown add up to: the total minus the shown groups, component by component."""
    listed = [totals.groups.get(n, _zero(reader)) for n in shown]
    return [total - sum(p[i] for p in listed) for i, total in enumerate(totals.parts)]


def direction_word(change: float | None, *, up: str = "rose", down: str = "fell", same: str = "did not change") -> str:
    if not change:
        return same
    return up if change > 0 else down
