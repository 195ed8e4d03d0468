"""Unusual days or weeks in a metric's series: seasonality-aware and robust to the outliers it looks for.

Method (stated with every answer): the **expected** value of a day is the median of the same weekday
in the ``history`` weeks before it (of a week: the median of the ``history`` weeks before it), so the
weekly rhythm is the baseline and an earlier spike does not move it; the **residual** is the value
minus the expected; its **scale** is the median absolute deviation of all residuals (× 1.4826, the
normal-consistent MAD); a point is unusual when ``|residual| / scale ≥ threshold``. A plain z-score
(mean and standard deviation of the whole series) mistakes every busy weekend for a spike and lets
a real drop hide inside the weekly swing — ``benchmarks/bench_analysis.py`` measures both.
"""

from __future__ import annotations

import datetime as dt
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


@dataclass(slots=True)
class Detection:
    anomalies: list[Anomaly]
    points: list[tuple[dt.date, float, float | None]]  # (day, value, expected) of the period judged
    method: dict[str, Any] = field(default_factory=dict)
    judged: int = 0  # points with enough history to be judged


def robust_anomalies(series: Sequence[float | None], *, period: int = 7, history: int = HISTORY,
                     threshold: float = THRESHOLD, start: int = 0) -> tuple[list[int], list[float | None], list[float]]:
    """Indices of unusual points of ``series`` from ``start`` on, their expected values and robust z scores.

    ``period`` is the seasonal step (7 for days with a weekly rhythm, 1 for weeks).
    """
    expected: list[float | None] = [None] * len(series)
    for i, value in enumerate(series):
        earlier = [series[i - k * period] for k in range(1, history + 1) if i - k * period >= 0]
        earlier_values = [v for v in earlier if v is not None]
        if value is not None and len(earlier_values) >= min(MIN_HISTORY, history):
            expected[i] = statistics.median(earlier_values)
    residuals = [v - e for v, e in zip(series, expected, strict=True) if v is not None and e is not None]
    scores = [0.0] * len(series)
    if len(residuals) < 3:
        return [], expected, scores
    centre = statistics.median(residuals)
    mad = statistics.median(abs(r - centre) for r in residuals) * MAD_SCALE
    if mad == 0:  # more than half the residuals are exactly typical: the mean absolute deviation instead
        mad = statistics.fmean(abs(r - centre) for r in residuals) * 1.2533
    typical = statistics.median(abs(e) for e in expected if e is not None) or 1.0
    scale = max(mad, 1e-6 * typical)
    flagged = []
    for i in range(start, len(series)):
        value, guess = series[i], expected[i]
        if value is None or guess is None:
            continue
        scores[i] = (value - guess - centre) / scale
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
    flagged, expected, scores = robust_anomalies(series, period=step, history=history, threshold=threshold, start=begin)
    judged = sum(1 for i in range(begin, len(days)) if expected[i] is not None and series[i] is not None)
    if judged == 0:
        raise ToolInputError(
            f"There is not enough history before {period.label} to judge what is unusual "
            f"(I compare each {grain} with the same {'weekday' if grain == 'day' else 'week'} of the {history} weeks before).",
            hint="Ask about a later period, or at least three weeks after the data starts.")
    anomalies = [Anomaly(days[i], float(series[i] or 0.0), float(expected[i] or 0.0), scores[i]) for i in flagged]
    points = [(days[i], float(series[i] or 0.0), expected[i]) for i in range(begin, len(days))]
    method = {"name": "same-weekday median baseline with a MAD-scaled robust z-score" if grain == "day"
              else "median of earlier weeks with a MAD-scaled robust z-score",
              "grain": grain, "history_weeks": history, "threshold": threshold, "mad_scale": MAD_SCALE}
    return Detection(sorted(anomalies, key=lambda a: -abs(a.score)), points, method, judged)


def as_points(values: Mapping[dt.date, float]) -> list[float]:
    return [values[d] for d in sorted(values)]
