"""The semantic layer: semantic.yaml is generated from the data, editable, validated, and
read by query_data and the offline planner — so questions resolve on datasets whose
column names say nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
import yaml

from assistant.planner.parser import parse_question as parse_data_question
from foundation.errors import SemanticModelError, ToolInputError
from foundation.settings import MaraSettings
from tests.conftest import CUSTOMERS, ORDERS
from tools.context import ToolContext
from tools.data import describe_tables, run_query_spec
from tools.query_spec import Filter, QuerySpec, compile_query
from tools.schema_profile import load_profile
from tools.semantic_model import (
    FILE_NAME,
    MetricModel,
    SemanticModel,
    apply_semantic_model,
    generate_semantic_model,
    load_semantic_model,
    refresh_semantic_model,
    save_semantic_model,
)

TODAY = dt.date(2025, 11, 1)


def context(home: Path) -> ToolContext:
    return ToolContext(MaraSettings(home=home, mode="offline", _env_file=None))  # type: ignore[call-arg]


def write_model(home: Path) -> SemanticModel:
    ctx = context(home)
    model = generate_semantic_model(ctx.profile())
    save_semantic_model(model, home / FILE_NAME)
    return model


def rows(ctx: ToolContext, **spec: object) -> list[list[object]]:
    return run_query_spec(ctx, QuerySpec.model_validate(spec)).data["rows"]


# --- generated from the data -----------------------------------------------------------------


def test_generated_model_names_grain_keys_dates_money_categories_and_metrics(workspace: Path) -> None:
    model = write_model(workspace)
    orders, customers = model.tables["orders"], model.tables["customers"]
    assert orders.primary_key == "order_id" and orders.customer_key == "customer_id"
    assert orders.main_date == "order_date" and orders.money == ["total"]
    assert orders.grain == "one row per order (order_id)"
    assert sorted(customers.categories["country"]) == sorted({c[4] for c in CUSTOMERS})
    assert {"email", "first_name", "last_name"} <= set(customers.pii)
    assert "email_opt_in" not in customers.pii  # a consent flag is not personal data
    assert "email" not in customers.categories  # personal data is never listed as values
    assert model.relationships == ["orders.customer_id -> customers.customer_id"]
    assert set(model.metrics) == {"revenue", "orders", "aov", "active_customers", "repeat_rate",
                                  "new_customers", "returning_customers", "email_opt_in_rate", "sms_opt_in_rate"}
    assert model.metrics["revenue"].column == "total"


def test_saved_file_is_commented_yaml_that_round_trips(workspace: Path) -> None:
    model = write_model(workspace)
    text = (workspace / FILE_NAME).read_text()
    assert text.startswith("# Mara semantic model")
    assert yaml.safe_load(text)["metrics"]["aov"]["ratio"] == ["revenue", "orders"]
    assert load_semantic_model(workspace / FILE_NAME) == model


# --- metrics in query_data -------------------------------------------------------------------


def test_named_metrics_compile_to_their_definitions(workspace: Path) -> None:
    write_model(workspace)
    ctx = context(workspace)
    result = rows(ctx, table="orders", metrics=[{"name": "revenue"}, {"name": "orders"}, {"name": "aov"}])
    total = sum(o[3] for o in ORDERS)
    assert float(result[0][0]) == pytest.approx(total)
    assert result[0][1] == len(ORDERS)
    assert float(result[0][2]) == pytest.approx(round(total / len(ORDERS), 2))


def test_repeat_rate_counts_customers_per_group(workspace: Path) -> None:
    """Two stages: orders per customer inside each country, then the share with 2+."""
    write_model(workspace)
    ctx = context(workspace)
    country = {c[0]: c[4] for c in CUSTOMERS}
    per: dict[str, dict[int, int]] = {}
    for order in ORDERS:
        per.setdefault(country[order[1]], {}).setdefault(order[1], 0)
        per[country[order[1]]][order[1]] += 1
    expected = {k: round(100 * sum(n >= 2 for n in v.values()) / len(v), 1) for k, v in per.items()}
    result = rows(ctx, table="orders", metrics=[{"name": "repeat_rate"}, {"name": "active_customers"}, {"name": "revenue"}],
                  dimensions=["country"])
    assert {r[0]: float(r[1]) for r in result} == expected  # Germany 50.0 (1 of 2), US 100.0, UK 0.0
    assert {r[0]: r[2] for r in result} == {k: len(v) for k, v in per.items()}
    overall = rows(ctx, table="orders", metrics=[{"name": "repeat_rate"}])
    assert float(overall[0][0]) == 40.0  # customers 1 and 2 of the five who ordered


def test_repeat_rate_within_a_time_range(workspace: Path) -> None:
    write_model(workspace)
    ctx = context(workspace)
    # from July: customer 1 has orders 102 and 108, customers 2, 4, 5, 6 one each
    result = rows(ctx, table="orders", metrics=[{"name": "repeat_rate"}], time_range={"start": "2025-07-01"})
    assert float(result[0][0]) == 20.0


def test_metric_errors_name_the_fix(workspace: Path) -> None:
    write_model(workspace)
    profile = context(workspace).profile()
    with pytest.raises(ToolInputError, match="Unknown metric 'revenu'. Closest: revenue"):
        compile_query(QuerySpec(table="orders", metrics=[{"name": "revenu"}]), profile)  # type: ignore[list-item]
    with pytest.raises(ToolInputError, match="defined on table 'orders', not 'customers'"):
        compile_query(QuerySpec(table="customers", metrics=[{"name": "revenue"}]), profile)  # type: ignore[list-item]
    mixed = QuerySpec(table="orders", metrics=[{"name": "repeat_rate"}, {"agg": "count_distinct", "column": "channel"}])  # type: ignore[list-item]
    with pytest.raises(ToolInputError, match="cannot be combined with a per-customer metric"):
        compile_query(mixed, profile)


def test_describe_data_shows_the_semantics(workspace: Path) -> None:
    write_model(workspace)
    text = describe_tables(context(workspace).profile()).text
    assert "one row per order (order_id) · key order_id · customer key customer_id" in text
    assert "- email: VARCHAR (text; personal data)" in text
    assert "orders.customer_id -> customers.customer_id" in text
    assert "- repeat_rate on orders: Share of active customers with 2 or more orders" in text


# --- an unfamiliar dataset: the model makes it answerable ------------------------------------


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """Names that say nothing: shoppers.id ← purchases.shopper, amount in 'amt', date in 'ts'."""
    home = tmp_path / "shop"
    home.mkdir()
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute("CREATE TABLE shoppers (id INTEGER, region VARCHAR, joined DATE)")
    con.executemany("INSERT INTO shoppers VALUES (?, ?, ?)",
                    [(1, "North", "2024-01-01"), (2, "North", "2024-02-01"), (3, "South", "2024-03-01")])
    con.execute("CREATE TABLE purchases (purchase_no INTEGER, shopper INTEGER, ts DATE, amt DOUBLE, store VARCHAR)")
    con.executemany("INSERT INTO purchases VALUES (?, ?, ?, ?, ?)", [
        (1, 1, "2025-07-03", 100.0, "A"), (2, 1, "2025-08-03", 50.0, "B"), (3, 2, "2025-09-10", 20.0, "A"),
        (4, 3, "2025-08-15", 70.0, "A"), (5, 3, "2025-05-01", 999.0, "B"),
    ])
    con.close()
    return home


SHOP_MODEL = """
tables:
  shoppers: {grain: one row per shopper, primary_key: id, customer_key: id, categories: {region: [North, South]}}
  purchases:
    grain: one row per purchase
    primary_key: purchase_no
    customer_key: shopper
    main_date: ts
    money: [amt]
