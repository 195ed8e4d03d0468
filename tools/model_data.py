"""The read path of the model tools: DataFrames from aggregating SQL, and vetted orders tables.

:func:`open_source` turns a DuckDB connection, a warehouse or a dict of DataFrames into a
:class:`DataSource` that runs SQL and returns DataFrames; :func:`resolve_orders` finds (or
checks the given) customer / date / amount columns of an orders table and vets the data:
unknown tables and columns, unparseable dates, negative amounts, duplicated orders and too few
customers are clear :class:`~foundation.errors.ToolInputError` messages with counts. Per-customer
features are computed with ``GROUP BY`` in the engine; only one row per customer reaches pandas.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import sqlglot

from foundation.errors import ToolInputError
from tools.progress import check_cancelled
from tools.warehouse import DuckDBWarehouse, Warehouse

ID_NAME = re.compile(r"(^id$|_id$|^id_|_key$|^uuid$)", re.I)
DATE_TYPES = ("DATE", "TIMESTAMP")
NUMERIC_TYPES = ("INT", "DECIMAL", "NUMERIC", "DOUBLE", "FLOAT", "REAL")
NOT_COUNTED = ("cancelled", "canceled", "returned", "refunded", "failed", "void")

# --- data access ---------------------------------------------------------------------------


class DataSource:
    """Read-only SQL over DuckDB (file, connection or registered DataFrames) or a warehouse."""

    def __init__(self, con: Any = None, warehouse: Warehouse | None = None) -> None:
        self._con, self._warehouse = con, warehouse

    def df(self, sql: str) -> pd.DataFrame:
        check_cancelled()  # each query of a model's features is a step Stop can end the tool at
        if self._con is not None:
            return self._con.execute(sql).df()
        assert self._warehouse is not None
        if self._warehouse.dialect != "duckdb":  # the model SQL is written for DuckDB
            sql = sqlglot.transpile(sql, read="duckdb", write=self._warehouse.dialect)[0]
        result = self._warehouse.query(sql, row_cap=50_000_000, timeout_s=900.0)
        return pd.DataFrame(result.rows, columns=result.columns)

    def tables(self) -> list[str]:
        return list(self.columns_by_table())

    def columns_by_table(self) -> dict[str, dict[str, str]]:
        if self._con is not None:
            rows = self._con.execute(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
            ).fetchall()
            out: dict[str, dict[str, str]] = {}
            for table, column, dtype in rows:
                out.setdefault(table, {})[column] = str(dtype).upper()
            return out
        assert self._warehouse is not None
        return {
            t.name: {c.name: c.type.upper() for c in t.columns} for t in self._warehouse.tables()
        }

    def columns(self, table: str) -> dict[str, str]:
        """Column name → SQL type of ``table``; a clear error naming the tables that exist."""
        tables = self.columns_by_table()
        if table not in tables:
            raise unknown_name("table", table, list(tables))
        return tables[table]


@contextlib.contextmanager
def open_source(source: Any) -> Iterator[DataSource]:
    """A :class:`DataSource` over a DuckDB connection, warehouse, path-less DataFrame dict."""
    # lazy: duckdb loads slowly; only this path needs it
    import duckdb

    if isinstance(source, DataSource):
        yield source
    elif isinstance(source, DuckDBWarehouse):
        with source.connect() as con:
            yield DataSource(con=con)
    elif isinstance(source, Warehouse):
        yield DataSource(warehouse=source)
    elif isinstance(source, Mapping):
        con = duckdb.connect()
        try:
            for name, frame in source.items():
                con.register(str(name), frame)
            yield DataSource(con=con)
        finally:
            con.close()
    elif isinstance(source, duckdb.DuckDBPyConnection):
        yield DataSource(con=source)
    else:
        raise TypeError(f"unsupported data source {type(source).__name__}")


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def unknown_name(kind: str, name: str, known: list[str]) -> ToolInputError:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"Did you mean {', '.join(close)}?" if close else f"Available: {', '.join(known[:30])}."
    return ToolInputError(f"No {kind} named '{name}'.", hint=hint)


# --- orders tables -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderColumns:
    """Where the facts live in an orders table; ``where`` keeps counted (e.g. completed) orders."""

    table: str
    customer: str
    date: str
    amount: str
    date_expr: str
    where: str
    notes: tuple[str, ...] = ()


def _pick(
    columns: dict[str, str], kinds: tuple[str, ...], prefer: tuple[str, ...], exclude: set[str]
) -> str | None:
    found = [c for c, t in columns.items() if t.startswith(kinds) or any(k in t for k in kinds)]
    found = [c for c in found if c not in exclude]
    for word in prefer:
        for column in found:
            if word in column.lower():
                return column
    return found[0] if found else None


def resolve_orders(
    ds: DataSource,
    table: str,
    customer_col: str | None = None,
    date_col: str | None = None,
    amount_col: str | None = None,
    *,
    min_customers: int = 10,
    check: bool = True,
    refunds: bool = False,
) -> OrderColumns:
    """Find (or check the given) customer, date and amount columns of ``table`` and vet the data.

    With ``refunds`` rows with a negative amount are not counted as orders (with a note) instead
    of being refused: who buys again does not depend on them, spend-based models do.
    """
    columns = ds.columns(table)
    for given in (customer_col, date_col, amount_col):
        if given is not None and given not in columns:
            raise unknown_name(f"column in {table}", given, list(columns))
    singular = table[:-1] if table.endswith("s") else table
    key = next((c for c in (f"{singular}_id", "id") if c in columns), None)
    ids = [c for c in columns if ID_NAME.search(c) and c != key]
    customer = customer_col or next(
        (c for c in ids if re.search(r"customer|user|client|member|account", c, re.I)),
        ids[0] if ids else None,
    )
    date_column = date_col or _pick(
        columns, DATE_TYPES, ("order_date", "date", "ts", "time"), set()
    )
    if date_column is None:  # dates stored as text: go by the name, parse (and vet) below
        date_column = next((c for c in columns if re.search(r"date|day|_at$|time", c, re.I)), None)
    amount = amount_col or _pick(
        columns,
        ("DECIMAL", "DOUBLE", "FLOAT", "NUMERIC", "REAL"),
        ("usd", "total", "amount", "revenue", "value", "price"),
        set(ids),
    )
    missing = [
        n for n, v in (("customer", customer), ("date", date_column), ("amount", amount)) if not v
    ]
    if missing:
        raise ToolInputError(
            f"Cannot tell which column of {table} holds the {', '.join(missing)}.",
            hint=f"Name it with --{missing[0]}-col; columns are {', '.join(columns)}.",
        )
    assert customer and date_column and amount
    dtype = columns[date_column]
    date_expr = (
        f"CAST({q(date_column)} AS DATE)"
        if dtype.startswith(DATE_TYPES)
        else f"TRY_CAST({q(date_column)} AS DATE)"
    )
    notes: list[str] = []
    where = "TRUE"
    status = next((c for c in columns if c.lower() in ("status", "order_status", "state")), None)
    if status:
        excluded = ", ".join(f"'{s}'" for s in NOT_COUNTED)
        where = f"coalesce(lower({q(status)}), '') NOT IN ({excluded})"
        notes.append(f"Only orders whose {status} is not {'/'.join(NOT_COUNTED[:3])} are counted.")
    if not any(k in columns[amount] for k in NUMERIC_TYPES):
        raise ToolInputError(
            f"Column {amount} of {table} is {columns[amount]}, not a number.",
            hint="Give a numeric amount column with --amount-col.",
        )
    if refunds:
        if check:
            found = ds.df(
                f"SELECT count(*) AS n FROM {q(table)} WHERE {where} AND {q(amount)} < 0"
            ).iloc[0]["n"]
            if int(found or 0):
                notes.append(
                    f"{int(found):,} rows with a negative {amount} (refunds) are not counted as "
                    "orders."
                )
        where = f"({where}) AND coalesce({q(amount)}, 0) >= 0"
    cols = OrderColumns(table, customer, date_column, amount, date_expr, where, tuple(notes))
    if check:
        _check_orders(ds, cols, key, min_customers)
    return cols


def _check_orders(ds: DataSource, c: OrderColumns, key: str | None, min_customers: int) -> None:
    dup = f"count(*) - count(DISTINCT {q(key)})" if key else "0"
    row = ds.df(
        f"SELECT count(*) AS n, count(DISTINCT {q(c.customer)}) AS customers, "
        f"sum(CASE WHEN {q(c.date)} IS NOT NULL AND {c.date_expr} IS NULL THEN 1 ELSE 0 END) "
        "AS bad, "
        f"sum(CASE WHEN {q(c.amount)} < 0 THEN 1 ELSE 0 END) AS negative, {dup} AS dups, "
        f"min(CASE WHEN {q(c.date)} IS NOT NULL AND {c.date_expr} IS NULL "
        f"THEN CAST({q(c.date)} AS VARCHAR) END) AS example FROM {q(c.table)} WHERE {c.where}"
    ).iloc[0]
    if int(row["bad"] or 0):
        raise ToolInputError(
            f"{int(row['bad']):,} of {int(row['n']):,} values in {c.table}.{c.date} are not dates "
            f"(e.g. '{row['example']}').",
            hint="Use ISO dates (YYYY-MM-DD) or choose --date-col.",
        )
    if int(row["negative"] or 0):
        raise ToolInputError(
            f"{int(row['negative']):,} orders in {c.table} have a negative {c.amount}.",
            hint="Refunds must not be orders here: filter them out in a view or pick --amount-col.",
        )
    if int(row["dups"] or 0):
        raise ToolInputError(
            f"{int(row['dups']):,} {key} values in {c.table} are duplicated.",
            hint="Each order must appear once; de-duplicate the table (SELECT DISTINCT) first.",
        )
    if int(row["customers"] or 0) < min_customers:
        raise ToolInputError(
            f"{c.table} has {int(row['customers'] or 0):,} customers with counted orders; "
            f"at least {min_customers:,} are needed.",
            hint="Load more order history.",
        )


def latest_date(ds: DataSource, c: OrderColumns) -> date:
    value = ds.df(f"SELECT max({c.date_expr}) AS d FROM {q(c.table)} WHERE {c.where}").iloc[0]["d"]
    return pd.Timestamp(value).date()


def customer_summary(ds: DataSource, c: OrderColumns, as_of: date) -> pd.DataFrame:
    """One row per customer with orders up to ``as_of``: recency, frequency, money, tenure."""
    day = f"DATE '{as_of.isoformat()}'"
    df = ds.df(
        f"SELECT {q(c.customer)} AS customer_id, count(*) AS frequency, "
        f"sum({q(c.amount)}) AS monetary, max({c.date_expr}) AS last_date, "
        f"min({c.date_expr}) AS first_date FROM {q(c.table)} "
        f"WHERE {c.where} AND {c.date_expr} <= {day} AND {q(c.customer)} IS NOT NULL "
        f"GROUP BY 1"
    )
    ref = pd.Timestamp(as_of)
    df["monetary"] = df["monetary"].astype(float)
    df["frequency"] = df["frequency"].astype(np.int64)
    df["recency_days"] = (ref - pd.to_datetime(df["last_date"])).dt.days.astype(np.int64)
    df["tenure_days"] = (ref - pd.to_datetime(df["first_date"])).dt.days.astype(np.int64)
    return df
