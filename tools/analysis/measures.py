"""What an analysis measures, and the one way it reads numbers from the warehouse.

A metric is *additive* (a sum or a count: groups add up to the total), a *ratio* (numerator /
denominator, e.g. average order value = revenue / orders, click rate = clicks / sends, the average of
a column = its sum / its count) or *other* (distinct counts, per-customer rates, min/max): other
metrics can be compared but not split exactly into parts. Every query is a :class:`QuerySpec`
compiled by :func:`tools.query_spec.compile_query` for the warehouse's dialect, so DuckDB and
PostgreSQL read the same definition.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import sqlglot
from sqlglot import exp

from foundation.errors import ToolInputError
from tools.analysis.first_orders import MAX_LISTED, first_orders, literal
from tools.analysis.periods import DataRange, Period
from tools.query_spec import Filter, Metric, QuerySpec, TimeRange, compile_query, unknown_name
from tools.schema_profile import (
    ENTITY_WORDS,
    ColumnProfile,
    SchemaProfile,
    TableProfile,
    name_phrase,
    name_words,
)
from tools.warehouse import Warehouse

Kind = Literal["additive", "ratio", "other"]
#: Groups read per breakdown at most; the rest is folded into "other" from the totals.
MAX_GROUPS = 10_000


@dataclass(slots=True)
class Measure:
    """A metric resolved on its table: the components an exact decomposition needs."""

    table: TableProfile
    label: str
    kind: Kind
    components: list[Metric]  # additive/other: [metric]; ratio: [numerator, denominator]
    scale: float = 1.0  # 100 for a percent ratio
    unit: str | None = None  # money | count | percent | number
    date: ColumnProfile | None = None
    filters: list[Filter] = field(default_factory=list)

    def value(self, parts: list[float]) -> float | None:
        """The metric from its components' values (a ratio of an empty denominator is None)."""
        if self.kind == "ratio":
            num, den = parts
            return None if not den else self.scale * num / den
        return parts[0]

    @property
    def date_ref(self) -> str:
        assert self.date is not None
        return f"{self.table.name}.{self.date.name}"


def resolve_measure(profile: SchemaProfile, table: str | None, metric: Metric | str,
                    filters: list[Filter] | None = None) -> Measure:
    """``metric`` (a semantic-model name, or agg + column) on ``table`` as a :class:`Measure`.

    Raises :class:`ToolInputError` naming the accepted metrics or tables.
    """
    if isinstance(metric, str):
        metric = Metric(name=metric)
    definition = profile.metric(metric.name) if metric.name else None
    if metric.name and definition is None:
        defined = sorted(profile.metrics)
        if not defined:
            raise ToolInputError(f"No metric '{metric.name}' is defined in the semantic model.",
                                 hint='Give agg and column instead, e.g. {"agg": "sum", "column": "total"}.')
        raise unknown_name("metric", metric.name, defined)
    table_name = definition.table if definition is not None else table
    if not table_name:
        raise ToolInputError("Say which table the metric is on.", hint=f"Tables: {', '.join(t.name for t in profile.tables)}.")
    base = profile.table(table_name)
    if base is None:
        raise unknown_name("table", table_name, [t.name for t in profile.tables])
    date = profile.main_date(base)
    label = (metric.alias or metric.name or (f"{metric.agg} of {metric.column}" if metric.column else f"{base.name}")).replace("_", " ")
    kind: Kind = "other"
    components = [metric]
    scale, unit = 1.0, None
    if definition is not None:
        label = metric.alias.replace("_", " ") if metric.alias else name_phrase(definition.name)
        unit = definition.unit
        if definition.ratio:
            kind, components = "ratio", [Metric(name=definition.ratio[0]), Metric(name=definition.ratio[1])]
            scale = 100.0 if definition.unit == "percent" else 1.0
        elif definition.agg in ("sum", "count") and not definition.min_orders and not definition.customer_type:
            kind = "additive"
        components = [Metric(name=c.name, alias=f"__m{i}") for i, c in enumerate(components)]
    else:
        column = None
        if metric.column:
            owner, _, name = metric.column.rpartition(".")
            column = (profile.table(owner) if owner else base) or base
            column_profile = column.column(name)
            unit = "money" if column_profile is not None and column_profile.role == "money" else None
        if metric.agg in ("sum", "count") and not (metric.agg == "count" and metric.column):
            kind = "additive"
            unit = unit or ("count" if metric.agg == "count" else None)
        elif metric.agg == "avg" and metric.column:
            kind = "ratio"
            components = [Metric(agg="sum", column=metric.column), Metric(agg="count", column=metric.column)]
        components = [m.model_copy(update={"alias": f"__m{i}"}) for i, m in enumerate(components)]
    if metric.agg == "count" and not metric.column and definition is None:
        label = metric.alias.replace("_", " ") if metric.alias else base.name
    return Measure(base, label, kind, components, scale, unit, date, list(filters or []))


