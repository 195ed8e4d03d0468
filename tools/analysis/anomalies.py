"""Unusual days or weeks in a metric's series: seasonality-aware and robust to the outliers it looks for.

Method (stated with every answer): the **expected** value of a day in the asked period is the median
of the same weekday in the ``history`` weeks *before the period* (of a week: the median of the
``history`` weeks before the period), so the weekly rhythm is the baseline and neither an earlier
spike nor the period itself moves it; the **residual** is the value minus the expected, divided by
√expected for a sum or count (their noise grows with their level: a busy Saturday swings more than a
quiet Monday); its **scale** is the Qn estimator of the history's own leave-one-out residuals (Rousseeuw
& Croux 1993: 2.2219 × the first quartile of the pairwise distances, small-sample corrected) — as
robust as the median absolute deviation but about twice as efficient, so a spread estimated from six
weeks is less often too small, which is what made normal months raise false alarms; a point is
unusual when ``|residual| / scale ≥ threshold``. Fitting on the
history alone is what lets a whole month at +60 % be seen: fitted on a window that includes it, the
shift widens its own spread and nothing stands out. A plain z-score
(mean and standard deviation of the whole series) mistakes every busy weekend for a spike and lets
a real drop hide inside the weekly swing — ``benchmarks/bench_analysis.py`` measures both.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from foundation.errors import ToolInputError
from tools.analysis.measures import Reader
from tools.analysis.periods import Period

HISTORY = 6  # weeks of same-weekday history behind each expected value
THRESHOLD = 3.5  # robust z at or above which a point is unusual
MIN_HISTORY = 3  # fewer earlier same-weekday points than this: no expectation, not judged
MAD_SCALE = 1.4826
QN_SCALE = 2.2219


class SparseSeries(ToolInputError):
    """Most points of the series are empty: nothing can be called unusual."""


@dataclass(frozen=True, slots=True)
class Anomaly:
    day: dt.date
    value: float
    expected: float
    score: float  # robust z

    @property
    def kind(self) -> str:
        return "spike" if self.value > self.expected else "drop"

    @property
    def pct(self) -> float | None:
        return None if not self.expected else 100.0 * (self.value - self.expected) / abs(self.expected)

    def to_dict(self) -> dict[str, Any]:
        return {"date": str(self.day), "value": self.value, "expected": self.expected, "score": round(self.score, 2),
                "kind": self.kind, "pct_vs_expected": None if self.pct is None else round(self.pct, 1)}


@dataclass(frozen=True, slots=True)
class Level:
    """The asked period as a whole against its expected total: a shift no single noisy day shows."""

    actual: float
    expected: float
    score: float  # robust z of the mean residual: Σ scores / √n

    @property
    def pct(self) -> float | None:
        return None if not self.expected else 100.0 * (self.actual - self.expected) / abs(self.expected)


def period_level(values: Sequence[float | None], expected: Sequence[float | None], scores: Sequence[float], *,
                 period: int = 7, history: int = HISTORY) -> Level | None:
    """Totals of the judged points and the robust z of their mean residual. None when nothing was judged.

    The mean of n residual z's has variance ``1/n`` from the points' own noise plus the error of the
    shared baseline: each of the ``p = min(period, n)`` phases is a median of ``history`` values
    (variance ≈ π/2 / history), averaged over the phases — left out, a normal month would look shifted.
    """
    judged = [(v, e, z) for v, e, z in zip(values, expected, scores, strict=True) if v is not None and e is not None]
    if not judged:
        return None
    n = len(judged)
    spread = (1 / n + (math.pi / 2) / (history * min(period, n))) ** 0.5
    mean = sum(z for _, _, z in judged) / n
    return Level(sum(v for v, _, _ in judged), sum(e for _, e, _ in judged), mean / spread)


@dataclass(slots=True)
class Detection:
    anomalies: list[Anomaly]
    points: list[tuple[dt.date, float, float | None]]  # (day, value, expected) of the period judged
    method: dict[str, Any] = field(default_factory=dict)
    judged: int = 0  # points with enough history to be judged
    level: Level | None = None  # the period as a whole (additive metrics)


def _unit(expected: float, scaled: bool) -> float:
    """What a residual is measured in: √expected for a sum or count (noise grows with the level), else 1."""
    return math.sqrt(abs(expected)) if scaled and expected else 1.0


def robust_anomalies(series: Sequence[float | None], *, period: int = 7, history: int = HISTORY,
                     threshold: float = THRESHOLD, start: int = 0,
                     scaled: bool = True) -> tuple[list[int], list[float | None], list[float]]:
    """Indices of unusual points of ``series`` from ``start`` on, their expected values and robust z scores.

    ``period`` is the seasonal step (7 for days with a weekly rhythm, 1 for weeks). With at least
    ``MIN_HISTORY`` cycles before ``start``, the points from ``start`` on are judged against the history
    alone (:func:`_fitted_on_history`): a level shift covering the whole asked period cannot raise its
    own baseline or widen its own spread. Without that much history, every point is expected from the
    same phase of the cycles before it and the spread comes from all residuals. ``scaled``: residuals in
    units of √expected (sums and counts); False for ratios and averages.
    """
    if start >= MIN_HISTORY * period:
        fitted = _fitted_on_history(series, period=period, history=history, start=start, scaled=scaled)
        if fitted is not None:
            return _scored(series, *fitted, threshold, start, scaled)
    expected: list[float | None] = [None] * len(series)
    for i, value in enumerate(series):
        earlier = [series[i - k * period] for k in range(1, history + 1) if i - k * period >= 0]
        earlier_values = [v for v in earlier if v is not None]
        if value is not None and len(earlier_values) >= min(MIN_HISTORY, history):
            expected[i] = statistics.median(earlier_values)
    residuals = [(v - e) / _unit(e, scaled) for v, e in zip(series, expected, strict=True) if v is not None and e is not None]
    if len(residuals) < 3:
        return [], expected, [0.0] * len(series)
    centre, scale = _centre_and_scale(residuals, expected)
    return _scored(series, expected, centre, scale, threshold, start, scaled)


def _fitted_on_history(series: Sequence[float | None], *, period: int, history: int, start: int,
                       scaled: bool = True) -> tuple[list[float | None], float, float] | None:
    """Expected values, residual centre and scale fitted on the points before ``start`` only.

    The seasonal profile is, per phase, the median of that phase's last ``history`` values before
    ``start``; it is every asked point's expected value. History residuals are leave-one-out (each
    history point against the median of its phase's other values), so their median/MAD spread is
    not shrunk by the point itself. None when fewer than three residuals can be formed.
    """
    first = max(0, start - history * period)
    phases: dict[int, list[tuple[int, float]]] = {}
    for i in range(first, start):
        if (value := series[i]) is not None:
            phases.setdefault(i % period, []).append((i, value))
    residuals = []
    for points in phases.values():
        if len(points) < MIN_HISTORY:
            continue
        for j, (_, value) in enumerate(points):
            others = statistics.median([v for k, (_, v) in enumerate(points) if k != j])
            residuals.append((value - others) / _unit(others, scaled))
    if len(residuals) < 3:
        return None
    profile = {phase: statistics.median(v for _, v in points) for phase, points in phases.items() if len(points) >= MIN_HISTORY}
    expected: list[float | None] = [None] * len(series)
    for i in range(start, len(series)):
        if series[i] is not None and (guess := profile.get(i % period)) is not None:
            expected[i] = guess
    centre, scale = _centre_and_scale(residuals, [profile[p] for p in profile])
    return expected, centre, scale


def qn_scale(values: Sequence[float]) -> float:
    """Rousseeuw & Croux's Qn: 2.2219 × the k-th smallest pairwise distance, k = C(h, 2), h = n//2 + 1,
    with the small-sample correction n/(n+1.4) (odd n) or n/(n+3.8) (even n). Normal-consistent, robust
    to half the points being outliers, ~82 % efficient (the MAD: 37 %)."""
    n = len(values)
    if n < 2:
        return 0.0
    ordered = sorted(values)
    distances = sorted(ordered[j] - ordered[i] for i in range(n) for j in range(i + 1, n))
    h = n // 2 + 1
    k = h * (h - 1) // 2
    return QN_SCALE * distances[min(k, len(distances)) - 1] * (n / (n + 1.4) if n % 2 else n / (n + 3.8))


def _centre_and_scale(residuals: Sequence[float], expected: Sequence[float | None]) -> tuple[float, float]:
    """Median and Qn scale of the residuals (the normal-consistent MAD, then the mean absolute deviation,
    when most residuals are exactly typical and Qn is 0)."""
    centre = statistics.median(residuals)
    scale = qn_scale(residuals)
    if scale == 0:
        scale = statistics.median(abs(r - centre) for r in residuals) * MAD_SCALE
    if scale == 0:  # more than half the residuals are exactly typical: the mean absolute deviation instead
        scale = statistics.fmean(abs(r - centre) for r in residuals) * 1.2533
    typical = statistics.median(abs(e) for e in expected if e is not None) if any(e is not None for e in expected) else 1.0
    return centre, max(scale, 1e-6 * (typical or 1.0))


def _scored(series: Sequence[float | None], expected: list[float | None], centre: float, scale: float, threshold: float,
            start: int, scaled: bool) -> tuple[list[int], list[float | None], list[float]]:
    scores = [0.0] * len(series)
    flagged = []
    for i in range(start, len(series)):
        value, guess = series[i], expected[i]
        if value is None or guess is None:
            continue
        scores[i] = ((value - guess) / _unit(guess, scaled) - centre) / scale
        if abs(scores[i]) >= threshold:
            flagged.append(i)
    return flagged, expected, scores


def zscore_anomalies(series: Sequence[float], threshold: float = 3.0) -> list[int]:
    """The plain alternative: points more than ``threshold`` standard deviations from the series' mean."""
    mean = statistics.fmean(series)
    sd = statistics.pstdev(series) or 1.0
    return [i for i, v in enumerate(series) if abs(v - mean) / sd >= threshold]


