"""The demo warehouse of "Alder & Peak": what `build_demo_data` promises.

Most tests share one small warehouse (1,500 customers) built once per module; tests about
building itself (determinism, atomicity, chunking, bad sizes) build their own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from assistant import demo_data
from assistant.demo_data import DemoSummary, build_demo_data

AS_OF = date(2026, 10, 31)
TABLES = ("customers", "products", "orders", "order_items", "campaigns", "email_events", "reviews")
ORDER_BY = {
    "customers": "customer_id", "products": "product_id", "orders": "order_id",
    "order_items": "order_id, line_number", "campaigns": "campaign_id",
    "email_events": "event_id", "reviews": "review_id",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary]:
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    return path, build_demo_data(path, customers=1_500, seed=11)


@pytest.fixture(scope="module")
def con(built: tuple[Path, DemoSummary]) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(built[0]), read_only=True)
    yield connection
    connection.close()


def one(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    """First column of the first row of a query."""
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


def table_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with duckdb.connect(str(path), read_only=True) as c:
        return {t: c.execute(f"SELECT * FROM {t} ORDER BY {ORDER_BY[t]}").fetchall()
                for t in TABLES}


# -- building -------------------------------------------------------------------------------


def test_same_seed_size_and_date_give_identical_tables(tmp_path: Path) -> None:
    """Two builds with the same arguments hold exactly the same rows; another seed differs."""
    build_demo_data(tmp_path / "a.duckdb", customers=600, seed=3)
    build_demo_data(tmp_path / "b.duckdb", customers=600, seed=3)
    build_demo_data(tmp_path / "c.duckdb", customers=600, seed=4)
    first, second = table_rows(tmp_path / "a.duckdb"), table_rows(tmp_path / "b.duckdb")
    assert first == second
    other = table_rows(tmp_path / "c.duckdb")
    assert other["customers"] != first["customers"]
    assert other["products"] == first["products"], "the catalog does not depend on the seed"


def test_summary_reports_the_row_count_of_every_table(
    built: tuple[Path, DemoSummary], con: duckdb.DuckDBPyConnection
) -> None:
    """DemoSummary's counts are the real table sizes, and the build took measurable time."""
    _, summary = built
    assert set(summary.tables) == set(TABLES)
    for table in TABLES:
        assert summary.tables[table] == one(con, f"SELECT count(*) FROM {table}")
    assert summary.customers == 1_500
    assert summary.orders == summary.tables["orders"]
    assert summary.order_items == summary.tables["order_items"]
    assert 150 <= summary.tables["products"] <= 300
    assert summary.seconds > 0


def test_columns_have_proper_duckdb_types(con: duckdb.DuckDBPyConnection) -> None:
    """Ids are integers, dates are DATE/TIMESTAMP, money is DECIMAL(12,2), flags BOOLEAN."""
    types = dict(con.execute(
        "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns"
    ).fetchall())
    assert types["orders.order_id"] == "BIGINT"
    assert types["customers.customer_id"] == "INTEGER"
    assert types["orders.order_date"] == "DATE"
    assert types["orders.order_ts"] == "TIMESTAMP"
    assert types["orders.total"] == "DECIMAL(12,2)"
    assert types["order_items.line_total"] == "DECIMAL(12,2)"
    assert types["customers.email_opt_in"] == "BOOLEAN"
    assert types["email_events.event_ts"] == "TIMESTAMP"


