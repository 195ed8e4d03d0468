"""Structured queries: metrics, dimensions, filters, a time range and grain, compiled to SQL.

This is the preferred path for the model (and the offline planner): it cannot
write unsafe SQL, and it names unknown columns with the closest valid ones.
Joins follow foreign keys from the query's base table (many-to-one only, so
counts and sums are never inflated), e.g. ``order_items → orders → customers``.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections import deque
from typing import Any, Literal

import sqlglot
from pydantic import BaseModel, Field
from sqlglot import exp

from assistant.errors import ToolInputError
from tools.schema_profile import ColumnProfile, SchemaProfile, TableProfile

Aggregate = Literal["count", "count_distinct", "sum", "avg", "min", "max"]
Grain = Literal["day", "week", "month", "quarter", "year"]
Operator = Literal["=", "!=", ">", ">=", "<", "<=", "in", "not in", "between", "contains"]


class Metric(BaseModel):
    """An aggregate: ``count`` (rows, no column), or ``sum``/``avg``/... of a column."""

    agg: Aggregate = "count"
    column: str | None = Field(default=None, description="Column, optionally 'table.column'.")
    alias: str | None = None


class Filter(BaseModel):
    """A condition on a column, e.g. ``{"column": "country", "op": "=", "value": "Germany"}``."""

    column: str
    op: Operator = "="
    value: Any = None


class TimeRange(BaseModel):
    """Rows whose date column falls in ``[start, end)``; either end may be open."""

    column: str | None = Field(default=None, description="Date column; default the table's main date.")
    start: dt.date | None = None
    end: dt.date | None = None


class QuerySpec(BaseModel):
    """A question about the data as a structured query over one base table."""

    table: str = Field(description="Base table: its rows are what is counted/summed.")
    metrics: list[Metric] = Field(default_factory=lambda: [Metric()])
    dimensions: list[str] = Field(default_factory=list, description="Columns to group by.")
    filters: list[Filter] = Field(default_factory=list)
    time_range: TimeRange | None = None
    time_grain: Grain | None = Field(default=None, description="Group by this period of the date column.")
    order: Literal["desc", "asc"] | None = Field(default=None, description="Sort by the first metric.")
    limit: int | None = Field(default=200, ge=1, le=10_000)


def _q(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect="duckdb")


def _literal(value: Any) -> str:
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    return exp.convert(value).sql(dialect="duckdb")


class _Resolver:
    """Resolves column names to (table, column) and collects the joins they need."""

    def __init__(self, profile: SchemaProfile, base: TableProfile) -> None:
        self.profile = profile
        self.base = base
        self.joins: dict[str, tuple[str, str, str]] = {}  # table -> (from_table, fk, key)

    def column(self, ref: str) -> tuple[TableProfile, ColumnProfile]:
        table_name, _, column_name = ref.rpartition(".")
        candidates: list[TableProfile]
        if table_name:
            table = self.profile.table(table_name)
            if table is None:
                raise unknown_name("table", table_name, [t.name for t in self.profile.tables])
            candidates = [table]
        else:
            candidates = [self.base] + [t for t in self.profile.tables if t is not self.base]
        for table in candidates:
            column = table.column(column_name)
            if column is not None:
                if table is not self.base:
                    self._join_path(table)
                return table, column
        names = sorted({f"{t.name}.{c.name}" for t in candidates for c in t.columns})
        short = sorted({c.name for t in candidates for c in t.columns})
        raise unknown_name("column", ref, short + names)

    def _join_path(self, target: TableProfile) -> None:
        """Breadth-first many-to-one path from the base table to ``target``."""
        previous: dict[str, tuple[str, str, str]] = {}
        queue = deque([self.base.name])
        seen = {self.base.name}
        while queue:
            current = self.profile.table(queue.popleft())
            assert current is not None
            for other in self.profile.tables:
                key = other.key
                if other.name in seen or key is None or key == current.key:
                    continue
                if current.column(key) is not None:
                    previous[other.name] = (current.name, key, key)
                    seen.add(other.name)
                    queue.append(other.name)
        if target.name not in previous:
            raise ToolInputError(
                f"Column(s) of '{target.name}' cannot be reached from base table '{self.base.name}' "
                "without multiplying rows.",
                hint=f"Use '{target.name}' (or a table that references it) as the base table.",
            )
        name = target.name
        chain = []
        while name != self.base.name:
            chain.append((name, previous[name]))
            name = previous[name][0]
        for table_name, edge in reversed(chain):
            self.joins.setdefault(table_name, edge)


def unknown_name(kind: str, name: str, valid: list[str]) -> ToolInputError:
    close = difflib.get_close_matches(name.lower(), [v.lower() for v in valid], n=4, cutoff=0.5)
    suggestion = f" Closest: {', '.join(close)}." if close else ""
    shown = ", ".join(valid[:40]) + (" ..." if len(valid) > 40 else "")
    return ToolInputError(f"Unknown {kind} '{name}'.{suggestion}", hint=f"Valid: {shown}.")


def compile_query(spec: QuerySpec, profile: SchemaProfile, dialect: str = "duckdb") -> str:
    """Compile ``spec`` to one SELECT in ``dialect``; raise :class:`ToolInputError` on bad names/types."""
    base = profile.table(spec.table)
    if base is None:
        raise unknown_name("table", spec.table, [t.name for t in profile.tables])
    resolver = _Resolver(profile, base)
    select: list[str] = []
    group: list[str] = []

    def ref(table: TableProfile, column: ColumnProfile) -> str:
        return f"{_q(table.name)}.{_q(column.name)}"

    time_column: str | None = None
    if spec.time_grain or spec.time_range:
        wanted = spec.time_range.column if spec.time_range and spec.time_range.column else None
        if wanted:
            table, column = resolver.column(wanted)
        else:
            dates = base.by_role("date")
            if not dates:
                raise ToolInputError(
                    f"Table '{base.name}' has no date column for a time range or grain.",
                    hint="Name the date column in time_range.column.",
                )
            table, column = base, _main_date(base)
        if column.role != "date":
            raise ToolInputError(f"'{column.name}' is {column.type}, not a date; a time range needs a DATE or TIMESTAMP column.")
        time_column = ref(table, column)
    if spec.time_grain and time_column:
        expr = f"CAST(date_trunc('{spec.time_grain}', {time_column}) AS DATE)"
        select.append(f"{expr} AS {_q(spec.time_grain)}")
        group.append(expr)
    for dimension in spec.dimensions:
        table, column = resolver.column(dimension)
        select.append(f"{ref(table, column)} AS {_q(column.name)}")
        group.append(ref(table, column))
    metric_names = []
    for metric in spec.metrics:
        expression, default_alias = _metric_sql(metric, resolver, base, ref)
        alias = metric.alias or default_alias
        metric_names.append(alias)
        select.append(f"{expression} AS {_q(alias)}")

    where: list[str] = []
    for condition in spec.filters:
        table, column = resolver.column(condition.column)
        where.append(_filter_sql(ref(table, column), column, condition))
    if spec.time_range and time_column:
        if spec.time_range.start:
            where.append(f"{time_column} >= {_literal(spec.time_range.start)}")
        if spec.time_range.end:
            where.append(f"{time_column} < {_literal(spec.time_range.end)}")

    sql = f"SELECT {', '.join(select)} FROM {_q(base.name)}"
    for table_name, (from_table, fk, key) in resolver.joins.items():
        sql += f" JOIN {_q(table_name)} ON {_q(from_table)}.{_q(fk)} = {_q(table_name)}.{_q(key)}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if group:
        sql += " GROUP BY " + ", ".join(group)
    if group and metric_names:
        if spec.time_grain and spec.order is None:
            sql += f" ORDER BY {_q(spec.time_grain)}"
        else:
            sql += f" ORDER BY {_q(metric_names[0])} {(spec.order or 'desc').upper()} NULLS LAST"
    if spec.limit and group:
        sql += f" LIMIT {int(spec.limit)}"
    if dialect != "duckdb":
        sql = sqlglot.transpile(sql, read="duckdb", write=dialect)[0]
    return sql


def _main_date(table: TableProfile) -> ColumnProfile:
    dates = table.by_role("date")
    singular = table.name.rstrip("s")
    for column in dates:
        if column.name.lower() in {f"{singular}_date", "date", "created_at", f"{singular}_ts"}:
            return column
    return dates[0]


def _metric_sql(metric: Metric, resolver: _Resolver, base: TableProfile, ref: Any) -> tuple[str, str]:
    if metric.agg == "count" and not metric.column:
        return "count(*)", f"{base.name}_count" if base.name else "count"
    if not metric.column:
        raise ToolInputError(f"Aggregate '{metric.agg}' needs a column.", hint="Give metric.column.")
    table, column = resolver.column(metric.column)
    if metric.agg in ("sum", "avg") and column.role not in ("money", "number", "flag"):
        raise ToolInputError(
            f"'{metric.agg}' needs a numeric column; '{column.name}' is {column.type}.",
            hint="Use count or count_distinct for non-numeric columns.",
        )
    target = ref(table, column)
    if column.role == "flag" and metric.agg in ("sum", "avg"):
        target = f"CAST({target} AS INTEGER)"
    if metric.agg == "count_distinct":
        return f"count(DISTINCT {target})", f"distinct_{column.name}"
    expression = f"{metric.agg}({target})"
    if metric.agg == "avg" or column.role == "money":
        expression = f"round({expression}, 2)"
    return expression, f"{metric.agg}_{column.name}"


def _filter_sql(target: str, column: ColumnProfile, condition: Filter) -> str:
    value = condition.value
    if column.role == "category" and column.values and condition.op in ("=", "!=", "in", "not in"):
        wanted = value if isinstance(value, list) else [value]
        lookup = {v.lower(): v for v in column.values}
        fixed = []
        for item in wanted:
            match = lookup.get(str(item).lower())
            if match is None:
                close = difflib.get_close_matches(str(item), column.values, n=3, cutoff=0.5)
                raise ToolInputError(
                    f"'{item}' is not a value of {column.name}."
                    + (f" Closest: {', '.join(close)}." if close else ""),
                    hint=f"Values: {', '.join(column.values[:30])}.",
                )
            fixed.append(match)
        value = fixed if isinstance(condition.value, list) else fixed[0]
    if column.role in ("money", "number") and condition.op in (">", ">=", "<", "<=", "=", "!="):
        try:
            value = float(value)
        except (TypeError, ValueError) as err:
            raise ToolInputError(f"Filter on {column.name} needs a number, got {value!r}.") from err
    if column.role == "flag" and not isinstance(value, bool):
        value = str(value).lower() in {"true", "1", "yes", "y", "t"}
    op = condition.op
    if op in ("in", "not in"):
        items = value if isinstance(value, list) else [value]
        return f"{target} {op.upper()} ({', '.join(_literal(v) for v in items)})"
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise ToolInputError("'between' needs a two-item list [low, high].")
        return f"{target} BETWEEN {_literal(value[0])} AND {_literal(value[1])}"
    if op == "contains":
        return f"{target} ILIKE {_literal('%' + str(value) + '%')}"
    if value is None:
        return f"{target} IS {'NOT ' if op == '!=' else ''}NULL"
    return f"{target} {op} {_literal(value)}"
