"""Customer-data capability: describe the data, answer structured queries, run read-only SQL.

Plain functions first (tests call these); the LangChain tools at the bottom are
thin wrappers: argument schema, a docstring for the model, rendering.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

from foundation.errors import MaraError
from tools.charts import auto_chart, save_chart
from tools.context import ToolContext
from tools.declare import bound_tools, mara_tool
from tools.query_spec import (
    Filter,
    Grain,
    Metric,
    QuerySpec,
    TimeRange,
    compile_query,
    unknown_name,
)
from tools.results import ToolOutput, render_table, table_artifact
from tools.schema_profile import MetricDefinition, SchemaProfile


def describe_tables(profile: SchemaProfile, table: str | None = None) -> ToolOutput:
    """Tables, row counts, columns with types and roles, and the values of category columns."""
    tables = profile.tables
    if table:
        found = profile.table(table)
        if found is None:
            raise unknown_name("table", table, [t.name for t in profile.tables])
        tables = [found]
    if not tables:
        return ToolOutput(text="The warehouse has no tables yet. Load data with 'mara data load FILE' or run 'mara demo'.")
    lines = []
    for t in tables:
        lines.append(f"## {t.name} ({t.rows:,} rows)")
        facts = [t.grain or "", f"key {t.key}" if t.key else "", f"customer key {t.customer_key}" if t.customer_key else ""]
        main = profile.main_date(t)
        if main is not None and len(t.by_role("date")) > 1:
            facts.append(f"time ranges use {main.name}")
        if any(facts) or t.description:
            lines.append(" · ".join(f for f in [t.description or "", *facts] if f))
        for c in t.columns:
            extra = ""
            if c.pii:
                extra = "; personal data"
            elif c.role == "category" and c.values:
                shown = c.values[:12]
                extra = f"; values: {', '.join(shown)}{' …' if len(c.values) > 12 else ''}"
            elif c.role in ("date", "money", "number") and c.min is not None:
                extra = f"; range {c.min} … {c.max}"
            lines.append(f"- {c.name}: {c.type} ({c.role}{extra})" + (f" — {c.description}" if c.description else ""))
    names = {t.name for t in tables}
    links = [f"{r.from_table}.{r.from_column} -> {r.to_table}.{r.to_column}" for r in profile.relationships
             if r.from_table in names or r.to_table in names]
    if links:
        lines.append("Relationships (many-to-one, joined automatically): " + "; ".join(links))
    metrics = [m for m in profile.metrics.values() if m.table in names]
    if metrics:
        lines.append('Metrics (use in query_data as {"name": ...}):')
        for m in metrics:
            summary = m.description or _definition(m)
            if m.description and m.where:  # the exact filter, whatever the description says
                summary += f" [{_definition(m)}]"
            lines.append(f"- {m.name} on {m.table}: {summary}")
    data = {
        "tables": [{"name": t.name, "rows": t.rows, "columns": [c.name for c in t.columns]} for t in tables],
        "metrics": [m.name for m in metrics],
    }
    return ToolOutput(text="\n".join(lines), data=data)


def _definition(metric: MetricDefinition) -> str:
    if metric.ratio:
        return f"{metric.ratio[0]} / {metric.ratio[1]}"
    if metric.min_orders:
        text = f"% of customers with {metric.min_orders}+ rows"
    else:
        text = f"{metric.agg}({metric.column or '*'})"
    if metric.where:
        conditions = " and ".join(
            f"{f.column} {f.op} {list(f.value) if isinstance(f.value, tuple) else f.value!r}"
            for f in metric.where
        )
        text += f" where {conditions}"
    return text


def run_query_spec(ctx: ToolContext, spec: QuerySpec) -> ToolOutput:
    """Compile a structured query, run it read-only and return the rendered result plus a table artifact."""
    sql = compile_query(spec, ctx.profile(), dialect=ctx.warehouse.dialect)
    return _run(ctx, sql, title=_title(spec), spec=spec)


def run_read_only_sql(ctx: ToolContext, sql: str) -> ToolOutput:
    """Run one read-only SELECT/WITH over the workspace's tables."""
    return _run(ctx, sql, title="SQL result")


