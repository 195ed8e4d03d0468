"""Structured queries: metrics, dimensions, filters, a time range and grain, compiled to SQL.

This is the preferred path for the model (and the offline planner): it cannot
write unsafe SQL, and it names unknown columns with the closest valid ones.
Joins follow foreign keys from the query's base table (many-to-one only, so
counts and sums are never inflated), e.g. ``order_items → orders → customers``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

import sqlglot
from pydantic import BaseModel, Field
from sqlglot import exp

from foundation.errors import ToolInputError
from tools.schema_profile import (
    ColumnProfile,
    MetricDefinition,
    SchemaProfile,
    TableProfile,
    name_words,
)

Aggregate = Literal["count", "count_distinct", "sum", "avg", "min", "max"]
Grain = Literal["day", "week", "month", "quarter", "year", "weekday", "hour"]
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
    having: list[Filter] = Field(default_factory=list, description="Conditions on a metric's value per group "
                                 "(column = the metric's alias), e.g. revenue > 10000 by channel; needs dimensions.")
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
        self.derived: dict[str, str] = {}  # alias -> "LEFT JOIN (SELECT ...) AS alias ON ..." (first purchases)

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
    if spec.time_grain == "weekday" and time_column:  # "which day of the week": Monday … Sunday, in that order
        groups.append((f"dayname({time_column})", spec.time_grain))
    elif spec.time_grain == "hour" and time_column:  # "busiest hour of the day": 0 … 23
        groups.append((f"CAST(hour({time_column}) AS INTEGER)", spec.time_grain))
    elif spec.time_grain and time_column:
        groups.append((f"CAST(date_trunc('{spec.time_grain}', {time_column}) AS DATE)", spec.time_grain))
    item_joins: list[str] = []
    for dimension in spec.dimensions:
        table, column = resolver.column(dimension)
        if column.list_separator and column.values:
            # a list column groups by item: a row tagged "VIP, Newsletter" counts once under each
            item = f"{_q(f'__items{len(item_joins)}')}.{_q('item')}"
            rows = ", ".join(f"({_literal(v)})" for v in column.values)
            item_joins.append(f" JOIN (VALUES {rows}) AS {_q(f'__items{len(item_joins)}')}({_q('item')})"
                              f" ON {_item_in(ref(table, column), column.list_separator, item)}")
            groups.append((item, column.name))
            continue
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
    for clause in resolver.derived.values():
        source += f" {clause}"
    source += "".join(item_joins)
    if where:
        source += " WHERE " + " AND ".join(where)

    if any(c.per_customer for c in compiled):
        sql = _two_stage(compiled, groups, base, source, profile)
    else:
        select = [f"{e} AS {_q(name)}" for e, name in groups] + [f"{c.single} AS {_q(c.alias)}" for c in compiled]
        sql = f"SELECT {', '.join(select)} FROM {source}"
        if groups:
            sql += " GROUP BY " + ", ".join(e for e, _ in groups)
    if spec.having:
        sql = _having(sql, spec.having, compiled, bool(groups))
    if groups and compiled:
        if spec.time_grain == "weekday" and spec.order is None and time_column:
            sql += f" ORDER BY min(isodow({time_column}))"
        elif spec.time_grain and spec.order is None:
            sql += f" ORDER BY {_q(spec.time_grain)}"
        else:
            sql += f" ORDER BY {_q(compiled[0].alias)} {(spec.order or 'desc').upper()} NULLS LAST"
    if spec.limit and groups:
        sql += f" LIMIT {int(spec.limit)}"
    if dialect != "duckdb":
        sql = sqlglot.transpile(sql, read="duckdb", write=dialect)[0]
    return sql


_HAVING_OPS = (">", ">=", "<", "<=", "=", "!=")


def _having(sql: str, having: list[Filter], compiled: list[_Compiled], grouped: bool) -> str:
    """Keep the groups whose metric value passes each condition (a HAVING on the output column, written as an
    outer WHERE so one- and two-stage queries share it; the ORDER BY and LIMIT follow it)."""
    if not grouped:
        raise ToolInputError("A condition on a metric's value (having) needs dimensions or a time grain to group by.",
                             hint="Add a dimension, or use filters for a condition on single rows.")
    aliases = [c.alias for c in compiled]
    kept = []
    for condition in having:
        if condition.column not in aliases:
            raise unknown_name("metric", condition.column, aliases)
        if condition.op not in _HAVING_OPS:
            raise ToolInputError(f"having accepts {', '.join(_HAVING_OPS)}, not '{condition.op}'.")
        try:
            value = float(condition.value)
        except (TypeError, ValueError):
            raise ToolInputError(f"having on '{condition.column}' needs a number, not {condition.value!r}.") from None
        kept.append(f"{_q('grouped')}.{_q(condition.column)} {condition.op} {_literal(value)}")
    return f"SELECT * FROM ({sql}) AS {_q('grouped')} WHERE " + " AND ".join(kept)


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
            parts.append(_definition_metric(part, None, resolver, base, ref, profile))
        num, den = parts
        # a percent ratio (click rate = clicks / sends) is a percentage with one decimal, like the repeat rate
        scale, digits = ("100.0 * ", 1) if definition.unit == "percent" else ("", 2)
        single = f"round({scale}CAST({num.single} AS DECIMAL(38, 6)) / NULLIF({den.single}, 0), {digits})"
        if num.partials is None or den.partials is None:
            return _Compiled(alias, single, None, "")
        shift = len(num.partials)
        den_outer = den.outer.format(*[f"{{{i + shift}}}" for i in range(len(den.partials))])
        outer = f"round({scale}CAST({num.outer} AS DECIMAL(38, 6)) / NULLIF({den_outer}, 0), {digits})"
        return _Compiled(alias, single, num.partials + den.partials, outer)
    condition = _condition(definition, resolver, ref)
    if definition.min_orders:
        threshold = int(definition.min_orders)
        alias = alias if metric.alias else f"{alias}_pct"
        # orders per customer: rows, or distinct order ids when the table is line items
        counted = "1"
        if definition.column:
            table, column = resolver.column(f"{definition.table}.{definition.column}")
            counted = ref(table, column)
        per = (lambda what: f"count(DISTINCT {what})") if definition.column else (lambda what: f"count({what})")
        if condition is None:
            outer = f"round(100.0 * avg(CASE WHEN {{0}} >= {threshold} THEN 1 ELSE 0 END), 1)"
            return _Compiled(alias, "", [per(counted) if definition.column else "count(*)"], outer, per_customer=True)
        # qualifying rows per customer; customers with none are not active, so not in the denominator
        outer = (f"round(100.0 * sum(CASE WHEN {{0}} >= {threshold} THEN 1 ELSE 0 END)"
                 " / NULLIF(sum(CASE WHEN {0} >= 1 THEN 1 ELSE 0 END), 0), 1)")
        return _Compiled(alias, "", [per(f"CASE WHEN {condition} THEN {counted} END")], outer, per_customer=True)
    return _definition_metric(definition, alias, resolver, base, ref, profile)


def _definition_metric(
    definition: MetricDefinition, alias: str | None, resolver: _Resolver, base: TableProfile, ref: Any, profile: SchemaProfile
) -> _Compiled:
    """A plain aggregate of the semantic model (column, expression, new/returning customers), with its ``where``."""
    condition = _condition(definition, resolver, ref)
    if definition.customer_type:
        return _customer_type_metric(definition, alias, resolver, base, ref, profile, condition)
    expression = compile_expr(definition.expr, definition.table, resolver, ref) if definition.expr else None
    return _plain_metric(definition.agg or "count", _qualified(definition.table, definition.column), alias, resolver, base, ref,
                         condition, expression=expression, percent=definition.unit == "percent")


def _customer_type_metric(
    definition: MetricDefinition, alias: str | None, resolver: _Resolver, base: TableProfile, ref: Any,
    profile: SchemaProfile, condition: str | None,
) -> _Compiled:
    """New customers: those whose first row (by the main date, over all time) is among the rows counted —
    in a period, the customers whose first purchase falls in it; returning: the other customers with
    rows counted (new + returning = active customers, in every group).

    The first dates come from a grouped subquery joined with LEFT JOIN, so the other metrics of
    the query still see every row.
    """
    table = profile.table(definition.table)
    customer = table.customer_key if table is not None else None
    date = profile.main_date(table) if table is not None else None
    if table is None or customer is None or date is None:
        raise ToolInputError(f"Metric '{definition.name}' needs the customer key and main date of '{definition.table}'.",
                             hint=f"Declare tables.{definition.table}.customer_key and main_date in semantic.yaml.")
    first = f"__first_{definition.table}"
    inner_where = f" WHERE {condition}" if condition else ""
    resolver.derived.setdefault(first, (
        f"LEFT JOIN (SELECT {ref(table, table.column(customer))} AS {_q('__customer')}, min({ref(table, date)}) AS {_q('__first')}"
        f" FROM {_q(table.name)}{inner_where} GROUP BY 1) AS {_q(first)}"
        f" ON {_q(first)}.{_q('__customer')} = {_q(table.name)}.{_q(customer)}"))
    who = f"{_q(table.name)}.{_q(customer)}"
    test = f"{ref(table, date)} = {_q(first)}.{_q('__first')}" + (f" AND {condition}" if condition else "")
    single = f"count(DISTINCT CASE WHEN {test} THEN {who} END)"
    if definition.customer_type == "returning":  # active in the rows counted, minus the new ones: they partition
        active = f"count(DISTINCT CASE WHEN {condition} THEN {who} END)" if condition else f"count(DISTINCT {who})"
        single = f"{active} - {single}"
    return _Compiled(alias or definition.name, single, None, "count(*)")


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
    condition: str | None = None, *, expression: str | None = None, percent: bool = False,
) -> _Compiled:
    """One aggregate; with ``condition``, only the rows where it holds count (CASE WHEN inside the aggregate).

    ``expression`` (already compiled, e.g. quantity * unit price) stands for the column; ``percent``
    makes the average of a flag a percentage (share of rows where it holds, 0–100).
    """
    if expression is not None:
        target = f"CASE WHEN {condition} THEN {expression} END" if condition else expression
        single = f"round({agg}({target}), 2)"
        outer = f"round({'sum' if agg == 'sum' else agg}({{0}}), 2)"
        if agg == "avg":
            return _Compiled(alias or "value", single, [f"sum({target})", f"count({target})"],
                             "round(CAST(sum({0}) AS DECIMAL(38, 6)) / NULLIF(sum({1}), 0), 2)")
        return _Compiled(alias or "value", single, [f"{agg}({target})"], outer)
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
    if agg == "sum" and set(name_words(column.name)) & _RATE_WORDS:
        raise ToolInputError(
            f"'{column.name}' holds a rate; adding rates up gives a meaningless number.",
            hint=f"Use avg of {column.name} (the average per row), or a rate metric of the semantic model (ratio of two sums).",
        )
    target = ref(table, column)
    if column.role == "flag" and agg in ("sum", "avg"):
        target = flag_number(target, column)
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
    if agg == "avg" and percent and column.role == "flag":
        outer = "round(100.0 * CAST(sum({0}) AS DECIMAL(38, 6)) / NULLIF(sum({1}), 0), 1)"
        return _Compiled(alias or f"{column.name}_pct", f"round(100.0 * {single}, 1)", [f"sum({target})", f"count({target})"], outer)
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
            # the exact value first: "CA" and "ca" are both values of a hand-typed column, each its own rows
            match = str(item) if str(item) in column.values else lookup.get(str(item).lower())
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
    if column.role == "flag" and not isinstance(value, bool) and value is not None:
        value = str(value).strip().lower() in {"true", "1", "yes", "y", "t"}
    op = condition.op
    if column.list_separator and op in ("=", "!=", "in", "not in", "contains") and value is not None:
        items = value if isinstance(value, list) else [value]
        held = " OR ".join(list_holds(target, column.list_separator, str(item)) for item in items)
        held = f"({held})" if len(items) > 1 else held
        return f"NOT coalesce({held}, false)" if op in ("!=", "not in") else held
    if column.role == "flag" and op in ("=", "!=") and value is not None:
        return flag_is(target, column, bool(value) if op == "=" else not value)
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


def list_cell(target: str, separator: str) -> str:
    """A list cell normalised for item matching, in SQL both DuckDB and PostgreSQL run: lower case,
    double quotes dropped, spaces around separators removed, one separator at each end (",vip,newsletter,")."""
    cell = f"lower(replace(CAST({target} AS VARCHAR), '\"', ''))"
    pattern = " +" if separator == " " else f" *[{separator}] *"
    cell = f"regexp_replace(trim({cell}), {_literal(pattern)}, {_literal(separator)}, 'g')"
    return f"({_literal(separator)} || {cell} || {_literal(separator)})"


def list_holds(target: str, separator: str, item: str) -> str:
    """The list cell ``target`` holds ``item`` (a whole item, not part of one). strpos, not LIKE:
    a % or _ in an item is plain text, never a wildcard."""
    return f"strpos({list_cell(target, separator)}, {_literal(separator + item.lower() + separator)}) > 0"


def _item_in(target: str, separator: str, item: str) -> str:
    """The list cell ``target`` holds the item SQL expression ``item`` (a column of the items' VALUES)."""
    sep = _literal(separator)
    return f"strpos({list_cell(target, separator)}, {sep} || lower({item}) || {sep}) > 0"


_RATE_WORDS = frozenset({"rate", "ratio", "percent", "percentage", "pct", "share", "ctr", "cvr"})


# --- flags, whatever their storage --------------------------------------------------------------

_YES = "('yes', 'y', 'true', 't', '1')"
_NO = "('no', 'n', 'false', 'f', '0')"


def _flag_storage(column: ColumnProfile) -> str:
    upper = column.type.upper()
    if upper.startswith("BOOL"):
        return "boolean"
    if any(t in upper for t in ("INT", "DECIMAL", "NUMERIC", "DOUBLE", "FLOAT", "REAL")):
        return "number"
    return "text"


def flag_is(target: str, column: ColumnProfile, holds: bool) -> str:
    """SQL that is true where the flag ``column`` holds (``holds``) or does not: BOOLEAN, 0/1 or yes/no text."""
    storage = _flag_storage(column)
    if storage == "boolean":
        return f"{target} = {'TRUE' if holds else 'FALSE'}"
    if storage == "number":
        return f"{target} <> 0" if holds else f"{target} = 0"
    return f"lower(trim(CAST({target} AS VARCHAR))) IN {_YES if holds else _NO}"


def flag_number(target: str, column: ColumnProfile) -> str:
    """The flag as 1/0 (NULL stays NULL), so its average is the share of rows where it holds."""
    storage = _flag_storage(column)
    if storage == "boolean":
        return f"CAST({target} AS INTEGER)"
    if storage == "number":
        return f"CASE WHEN {target} <> 0 THEN 1 WHEN {target} = 0 THEN 0 END"
    norm = f"lower(trim(CAST({target} AS VARCHAR)))"
    return f"CASE WHEN {norm} IN {_YES} THEN 1 WHEN {norm} IN {_NO} THEN 0 END"


# --- safe column expressions (revenue = quantity * unit price) -----------------------------------

_TOKEN = re.compile(r'\s*(?:(?P<number>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|"(?P<quoted>[^"]+)"|(?P<op>[-+*/()]))')


def expr_columns(expr: str) -> list[str]:
    """The column names in ``expr``; :class:`ToolInputError` when it holds anything but column names
    (bare or "double quoted"), numbers, + - * / and parentheses."""
    names, position = [], 0
    while position < len(expr.rstrip()):
        match = _TOKEN.match(expr, position)
        if match is None or match.end() == position:
            raise ToolInputError(
                f"Expression '{expr}' has an unexpected character at position {position + 1}.",
                hint='Use column names, numbers, + - * / and parentheses, e.g. quantity * unit_price or "Lineitem quantity" * price.',
            )
        if match.group("name") or match.group("quoted"):
            names.append(match.group("name") or match.group("quoted"))
        position = match.end()
    if not names:
        raise ToolInputError(f"Expression '{expr}' names no column.", hint="E.g. quantity * unit_price.")
    return names


def compile_expr(expr: str, table_name: str, resolver: _Resolver, ref: Any) -> str:
    """``expr`` with its column names resolved on ``table_name`` (numbers and money only)."""
    expr_columns(expr)  # validates the characters
    out, position = [], 0
    while position < len(expr.rstrip()):
        match = _TOKEN.match(expr, position)
        assert match is not None
        name = match.group("name") or match.group("quoted")
        if name:
            table, column = resolver.column(f"{table_name}.{name}")
            if column.role not in ("money", "number"):
                raise ToolInputError(f"'{column.name}' in expression '{expr}' is {column.type}, not a number.")
            out.append(f"CAST({ref(table, column)} AS DECIMAL(38, 6))" if "INT" in column.type.upper() else ref(table, column))
        else:
            out.append(match.group("number") or match.group("op"))
        position = match.end()
    sql = " ".join(out)
    try:
        sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as err:
        raise ToolInputError(f"Expression '{expr}' is not a valid formula.", hint="E.g. quantity * unit_price.") from err
    return f"({sql})"