def require_date(measure: Measure) -> None:
    """A clear refusal for a metric whose table has no date column."""
    if measure.date is None:
        raise ToolInputError(
            f"The table '{measure.table.name}' has no date column, so {measure.label} cannot be compared over time.",
            hint="Declare a main_date for it in semantic.yaml, or pick a metric on a table with dates (e.g. orders).")


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, Decimal):
        return float(value)
    return float(value)


def _day(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


@dataclass(slots=True)
class Cube:
    """One query's worth of a metric's components: per period overall, per dimension value, per customer type."""

    totals: list[Totals]
    dimensions: dict[str, list[Totals]]
    types: list[Totals] | None = None


@dataclass(slots=True)
class Totals:
    """Component values of one period, overall and per group of a breakdown (``rows``: rows counted)."""

    parts: list[float]
    rows: int
    groups: dict[str, list[float]] = field(default_factory=dict)
    truncated: bool = False  # more groups than MAX_GROUPS: the rest is in "other"


class Reader:
    """Reads a measure's components per period (and per group) from one warehouse."""

    def __init__(self, warehouse: Warehouse, profile: SchemaProfile, measure: Measure) -> None:
        self.warehouse = warehouse
        self.profile = profile
        self.measure = measure

    def compile(self, spec: QuerySpec) -> str:
        return compile_query(spec, self.profile, dialect=self.warehouse.dialect)

    def spec(self, period: Period | None, dimensions: list[str] | None = None, extra: list[Metric] | None = None,
             limit: int | None = None) -> QuerySpec:
        time_range = None
        if period is not None:
            require_date(self.measure)
            time_range = TimeRange(column=self.measure.date_ref, start=period.start, end=period.end)
        return QuerySpec(table=self.measure.table.name, metrics=list(self.measure.components) + list(extra or []),
                         dimensions=dimensions or [], filters=list(self.measure.filters), time_range=time_range,
                         order="desc" if dimensions else None, limit=limit)

    def data_range(self) -> DataRange:
        """The first and last day with rows in the metric's table (:class:`ToolInputError` when there are none)."""
        measure = self.measure
        require_date(measure)
        assert measure.date is not None
        spec = QuerySpec(table=measure.table.name, metrics=[Metric(agg="min", column=measure.date_ref, alias="first"),
                                                             Metric(agg="max", column=measure.date_ref, alias="last")])
        row = self.warehouse.query(self.compile(spec), row_cap=2, timeout_s=60.0).rows[0]
        if row[0] is None:
            raise ToolInputError(f"The table '{measure.table.name}' has no rows with a {measure.date.name}.",
                                 hint="Load data first (mara data load).")
        return DataRange(_day(row[0]), _day(row[1]))

    def totals(self, period: Period) -> Totals:
        spec = self.spec(period, extra=[Metric(agg="count", alias="__rows")])
        row = self.warehouse.query(self.compile(spec), row_cap=2, timeout_s=60.0).rows[0]
        n = len(self.measure.components)
        return Totals([_number(v) for v in row[:n]], int(_number(row[n])))

    def by(self, period: Period, dimension: str, totals: Totals) -> Totals:
        """``totals`` with its groups by ``dimension`` filled in (largest first, at most MAX_GROUPS)."""
        spec = self.spec(period, dimensions=[dimension], limit=MAX_GROUPS)
        tree = sqlglot.parse_one(compile_query(spec, self.profile, dialect="duckdb"), read="duckdb")
        _left_joins(tree)
        result = self.warehouse.query(tree.sql(dialect=self.warehouse.dialect), row_cap=MAX_GROUPS + 1, timeout_s=60.0)
        groups = {}
        for row in result.rows:
            groups[_group_name(row[0])] = [_number(v) for v in row[1:]]
        return Totals(totals.parts, totals.rows, groups, truncated=len(result.rows) >= MAX_GROUPS)

    def by_customer_type(self, period: Period, totals: Totals) -> Totals | None:
        """``totals`` split into first-time customers (first row ever falls in ``period``) and returning ones.

        The compiled query gets a derived group: each row's customer's first date over the whole table,
        joined as a subquery (rewritten with sqlglot before it is transpiled to the warehouse's dialect).
        None when the table has no customer column.
        """
        customer = customer_column(self.profile, self.measure.table)
        if customer is None or self.measure.date is None or not self.measure.table.by_role("money"):
            return None
        spec = self.spec(period)
        duck = compile_query(spec, self.profile, dialect="duckdb")
        tree = sqlglot.parse_one(duck, read="duckdb")
        if not isinstance(tree, exp.Select) or tree.find(exp.Subquery) is not None:
            return None  # a two-stage (per-customer) metric: not split
        table, date = _q(self.measure.table.name), _q(self.measure.date.name)
        firsts = (f"(SELECT {_q(customer)} AS {_q('__c')}, min({date}) AS {_q('__f')} FROM {table} GROUP BY 1)"
                  f" AS {_q('__firsts')}")
        tree = tree.join(firsts, on=f"{_q('__firsts')}.{_q('__c')} = {table}.{_q(customer)}", join_type="left",
                         dialect="duckdb")
        case = (f"CASE WHEN {_q('__firsts')}.{_q('__f')} >= DATE '{period.start.isoformat()}' "
                "THEN 'first-time' ELSE 'returning' END")
        tree = tree.select(f"{case} AS {_q('__type')}", append=True, dialect="duckdb")
        tree = tree.group_by(case, dialect="duckdb")
        sql = tree.sql(dialect=self.warehouse.dialect)
        result = self.warehouse.query(sql, row_cap=10, timeout_s=60.0)
        n = len(self.measure.components)
        groups = {str(row[n]): [_number(v) for v in row[:n]] for row in result.rows}
        return Totals(totals.parts, totals.rows, groups)

    def cube(self, periods: Sequence[Period], dimensions: Sequence[str] = (), *, customer_type: bool = False,
             extra: Sequence[Metric] = (), cached: bool = True) -> Cube | None:
        """Every period's components overall, per first-time/returning customers and per value of each
        dimension — in **one** query (``GROUPING SETS``), so a whole explanation is one scan of the table.

        The compiled single-stage query is rewritten with sqlglot: a period ``CASE``, a ``WHERE`` keeping
        only the periods' rows, the customers' first dates joined for the customer type, and the grouping
        sets; then transpiled to the warehouse's dialect (DuckDB and PostgreSQL both run it). None when the
        metric compiles to two stages (per-customer rates): callers then read per period.
        """
        measure = self.measure
        require_date(measure)
        assert measure.date is not None
        ordered = sorted(periods, key=lambda p: p.start)
        for earlier, later in zip(ordered, ordered[1:], strict=False):
            if later.start < earlier.end:  # the period CASE would give the shared days to one period only
                raise ToolInputError(f"{earlier.label} and {later.label} overlap; each day can be counted in one period only.",
                                     hint="Compare periods that do not share days.")
        # first purchase: only an order log (a table with money) has first-time and returning customers
        customer = customer_column(self.profile, measure.table) if customer_type and measure.table.by_role("money") else None
        start, end = min(p.start for p in periods), max(p.end for p in periods)
        metrics = list(measure.components) + list(extra) + [Metric(agg="count", alias="__rows")]
        spec = QuerySpec(table=measure.table.name, metrics=metrics, dimensions=list(dimensions), filters=list(measure.filters),
                         time_range=TimeRange(column=measure.date_ref, start=start, end=end), limit=None)
        tree = sqlglot.parse_one(compile_query(spec, self.profile, dialect="duckdb"), read="duckdb")
        if not isinstance(tree, exp.Select) or tree.find(exp.Subquery) is not None:
            return None
        _left_joins(tree)
        group = tree.args.get("group")
        dim_sql = [e.sql(dialect="duckdb") for e in group.expressions] if group is not None else []
        for key in ("order", "limit", "group"):
            tree.set(key, None)
        table, date = _q(measure.table.name), f"{_q(measure.table.name)}.{_q(measure.date.name)}"
        inside = [f"({date} >= DATE '{p.start.isoformat()}' AND {date} < DATE '{p.end.isoformat()}')" for p in periods]
        period_case = "CASE " + " ".join(f"WHEN {c} THEN {i}" for i, c in enumerate(inside)) + " END"
        tree = tree.where(" OR ".join(inside), dialect="duckdb")
        sets = [f"({period_case})"] + [f"({period_case}, {d})" for d in dim_sql]
        grouped = list(dim_sql)
        type_case = None
        listed = self._first_time_lists(customer, periods) if customer is not None and cached else None
        if customer is not None and listed is not None:
            # the cached first dates name each period's first-time customers: no history scan in this query.
            # They join as a VALUES table (customer, index of the period their first date is in), written into
            # the SQL after sqlglot (a long list costs it ~0.1 s per 1,000 rows to parse and write)
            if any(listed):
                tree = tree.join(_NEW_PLACEHOLDER, on=f"{_q('__new')}.{_q('__c')} = {table}.{_q(customer)}", join_type="left",
                                 dialect="duckdb")
                type_case = f"CASE WHEN {_q('__new')}.{_q('__p')} = ({period_case}) THEN 'first-time' ELSE 'returning' END"
            else:
                type_case = "CASE WHEN 1 = 0 THEN 'first-time' ELSE 'returning' END"
            sets.append(f"({period_case}, {type_case})")
            grouped.append(type_case)
        elif customer is not None:
            # first dates before the latest period starts are enough: a customer without any is first-time
            latest = max(p.start for p in periods).isoformat()
            firsts = (f"(SELECT {_q(customer)} AS {_q('__c')}, min({_q(measure.date.name)}) AS {_q('__f')} FROM {table} "
                      f"WHERE {_q(measure.date.name)} < DATE '{latest}' GROUP BY 1) AS {_q('__firsts')}")
            tree = tree.join(firsts, on=f"{_q('__firsts')}.{_q('__c')} = {table}.{_q(customer)}", join_type="left",
                             dialect="duckdb")
            new = " OR ".join(f"({c} AND ({_q('__firsts')}.{_q('__f')} IS NULL OR {_q('__firsts')}.{_q('__f')} >= "
                              f"DATE '{p.start.isoformat()}'))"
                              for c, p in zip(inside, periods, strict=True))
            type_case = f"CASE WHEN {new} THEN 'first-time' ELSE 'returning' END"
            sets.append(f"({period_case}, {type_case})")
            grouped.append(type_case)
        tree = tree.select(f"{period_case} AS {_q('__period')}", append=True, dialect="duckdb")
        if type_case is not None:
            tree = tree.select(f"{type_case} AS {_q('__type')}", append=True, dialect="duckdb")
        for i, expression in enumerate(grouped):
            tree = tree.select(f"GROUPING({expression}) AS {_q(f'__g{i}')}", append=True, dialect="duckdb")
        tree = tree.group_by(f"GROUPING SETS ({', '.join(sets)})", dialect="duckdb")
        row_cap = 4 * MAX_GROUPS * max(1, len(dim_sql)) + 16
        sql = tree.sql(dialect=self.warehouse.dialect)
        if listed is not None and any(listed):
            placeholder = sqlglot.parse_one(f"SELECT 1 FROM {_NEW_PLACEHOLDER}", read="duckdb").sql(
                dialect=self.warehouse.dialect).removeprefix("SELECT 1 FROM ")
            if placeholder not in sql:  # written differently by this dialect: read the first dates in the query
                return self.cube(periods, dimensions, customer_type=customer_type, extra=extra, cached=False)
            rows = ", ".join(f"({name}, {i})" for i, names in enumerate(listed) for name in names)
            sql = sql.replace(placeholder, f"(VALUES {rows}) AS {_q('__new')}({_q('__c')}, {_q('__p')})", 1)
        result = self.warehouse.query(sql, row_cap=row_cap, timeout_s=60.0)
        n, k = len(dim_sql), len(measure.components) + len(extra)
        cube = Cube([Totals([0.0] * k, 0) for _ in periods], {d: [Totals([0.0] * k, 0) for _ in periods] for d in dimensions},
                    [Totals([0.0] * k, 0) for _ in periods] if type_case is not None else None)
        for row in result.rows:
            values, rows_counted = [_number(v) for v in row[n:n + k]], int(_number(row[n + k]))
            at = n + k + 1
            period = row[at]
            if period is None:
                continue
            index = int(period)
            kind = row[at + 1] if type_case is not None else None
            flags = row[at + (2 if type_case is not None else 1):]
            if all(flags):
                cube.totals[index] = Totals(values, rows_counted)
            elif type_case is not None and not flags[-1]:
                assert cube.types is not None
                cube.types[index].groups[str(kind)] = values
            else:
                i = next(i for i, f in enumerate(flags[:n]) if not f)
                cube.dimensions[dimensions[i]][index].groups[_group_name(row[i])] = values
        for d in dimensions:
            for index, totals in enumerate(cube.dimensions[d]):
                totals.parts, totals.rows = cube.totals[index].parts, cube.totals[index].rows
                totals.truncated = len(totals.groups) >= MAX_GROUPS
        if cube.types is not None:
            for index, totals in enumerate(cube.types):
                totals.parts, totals.rows = cube.totals[index].parts, cube.totals[index].rows
        return cube

    def _first_time_lists(self, customer: str, periods: Sequence[Period]) -> list[list[str]] | None:
        """Per period, its first-time customers as SQL literals, from the cached first dates
        (:mod:`tools.analysis.first_orders`); None when the cache cannot say (too many, odd ids)."""
        assert self.measure.date is not None
        known = first_orders(self.warehouse, self.measure.table.name, customer, self.measure.date.name)
        if known is None:
            return None
        found = [known.first_in(period.start, period.end) for period in periods]
        if sum(len(f) for f in found) > MAX_LISTED:
            return None
        out = [[literal(c) for c in customers] for customers in found]
        return None if any(n is None for names in out for n in names) else out  # type: ignore[return-value]

    def series(self, start: dt.date, end: dt.date, grain: str) -> dict[dt.date, float | None]:
        """The metric per ``grain`` (day or week) over ``[start, end)``."""
        spec = QuerySpec(table=self.measure.table.name, metrics=list(self.measure.components), filters=list(self.measure.filters),
                         time_range=TimeRange(column=self.measure.date_ref, start=start, end=end),
                         time_grain=grain, limit=MAX_GROUPS)  # type: ignore[arg-type]
        result = self.warehouse.query(self.compile(spec), row_cap=MAX_GROUPS + 1, timeout_s=60.0)
        return {_day(row[0]): self.measure.value([_number(v) for v in row[1:]]) for row in result.rows}


#: Stands in for the VALUES table of first-time customers until the SQL is written (see Reader.cube).
_NEW_PLACEHOLDER = '(SELECT NULL AS "__c", NULL AS "__p") AS "__new"'


def _left_joins(tree: Any) -> None:
    """Make the compiled lookups (many-to-one joins to a dimension's table) LEFT joins: a row whose
    parent is missing (an order without a campaign) still counts, in the "(none)" group."""
    for join in tree.args.get("joins") or []:
        if not join.args.get("side"):
            join.set("side", "LEFT")
            join.set("kind", None)


def _q(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect="duckdb")


def _group_name(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def customer_column(profile: SchemaProfile, table: TableProfile) -> str | None:
    """The column of ``table`` naming the customer: declared, a link to a customers table, or ``customer_id``."""
    if table.customer_key and table.customer_key != table.key:
        return table.customer_key
    for other, fk, _ in profile.parents(table):
        if other.key and any(w in ENTITY_WORDS for w in name_words(other.key)):
            return fk
    for column in table.columns:
        words = name_words(column.name)
        if column.name != table.key and column.role == "id" and any(w in ENTITY_WORDS for w in words):
            return column.name
    return None


def breakdown_dimensions(profile: SchemaProfile, table: TableProfile, limit: int = 6) -> list[str]:
    """The category columns a change can be explained by: the table's own, then its parents' (joined),
    never personal data; fewest distinct values first, so the first ones read well."""
    own = [(table, c) for c in table.columns if c.role == "category" and not c.pii]
    joined = [(other, c) for other, _, _ in profile.parents(table) for c in other.columns if c.role == "category" and not c.pii]
    candidates = own + joined
    seen: set[str] = set()
    out = []
    for owner, column in candidates:
        if column.name.lower() in seen or "city" in column.name.lower():
            continue
        seen.add(column.name.lower())
        out.append(f"{owner.name}.{column.name}")
    return out[:limit]


def activity_of(profile: SchemaProfile, entity: TableProfile) -> tuple[TableProfile, str] | None:
    """The order log whose rows say a customer of ``entity`` was active: ``(orders table, its customer column)``.

    ``entity`` is a customers table when a dated table with money links to it through its customer
    column (``orders.customer_id`` → ``customers``); None otherwise.
    """
    for table in sorted(profile.tables, key=lambda t: -t.rows):
        if table is entity or profile.main_date(table) is None or not table.by_role("money"):
            continue
        column = customer_column(profile, table)
        if column and any(other is entity and fk == column for other, fk, _ in profile.parents(table)):
            return table, column
    return None


def counted_note(profile: SchemaProfile, measure: Measure) -> str | None:
    """What a customer count counted, in one plain sentence: who ordered (active), whose first order fell in
    the period (new), or who signed up in it (rows of the customers table by their date). None for other metrics."""
    component = measure.components[0]
    definition = profile.metric(component.name) if component.name else None
    agg = definition.agg if definition is not None else component.agg
    column = (definition.column if definition is not None else component.column) or ""
    kind = definition.customer_type if definition is not None else None
    table = measure.table
    noun = name_phrase(table.name)
    noun = noun[:-1] if noun.endswith("s") else noun
    customer = customer_column(profile, table)
    if kind == "new":
        return f"New customers: those whose first {noun} ever falls in the period."
    if kind == "returning":
        return f"Returning customers: those with {noun}s in the period whose first {noun} was earlier."
    if agg == "count_distinct" and customer and column.rsplit(".", 1)[-1] == customer:
        return f"Customers counted: those with at least one {noun} in the period (active customers), each once."
    if agg == "count" and measure.date is not None and activity_of(profile, table) is not None:
        return (f"Customers counted by {name_phrase(measure.date.name)}: those who joined in the period, "
                "not those who ordered in it.")
    return None
