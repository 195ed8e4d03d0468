"""The cached first-order dates: the same first-time/returning split as reading the history, refreshed on change.

Tiny workspace of conftest.py: Fay's first order is on 1 Oct 2025, Dara's on 5 Sep, Emil's on 28 Sep.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

import tools.analysis.measures as measures
from foundation.settings import MaraSettings
from tools.analysis import first_orders
from tools.analysis.compare import resolve_periods
from tools.analysis.explain import explain
from tools.analysis.measures import Reader, resolve_measure
from tools.context import ToolContext
from tools.query_spec import Metric

TODAY = dt.date(2025, 11, 1)
REVENUE = Metric(agg="sum", column="orders.total", alias="revenue")


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    first_orders.clear()
    yield
    first_orders.clear()


def _reader(settings: MaraSettings) -> Reader:
    ctx = ToolContext(settings)
    profile = ctx.profile()
    return Reader(ctx.warehouse, profile, resolve_measure(profile, "orders", REVENUE))


def _split(reader: Reader, period: str = "2025-10", compare_to: str = "2025-09") -> dict[str, tuple[float | None, float | None]]:
    e = explain(reader, resolve_periods(reader, period, compare_to, today=TODAY))
    assert e.customers is not None
    return {c.name: (c.previous, c.current) for c in e.customers.lines}


def test_customers_are_listed_by_the_day_of_their_first_order(settings: MaraSettings) -> None:
    reader = _reader(settings)
    known = first_orders.first_orders(reader.warehouse, "orders", "customer_id", "order_date")
    assert known is not None and known.first_in(dt.date(2025, 9, 1), dt.date(2025, 10, 1)) == [4, 5]


def test_the_cached_split_equals_the_split_read_from_the_history(settings: MaraSettings,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    cached = _split(_reader(settings))
    monkeypatch.setattr(measures, "MAX_LISTED", -1)  # every list too long: the query reads first dates itself
    assert _split(_reader(settings)) == cached


def test_a_load_that_adds_orders_reads_the_first_dates_again(settings: MaraSettings, workspace: Path) -> None:
    reader = _reader(settings)
    _split(reader)
    con = duckdb.connect(str(workspace / "warehouse.duckdb"))
    con.execute("INSERT INTO orders VALUES (109, 3, DATE '2025-10-10', 60.00, 'web')")  # Chloé's first order
    con.close()
    assert _split(_reader(settings))["first-time"] == (75.25, 105.0)  # Dara in 1–15 Sep; Fay 45 + Chloé 60
