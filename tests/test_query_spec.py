"""Structured queries compile to correct SQL, join along foreign keys, and explain bad names."""

from __future__ import annotations

import pytest

from foundation.errors import ToolInputError
from foundation.settings import MaraSettings
from tools.context import ToolContext
from tools.data import run_query_spec
from tools.query_spec import Filter, Metric, QuerySpec, TimeRange


@pytest.fixture
def ctx(settings: MaraSettings) -> ToolContext:
    return ToolContext(settings)


def rows(ctx: ToolContext, **spec: object) -> list[list[object]]:
    return run_query_spec(ctx, QuerySpec.model_validate(spec)).data["rows"]


def test_count_rows(ctx: ToolContext) -> None:
    assert rows(ctx, table="customers") == [[6]]


def test_revenue_by_country_joins_customers(ctx: ToolContext) -> None:
    result = rows(ctx, table="orders", metrics=[{"agg": "sum", "column": "total"}], dimensions=["country"])
    assert [r[0] for r in result] == ["Germany", "United States", "United Kingdom"]
    assert float(result[0][1]) == pytest.approx(1005.50)


def test_filters_time_range_and_case_insensitive_values(ctx: ToolContext) -> None:
    spec = {
        "table": "orders",
        "metrics": [{"agg": "count"}],
        "filters": [{"column": "country", "value": "germany"}],
        "time_range": {"start": "2025-07-01", "end": "2025-11-01"},
    }
    assert rows(ctx, **spec) == [[3]]  # orders 102, 106 and 108


def test_monthly_grain_is_ordered_by_period(ctx: ToolContext) -> None:
    result = rows(ctx, table="orders", time_grain="month", time_range={"start": "2025-09-01", "end": "2025-11-01"})
    assert [str(r[0]) for r in result] == ["2025-09-01", "2025-10-01"]
    assert [r[1] for r in result] == [2, 2]


def test_count_distinct_customers_who_ordered_on_the_app(ctx: ToolContext) -> None:
    spec = QuerySpec(
        table="orders",
        metrics=[Metric(agg="count_distinct", column="customer_id")],
        filters=[Filter(column="channel", value="app")],
    )
    assert run_query_spec(ctx, spec).data["rows"] == [[2]]


def test_unknown_column_names_the_closest(ctx: ToolContext) -> None:
    with pytest.raises(ToolInputError, match="Unknown column 'contry'.*country"):
        rows(ctx, table="orders", dimensions=["contry"])


def test_unknown_category_value_lists_valid_values(ctx: ToolContext) -> None:
    with pytest.raises(ToolInputError, match="'Germny' is not a value of country.*Germany"):
        rows(ctx, table="customers", filters=[{"column": "country", "value": "Germny"}])


def test_sum_of_text_column_names_the_type(ctx: ToolContext) -> None:
    with pytest.raises(ToolInputError, match="numeric column; 'country' is VARCHAR"):
        rows(ctx, table="customers", metrics=[{"agg": "sum", "column": "country"}])


def test_one_to_many_join_is_refused(ctx: ToolContext) -> None:
    with pytest.raises(ToolInputError, match="without multiplying rows"):
        rows(ctx, table="customers", dimensions=["channel"])


def test_time_range_on_non_date_column_is_refused(ctx: ToolContext) -> None:
    with pytest.raises(ToolInputError, match="not a date"):
        rows(ctx, table="orders", time_range=TimeRange(column="channel", start=None).model_dump())


@pytest.mark.parametrize("dialect", ["postgres", "snowflake", "bigquery", "mysql", "tsql", "trino"])
def test_specs_render_in_each_engines_dialect(ctx: ToolContext, dialect: str) -> None:
    """One parser renders the same spec for every engine; the result parses back in that dialect."""
    import sqlglot

    from tools.query_spec import compile_query

    spec = QuerySpec.model_validate({
        "table": "orders", "metrics": [{"agg": "sum", "column": "total"}], "dimensions": ["country"],
        "time_grain": "month", "time_range": {"start": "2025-01-01"}, "filters": [{"column": "channel", "value": "web"}],
    })
    sql = compile_query(spec, ctx.profile(), dialect=dialect)
    tree = sqlglot.parse_one(sql, read=dialect)
    assert tree.key == "select"
    assert {t.name for t in tree.find_all(sqlglot.exp.Table)} == {"orders", "customers"}
    assert "2025-01-01" in sql
