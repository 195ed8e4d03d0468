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
from dataclasses import dataclass
from typing import Any, Literal

import sqlglot
from pydantic import BaseModel, Field
from sqlglot import exp

from assistant.errors import ToolInputError
from tools.schema_profile import ColumnProfile, MetricDefinition, SchemaProfile, TableProfile

Aggregate = Literal["count", "count_distinct", "sum", "avg", "min", "max"]
Grain = Literal["day", "week", "month", "quarter", "year"]
Operator = Literal["=", "!=", ">", ">=", "<", "<=", "in", "not in", "between", "contains"]


class Metric(BaseModel):
    """An aggregate: ``count`` (rows, no column), or ``sum``/``avg``/... of a column."""

    name: str | None = Field(
        default=None, description="A metric defined in the semantic model (e.g. 'revenue', 'aov', 'repeat_rate'); agg/column are then ignored."
    )
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
            for other, fk, key in self.profile.parents(current):
                if other.name in seen:
                    continue
                previous[other.name] = (current.name, fk, key)
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
    """Compile ``spec`` to one SELECT in ``dialect``; raise :class:`ToolInputError` on bad names/types.

    Metrics named in the semantic model (``{"name": "repeat_rate"}``) expand to their
    definition. A per-customer metric (repeat rate) compiles to two stages: rows grouped
    per customer within each group first, then the groups. A metric's own ``where``
    (revenue without cancelled orders) becomes a condition inside its aggregate, so the
    other metrics of the same query still see every row.
    """
    base = profile.table(spec.table)
    if base is None:
        raise unknown_name("table", spec.table, [t.name for t in profile.tables])
    resolver = _Resolver(profile, base)

    def ref(table: TableProfile, column: ColumnProfile) -> str:
        return f"{_q(table.name)}.{_q(column.name)}"

    time_column: str | None = None
    if spec.time_grain or spec.time_range:
        wanted = spec.time_range.column if spec.time_range and spec.time_range.column else None
        if wanted:
            table, column = resolver.column(wanted)
        else:
            main = profile.main_date(base)
            if main is None:
                raise ToolInputError(
                    f"Table '{base.name}' has no date column for a time range or grain.",
                    hint="Name the date column in time_range.column.",
                )
            table, column = base, main
        if column.role != "date":
            raise ToolInputError(f"'{column.name}' is {column.type}, not a date; a time range needs a DATE or TIMESTAMP column.")
        time_column = ref(table, column)
    groups: list[tuple[str, str]] = []  # (expression, output name)
    if spec.time_grain and time_column:
        groups.append((f"CAST(date_trunc('{spec.time_grain}', {time_column}) AS DATE)", spec.time_grain))
    for dimension in spec.dimensions:
        table, column = resolver.column(dimension)
        groups.append((ref(table, column), column.name))
    compiled = [_compile_metric(metric, profile, resolver, base, ref) for metric in spec.metrics]

    where: list[str] = []
    for condition in spec.filters:
        table, column = resolver.column(condition.column)
        where.append(_filter_sql(ref(table, column), column, condition))
    if spec.time_range and time_column:
        if spec.time_range.start:
            where.append(f"{time_column} >= {_literal(spec.time_range.start)}")
        if spec.time_range.end:
            where.append(f"{time_column} < {_literal(spec.time_range.end)}")

    source = _q(base.name)
    for table_name, (from_table, fk, key) in resolver.joins.items():
        source += f" JOIN {_q(table_name)} ON {_q(from_table)}.{_q(fk)} = {_q(table_name)}.{_q(key)}"
    if where:
        source += " WHERE " + " AND ".join(where)

    if any(c.per_customer for c in compiled):
        sql = _two_stage(compiled, groups, base, source, profile)
    else:
        select = [f"{e} AS {_q(name)}" for e, name in groups] + [f"{c.single} AS {_q(c.alias)}" for c in compiled]
        sql = f"SELECT {', '.join(select)} FROM {source}"
        if groups:
            sql += " GROUP BY " + ", ".join(e for e, _ in groups)
    if groups and compiled:
        if spec.time_grain and spec.order is None:
            sql += f" ORDER BY {_q(spec.time_grain)}"
        else:
            sql += f" ORDER BY {_q(compiled[0].alias)} {(spec.order or 'desc').upper()} NULLS LAST"
    if spec.limit and groups:
        sql += f" LIMIT {int(spec.limit)}"
    if dialect != "duckdb":
        sql = sqlglot.transpile(sql, read="duckdb", write=dialect)[0]
    return sql


