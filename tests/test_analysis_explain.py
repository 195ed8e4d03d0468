"""Explanations are exact: every breakdown's contributions add up to the total change (ratios too).

Pure decompositions on hand-made numbers first, then the real queries on the tiny workspace of
conftest.py (eight orders, so every number can be checked by hand).
"""

from __future__ import annotations

import datetime as dt
import math

import pytest

from foundation.errors import ToolInputError
from foundation.settings import MaraSettings
from tools.analysis.compare import compare, resolve_periods
from tools.analysis.explain import (
    additive_split,
    explain,
    ratio_split,
    top_lines,
    volume_value_split,
)
from tools.analysis.measures import Reader, resolve_measure
from tools.analysis.periods import parse_period
from tools.context import ToolContext
from tools.query_spec import Metric

TODAY = dt.date(2025, 11, 1)
REVENUE = Metric(agg="sum", column="orders.total", alias="revenue")


def test_additive_split_adds_up_including_other() -> None:
    lines = additive_split({"web": 100.0, "app": 50.0}, {"web": 80.0, "app": 90.0}, 170.0, 200.0)
    assert math.isclose(sum(c.contribution for c in lines), 30.0)
    assert [c.name for c in lines][-1] == "other"


def test_ratio_split_rate_plus_mix_equals_the_change_of_the_ratio() -> None:
    before = {"web": (300.0, 10.0), "app": (100.0, 10.0)}  # web 30 per order, app 10
    after = {"web": (330.0, 11.0), "app": (180.0, 19.0)}
    lines = ratio_split(before, after, (400.0, 20.0), (510.0, 30.0))
    assert math.isclose(sum(c.contribution for c in lines), 510 / 30 - 400 / 20)


def test_ratio_split_with_a_group_missing_in_one_period() -> None:
    lines = ratio_split({"web": (300.0, 10.0)}, {"web": (300.0, 10.0), "app": (50.0, 10.0)}, (300.0, 10.0), (350.0, 20.0))
    assert math.isclose(sum(c.contribution for c in lines), 350 / 20 - 30)


def _cheap_orders_gone() -> list:  # type: ignore[type-arg]
    """Orders at 10 disappear; orders at 30 stay: the average per order rises from 20 to 30."""
    return ratio_split({"cheap": (100.0, 10.0), "full": (300.0, 10.0)}, {"full": (300.0, 10.0)}, (400.0, 20.0), (300.0, 10.0))


def test_a_below_average_group_disappearing_raises_the_ratio_so_its_part_is_positive() -> None:
    cheap = next(c for c in _cheap_orders_gone() if c.name == "cheap")
    assert cheap.contribution > 0


def test_centred_mix_parts_still_add_up_to_the_change() -> None:
    assert math.isclose(sum(c.contribution for c in _cheap_orders_gone()), 10.0)


def test_ratio_split_of_a_percentage_is_scaled() -> None:
    lines = ratio_split({"a": (1.0, 10.0)}, {"a": (3.0, 10.0)}, (1.0, 10.0), (3.0, 10.0), scale=100.0)
    assert math.isclose(lines[0].contribution, 20.0)


def test_volume_and_value_effects_add_up() -> None:
    volume, value = volume_value_split((100.0, 80.0), (5000.0, 4400.0))
    assert math.isclose(volume + value, -600.0)


def test_top_lines_fold_the_rest_into_other_and_keep_the_sum() -> None:
    lines = additive_split({str(i): float(i) for i in range(50)}, {str(i): float(2 * i) for i in range(50)}, 1225.0, 2450.0)
    top = top_lines(lines, 3, additive=True)
    assert [c.name for c in top] == ["49", "48", "47", "other"]
    assert math.isclose(sum(c.contribution for c in top), 1225.0)


@pytest.fixture
def reader(settings: MaraSettings) -> Reader:
    ctx = ToolContext(settings)
    profile = ctx.profile()
    return Reader(ctx.warehouse, profile, resolve_measure(profile, "orders", REVENUE))


