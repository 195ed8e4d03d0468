"""Each customer's first order date, read once per state of the order table and kept in memory.

Explaining a change splits it into first-time and returning customers: a customer is first-time in a
period when their first row ever falls in it. Reading first dates from the whole history is most of an
explanation's cost on a large order log (on 7 M orders, ~0.7 s CPU of ~1.1 s), yet they change only
when the table does. So they are read once — ``customer, min(date)`` over the table — and kept per
warehouse and table, keyed by the table's *state*: its row count, first and last date, and for a DuckDB
warehouse the file's modification time (a load rewrites the file). Any change of these reads them again.
A change that keeps all of them (rows edited in place in an external database) is not seen: the cache
then lives until the process ends — the assistant never writes to the warehouse, so only outside edits
can do that — so an entry is also trusted for :data:`MAX_AGE_S` at most. A failed fill (too many
customers, ids that are not text or integers, an error or a timeout) is remembered the same way, so the
next explanation does not read the whole table again before falling back to its own query.
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
import time
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp

from tools.warehouse import Warehouse

#: First-time customers one query names at most (a VALUES table costs sqlglot ~0.1 s per 1,000 rows to
#: parse and write); with more, the query derives them from the history itself.
MAX_LISTED = 2_000
#: Customers read into the cache at most (memory: ~100 bytes each).
MAX_CUSTOMERS = 5_000_000


@dataclass(frozen=True, slots=True)
class FirstOrders:
    """Customers sorted by their first date: ``first_in`` is two binary searches."""

    days: list[int]  # first dates as ordinals, ascending
    customers: list[Any]

    def first_in(self, start: dt.date, end: dt.date) -> list[Any]:
        """The customers whose first row falls in ``[start, end)``."""
        lo = bisect.bisect_left(self.days, start.toordinal())
        hi = bisect.bisect_left(self.days, end.toordinal())
        return self.customers[lo:hi]


#: How long an entry (or a failed fill) is trusted: rows edited in place keep the table's state.
MAX_AGE_S = 600.0
#: Tables kept at once (the least recently used goes first).
MAX_ENTRIES = 8

_CACHE: dict[tuple[Any, ...], tuple[tuple[Any, ...], float, FirstOrders | None]] = {}
_LOCK = threading.Lock()
_FILLING: dict[tuple[Any, ...], threading.Lock] = {}  # one fill at a time per table


def _q(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect="duckdb")


def _day(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _run(warehouse: Warehouse, duck_sql: str, row_cap: int) -> list[tuple[Any, ...]]:
    sql = sqlglot.transpile(duck_sql, read="duckdb", write=warehouse.dialect)[0]
    return list(warehouse.query(sql, row_cap=row_cap, timeout_s=120.0).rows)


def state(warehouse: Warehouse, table: str, date: str) -> tuple[Any, ...]:
    """The table's state: row count, first and last date (+ the DuckDB file's modification time)."""
    row = _run(warehouse, f"SELECT count(*), min({_q(date)}), max({_q(date)}) FROM {_q(table)}", 2)[0]
    path = getattr(warehouse, "path", None)
    mtime = path.stat().st_mtime_ns if path is not None and path.exists() else None
    return (int(row[0]), str(_day(row[1])), str(_day(row[2])), mtime)


def _where(warehouse: Warehouse) -> str:
    """Which warehouse: the DuckDB file, or the database URL without its password."""
    if (path := getattr(warehouse, "path", None)) is not None:
        return str(path)
    engine = getattr(warehouse, "engine", None)
    return engine.url.render_as_string(hide_password=True) if engine is not None else f"{type(warehouse).__name__}:{id(warehouse)}"


def first_orders(warehouse: Warehouse, table: str, customer: str, date: str) -> FirstOrders | None:
    """Every customer's first ``date`` in ``table``, from the cache while the table's state is unchanged.

    None when the customers are too many to keep, or their ids cannot be written as SQL literals
    (the explanation then derives first dates in its own query, as before)."""
    key = (warehouse.dialect, _where(warehouse), table, customer, date)
    try:
        now = state(warehouse, table, date)
    except Exception:  # noqa: BLE001 - a timeout or error here: the explanation derives first dates itself
        return None
    if (hit := _cached(key, now)) is not None:
        return hit[0]
    with _LOCK:
        filling = _FILLING.setdefault(key, threading.Lock())
    with filling:  # a second caller waits for the first fill instead of repeating it
        if (hit := _cached(key, now)) is not None:
            return hit[0]
        try:
            cached = _fill(warehouse, table, customer, date, now)
        except Exception:  # noqa: BLE001 - a failed or timed-out fill falls back to the plain query, remembered
            cached = None
        with _LOCK:
            _CACHE.pop(key, None)
            while len(_CACHE) >= MAX_ENTRIES:
                _CACHE.pop(next(iter(_CACHE)))  # the least recently used (hits move to the end)
            _CACHE[key] = (now, time.monotonic(), cached)  # None too: too many customers is not re-read each time
    return cached


def _cached(key: tuple[Any, ...], now: tuple[Any, ...]) -> tuple[FirstOrders | None] | None:
    """``(entry,)`` when ``key`` is cached for the table's state ``now`` and not older than :data:`MAX_AGE_S`."""
    with _LOCK:
        found = _CACHE.get(key)
        if found is None or found[0] != now or time.monotonic() - found[1] > MAX_AGE_S:
            return None
        _CACHE[key] = _CACHE.pop(key)  # most recently used last
        return (found[2],)


def _fill(warehouse: Warehouse, table: str, customer: str, date: str, now: tuple[Any, ...]) -> FirstOrders | None:
    if now[0] > 50 * MAX_CUSTOMERS:
        return None
    rows = _run(warehouse, f"SELECT {_q(customer)}, min({_q(date)}) AS {_q('__f')} FROM {_q(table)} "
                           f"WHERE {_q(customer)} IS NOT NULL AND {_q(date)} IS NOT NULL GROUP BY 1 ORDER BY 2",
                MAX_CUSTOMERS + 1)
    if len(rows) > MAX_CUSTOMERS or any(literal(r[0]) is None for r in rows[:100]):
        return None
    ordinals: dict[Any, int] = {}  # most customers share a first date with others: convert each date once
    days = [ordinals.get(d) or ordinals.setdefault(d, _day(d).toordinal()) for _, d in rows]  # type: ignore[union-attr]
    return FirstOrders(days, [c for c, _ in rows])


def literal(value: Any) -> str | None:
    """``value`` as a DuckDB SQL literal (integers and text), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return exp.Literal.string(value).sql(dialect="duckdb")
    return None


def clear() -> None:
    """Forget every cached table (tests)."""
    with _LOCK:
        _CACHE.clear()
        _FILLING.clear()