relationships: ["purchases.shopper -> shoppers.id"]
metrics:
  revenue: {table: purchases, agg: sum, column: amt, unit: money}
  repeat_rate: {table: purchases, min_orders: 2, unit: percent}
"""


def test_without_a_model_the_planner_cannot_join_unfamiliar_names(shop: Path) -> None:
    parsed = parse_data_question("revenue by region last quarter", context(shop).profile(), TODAY)
    assert parsed is None or "region" not in str(parsed.spec.dimensions)


def test_with_a_model_revenue_by_region_last_quarter_resolves(shop: Path) -> None:
    (shop / FILE_NAME).write_text(SHOP_MODEL)
    ctx = context(shop)
    parsed = parse_data_question("revenue by region last quarter", ctx.profile(), TODAY)
    assert parsed is not None
    assert parsed.spec.table == "purchases" and parsed.spec.dimensions == ["shoppers.region"]
    assert parsed.spec.metrics[0].name == "revenue"
    assert parsed.spec.time_range is not None and parsed.spec.time_range.column == "purchases.ts"
    assert (parsed.spec.time_range.start, parsed.spec.time_range.end) == (dt.date(2025, 7, 1), dt.date(2025, 10, 1))
    result = run_query_spec(ctx, parsed.spec)
    assert {r[0]: r[1] for r in result.data["rows"]} == {"North": 170.0, "South": 70.0}  # May's 999 is outside Q3


def test_with_a_model_repeat_rate_by_region(shop: Path) -> None:
    (shop / FILE_NAME).write_text(SHOP_MODEL)
    ctx = context(shop)
    parsed = parse_data_question("what is our repeat rate by region?", ctx.profile(), TODAY)
    assert parsed is not None and parsed.spec.metrics[0].name == "repeat_rate"
    result = run_query_spec(ctx, parsed.spec)
    assert {r[0]: float(r[1]) for r in result.data["rows"]} == {"North": 50.0, "South": 100.0}


# --- an edited file that is wrong gets a clear error -----------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tables: {orders: {money: [totl]}}", "tables.orders.money: unknown column 'totl' (closest: total)"),
        ("tables: {orders: {money: [channel]}}", "'channel' is VARCHAR, not a number"),
        ("tables: {orders: {main_date: total}}", "'total' is DECIMAL(10,2), not a date column"),
        ("relationships: ['orders.customer -> customers.customer_id']", "unknown column 'orders.customer' (closest: customer_id)"),
        ("relationships: ['orders to customers']", "is not of the form"),
        ("metrics: {aov: {table: orders, ratio: [revenue, orders]}}", "metrics.aov.ratio: unknown metric 'revenue'"),
        ("metrics: {x: {table: orders, agg: sum, column: channel}}", "'sum' needs a numeric column"),
        ("metrics: {x: {table: orders, agg: sum}}", "agg 'sum' needs a column"),
        ("metrics: {x: {table: order, agg: count}}", "unknown table 'order' (closest: orders)"),
        ("tables: {orders: {colour: red}}", "tables.orders.colour: Extra inputs are not permitted"),
        ("tables: [1, 2", "line 1"),
    ],
)
def test_invalid_model_errors_say_where_and_what_is_accepted(workspace: Path, text: str, message: str) -> None:
    (workspace / FILE_NAME).write_text(text)
    with pytest.raises(SemanticModelError) as caught:
        context(workspace).profile()
    assert message in str(caught.value)


def test_a_table_no_longer_in_the_warehouse_is_skipped(workspace: Path) -> None:
    (workspace / FILE_NAME).write_text("tables: {old_table: {money: [x]}, orders: {money: [total]}}")
    profile = context(workspace).profile()
    assert profile.table("old_table") is None and profile.table("orders") is not None


def test_refresh_keeps_user_edits_and_follows_the_data(workspace: Path) -> None:
    model = write_model(workspace)
    model.tables["orders"].description = "Web and store orders"
    model.metrics["big_orders"] = model.metrics["orders"].model_copy(update={"description": "edited by hand"})
    save_semantic_model(model, workspace / FILE_NAME)
    con = duckdb.connect(str(workspace / "warehouse.duckdb"))
    con.execute("CREATE TABLE products (product_id INTEGER, category VARCHAR)")
    con.execute("INSERT INTO products VALUES (1, 'Tents'), (2, 'Boots')")
    con.close()
    refreshed = refresh_semantic_model(workspace / FILE_NAME, load_profile(context(workspace).warehouse, None))
    assert refreshed.tables["orders"].description == "Web and store orders"
    assert refreshed.metrics["big_orders"].description == "edited by hand"
    assert set(refreshed.tables["products"].categories["category"]) == {"Tents", "Boots"}
    assert load_semantic_model(workspace / FILE_NAME) == refreshed


def test_apply_does_not_change_the_cached_profile(workspace: Path) -> None:
    ctx = context(workspace)
    plain = ctx.profile()
    model = generate_semantic_model(plain)
    model.tables["orders"].main_date = None
    applied = apply_semantic_model(plain, model)
    assert applied is not plain and plain.metrics == {} and applied.metrics


def test_a_reloaded_table_without_the_metric_column_keeps_the_model_valid(workspace: Path) -> None:
    write_model(workspace)
    con = duckdb.connect(str(workspace / "warehouse.duckdb"))
    con.execute("ALTER TABLE orders RENAME COLUMN total TO amount")
    con.close()
    refreshed = refresh_semantic_model(workspace / FILE_NAME, load_profile(context(workspace).warehouse, None), ["orders"])
    assert refreshed.metrics["revenue"].column == "amount"  # regenerated on the new money column
    assert context(workspace).profile().metric("revenue") is not None  # and it applies cleanly


# --- metric filters: revenue without cancelled and returned orders ---------------------------

STORE_CUSTOMERS = [(1, "Germany"), (2, "Germany"), (3, "France"), (4, "France")]
STORE_ORDERS = [
    # id, customer, date, total, status
    (1, 1, "2025-09-01", 100.00, "completed"),
    (2, 1, "2025-09-10", 40.00, "completed"),   # customer 1: two kept orders, a repeater
    (3, 2, "2025-09-05", 60.00, "completed"),
    (4, 2, "2025-09-20", 500.00, "cancelled"),  # customer 2: two orders but one cancelled, not a repeater
    (5, 3, "2025-10-01", 80.00, "returned"),    # customer 3: nothing kept, not an active customer at all
    (6, 4, "2025-10-02", 20.00, "completed"),
    (7, 4, "2025-10-03", 30.00, "completed"),   # customer 4: a repeater
]


def build_store_warehouse(path: Path) -> None:
    """Seven orders of four customers; two orders were cancelled or returned."""
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE customers (customer_id INTEGER, country VARCHAR)")
    con.executemany("INSERT INTO customers VALUES (?, ?)", STORE_CUSTOMERS)
    con.execute("CREATE TABLE orders (order_id INTEGER, customer_id INTEGER, order_date DATE, total DECIMAL(10,2), status VARCHAR)")
    con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", STORE_ORDERS)
    con.close()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    home = tmp_path / "store"
    home.mkdir()
    build_store_warehouse(home / "warehouse.duckdb")
    write_model(home)
    return home


def test_generated_metrics_exclude_cancelled_and_returned_orders(store: Path) -> None:
    metrics = load_semantic_model(store / FILE_NAME).metrics  # type: ignore[union-attr]
    excluded = [Filter(column="status", op="not in", value=["cancelled", "returned"])]
    assert {name: m.where for name, m in metrics.items()} == {
        "revenue": excluded, "orders": excluded, "aov": [], "active_customers": excluded, "repeat_rate": excluded,
        "new_customers": excluded, "returning_customers": excluded,
    }  # aov = revenue / orders: it takes the filter of its two parts
    assert metrics["revenue"].description == "Sum of orders.total, excluding cancelled and returned orders"
    assert all(m.description and m.description.endswith("excluding cancelled and returned orders") for m in metrics.values())
    text = (store / FILE_NAME).read_text()
    assert "    - {column: status, op: not in, value: [cancelled, returned]}\n" in text  # one readable line


def test_a_filtered_metric_leaves_the_other_metrics_of_the_query_alone(store: Path) -> None:
    """Net revenue 100+40+60+20+30 = 250 next to the gross sum of all seven orders, 830, in one query."""
    ctx = context(store)
    spec = {"table": "orders", "metrics": [{"name": "revenue"}, {"agg": "sum", "column": "total"},
                                           {"name": "orders"}, {"agg": "count"}, {"name": "aov"}]}
    assert [[float(v) for v in r] for r in rows(ctx, **spec)] == [[250.0, 830.0, 5, 7, 50.0]]
    assert " WHERE " not in compile_query(QuerySpec.model_validate(spec), ctx.profile())  # inside the aggregates
    by_country = {r[0]: [float(v) for v in r[1:]] for r in rows(ctx, **spec, dimensions=["country"])}
    assert by_country == {"Germany": [200.0, 700.0, 3, 4, 66.67], "France": [50.0, 130.0, 2, 3, 25.0]}


def test_an_order_without_a_status_is_not_excluded(store: Path) -> None:
    """Excluding cancelled orders must not drop the orders whose status is simply missing."""
    con = duckdb.connect(str(store / "warehouse.duckdb"))
    con.execute("INSERT INTO orders VALUES (8, 3, '2025-10-05', 15.00, NULL)")
    con.close()
    ctx = context(store)
    assert [[float(v) for v in r] for r in rows(ctx, table="orders", metrics=[{"name": "revenue"}, {"name": "orders"}])] == [
        [265.0, 6]
    ]


def test_repeat_rate_counts_only_kept_orders(store: Path) -> None:
    """Customers 1 and 4 repeat; customer 2's second order was cancelled; customer 3 (returned) is not active."""
    ctx = context(store)
    spec = {"table": "orders", "metrics": [{"name": "repeat_rate"}, {"name": "active_customers"}, {"name": "revenue"},
                                           {"name": "aov"}, {"agg": "count_distinct", "column": "customer_id"}]}
    assert [[float(v) for v in r] for r in rows(ctx, **spec)] == [[66.7, 3, 250.0, 50.0, 4]]  # 2 of 3, not 3 of 4
    by_country = {r[0]: [float(v) for v in r[1:]] for r in rows(ctx, **spec, dimensions=["country"])}
    assert by_country == {"Germany": [50.0, 2, 200.0, 66.67, 2], "France": [100.0, 1, 50.0, 25.0, 2]}
    # without a repeat rate, active customers is a plain distinct count: the same 3
    assert rows(ctx, table="orders", metrics=[{"name": "active_customers"}]) == [[3]]