@dataclass(slots=True)
class _Compiled:
    """One metric as a single aggregate, and as per-customer partials plus an outer aggregate.

    ``outer`` refers to the partial columns as ``{0}``, ``{1}``; ``partials`` is None when the
    metric cannot be split per customer (a distinct count of something else).
    """

    alias: str
    single: str
    partials: list[str] | None
    outer: str
    per_customer: bool = False


def _compile_metric(metric: Metric, profile: SchemaProfile, resolver: _Resolver, base: TableProfile, ref: Any) -> _Compiled:
    if metric.name is None:
        return _plain_metric(metric.agg, metric.column, metric.alias, resolver, base, ref)
    definition = profile.metric(metric.name)
    if definition is None:
        defined = sorted(profile.metrics)
        if not defined:
            raise ToolInputError(
                f"No metric '{metric.name}' is defined (the workspace has no semantic model metrics).",
                hint="Give agg and column instead, e.g. {\"agg\": \"sum\", \"column\": \"total\"}.",
            )
        raise unknown_name("metric", metric.name, defined)
    if definition.table.lower() != base.name.lower():
        raise ToolInputError(
            f"Metric '{definition.name}' is defined on table '{definition.table}', not '{base.name}'.",
            hint=f"Use table '{definition.table}' as the base table (dimensions of related tables are joined automatically).",
        )
    alias = metric.alias or definition.name
    if definition.ratio:
        parts = []
        for part_name in definition.ratio:
            part = profile.metric(part_name)
            assert part is not None  # checked when the semantic model was applied
            parts.append(_plain_metric(part.agg or "count", _qualified(part.table, part.column), None, resolver, base, ref,
                                       _condition(part, resolver, ref)))
        num, den = parts
        single = f"round(CAST({num.single} AS DECIMAL(38, 6)) / NULLIF({den.single}, 0), 2)"
        if num.partials is None or den.partials is None:
            return _Compiled(alias, single, None, "")
        shift = len(num.partials)
        den_outer = den.outer.format(*[f"{{{i + shift}}}" for i in range(len(den.partials))])
        outer = f"round(CAST({num.outer} AS DECIMAL(38, 6)) / NULLIF({den_outer}, 0), 2)"
        return _Compiled(alias, single, num.partials + den.partials, outer)
    condition = _condition(definition, resolver, ref)
    if definition.min_orders:
        threshold = int(definition.min_orders)
        alias = alias if metric.alias else f"{alias}_pct"
        if condition is None:
            outer = f"round(100.0 * avg(CASE WHEN {{0}} >= {threshold} THEN 1 ELSE 0 END), 1)"
            return _Compiled(alias, "", ["count(*)"], outer, per_customer=True)
        # qualifying rows per customer; customers with none are not active, so not in the denominator
        outer = (f"round(100.0 * sum(CASE WHEN {{0}} >= {threshold} THEN 1 ELSE 0 END)"
                 " / NULLIF(sum(CASE WHEN {0} >= 1 THEN 1 ELSE 0 END), 0), 1)")
        return _Compiled(alias, "", [f"count(CASE WHEN {condition} THEN 1 END)"], outer, per_customer=True)
    return _plain_metric(definition.agg or "count", _qualified(definition.table, definition.column), alias, resolver, base, ref,
                         condition)


def _condition(definition: MetricDefinition, resolver: _Resolver, ref: Any) -> str | None:
    """The metric's ``where`` as one SQL condition (all of its filters), None without one.

    An exclusion (``!=``, ``not in``) keeps rows where the column is empty: "revenue excluding
    cancelled orders" must not also drop the orders that have no status.
    """
    parts = []
    for item in definition.where:
        table, column = resolver.column(f"{definition.table}.{item.column}")
        value = list(item.value) if isinstance(item.value, tuple) else item.value
        condition = Filter.model_validate({"column": item.column, "op": item.op, "value": value})
        sql = _filter_sql(ref(table, column), column, condition)
        if item.op in ("!=", "not in") and value is not None:
            sql = f"({sql} OR {ref(table, column)} IS NULL)"
        parts.append(sql)
    return " AND ".join(parts) if parts else None