def column_formats(profile: SchemaProfile, columns: list[str], spec: QuerySpec | None = None) -> list[dict[str, Any] | None]:
    """How each result column's numbers read, from the semantic model: a metric's ``unit``
    (money in the currency its column names, percent, count), else the warehouse column of that
    name (money with its currency, quantities as counts); ``None`` where nothing is known."""
    by_alias: dict[str, dict[str, Any] | None] = {}
    for metric in spec.metrics if spec is not None else []:
        definition = profile.metric(metric.name) if metric.name else None
        alias = metric.alias or (definition.name if definition else None)
        if definition is not None and alias:
            source = definition
            while source.column is None and source.ratio is not None and profile.metric(source.ratio[0]) is not None:
                source = profile.metric(source.ratio[0])  # type: ignore[assignment]  # money per order: the money's currency
            by_alias[alias] = _unit_format(profile, definition.unit, source.table, source.column)
            if definition.unit is None and definition.ratio is None and definition.agg in ("count", "count_distinct"):
                by_alias[alias] = {"kind": "count"}
        elif metric.column and (metric.alias or metric.agg):
            table, _, column = metric.column.rpartition(".")
            found = _column(profile, column, table or spec.table if spec else None)
            if metric.agg in ("count", "count_distinct"):
                by_alias[metric.alias or f"{metric.agg}_{column}"] = {"kind": "count"}
            elif found is not None and found.role == "money":
                by_alias[metric.alias or f"{metric.agg}_{column}"] = _unit_format(profile, "money", table or None, column)
    out: list[dict[str, Any] | None] = []
    for name in columns:
        if name in by_alias:
            out.append(by_alias[name])
            continue
        found = _column(profile, name, spec.table if spec else None)
        if found is not None and found.role == "money":
            out.append({"kind": "money", **({"currency": found.unit} if found.unit else {})})
        elif found is not None and found.unit == "count":
            out.append({"kind": "count"})
        else:
            out.append(None)
    return out


def _column(profile: SchemaProfile, name: str, table: str | None) -> Any:
    tables = sorted(profile.tables, key=lambda t: t.name != table)  # the base table first
    return next((c for t in tables for c in t.columns if c.name.lower() == name.lower()), None)


def _unit_format(profile: SchemaProfile, unit: str | None, table: str | None, column: str | None) -> dict[str, Any] | None:
    if unit == "percent":
        return {"kind": "percent"}
    if unit == "count":
        return {"kind": "count"}
    if unit == "money":
        found = _column(profile, column, table) if column else None
        currency = found.unit if found is not None and found.unit not in (None, "count") else None
        return {"kind": "money", **({"currency": currency} if currency else {})}
    return None


def _run(ctx: ToolContext, sql: str, title: str, spec: QuerySpec | None = None) -> ToolOutput:
    settings = ctx.settings
    # One timeout for the whole call: the query, fetching its rows and writing the CSV.
    deadline = time.monotonic() + settings.query_timeout_s
    result = ctx.warehouse.query(
        sql, row_cap=settings.query_row_cap, timeout_s=settings.query_timeout_s,
        max_bytes=settings.max_result_bytes, deadline=deadline,
    )
    artifact_id = ctx.artifacts.save_table(result, title=title, deadline=deadline)
    try:
        formats = column_formats(ctx.profile(), result.columns, spec)
    except MaraError:  # no semantic model to read: names alone decide (tools.results.infer_format)
        formats = None
    artifacts = [table_artifact(result, artifact_id, title, formats)]
    chart = auto_chart(result, title=title)
    if chart is not None:
        artifacts.append(save_chart(ctx.artifacts, chart, png=False, table_id=artifact_id))
    text = f"SQL: {result.sql}\nTable artifact_id: {artifact_id}\n{render_table(result)}"
    data = {
        "columns": result.columns,
        "rows": [list(r) for r in result.rows[:50]],
        "row_count": result.row_count,
        "truncated": result.truncated,
        "truncated_reason": result.truncated_reason,
        "sql": result.sql,
        "title": title,
        "artifact_id": artifact_id,
        "formats": artifacts[0]["formats"],
    }
    return ToolOutput(text=text, artifacts=artifacts, data=data)