STORE_METRICS = """
  avg_kept_order: {table: orders, agg: avg, column: total, where: [{column: status, value: completed}]}
  biggest_kept_order: {table: orders, agg: max, column: total, where: [{column: status, value: completed}]}
  lost_orders: {table: orders, agg: count, where: [{column: status, op: in, value: [cancelled, returned]}]}
  all_orders: {table: orders, agg: count}
  loss_rate: {table: orders, ratio: [lost_orders, all_orders], description: Share of orders cancelled or returned}
"""


def test_hand_written_filters_on_avg_max_and_both_parts_of_a_ratio(store: Path) -> None:
    path = store / FILE_NAME
    path.write_text(path.read_text() + STORE_METRICS)  # metrics is the last section
    ctx = context(store)
    metrics = [{"name": n} for n in ("avg_kept_order", "biggest_kept_order", "lost_orders", "loss_rate")]
    assert [[float(v) for v in r] for r in rows(ctx, table="orders", metrics=metrics)] == [[50.0, 100.0, 2, 0.29]]  # 2 of 7
    with_repeat = rows(ctx, table="orders", metrics=[*metrics, {"name": "repeat_rate"}], dimensions=["country"])
    assert {r[0]: [float(v) for v in r[1:]] for r in with_repeat} == {
        "Germany": [66.67, 100.0, 1, 0.25, 50.0], "France": [25.0, 30.0, 1, 0.33, 100.0],
    }


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("[{column: staus, op: not in, value: [cancelled]}]", "metrics.revenue.where: unknown column 'staus' on orders (closest: status)"),
        ("[{column: status, op: not in, value: [canceled, returned]}]",
         "metrics.revenue.where: 'canceled' is not a value of orders.status (closest: cancelled)"),
        ("[{column: total, op: '>', value: lots}]", "metrics.revenue.where: Filter on total needs a number, got 'lots'"),
        ("[{column: status, op: like, value: x}]", "metrics.revenue.where.0.op: Input should be"),
    ],
)
def test_an_invalid_filter_names_the_closest_column_or_value(store: Path, where: str, message: str) -> None:
    path = store / FILE_NAME
    text = path.read_text()
    assert "    - {column: status, op: not in, value: [cancelled, returned]}\n" in text
    path.write_text(text.replace("    - {column: status, op: not in, value: [cancelled, returned]}\n", "", 1).replace(
        "    where:\n", f"    where: {where}\n", 1))
    with pytest.raises(SemanticModelError) as caught:
        context(store).profile()
    assert message in str(caught.value)