def detect_anomalies(reader: Reader, period: Period, grain: str = "day", *, history: int = HISTORY,
                   threshold: float = THRESHOLD) -> Detection:
    """Unusual days (or weeks) of ``reader``'s metric within ``period``, judged against the weeks before it."""
    if grain not in ("day", "week"):
        raise ToolInputError(f"Unknown grain '{grain}' for anomalies.", hint="Use day or week.")
    step = 7 if grain == "day" else 1
    unit = dt.timedelta(days=1 if grain == "day" else 7)
    start = period.start if grain == "day" else period.start - dt.timedelta(days=period.start.weekday())
    first = start - unit * step * history
    values = reader.series(first, period.end, grain)
    days: list[dt.date] = []
    cursor = first if grain == "day" else first - dt.timedelta(days=first.weekday())
    while cursor < period.end:
        days.append(cursor)
        cursor += unit
    additive = reader.measure.kind == "additive"
    series = [values.get(d, 0.0 if additive else None) for d in days]
    present = sum(1 for d in days if values.get(d))
    if present < len(days) / 2:
        raise SparseSeries(f"Only {present} of the {len(days)} {grain}s from {days[0]} to {days[-1]} have any "
                           f"{reader.measure.label}: too few to tell what is unusual {'per day' if grain == 'day' else 'at all'}.",
                           hint="Ask per week, or about a busier metric or a longer period." if grain == "day"
                           else "Ask about a busier metric or a longer period.")
    if grain == "week" and days and days[-1] + unit > period.end:
        series[-1] = None  # a week cut by the end of the period is not comparable
    begin = next((i for i, d in enumerate(days) if d >= start), len(days))
    flagged, expected, scores = robust_anomalies(series, period=step, history=history, threshold=threshold, start=begin,
                                                 scaled=additive)
    judged = sum(1 for i in range(begin, len(days)) if expected[i] is not None and series[i] is not None)
    if judged == 0:
        raise ToolInputError(
            f"There is not enough history before {period.label} to judge what is unusual "
            f"(I compare each {grain} with the same {'weekday' if grain == 'day' else 'week'} of the {history} weeks before).",
            hint="Ask about a later period, or at least three weeks after the data starts.")
    anomalies = [Anomaly(days[i], float(series[i] or 0.0), float(expected[i] or 0.0), scores[i]) for i in flagged]
    points = [(days[i], float(series[i] or 0.0), expected[i]) for i in range(begin, len(days))]
    method = {"name": "same-weekday median of the weeks before, Qn-scaled robust z-score" if grain == "day"
              else "median of the weeks before, Qn-scaled robust z-score",
              "grain": grain, "history_weeks": history, "threshold": threshold, "scale": "Qn",
              "residual_unit": "√expected" if additive else "as is"}
    level = period_level(series[begin:], expected[begin:], scores[begin:], period=step, history=history) if additive else None
    return Detection(sorted(anomalies, key=lambda a: -abs(a.score)), points, method, judged, level)


def as_points(values: Mapping[dt.date, float]) -> list[float]:
    return [values[d] for d in sorted(values)]