def test_september_vs_august_revenue(reader: Reader) -> None:
    c = compare(reader, resolve_periods(reader, "September 2025", "previous", today=TODAY))
    assert (c.previous, c.current) == (250.0, 385.25)


def test_every_breakdown_adds_up_to_the_change(reader: Reader) -> None:
    e = explain(reader, resolve_periods(reader, "2025-10", "2025-07", today=TODAY))
    change = e.comparison.change
    assert change is not None and math.isclose(change, 140.0 - 180.5)
    for breakdown in [*e.breakdowns, e.customers, e.volume]:
        assert breakdown is not None
        assert math.isclose(sum(c.contribution for c in breakdown.lines), change), breakdown.dimension


def test_first_time_customers_are_those_whose_first_order_falls_in_the_period(reader: Reader) -> None:
    e = explain(reader, resolve_periods(reader, "2025-10", "2025-07", today=TODAY))
    assert e.customers is not None
    lines = {c.name: (c.previous, c.current) for c in e.customers.lines}
    assert lines == {"returning": (180.5, 95.0), "first-time": (0.0, 45.0)}  # Fay's first order is on 1 Oct


def test_average_order_value_is_split_exactly_into_rate_and_mix(settings: MaraSettings) -> None:
    ctx = ToolContext(settings)
    profile = ctx.profile()
    reader = Reader(ctx.warehouse, profile, resolve_measure(profile, "orders", Metric(agg="avg", column="orders.total")))
    e = explain(reader, resolve_periods(reader, "2025-09", "2025-08", today=TODAY), ["orders.channel"])
    change = e.comparison.change
    assert change is not None and math.isclose(change, 192.625 - 250.0)
    assert math.isclose(sum(c.contribution for c in e.breakdowns[0].lines), change)


def test_partial_month_is_compared_like_for_like(reader: Reader) -> None:
    periods = resolve_periods(reader, "2025-10", "2025-09", today=TODAY)  # the data ends on 15 October
    assert (periods.previous.start, periods.previous.end) == (dt.date(2025, 9, 1), dt.date(2025, 9, 16))
    assert compare(reader, periods).previous == 75.25


def test_a_distinct_count_is_compared_but_not_split(settings: MaraSettings) -> None:
    ctx = ToolContext(settings)
    profile = ctx.profile()
    measure = resolve_measure(profile, "orders", Metric(agg="count_distinct", column="orders.customer_id"))
    reader = Reader(ctx.warehouse, profile, measure)
    with pytest.raises(ToolInputError, match="cannot be split exactly"):
        explain(reader, resolve_periods(reader, "2025-10", "2025-09", today=TODAY))


def test_a_dimension_with_thousands_of_values_keeps_the_top_and_other() -> None:
    before = {f"p{i}": 1.0 for i in range(3000)}
    after = {f"p{i}": 1.0 + (i % 7) for i in range(3000)}
    lines = top_lines(additive_split(before, after, 3000.0, sum(after.values())), 5, additive=True)
    assert len(lines) == 6 and lines[-1].name == "other"
    assert math.isclose(sum(c.contribution for c in lines), sum(after.values()) - 3000.0)


def test_overlapping_periods_are_refused_naming_both(reader: Reader) -> None:
    with pytest.raises(ToolInputError, match="overlap"):
        resolve_periods(reader, "2025-09-01..2025-09-30", "2025-09-15..2025-10-10", today=TODAY)


def test_identical_periods_are_refused(reader: Reader) -> None:
    with pytest.raises(ToolInputError, match="same"):
        resolve_periods(reader, "2025-09", "2025-09", today=TODAY)


def test_the_period_cube_refuses_overlapping_periods(reader: Reader) -> None:
    overlapping = [parse_period("2025-09", TODAY), parse_period("2025-09-15..2025-10-10", TODAY)]
    with pytest.raises(ToolInputError, match="overlap"):
        reader.cube(overlapping)