def test_a_ratio_takes_the_filters_of_its_parts(store: Path) -> None:
    path = store / FILE_NAME
    path.write_text(path.read_text() + "  net_aov: {table: orders, ratio: [revenue, orders], where: [{column: status, value: completed}]}\n")
    with pytest.raises(SemanticModelError, match="a ratio takes the where of its two metrics"):
        context(store).profile()


def test_filters_round_trip_through_the_file(store: Path) -> None:
    model = load_semantic_model(store / FILE_NAME)
    assert model is not None
    model.metrics["big_orders"] = MetricModel(table="orders", agg="count", where=[
        Filter(column="total", op=">=", value=100), Filter(column="status", op="!=", value="cancelled")])
    save_semantic_model(model, store / FILE_NAME)
    assert "- {column: status, op: '!=', value: cancelled}" in (store / FILE_NAME).read_text()
    assert load_semantic_model(store / FILE_NAME) == model
    assert rows(context(store), table="orders", metrics=[{"name": "big_orders"}]) == [[1]]  # order 1; order 4 was cancelled


def test_generated_demo_metrics_exclude_cancelled_and_returned_orders(tmp_path: Path) -> None:
    from assistant.demo_data import build_demo_data

    build_demo_data(tmp_path / "warehouse.duckdb", customers=150, seed=2)
    model = generate_semantic_model(context(tmp_path).profile())
    revenue = model.metrics["revenue"]
    assert revenue.where == [Filter(column="status", op="not in", value=["cancelled", "returned"])]
    assert revenue.description == "Sum of orders.total_usd, excluding cancelled and returned orders"
    save_semantic_model(model, tmp_path / FILE_NAME)
    ctx = context(tmp_path)
    got = rows(ctx, table="orders", metrics=[{"name": "revenue"}, {"name": "orders"}])
    expected = ctx.warehouse.query(
        "SELECT round(sum(total_usd), 2), count(*) FROM orders WHERE status NOT IN ('cancelled', 'returned')").rows
    assert [[float(v) for v in r] for r in got] == [[float(v) for v in r] for r in expected]


def test_the_planner_says_which_orders_revenue_leaves_out(store: Path) -> None:
    parsed = parse_data_question("what is our revenue?", context(store).profile(), TODAY)
    assert parsed is not None and parsed.spec.metrics[0].name == "revenue"
    assert parsed.subject == "revenue (sum of orders.total, excluding cancelled and returned orders)"
    profile = context(store).profile()
    repeat = parse_data_question("what is our repeat rate by country?", profile, TODAY)
    assert repeat is not None and repeat.subject == (
        "repeat rate (% of customers with 2 or more orders, excluding cancelled and returned orders)"
    )
    aov = parse_data_question("what is our average order value?", profile, TODAY)
    assert aov is not None and aov.subject.endswith("metric 'aov', excluding cancelled and returned orders)")


def test_describe_data_shows_a_metric_filter(store: Path) -> None:
    text = describe_tables(context(store).profile()).text
    assert (
        "- revenue on orders: Sum of orders.total, excluding cancelled and returned orders "
        "[sum(total) where status not in ['cancelled', 'returned']]"
    ) in text
