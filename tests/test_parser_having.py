"""Issue 16: a number after an aggregate measure in a grouped question is a threshold on each group's
value (a HAVING), a number after a row column stays a row filter, and a percent after a growth word is
never a row threshold.

Two tiny shapes unlike the dev sets: a shop's orders with a channel column, and a bare transaction log
(an e-mail per row, no customers table). The SQL runs on an in-memory DuckDB table of five rows.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
import sqlglot

from assistant.planner.parser import DataQuestion, parse_question
from foundation.errors import ToolInputError
from tools.query_spec import Filter, Metric, QuerySpec, compile_query
from tools.schema_profile import ColumnProfile, SchemaProfile, TableProfile

TODAY = dt.date(2026, 3, 2)


def col(name: str, role: str, values: list[str] | None = None, low: str | None = None, high: str | None = None) -> ColumnProfile:
    return ColumnProfile(name, "VARCHAR", role, values=values or [], min=low, max=high)  # type: ignore[arg-type]


SHOP = SchemaProfile(tables=[TableProfile("orders", 5, [
    col("order_id", "id"), col("channel", "category", ["web", "app", "store"]), col("total", "money", low="5", high="9000"),
    col("placed_at", "date", low="2025-01-01", high="2026-02-27"),
], primary_key="order_id", main_date="placed_at")])

LOG = SchemaProfile(tables=[TableProfile("transactions", 9, [
    col("email", "category", ["a@x.org", "b@x.org"]), col("amount", "money", low="1", high="9000"),
    col("kind", "category", ["invoice", "refund"]), col("ts", "date", low="2025-01-01", high="2026-02-27"),
], main_date="ts")])


def parse(question: str, profile: SchemaProfile) -> DataQuestion:
    parsed = parse_question(question, profile, TODAY)
    assert parsed is not None, f"not understood: {question}"
    return parsed


# --- a threshold on the measure of a grouped question is a HAVING ----------------------------------------------

def test_which_channels_with_revenue_over_keeps_groups_by_their_total() -> None:
    spec = parse("Which channels had revenue higher than 10000 in October?", SHOP).spec
    assert spec.having == [Filter(column="revenue", op=">", value=10000.0)]


def test_which_channels_with_revenue_over_filters_no_single_order() -> None:
    assert parse("Which channels had revenue higher than 10000 in October?", SHOP).spec.filters == []


def test_the_answer_restates_the_group_threshold() -> None:
    assert "revenue over 10,000" in parse("Which channels had revenue higher than 10000 in October?", SHOP).qualifiers


def test_a_transaction_log_grouped_by_kind_thresholds_the_group_total() -> None:
    assert parse("Which kinds had revenue over 5000?", LOG).spec.having == [Filter(column="revenue", op=">", value=5000.0)]


# --- a threshold after a row column or a table stays a row filter ---------------------------------------------

def test_orders_over_100_is_a_row_filter() -> None:
    assert parse("orders over $100", SHOP).spec.filters == [Filter(column="orders.total", op=">", value=100.0)]


def test_orders_over_100_by_channel_is_still_a_row_filter() -> None:
    assert parse("orders over $100 by channel", SHOP).spec.having == []


def test_invoices_over_5000_is_a_row_filter() -> None:
    assert Filter(column="transactions.amount", op=">", value=5000.0) in parse("invoices over 5000", LOG).spec.filters


# --- a percent after a growth word is a change, never a row threshold ------------------------------------------

@pytest.mark.parametrize("profile", [SHOP, LOG], ids=["orders", "log"])
def test_grow_more_than_10_percent_asks_instead_of_filtering_rows(profile: SchemaProfile) -> None:
    assert parse("Did revenue grow more than 10% last month?", profile).clarify is not None


@pytest.mark.parametrize("profile", [SHOP, LOG], ids=["orders", "log"])
def test_grow_more_than_10_percent_runs_no_query(profile: SchemaProfile) -> None:
    parsed = parse("Did revenue grow more than 10% last month?", profile)
    assert parsed.sql is None and parsed.spec.filters == []


# --- the SQL: groups kept by their value, on DuckDB and PostgreSQL through one builder ---------------------------

CHANNELS = QuerySpec(table="orders", metrics=[Metric(agg="sum", column="orders.total", alias="revenue")],
                     dimensions=["orders.channel"], having=[Filter(column="revenue", op=">", value=100)])


def _run(sql: str) -> list[tuple[object, ...]]:
    db = duckdb.connect()
    db.execute("CREATE TABLE orders (order_id INT, channel VARCHAR, total DOUBLE, placed_at DATE)")
    db.execute("INSERT INTO orders VALUES (1, 'web', 90, '2025-10-01'), (2, 'web', 60, '2025-10-02'),"
               " (3, 'app', 80, '2025-10-03'), (4, 'store', 120, '2025-10-04'), (5, 'app', 5, '2025-10-05')")
    return db.execute(sql).fetchall()


def test_having_keeps_the_groups_whose_total_passes_though_no_row_does() -> None:
    assert _run(compile_query(CHANNELS, SHOP)) == [("web", 150.0), ("store", 120.0)]


def test_having_compiles_for_postgres() -> None:
    sql = compile_query(CHANNELS, SHOP, dialect="postgres")
    assert sqlglot.parse_one(sql, read="postgres").find(sqlglot.exp.Where) is not None


def test_having_on_an_unknown_metric_names_the_metrics() -> None:
    bad = CHANNELS.model_copy(update={"having": [Filter(column="orders", op=">", value=1)]})
    with pytest.raises(ToolInputError, match="Unknown metric 'orders'"):
        compile_query(bad, SHOP)


def test_having_without_a_group_is_refused() -> None:
    bad = CHANNELS.model_copy(update={"dimensions": []})
    with pytest.raises(ToolInputError, match="needs dimensions"):
        compile_query(bad, SHOP)