def _title(spec: QuerySpec) -> str:
    metrics = ", ".join(
        m.alias or m.name or (f"{m.agg} {m.column}" if m.column else f"{spec.table} count") for m in spec.metrics
    ).replace("_", " ")
    by = [d.rsplit(".", 1)[-1] for d in spec.dimensions] + ([spec.time_grain] if spec.time_grain else [])
    title = metrics + (f" by {', '.join(by)}" if by else "")
    return title[:1].upper() + title[1:]


# --- LangChain tools (thin) --------------------------------------------------------------


@mara_tool(
    scope="data:read",
    examples=[
        "what data do we have",
        "which tables are in the warehouse",
        "show me the columns of the customers table",
        "what fields do orders have",
        "describe the schema",
        "what information do you have about our customers",
        "list the tables",
    ],
)
def describe_data(ctx: ToolContext, table: str | None = None) -> ToolOutput:
    """List the customer-data tables with row counts, columns, types, roles and category values.

    Call this first when unsure which table or column holds what. `table` narrows it to one table.
    """
    return describe_tables(ctx.profile(), table)


@mara_tool(
    scope="data:read",
    examples=[
        "how many customers do we have",
        "how many orders did we get last month",
        "total revenue by country",
        "what is our average order value",
        "revenue per month this year",
        "top 10 products by revenue",
        "number of customers in Germany",
        "how many customers opted in to SMS",
        "sales by channel last quarter",
        "which cities have the most customers",
        "count of gold tier customers",
        "monthly orders trend",
        "average discount per order",
        "how much did customers in France spend",
    ],
)
def query_data(
    ctx: ToolContext,
    table: str,
    metrics: list[Metric] | None = None,
    dimensions: list[str] | None = None,
    filters: list[Filter] | None = None,
    time_range: TimeRange | None = None,
    time_grain: Grain | None = None,
    order: Literal["desc", "asc"] | None = None,
    limit: int | None = 200,
) -> ToolOutput:
    """Answer a question about customer data with a structured query (preferred over SQL).

    `table` is the base table whose rows are counted or summed (e.g. orders for revenue,
    customers for customer counts). metrics: [{"name": "revenue"}] for a metric describe_data lists
    (preferred), or [{"agg": "count"|"count_distinct"|"sum"|"avg"|"min"|"max", "column": "total"}]; dimensions: columns to group by, related tables joined automatically
    (e.g. "country" from customers when the base is orders); filters: [{"column", "op", "value"}];
    time_range: {"start": "2025-07-01", "end": "2025-10-01"} (end exclusive); time_grain:
    day|week|month|quarter|year; order: desc|asc by the first metric; limit: max groups.
    """
    spec = QuerySpec.model_validate(
        {
            "table": table,
            "metrics": metrics or [Metric()],
            "dimensions": dimensions or [],
            "filters": filters or [],
            "time_range": time_range,
            "time_grain": time_grain,
            "order": order,
            "limit": limit,
        }
    )
    return run_query_spec(ctx, spec)


@mara_tool(
    scope="data:read",
    examples=[
        "run this SQL select count(*) from orders",
        "execute the query SELECT * FROM customers LIMIT 5",
        "SELECT country, count(*) FROM customers GROUP BY 1",
        "WITH recent AS (SELECT * FROM orders) SELECT count(*) FROM recent",
    ],
)
def run_sql(ctx: ToolContext, sql: str) -> ToolOutput:
    """Run one read-only SQL SELECT (or WITH ... SELECT) over the customer-data tables.

    Use for questions the structured query cannot express. DuckDB dialect by default.
    Anything that writes, reads files or runs several statements is refused.
    """
    return run_read_only_sql(ctx, sql)


def data_tools(ctx: ToolContext) -> list[Callable[..., ToolOutput]]:
    """The data tools bound to ``ctx`` (wrapped for LangChain by :mod:`tools.registry`)."""
    return bound_tools(ctx, __name__)
