"""Issue 16: “customers who haven't ordered in 6 months” is a condition on each customer, never a count of everyone.

Two tiny shapes: a bare transaction log (customer_id, date, amount) and a customers + orders pair. Each question
becomes read-only SQL; the SQL runs on a three-customer copy of the shape in an in-memory DuckDB.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from assistant.planner.compose import compose_query_reply
from assistant.planner.parser import DataQuestion, parse_question
from tools.schema_profile import ColumnProfile, SchemaProfile, TableProfile

TODAY = dt.date(2026, 12, 7)


def col(name: str, role: str, values: list[str] | None = None, low: str | None = None, high: str | None = None) -> ColumnProfile:
    return ColumnProfile(name, "VARCHAR", role, values=values or [], min=low, max=high)  # type: ignore[arg-type]


LOG = SchemaProfile(tables=[TableProfile("transactions", 5, [
    col("customer_id", "id"), col("date", "date", low="2025-03-01", high="2026-12-01"), col("amount", "money", low="5", high="90"),
    col("channel", "category", ["web", "store"]),
], customer_key="customer_id", main_date="date")])

PAIR = SchemaProfile(tables=[
    TableProfile("customers", 4, [col("customer_id", "id"), col("region", "category", ["North", "South"])], primary_key="customer_id"),
    TableProfile("orders", 5, [col("order_id", "id"), col("customer_id", "id"), col("order_date", "date", low="2025-03-01", high="2026-12-01"),
                               col("total", "money", low="5", high="90")], primary_key="order_id", main_date="order_date"),
])

# c1 ordered last week, c2 last ordered in March 2025, c3 in July 2026; c4 (customers table only) never ordered.
ORDERS = [(1, "c1", "2026-12-01", 20), (2, "c2", "2025-03-01", 5), (3, "c3", "2026-07-15", 90), (4, "c1", "2025-05-05", 30),
          (5, "c3", "2025-04-01", 10)]


def parse(question: str, profile: SchemaProfile) -> DataQuestion:
    parsed = parse_question(question, profile, TODAY)
    assert parsed is not None, f"not understood: {question}"
    return parsed


def run(question: str, profile: SchemaProfile) -> int:
    sql = parse(question, profile).sql
    assert sql is not None, f"no per-customer SQL for: {question}"
    con = duckdb.connect()
    con.execute('CREATE TABLE transactions (customer_id VARCHAR, "date" DATE, amount DOUBLE, channel VARCHAR)')
    con.executemany("INSERT INTO transactions VALUES (?, ?, ?, 'web')", [(c, d, a) for _, c, d, a in ORDERS])
    con.execute("CREATE TABLE orders (order_id INTEGER, customer_id VARCHAR, order_date DATE, total DOUBLE)")
    con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", ORDERS)
    con.execute("CREATE TABLE customers (customer_id VARCHAR, region VARCHAR)")
    con.executemany("INSERT INTO customers VALUES (?, ?)", [("c1", "North"), ("c2", "North"), ("c3", "South"), ("c4", "North")])
    row = con.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


# --- a bare transaction log ------------------------------------------------------------------------------------

def test_log_haven_t_ordered_in_6_months_counts_customers_whose_last_order_is_older() -> None:
    assert run("how many customers haven't ordered in 6 months", LOG) == 1  # c2; c3 ordered in July


def test_log_haven_t_purchased_in_weeks_is_the_same_condition() -> None:
    assert run("customers who haven't purchased in 8 weeks", LOG) == 2  # c2, c3


def test_log_inactive_for_days_is_the_same_condition() -> None:
    assert run("customers inactive for 90 days", LOG) == 2


def test_log_no_order_since_a_month() -> None:
    assert run("customers with no order since March", LOG) == 1


def test_log_didn_t_buy_last_year_is_a_window_in_the_past() -> None:
    assert run("customers who didn't buy last year", LOG) == 0  # all three bought in 2025


# --- a customers table and its orders ----------------------------------------------------------------------

def test_pair_haven_t_ordered_leaves_out_customers_who_never_ordered() -> None:
    assert run("how many customers haven't ordered in 6 months", PAIR) == 1  # c2, not c4


def test_pair_says_customers_who_never_ordered_are_not_counted() -> None:
    assert "customers who never ordered at all are not counted" in parse("how many customers haven't ordered in 6 months", PAIR).qualifiers


def test_pair_keeps_a_filter_on_the_customers() -> None:
    assert run("how many South customers haven't ordered in 8 weeks", PAIR) == 1  # c3


def test_pair_never_ordered_is_still_the_anti_join() -> None:
    assert run("how many customers have never ordered", PAIR) == 1  # c4


# --- the answer says what was counted ------------------------------------------------------------------------

def test_subject_restates_the_condition_with_its_cut_off_date() -> None:
    assert parse("how many customers haven't ordered in 6 months", LOG).subject.startswith("customers whose last order was before 2026-06-08")


def test_reply_restates_the_condition_next_to_the_number() -> None:
    parsed = parse("how many customers haven't ordered in 6 months", LOG)
    plan = {"tool": "run_sql", "subject": parsed.subject, "qualifiers": parsed.qualifiers, "kind": "count", "count": True}
    reply = compose_query_reply(plan, {"columns": ["customers"], "rows": [[1234]], "row_count": 1})
    assert "**1,234** customers whose last order was before 2026-06-08 (no order in the last 6 months" in reply


def test_a_filter_on_the_orders_asks_instead_of_being_dropped() -> None:
    assert parse("how many web customers haven't ordered in 6 months", LOG).clarify is not None


def test_positive_recency_is_unchanged() -> None:
    assert parse("customers who ordered in the last 30 days", LOG).spec.time_range is not None


def test_lapsed_as_a_value_in_the_data_stays_a_filter() -> None:
    segments = SchemaProfile(tables=[TableProfile("campaigns", 9, [
        col("campaign_id", "id"), col("segment", "category", ["lapsed", "vip"]), col("sent_at", "date", low="2026-01-01", high="2026-12-01"),
    ], primary_key="campaign_id", main_date="sent_at")])
    assert parse("how many campaigns went to the lapsed segment in the last 90 days", segments).sql is None


# --- a negated verb on a table with one row per member (its date is each member's last visit) -------------------

MEMBERS = SchemaProfile(tables=[TableProfile("members", 400, [
    col("member_id", "id"), col("tier", "category", ["Gold", "Silver"]),
    col("Last Visit", "date", low="2023-05-16", high="2026-12-01"),
], primary_key="member_id", main_date="Last Visit")])


def test_haven_t_visited_in_90_days_is_a_last_visit_before_the_window() -> None:
    spec = parse("How many members haven't visited in the last 90 days?", MEMBERS).spec
    assert spec.time_range is not None and spec.time_range.start is None and spec.time_range.end == dt.date(2026, 9, 9)


def test_haven_t_visited_says_the_flip_and_the_members_with_no_date() -> None:
    said = " ".join(parse("How many members haven't visited in the last 90 days?", MEMBERS).qualifiers)
    assert "before 2026-09-09" in said and "no Last Visit are not counted" in said


def test_visited_in_90_days_stays_the_window() -> None:
    spec = parse("How many members visited in the last 90 days?", MEMBERS).spec
    assert spec.time_range is not None and spec.time_range.start == dt.date(2026, 9, 9)


def test_a_negated_verb_on_an_event_log_is_asked_back_not_answered_as_its_opposite() -> None:
    parsed = parse("How much revenue did we not make in the last 30 days?", LOG)
    assert parsed.clarify is not None and "won't guess" in parsed.clarify


def test_a_double_negation_is_asked_back_not_flipped_once() -> None:
    parsed = parse("How many members haven't not visited in the last 90 days?", MEMBERS)
    assert parsed.clarify is not None and "won't guess" in parsed.clarify


def test_not_only_negates_no_period() -> None:
    parsed = parse("How many members visited not only in the last 90 days?", MEMBERS)
    assert parsed.clarify is not None and "won't guess" in parsed.clarify


def test_a_negation_after_the_period_is_not_the_periods() -> None:
    parsed = parse("How many members visited in the last 90 days, not counting Gold?", MEMBERS)
    assert parsed.spec.time_range is None or parsed.spec.time_range.start is not None or parsed.clarify is not None


def test_with_no_visits_in_90_days_is_the_same_flip_not_the_visitors() -> None:
    spec = parse("How many members with no visits in the last 90 days?", MEMBERS).spec
    assert spec.time_range is not None and spec.time_range.start is None and spec.time_range.end == dt.date(2026, 9, 9)


def test_a_negated_filter_word_next_to_the_period_is_asked_back() -> None:
    churn = SchemaProfile(tables=[TableProfile("members", 400, [*MEMBERS.tables[0].columns, col("churned", "flag")],
                                               primary_key="member_id", main_date="Last Visit")])
    parsed = parse("How many members weren't active in the last 90 days?", churn)  # not "active (not churned), lapsed"
    assert parsed.clarify is not None and "won't guess" in parsed.clarify


def test_a_share_of_members_who_haven_t_visited_is_never_a_count() -> None:
    parsed = parse("What share of members haven't visited in the last 90 days?", MEMBERS)
    assert parsed.clarify is not None