def _qualified(table: str, column: str | None) -> str | None:
    return f"{table}.{column}" if column else None


def _plain_metric(
    agg: str, column_ref: str | None, alias: str | None, resolver: _Resolver, base: TableProfile, ref: Any,
    condition: str | None = None,
) -> _Compiled:
    """One aggregate; with ``condition``, only the rows where it holds count (CASE WHEN inside the aggregate)."""
    if agg == "count" and not column_ref:
        single = f"count(CASE WHEN {condition} THEN 1 END)" if condition else "count(*)"
        return _Compiled(alias or f"{base.name}_count", single, [single], "sum({0})")
    if not column_ref:
        raise ToolInputError(f"Aggregate '{agg}' needs a column.", hint="Give metric.column.")
    table, column = resolver.column(column_ref)
    if agg in ("sum", "avg") and column.role not in ("money", "number", "flag"):
        raise ToolInputError(
            f"'{agg}' needs a numeric column; '{column.name}' is {column.type}.",
            hint="Use count or count_distinct for non-numeric columns.",
        )
    target = ref(table, column)
    if column.role == "flag" and agg in ("sum", "avg"):
        target = f"CAST({target} AS INTEGER)"
    if condition:
        target = f"CASE WHEN {condition} THEN {target} END"
    if agg == "count_distinct":
        is_customer = table is base and base.customer_key is not None and column.name.lower() == base.customer_key.lower()
        name, single = alias or f"distinct_{column.name}", f"count(DISTINCT {target})"
        if not is_customer:
            return _Compiled(name, single, None, "count(*)")
        if condition:  # per customer: 1 when any of their rows qualifies
            return _Compiled(name, single, [f"max(CASE WHEN {condition} THEN 1 ELSE 0 END)"], "sum({0})")
        return _Compiled(name, single, [], "count(*)")
    rounded = agg == "avg" or column.role == "money"
    single = f"{agg}({target})"
    if agg == "avg":
        outer = "round(CAST(sum({0}) AS DECIMAL(38, 6)) / NULLIF(sum({1}), 0), 2)"
        partials = [f"sum({target})", f"count({target})"]
    else:
        partials = [single]
        outer = f"{'sum' if agg in ('sum', 'count') else agg}({{0}})"
        if rounded:
            outer = f"round({outer}, 2)"
    return _Compiled(alias or f"{agg}_{column.name}", f"round({single}, 2)" if rounded else single, partials, outer)


def _two_stage(compiled: list[_Compiled], groups: list[tuple[str, str]], base: TableProfile, source: str, profile: SchemaProfile) -> str:
    customer = base.customer_key
    if customer is None:
        raise ToolInputError(f"A per-customer metric needs the customer key of '{base.name}'.",
                             hint=f"Declare tables.{base.name}.customer_key in semantic.yaml.")
    inner = [f"{e} AS {_q(f'__g{i}')}" for i, (e, _) in enumerate(groups)]
    inner.append(f"{_q(base.name)}.{_q(customer)} AS {_q('__customer')}")
    outer = [f"{_q(f'__g{i}')} AS {_q(name)}" for i, (_, name) in enumerate(groups)]
    n = 0
    for metric in compiled:
        if metric.partials is None:
            raise ToolInputError(
                f"'{metric.alias}' cannot be combined with a per-customer metric in one query.",
                hint="Ask for it in a separate query.",
            )
        names = []
        for partial in metric.partials:
            inner.append(f"{partial} AS {_q(f'__p{n}')}")
            names.append(_q(f"__p{n}"))
            n += 1
        outer.append(f"{metric.outer.format(*names)} AS {_q(metric.alias)}")
    inner_group = [e for e, _ in groups] + [f"{_q(base.name)}.{_q(customer)}"]
    sql = f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM {source} GROUP BY {', '.join(inner_group)}) AS {_q('per_customer')}"
    if groups:
        sql += " GROUP BY " + ", ".join(_q(f"__g{i}") for i in range(len(groups)))
    return sql


def filter_problem(column: ColumnProfile, condition: Filter) -> str | None:
    """Why ``condition`` cannot filter ``column`` (unknown category value, not a number, ...), or None."""
    try:
        _filter_sql(_q(column.name), column, condition)
    except ToolInputError as err:
        return err.message
    return None


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