def test_chunked_build_numbers_ids_without_gaps(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """With several chunks, ids stay unique and contiguous and progress reports each chunk."""
    monkeypatch.setattr(demo_data, "CHUNK_SIZE", 300)
    calls: list[tuple[str, int, int]] = []
    path = tmp_path / "chunked.duckdb"
    build_demo_data(path, customers=1_000, progress=lambda *a: calls.append(a))
    assert [c for c in calls if c[0] == "customers"] == [
        ("customers", 300, 1_000), ("customers", 600, 1_000), ("customers", 900, 1_000),
        ("customers", 1_000, 1_000)]
    assert calls[-1] == ("finalize", 1, 1)
    with duckdb.connect(str(path), read_only=True) as c:
        for table, key in (("customers", "customer_id"), ("orders", "order_id"),
                           ("email_events", "event_id")):
            lo, hi, n, distinct = c.execute(
                f"SELECT min({key}), max({key}), count(*), count(DISTINCT {key}) FROM {table}"
            ).fetchone() or ()
            assert (lo, hi, distinct) == (1, n, n), table


@pytest.mark.parametrize("size", [0, 99, 5_000_001])
def test_sizes_outside_100_to_5_million_are_rejected(tmp_path: Path, size: int) -> None:
    """A clear ValueError names the accepted range, and nothing is written."""
    with pytest.raises(ValueError, match="between 100 and 5,000,000"):
        build_demo_data(tmp_path / "x.duckdb", customers=size)
    assert list(tmp_path.iterdir()) == []


class Interrupted(Exception):
    """Raised by a progress callback to simulate a failure in the middle of a build."""


def _interrupt_at(stage: str) -> demo_data.ProgressCallback:
    def progress(current: str, done: int, total: int) -> None:
        if current == stage:
            raise Interrupted(f"stopped at {stage} {done}/{total}")
    return progress


@pytest.mark.parametrize("stage", ["customers", "finalize"])
def test_interrupted_build_leaves_no_file_behind(tmp_path: Path, stage: str) -> None:
    """A build that fails midway creates no warehouse and no temporary file."""
    target = tmp_path / "demo.duckdb"
    with pytest.raises(Interrupted):
        build_demo_data(target, customers=500, progress=_interrupt_at(stage))
    assert list(tmp_path.iterdir()) == []


def test_interrupted_rebuild_keeps_the_previous_warehouse(tmp_path: Path) -> None:
    """Rebuilding over an existing warehouse is all-or-nothing: on failure the old file stays."""
    target = tmp_path / "demo.duckdb"
    build_demo_data(target, customers=300, seed=1)
    before = target.read_bytes()
    with pytest.raises(Interrupted):
        build_demo_data(target, customers=500, seed=2, progress=_interrupt_at("customers"))
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.duckdb"]
    build_demo_data(target, customers=400, seed=2)  # a successful rebuild replaces it
    with duckdb.connect(str(target), read_only=True) as c:
        assert one(c, "SELECT count(*) FROM customers") == 400


def test_temp_files_of_dead_builds_are_cleaned_up(tmp_path: Path) -> None:
    """A temp file left by a killed build (its process is gone) is removed by the next build;
    one belonging to a running process is left alone."""
    dead = tmp_path / ".demo.duckdb.99999999-deadbeef.tmp"
    running = tmp_path / f".demo.duckdb.{os.getpid()}-0000beef.tmp"
    dead.write_bytes(b"half-written")
    running.write_bytes(b"in progress")
    build_demo_data(tmp_path / "demo.duckdb", customers=100)
    assert not dead.exists()
    assert running.exists()


def test_any_as_of_date_works_at_the_smallest_size(tmp_path: Path) -> None:
    """With another as_of, history still spans four years and ends on that day."""
    as_of = date(2025, 3, 15)
    path = tmp_path / "small.duckdb"
    summary = build_demo_data(path, customers=100, as_of=as_of, seed=99)
    assert summary.customers == 100
    with duckdb.connect(str(path), read_only=True) as c:
        first_signup, last_order, last_campaign = c.execute("""SELECT
            (SELECT min(signup_date) FROM customers), (SELECT max(order_date) FROM orders),
            (SELECT max(start_date) FROM campaigns)""").fetchone() or ()
    assert (as_of - first_signup).days < 4 * 365
    assert last_order <= as_of and last_campaign <= as_of


# -- integrity ------------------------------------------------------------------------------


def test_every_reference_points_to_an_existing_row(con: duckdb.DuckDBPyConnection) -> None:
    """Orders, items, events and attributions only reference rows that exist."""
    checks = {
        "order without customer": "SELECT count(*) FROM orders o ANTI JOIN customers c "
                                  "USING (customer_id)",
        "item without order": "SELECT count(*) FROM order_items i ANTI JOIN orders o "
                              "USING (order_id)",
        "item without product": "SELECT count(*) FROM order_items i ANTI JOIN products p "
                                "USING (product_id)",
        "order without items": "SELECT count(*) FROM orders o ANTI JOIN order_items i "
                               "USING (order_id)",
        "event without customer": "SELECT count(*) FROM email_events e ANTI JOIN customers c "
                                  "USING (customer_id)",
        "event without campaign": "SELECT count(*) FROM email_events e ANTI JOIN campaigns c "
                                  "USING (campaign_id)",
        "unknown attributed campaign": "SELECT count(*) FROM orders o WHERE campaign_id IS NOT "
                                       "NULL AND campaign_id NOT IN (SELECT campaign_id FROM "
                                       "campaigns)",
    }
    for problem, sql in checks.items():
        assert one(con, sql) == 0, problem
    assert one(con, "SELECT count(*) - count(DISTINCT (order_id, line_number)) "
                    "FROM order_items") == 0


def test_money_adds_up_to_the_cent(con: duckdb.DuckDBPyConnection) -> None:
    """line_total = quantity * unit_price - discount; subtotal = sum of line totals;
    total = subtotal - discount + shipping; items = units ordered."""
    assert one(con, "SELECT count(*) FROM order_items "
                    "WHERE line_total <> quantity * unit_price - discount") == 0
    assert one(con, """
        SELECT count(*) FROM orders o JOIN (
            SELECT order_id, sum(line_total) AS lines, sum(quantity) AS units
            FROM order_items GROUP BY order_id) i USING (order_id)
        WHERE o.subtotal <> i.lines OR o.items <> i.units""") == 0
    assert one(con, "SELECT count(*) FROM orders "
                    "WHERE total <> subtotal - discount + shipping") == 0
    assert one(con, "SELECT count(*) FROM orders WHERE discount < 0 OR shipping < 0 "
                    "OR discount > subtotal OR total <= 0") == 0
    assert one(con, "SELECT count(*) FROM products WHERE margin <> price - cost "
                    "OR cost >= price") == 0


def test_currency_and_phone_follow_the_customer_country(con: duckdb.DuckDBPyConnection) -> None:
    """Orders are in the customer's currency; phone numbers carry the country's dial code."""
    pairs = dict(con.execute("SELECT DISTINCT c.country, o.currency FROM orders o "
                             "JOIN customers c USING (customer_id)").fetchall())
    assert pairs["United States"] == "USD" and pairs["Germany"] == "EUR"
    assert pairs["United Kingdom"] == "GBP" and pairs["Sweden"] == "SEK"
    assert one(con, "SELECT count(DISTINCT country) FROM customers") == 10
    assert one(con, "SELECT count(*) FROM customers WHERE country = 'Germany' "
                    "AND NOT starts_with(phone, '+49')") == 0
    assert one(con, "SELECT count(*) - count(DISTINCT email) FROM customers") == 0


def test_all_dates_fall_between_signup_and_as_of(con: duckdb.DuckDBPyConnection) -> None:
    """Signups span ~4 years before as_of; orders and e-mails happen after signup, by as_of;
    products are only sold once launched."""
    lo, hi = con.execute("SELECT min(signup_date), max(signup_date) FROM customers").fetchone() \
        or ()
    assert (AS_OF - lo).days <= 4 * 365 and (AS_OF - hi).days <= 31
    assert one(con, f"""SELECT count(*) FROM orders o JOIN customers c USING (customer_id)
        WHERE o.order_date < c.signup_date OR o.order_date > DATE '{AS_OF}'
           OR o.order_ts::DATE <> o.order_date""") == 0
    assert one(con, f"""SELECT count(*) FROM email_events e JOIN customers c USING (customer_id)
        WHERE e.event_ts::DATE <= c.signup_date OR e.event_ts::DATE > DATE '{AS_OF}'""") == 0
    assert one(con, """SELECT count(*) FROM order_items i JOIN orders o USING (order_id)
        JOIN products p USING (product_id) WHERE p.launched_date > o.order_date""") == 0


def test_signups_grow_over_time(con: duckdb.DuckDBPyConnection) -> None:
    """The last year brings clearly more new customers than the first."""
    first_year, last_year = con.execute(f"""
        SELECT count(*) FILTER (WHERE signup_date <= DATE '{AS_OF}' - 3 * 365),
               count(*) FILTER (WHERE signup_date > DATE '{AS_OF}' - 365) FROM customers
    """).fetchone() or ()
    assert last_year > 1.8 * first_year


# -- consent and e-mail ---------------------------------------------------------------------


def test_opt_in_rates_are_realistic(con: duckdb.DuckDBPyConnection) -> None:
    """About 60% of customers take e-mail (net of unsubscribes) and about 30% take SMS."""
    email, sms = con.execute(
        "SELECT avg(email_opt_in::INT), avg(sms_opt_in::INT) FROM customers").fetchone() or ()
    assert 0.5 <= email <= 0.7
    assert 0.22 <= sms <= 0.38


def test_only_subscribers_get_email_and_unsubscribing_stops_it(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """E-mail goes to opted-in customers; after an unsubscribe no more sends happen and the
    customer's email_opt_in is FALSE; opens and clicks follow a send of the same campaign."""
    assert one(con, """SELECT count(*) FROM (SELECT DISTINCT customer_id FROM email_events) e
        JOIN customers c USING (customer_id)
        WHERE NOT c.email_opt_in AND customer_id NOT IN
            (SELECT customer_id FROM email_events WHERE event_type = 'unsubscribe')""") == 0
    unsubscribed = one(con, "SELECT count(DISTINCT customer_id) FROM email_events "
                            "WHERE event_type = 'unsubscribe'")
    assert unsubscribed > 0
    assert one(con, """SELECT count(*) FROM customers WHERE email_opt_in AND customer_id IN
        (SELECT customer_id FROM email_events WHERE event_type = 'unsubscribe')""") == 0
    assert one(con, """SELECT count(*) FROM email_events s JOIN (
            SELECT customer_id, min(event_ts) AS unsub_ts FROM email_events
            WHERE event_type = 'unsubscribe' GROUP BY customer_id) u USING (customer_id)
        WHERE s.event_type = 'send' AND s.event_ts > u.unsub_ts""") == 0
    assert one(con, """SELECT count(*) FROM email_events e WHERE e.event_type <> 'send'
        AND NOT EXISTS (SELECT 1 FROM email_events s WHERE s.event_type = 'send'
            AND s.customer_id = e.customer_id AND s.campaign_id = e.campaign_id
            AND s.event_ts <= e.event_ts)""") == 0
    assert one(con, "SELECT count(*) FROM email_events e JOIN campaigns c USING (campaign_id) "
                    "WHERE c.channel <> 'email'") == 0


def test_engaged_readers_are_the_active_buyers(con: duckdb.DuckDBPyConnection) -> None:
    """Open rates are higher among customers who bought in the last 180 days."""
    active_rate, lapsed_rate = con.execute(f"""
        WITH recent AS (SELECT DISTINCT customer_id FROM orders
                        WHERE order_date > DATE '{AS_OF}' - 180),
        rates AS (SELECT customer_id IN (SELECT customer_id FROM recent) AS active,
                         count(*) FILTER (WHERE event_type = 'open') AS opens,
                         count(*) FILTER (WHERE event_type = 'send') AS sends
                  FROM email_events WHERE event_ts > DATE '{AS_OF}' - 180 GROUP BY customer_id)
        SELECT sum(opens) FILTER (WHERE active) / sum(sends) FILTER (WHERE active),
               sum(opens) FILTER (WHERE NOT active) / sum(sends) FILTER (WHERE NOT active)
        FROM rates""").fetchone() or ()
    assert active_rate > 1.3 * lapsed_rate


# -- behaviour ------------------------------------------------------------------------------


def test_revenue_is_concentrated_in_a_few_customers(con: duckdb.DuckDBPyConnection) -> None:
    """The top 10% of customers bring more than 35% of revenue (heavy-tailed spend)."""
    share = one(con, """
        WITH spend AS (SELECT c.customer_id, coalesce(sum(o.total_usd), 0) AS usd
                       FROM customers c LEFT JOIN orders o USING (customer_id) GROUP BY 1),
        ranked AS (SELECT usd, ntile(10) OVER (ORDER BY usd DESC) AS decile FROM spend)
        SELECT sum(usd) FILTER (WHERE decile = 1) / sum(usd) FROM ranked""")
    assert share > 0.35


def test_many_one_time_buyers_and_a_minority_of_loyal_ones(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Order counts are skewed: many customers buy once or never, some buy 10+ times."""
    none_, once, ten_plus, mean = con.execute("""
        WITH n AS (SELECT c.customer_id, count(o.order_id) AS k
                   FROM customers c LEFT JOIN orders o USING (customer_id) GROUP BY 1)
        SELECT avg((k = 0)::INT), avg((k = 1)::INT), avg((k >= 10)::INT), avg(k) FROM n
    """).fetchone() or ()
    assert 0.05 <= none_ <= 0.30
    assert once >= 0.12
    assert 0.05 <= ten_plus <= 0.40
    assert 3 <= mean <= 12


def test_a_sizeable_share_is_inactive_for_180_days(con: duckdb.DuckDBPyConnection) -> None:
    """Churn exists: at least 30% of customers have no order in the last 180 days."""
    inactive = one(con, f"""SELECT avg((customer_id NOT IN (SELECT customer_id FROM orders
        WHERE order_date > DATE '{AS_OF}' - 180))::INT) FROM customers""")
    assert 0.3 <= inactive <= 0.85


def test_recent_buyers_buy_again_more_often(con: duckdb.DuckDBPyConnection) -> None:
    """Recency predicts the future: customers who bought in the 90 days before a cutoff are
    far more likely to buy in the 180 days after it than those silent for a year."""
    recent_rate, silent_rate = con.execute(f"""
        WITH cutoff AS (SELECT DATE '{AS_OF}' - 180 AS d),
        hist AS (SELECT customer_id,
                        max(order_date) FILTER (WHERE order_date <= (SELECT d FROM cutoff))
                            AS last_before,
                        count(*) FILTER (WHERE order_date > (SELECT d FROM cutoff)) AS after
                 FROM orders GROUP BY customer_id)
        SELECT avg((after > 0)::INT) FILTER (WHERE last_before > (SELECT d FROM cutoff) - 90),
               avg((after > 0)::INT) FILTER (WHERE last_before <= (SELECT d FROM cutoff) - 365)
        FROM hist""").fetchone() or ()
    assert recent_rate > 2 * silent_rate


def test_holiday_months_are_busier_than_average(con: duckdb.DuckDBPyConnection) -> None:
    """Seasonality: in each full year, November and December beat that year's monthly
    average, and spring (April-May) beats the winter lull (January-February)."""
    by_month = dict(con.execute("""SELECT strftime(order_date, '%Y-%m'), count(*)
        FROM orders GROUP BY 1""").fetchall())
    for year in (2024, 2025):
        months = [by_month[f"{year}-{m:02d}"] for m in range(1, 13)]
        average = sum(months) / 12
        assert months[10] > 1.2 * average and months[11] > 1.2 * average, year
        assert months[3] + months[4] > 1.3 * (months[0] + months[1]), year


def test_loyalty_tier_follows_last_year_spend(con: duckdb.DuckDBPyConnection) -> None:
    """Tiers come from completed-order spend (USD) in the last 365 days."""
    rows = con.execute(f"""
        SELECT c.loyalty_tier, coalesce(sum(o.total_usd) FILTER (
                   WHERE o.status = 'completed' AND o.order_date > DATE '{AS_OF}' - 365), 0)
        FROM customers c LEFT JOIN orders o USING (customer_id) GROUP BY c.customer_id, 1
    """).fetchall()
    thresholds = dict(demo_data.LOYALTY_THRESHOLDS_USD)
    for tier, spend in rows:
        expected = next((name for name, floor in demo_data.LOYALTY_THRESHOLDS_USD
                         if spend >= floor), "none")
        assert tier == expected, (tier, spend, thresholds)
    tiers = {tier for tier, _ in rows}
    assert tiers == {"none", "bronze", "silver", "gold"}


def test_customers_lean_towards_their_preferred_category(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Category affinity: a customer's preferred category is over-represented in their items."""
    share = one(con, """SELECT avg((p.category = c.preferred_category)::INT)
        FROM order_items i JOIN orders o USING (order_id) JOIN customers c USING (customer_id)
        JOIN products p USING (product_id)""")
    assert share > 0.35


def test_some_orders_are_attributed_to_campaigns(con: duckdb.DuckDBPyConnection) -> None:
    """A minority of orders carry a campaign; most statuses are 'completed'."""
    attributed = one(con, "SELECT avg((campaign_id IS NOT NULL)::INT) FROM orders")
    assert 0.01 < attributed < 0.4
    statuses = dict(con.execute("SELECT status, count(*) FROM orders GROUP BY 1").fetchall())
    assert set(statuses) == {"completed", "returned", "cancelled"}
    assert statuses["completed"] > 0.85 * sum(statuses.values())
