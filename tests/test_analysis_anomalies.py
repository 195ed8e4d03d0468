"""The anomaly detector: finds injected spikes, drops and shifts over a weekly rhythm; quiet on a normal series."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from foundation.errors import ToolInputError
from tools.analysis.anomalies import (
    THRESHOLD,
    period_level,
    qn_scale,
    robust_anomalies,
    zscore_anomalies,
)

WEEKLY = np.array([0.8, 0.85, 0.9, 0.95, 1.1, 1.4, 1.3])


def series(days: int = 140, seed: int = 1) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(rng.poisson(300 * WEEKLY[np.arange(days) % 7]).astype(float))


def test_a_spike_and_a_drop_are_the_two_most_unusual_days() -> None:
    values = series()
    values[100] *= 1.8  # a Tuesday twice as busy
    values[117] *= 0.4  # a Saturday collapse
    flagged, _, scores = robust_anomalies(values, start=42)
    assert sorted(sorted(flagged, key=lambda i: -abs(scores[i]))[:2]) == [100, 117]


def test_a_normal_weekly_rhythm_is_not_unusual() -> None:
    flagged, _, _ = robust_anomalies(series(seed=2), start=42)
    assert flagged == []


def test_a_week_long_level_shift_is_found_on_each_day() -> None:
    values = series(seed=3)
    for day in range(90, 97):
        values[day] *= 1.5
    flagged, _, _ = robust_anomalies(values, start=42)
    assert set(range(90, 97)) <= set(flagged)


def test_the_plain_z_score_misses_a_drop_hidden_in_the_weekly_swing() -> None:
    values = series(seed=4)
    values[103] *= 0.5  # a Saturday at half: still inside the overall range of weekdays
    assert 103 in robust_anomalies(values, start=42)[0]
    assert 103 not in zscore_anomalies(values)


def test_tool_says_nothing_unusual_with_method_details(settings, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from tools.analysis.analysis_tools import find_anomalies
    from tools.context import ToolContext

    out = find_anomalies(ToolContext(settings), period="last month", metric={"agg": "count"}, table="orders",  # type: ignore[arg-type]
                         today="2025-11-01")
    assert "so I judged weeks instead" in out.text  # eight orders: too sparse per day
    assert "Details: method:" in out.text


def test_tool_rejects_an_absurd_threshold(settings) -> None:  # type: ignore[no-untyped-def]
    from tools.analysis.analysis_tools import find_anomalies
    from tools.context import ToolContext

    with pytest.raises(ToolInputError, match="threshold 0.1 is out of range"):
        find_anomalies(ToolContext(settings), metric={"agg": "count"}, table="orders", threshold=0.1,  # type: ignore[arg-type]
                       today=str(dt.date(2025, 11, 1)))


def _shifted_month(factor: float, seed: int = 5) -> tuple[list[float], int]:
    """Eight weeks of history, then 30 days at ``factor`` × the usual level (the asked month)."""
    values = series(days=56 + 30, seed=seed)
    for day in range(56, 86):
        values[day] *= factor
    return values, 56


def test_a_month_60_percent_up_is_flagged_on_most_days() -> None:
    values, start = _shifted_month(1.6)
    flagged, _, _ = robust_anomalies(values, start=start)
    assert len(flagged) >= 25


def test_a_month_55_percent_down_is_flagged_on_most_days() -> None:
    values, start = _shifted_month(0.45)
    flagged, _, _ = robust_anomalies(values, start=start)
    assert len(flagged) >= 25


def test_a_normal_month_after_eight_weeks_is_quiet() -> None:
    values, start = _shifted_month(1.0, seed=2)
    flagged, _, _ = robust_anomalies(values, start=start)
    assert flagged == []


def test_a_quiet_series_down_55_percent_for_a_month_is_seen_as_a_whole() -> None:
    rng = np.random.default_rng(7)
    values = list(rng.poisson(8 * WEEKLY[np.arange(86) % 7]).astype(float))  # ~8 orders a day: days too noisy alone
    for day in range(56, 86):
        values[day] = float(rng.poisson(8 * 0.45 * WEEKLY[day % 7]))
    _, expected, scores = robust_anomalies(values, start=56)
    level = period_level(values[56:], expected[56:], scores[56:])
    assert level is not None and level.score <= -THRESHOLD


def test_a_normal_month_as_a_whole_is_not_shifted() -> None:
    values, start = _shifted_month(1.0, seed=2)
    _, expected, scores = robust_anomalies(values, start=start)
    level = period_level(values[start:], expected[start:], scores[start:])
    assert level is not None and abs(level.score) < THRESHOLD


def test_qn_is_the_standard_deviation_of_normal_noise() -> None:
    noise = list(np.random.default_rng(11).normal(0, 10, 400))
    assert qn_scale(noise) == pytest.approx(10, rel=0.1)


def test_qn_ignores_a_third_of_wild_values() -> None:
    noise = list(np.random.default_rng(12).normal(0, 10, 60)) + [1e6] * 30
    assert qn_scale(noise) < 30


def test_a_rise_is_judged_against_the_noise_of_its_weekday() -> None:
    """+45 on a quiet Monday (~240, σ ≈ 15.5) is unusual; so it is on a busy Saturday (~420, σ ≈ 20.5) only if larger."""
    values = [float(v) for v in 300 * WEEKLY[np.arange(60) % 7]]  # a noiseless rhythm...
    rng = np.random.default_rng(13)
    values = [v + rng.normal(0, v ** 0.5) for v in values]  # ...with Poisson-like noise
    _, expected, scores = robust_anomalies(values, start=42)
    monday, saturday = 56, 47  # day 56 is a Monday (phase 0), day 47 a Saturday (phase 5)
    assert (values[monday] - (expected[monday] or 0)) / scores[monday] < (values[saturday] - (expected[saturday] or 0)) / scores[saturday]


def test_normal_months_rarely_raise_a_false_alarm() -> None:
    """Twenty 30-day months of a normal rhythm, each judged on the six weeks before it: at most one flags a day."""
    alarmed = 0
    for seed in range(20):
        values, start = _shifted_month(1.0, seed=100 + seed)
        alarmed += bool(robust_anomalies(values[start - 42:], start=42)[0])
    assert alarmed <= 1
