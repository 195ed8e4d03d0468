"""The first-order cache under failure and pressure: failures remembered, least recently used evicted, entries aged.

A fake warehouse counts the fills (the ``GROUP BY`` reads of the whole table) so no database is needed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tools.analysis import first_orders


@dataclass
class _Rows:
    rows: list[tuple[Any, ...]]


@dataclass
class _Warehouse:
    """Answers the state query and the fill; ``fail`` makes the fill raise (a timeout, say)."""

    fail: bool = False
    fills: list[str] = field(default_factory=list)
    dialect: str = "duckdb"
    path: None = None

    def query(self, sql: str, row_cap: int, timeout_s: float) -> _Rows:
        if "GROUP BY" not in sql:
            return _Rows([(2, dt.date(2025, 1, 1), dt.date(2025, 2, 1))])
        self.fills.append(sql)
        if self.fail:
            raise TimeoutError("statement timeout")
        return _Rows([(1, dt.date(2025, 1, 1)), (2, dt.date(2025, 2, 1))])


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    first_orders.clear()
    yield
    first_orders.clear()


def _read(warehouse: _Warehouse, table: str = "orders") -> first_orders.FirstOrders | None:
    return first_orders.first_orders(warehouse, table, "customer_id", "ordered_at")  # type: ignore[arg-type]


def test_a_failed_fill_falls_back_instead_of_raising() -> None:
    assert _read(_Warehouse(fail=True)) is None


def test_a_failed_fill_is_not_repeated_for_the_same_table_state() -> None:
    warehouse = _Warehouse(fail=True)
    _read(warehouse)
    _read(warehouse)
    assert len(warehouse.fills) == 1


def test_a_hit_does_not_fill_again() -> None:
    warehouse = _Warehouse()
    _read(warehouse)
    _read(warehouse)
    assert len(warehouse.fills) == 1


def test_the_least_recently_used_table_is_evicted_not_the_oldest_filled() -> None:
    warehouse = _Warehouse()
    for i in range(first_orders.MAX_ENTRIES):
        _read(warehouse, f"t{i}")
    _read(warehouse, "t0")  # used again: now the most recent
    _read(warehouse, "new")  # evicts t1
    fills_before = len(warehouse.fills)
    _read(warehouse, "t0")
    assert len(warehouse.fills) == fills_before


def test_refreshing_a_cached_table_evicts_no_other(monkeypatch: pytest.MonkeyPatch) -> None:
    warehouse = _Warehouse()
    for i in range(first_orders.MAX_ENTRIES):
        _read(warehouse, f"t{i}")
    clock = first_orders.time.monotonic() + first_orders.MAX_AGE_S + 1
    monkeypatch.setattr(first_orders.time, "monotonic", lambda: clock)
    _read(warehouse, "t7")  # aged out: filled again, in place
    assert "t0" in {key[2] for key in first_orders._CACHE}


def test_an_entry_older_than_the_time_limit_is_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    warehouse = _Warehouse()
    _read(warehouse)
    later = first_orders.time.monotonic() + first_orders.MAX_AGE_S + 1
    monkeypatch.setattr(first_orders.time, "monotonic", lambda: later)
    _read(warehouse)
    assert len(warehouse.fills) == 2
