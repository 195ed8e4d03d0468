"""Metric checks for scheduled alerts: a metric's value over the last complete period, the
previous period and its recent normal range, and whether a condition holds.

A condition is a small interface (:class:`Condition`): :class:`Threshold` ("orders below 50"),
:class:`PercentChange` ("revenue down 30% vs the previous week", or vs its recent normal) and
:class:`Anomaly`, which uses issue 18's anomaly detector (``tools.analysis``). A message that goes
out also says what changed, with the top contributors (:func:`explain_lines`, issue 18's exact
decomposition). Values come from the ordinary query
path (:func:`tools.query_spec.compile_query` on the workspace's read-only warehouse), so a
metric means the same thing in an alert as in a chat answer.

Plain functions: :func:`observe_metric`, :func:`check_metric`, :func:`condition_from_dict`.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import statistics
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from foundation.errors import MaraError, ToolInputError
from tools.context import ToolContext
from tools.query_spec import Metric, QuerySpec, TimeRange, compile_query

log = logging.getLogger("mara.alerts")
Grain = Literal["day", "week", "month"]
GRAINS: tuple[str, ...] = ("day", "week", "month")
#: Complete periods before the checked one that make its "normal range".
HISTORY = 8


class AlertInputError(MaraError):
    """A metric check that cannot run: unknown metric, grain or condition (HTTP 400)."""


@dataclass(slots=True)
class Observation:
    """A metric over the last complete period, the one before it and the ones before that."""

    metric: str
    grain: str
    start: dt.date
    end: dt.date  # exclusive
    value: float | None
    previous: float | None
    history: list[float] = field(default_factory=list)  # oldest first, previous period last
    data_end: dt.date | None = None
    unit: str | None = None

    @property
    def normal_range(self) -> tuple[float, float] | None:
        """Lowest and highest value of the recent complete periods (``None`` without any)."""
        return (min(self.history), max(self.history)) if self.history else None

    @property
    def normal(self) -> float | None:
        """The median of the recent complete periods: robust to one odd period."""
        return statistics.median(self.history) if self.history else None

    @property
    def stale(self) -> bool:
        """True when the data ends before the checked period: no rows is not a drop to zero."""
        return self.data_end is not None and self.data_end < self.start

    def period_label(self) -> str:
        if self.grain == "day":
            return self.start.strftime("%a %d %b %Y")
        if self.grain == "week":
            return f"the week of {self.start.strftime('%d %b %Y')}"
        return self.start.strftime("%B %Y")


@dataclass(slots=True)
class Verdict:
    """Whether a condition holds, in one sentence a marketer reads."""

    fired: bool
    reason: str


class Condition(Protocol):
    """What an alert checks. ``kind`` names it in stored schedules; ``describe`` in messages."""

    kind: str

    def evaluate(self, seen: Observation) -> Verdict: ...

    def describe(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(slots=True)
class Threshold:
    """Fires when the value is above (or below) a fixed number."""

    op: Literal["above", "below"]
    value: float
    kind: str = "threshold"

    def evaluate(self, seen: Observation) -> Verdict:
        if seen.value is None:
            return Verdict(False, "no value for the period")
        hit = seen.value > self.value if self.op == "above" else seen.value < self.value
        word = "above" if self.op == "above" else "below"
        return Verdict(hit, f"{fmt(seen.value, seen.unit)} is {'' if hit else 'not '}{word} {fmt(self.value, seen.unit)}")

    def describe(self) -> str:
        return f"{self.op} {fmt(self.value)}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "op": self.op, "value": self.value}


@dataclass(slots=True)
class PercentChange:
    """Fires when the value moved at least ``pct`` % against the previous period (or against its
    recent normal: the median of the last complete periods)."""

    pct: float
    direction: Literal["up", "down", "either"] = "either"
    baseline: Literal["previous", "normal"] = "previous"
    kind: str = "change"

    def evaluate(self, seen: Observation) -> Verdict:
        base = seen.previous if self.baseline == "previous" else seen.normal
        against = "the previous period" if self.baseline == "previous" else "its recent normal"
        if seen.value is None or base is None or base == 0:
            return Verdict(False, f"no {against} to compare with")
        change = (seen.value - base) / abs(base) * 100
        hit = (
            (self.direction in ("up", "either") and change >= self.pct)
            or (self.direction in ("down", "either") and change <= -self.pct)
        )
        moved = "up" if change >= 0 else "down"
        return Verdict(hit, f"{moved} {abs(change):.1f}% vs {against} ({fmt(base, seen.unit)})")

    def describe(self) -> str:
        sign = {"up": "rises", "down": "falls", "either": "moves"}[self.direction]
        against = "the previous period" if self.baseline == "previous" else "normal"
        return f"{sign} {fmt(self.pct)}% or more vs {against}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "pct": self.pct, "direction": self.direction, "baseline": self.baseline}


#: Issue 18's robust detector (seasonal median + MAD), used by :class:`Anomaly` once it exists.
ANALYSIS_MODULE = "tools.analysis.anomalies"


@dataclass(slots=True)
class Anomaly:
    """Fires when the anomaly detector of ``tools.analysis`` flags the checked period: its value
    is far from the median of the same weekday (days) or of the recent periods (weeks, months),
    measured in robust deviations of the series."""

    kind: str = "anomaly"

    @staticmethod
    def periods(grain: str) -> int:
        """History the detector needs: 8 weeks of days (weekly rhythm), else 8 periods."""
        return 56 if grain == "day" else HISTORY

    def evaluate(self, seen: Observation) -> Verdict:
        detector = anomaly_detector()
        if detector is None:
            raise AlertInputError(
                "The anomaly condition needs the anomaly detector (tools.analysis), which this "
                "version of Mara does not include yet.",
                hint="Use a threshold or a % change condition for now.",
            )
        series = [*seen.history, seen.value]
        last = len(series) - 1
        flagged, expected, scores = detector(series, period=7 if seen.grain == "day" else 1, start=last)
        guess = expected[last]
        if guess is None:
            return Verdict(False, "not enough history to say what is normal")
        step = "same weekday" if seen.grain == "day" else seen.grain
        return Verdict(last in flagged, f"{fmt(seen.value, seen.unit)} vs {fmt(guess, seen.unit)} expected "
                       f"(median of the recent {step}s; robust z {scores[last]:.1f}, unusual from 3.5)")

    def describe(self) -> str:
        return "is unusual (anomaly detector)"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}


def anomaly_detector() -> Any:
    """``tools.analysis.anomalies.robust_anomalies`` (issue 18), or ``None`` without it."""
    try:
        module = importlib.import_module(ANALYSIS_MODULE)
    except ImportError:
        return None
    return getattr(module, "robust_anomalies", None)


def explain_lines(ctx: ToolContext, seen: Observation) -> list[str]:
    """What changed between the previous period and the checked one, in one sentence with the top
    contributors (issue 18's exact decomposition: groups, first-time vs returning customers,
    orders vs value per order); empty when the change cannot be split (e.g. a min/max metric)."""
    if seen.value is None or seen.previous is None or seen.value == seen.previous:
        return []
    try:
        # lazy: the analysis package builds GROUPING SETS queries; only alerts that fire need it
        from tools.analysis.analysis_tools import explanation_sentence
        from tools.analysis.compare import resolve_periods
        from tools.analysis.explain import explain
        from tools.analysis.measures import Reader, require_date, resolve_measure
        from tools.analysis.periods import Period
    except ImportError:
        return []
    try:
        profile = ctx.profile()
        measure = resolve_measure(profile, None, Metric(name=seen.metric))
        require_date(measure)
        reader = Reader(ctx.warehouse, profile, measure)
        before = period_bounds(seen.grain, seen.end, back=1)
        unit: Any = seen.grain
        periods = resolve_periods(reader, Period(seen.start, seen.end, _label(seen.grain, seen.start), unit),
                                  Period(before[0], before[1], _label(seen.grain, before[0]), unit), today=seen.end,
                                  same_days=False)  # the periods the headline compares, not a like-for-like cut
        return [f"What changed: {explanation_sentence(explain(reader, periods, top=3))}"]
    except MaraError as err:  # a metric the decomposition cannot split: the alert still goes out
        log.info("no explanation for %s: %s", seen.metric, err.message)
        return []


def _label(grain: str, start: dt.date) -> str:
    if grain == "day":
        return start.strftime("%d %b %Y")
    if grain == "week":
        return f"the week of {start:%d %b %Y}"
    return start.strftime("%B %Y")


def condition_from_dict(raw: dict[str, Any] | None) -> Condition | None:
    """A condition from its stored form; ``None`` (a plain briefing) for an empty one."""
    if not raw:
        return None
    kind = str(raw.get("kind") or "")
    try:
        if kind == "threshold":
            op = str(raw.get("op") or "")
            if op not in ("above", "below"):
                raise AlertInputError(f"Threshold op {op!r} is not accepted.", hint="Use 'above' or 'below'.")
            return Threshold(op, float(raw["value"]))  # type: ignore[arg-type]
        if kind == "change":
            direction = str(raw.get("direction") or "either")
            baseline = str(raw.get("baseline") or "previous")
            if direction not in ("up", "down", "either") or baseline not in ("previous", "normal"):
                raise AlertInputError(
                    f"Change direction {direction!r} / baseline {baseline!r} is not accepted.",
                    hint="direction: up, down or either; baseline: previous or normal.",
                )
            pct = float(raw["pct"])
            if not 0 < pct <= 1000:
                raise AlertInputError(f"A change of {pct}% is not accepted.", hint="Use more than 0 and at most 1000 (%).")
            return PercentChange(pct, direction, baseline)  # type: ignore[arg-type]
        if kind == "anomaly":
            return Anomaly()
    except (KeyError, TypeError, ValueError) as err:
        raise AlertInputError(f"Condition {raw!r} is incomplete or not a number ({err}).",
                              hint="threshold: {op, value}; change: {pct, direction, baseline}; anomaly: {}.") from err
    raise AlertInputError(f"Unknown condition kind {kind!r}.", hint="Use threshold, change or anomaly.")


# --- observing a metric --------------------------------------------------------------------


def period_bounds(grain: str, today: dt.date, back: int = 0) -> tuple[dt.date, dt.date]:
    """``[start, end)`` of the last complete ``grain`` before ``today``, ``back`` periods earlier."""
    if grain == "day":
        end = today - dt.timedelta(days=back)
        return end - dt.timedelta(days=1), end
    if grain == "week":
        monday = today - dt.timedelta(days=today.weekday())
        end = monday - dt.timedelta(weeks=back)
        return end - dt.timedelta(weeks=1), end
    if grain == "month":
        first = today.replace(day=1)
        for _ in range(back):
            first = (first - dt.timedelta(days=1)).replace(day=1)
        start = (first - dt.timedelta(days=1)).replace(day=1)
        return start, first
    raise AlertInputError(f"Unknown period {grain!r}.", hint=f"Use one of: {', '.join(GRAINS)}.")


def observe_metric(ctx: ToolContext, metric: str, grain: str, today: dt.date, history: int = HISTORY) -> Observation:
    """The metric over the last complete ``grain`` before ``today`` and the ``history``
    periods before it, in one grouped query; plus the last date that has data."""
    if grain not in GRAINS:
        raise AlertInputError(f"Unknown period {grain!r}.", hint=f"Use one of: {', '.join(GRAINS)}.")
    profile = ctx.profile()
    definition = profile.metric(metric)
    if definition is None:
        known = ", ".join(sorted(profile.metrics)) or "none (run 'mara data model --generate')"
        raise AlertInputError(f"Unknown metric {metric!r}.", hint=f"Metrics of this workspace: {known}.")
    start, end = period_bounds(grain, today)
    first, _ = period_bounds(grain, today, back=history)
    spec = QuerySpec(table=definition.table, metrics=[Metric(name=definition.name, alias="value")],
                     time_range=TimeRange(start=first, end=end), time_grain=grain, limit=history + 2)  # type: ignore[arg-type]
    try:
        sql = compile_query(spec, profile, dialect=ctx.warehouse.dialect)
    except ToolInputError as err:
        raise AlertInputError(f"Metric {metric!r} cannot be checked by period: {err.message}", hint=err.hint) from err
    settings = ctx.settings
    result = ctx.warehouse.query(sql, row_cap=history + 2, timeout_s=settings.query_timeout_s)
    by_start = {_as_date(row[0]): (float(row[1]) if row[1] is not None else None) for row in result.rows}
    values = [by_start.get(period_bounds(grain, today, back=k)[0]) for k in range(history, -1, -1)]
    zero = 0.0 if definition.agg in ("count", "count_distinct", "sum") else None
    values = [zero if v is None else v for v in values]
    earlier = [v for v in values[:-1] if v is not None]
    return Observation(
        metric=definition.name, grain=grain, start=start, end=end, value=values[-1],
        previous=values[-2], history=earlier, data_end=_data_end(ctx, definition.table),
        unit=definition.unit,
    )


def _data_end(ctx: ToolContext, table_name: str) -> dt.date | None:
    profile = ctx.profile()
    table = profile.table(table_name)
    main = profile.main_date(table) if table is not None else None
    if table is None or main is None:
        return None
    spec = QuerySpec(table=table.name, metrics=[Metric(agg="max", column=main.name, alias="last")])
    result = ctx.warehouse.query(compile_query(spec, profile, dialect=ctx.warehouse.dialect), row_cap=1,
                                 timeout_s=ctx.settings.query_timeout_s)
    return _as_date(result.rows[0][0]) if result.rows and result.rows[0][0] is not None else None


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        return dt.date.fromisoformat(value[:10])
    return None


@dataclass(slots=True)
class CheckResult:
    """What a metric check found, and the message that states it."""

    observation: Observation
    verdict: Verdict | None  # None: a plain briefing (no condition)
    headline: str
    lines: list[str]

    @property
    def fired(self) -> bool:
        return self.verdict is None or self.verdict.fired

    def to_dict(self) -> dict[str, Any]:
        seen = self.observation
        return {
            "metric": seen.metric, "period": {"grain": seen.grain, "start": seen.start.isoformat(),
                                              "end": seen.end.isoformat()},
            "value": seen.value, "previous": seen.previous, "normal_range": seen.normal_range,
            "data_end": seen.data_end.isoformat() if seen.data_end else None,
            "fired": self.fired, "reason": self.verdict.reason if self.verdict else None,
            "headline": self.headline, "lines": self.lines,
        }


def check_metric(ctx: ToolContext, metric: str, grain: str, condition: Condition | None, today: dt.date) -> CheckResult:
    """Observe the metric and evaluate the condition; the headline states value and change first."""
    history = condition.periods(grain) if isinstance(condition, Anomaly) else HISTORY
    seen = observe_metric(ctx, metric, grain, today, history)
    name = seen.metric.replace("_", " ")
    label = seen.period_label()
    if seen.stale:
        headline = (f"No {name} data for {label}: the data ends on {seen.data_end:%d %b %Y}, "
                    "so nothing was compared.")
        return CheckResult(seen, Verdict(False, "the data ends before the period"), headline, [])
    verdict = condition.evaluate(seen) if condition is not None else None
    change = ""
    if seen.previous not in (None, 0) and seen.value is not None:
        assert seen.previous is not None
        pct = (seen.value - seen.previous) / abs(seen.previous) * 100
        change = (f", {'up' if pct >= 0 else 'down'} {abs(pct):.1f}% on the period before ({fmt(seen.previous, seen.unit)})"
                  if pct else ", the same as the period before")
    headline = f"{name[:1].upper() + name[1:]} was {fmt(seen.value, seen.unit)} in {label}{change}."
    lines = []
    if seen.normal_range is not None:
        low, high = seen.normal_range
        lines.append(f"Normal range (the {len(seen.history)} {seen.grain}s before): {fmt(low, seen.unit)} – {fmt(high, seen.unit)}.")
    if verdict is not None and condition is not None:
        lines.append(f"Alert condition ({name} {condition.describe()}): {verdict.reason}.")
    if verdict is None or verdict.fired:  # a quiet check sends nothing: no need to explain it
        lines += explain_lines(ctx, seen)
    return CheckResult(seen, verdict, headline, lines)


def series_chart(seen: Observation, today: dt.date) -> dict[str, Any]:
    """A Vega-Lite bar chart of the checked period and the ones before it (the checked one
    highlighted), for the image in Slack and e-mail."""
    values = [*seen.history, seen.value]
    starts = [period_bounds(seen.grain, today, back=k)[0] for k in range(len(values) - 1, -1, -1)]
    rows = [{"period": start.isoformat(), "value": value, "checked": i == len(values) - 1}
            for i, (start, value) in enumerate(zip(starts, values, strict=True)) if value is not None]
    name = seen.metric.replace("_", " ")
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": f"{name[:1].upper() + name[1:]} per {seen.grain}",
        "data": {"values": rows}, "mark": "bar", "width": 480, "height": 220,
        "encoding": {
            "x": {"field": "period", "type": "ordinal", "title": None},
            "y": {"field": "value", "type": "quantitative", "title": name},
            "color": {"field": "checked", "type": "nominal", "legend": None,
                      "scale": {"domain": [False, True], "range": ["#9fb3c8", "#1f5f99"]}},
        },
    }


def fmt(value: float | None, unit: str | None = None) -> str:
    """A number as a marketer reads it: thousands separators, 2 decimals only for small money."""
    if value is None:
        return "n/a"
    if unit == "percent":
        return f"{value:.1f}%"
    if float(value).is_integer() or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.2f}"
