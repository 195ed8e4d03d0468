"""Issue 16, round 2: general rules that turn wrong answers into right or honest ones.

Tiny in-memory schemas (no database), one fact per test: what query a question becomes.
"""

from __future__ import annotations

import datetime as dt

from assistant.planner.lexicon import static
from assistant.planner.model import _capability_words_are_columns
from assistant.planner.parser import DataQuestion, parse_question
from tools.schema_profile import (
    ColumnProfile,
    MetricDefinition,
    MetricFilter,
    SchemaProfile,
    TableProfile,
)

TODAY = dt.date(2025, 11, 15)


def col(name: str, role: str, values: list[str] | None = None, low: str | None = None, high: str | None = None,
        pii: bool = False) -> ColumnProfile:
    return ColumnProfile(name, "VARCHAR", role, values=values or [], min=low, max=high, pii=pii)  # type: ignore[arg-type]


# Subscription accounts: a churn flag with its own date, another flag, recurring revenue, US state codes.
SUBS = SchemaProfile(tables=[TableProfile("accounts", 300, [
    col("account_id", "id"), col("signup_date", "date", low="2023-01-04", high="2025-11-02"),
    col("churn_date", "date", low="2023-05-01", high="2025-11-01"), col("is_churned", "flag"), col("autopay", "flag"),
    col("region", "category", ["CA", "TX", "OR", "IN"]), col("plan", "category", ["starter", "pro"]), col("mrr", "money"),
])], )

# Payments with two equally named money columns and a revenue metric that leaves out failed and refunded ones.
PAYMENTS = SchemaProfile(
    tables=[TableProfile("payments", 160, [
        col("payment_id", "id"), col("created", "date", low="2025-01-01", high="2025-11-13"),
        col("amount", "money"), col("amount_refunded", "money"), col("tax", "money"),
        col("status", "category", ["Paid", "Failed", "Refunded"]), col("customer_email", "text", pii=True),
    ])],
    metrics={"revenue": MetricDefinition("revenue", "payments", agg="sum", column="amount", unit="money",
                                         where=(MetricFilter("status", "not in", ("Failed", "Refunded")),))},
)

# A CRM contact export: the word for the counted rows ("customers") is also a lifecycle value.
CONTACTS = SchemaProfile(tables=[TableProfile("contacts", 250, [
    col("record_id", "id"), col("create_date", "date", low="2024-01-01", high="2025-11-10"),
    col("lifecycle_stage", "category", ["Lead", "Customer", "Subscriber"]),
])])

# Web events: an event-type category and a numeric timestamp.
EVENTS = SchemaProfile(tables=[TableProfile("events", 400, [
    col("event_date", "date", low="2025-01-01", high="2025-11-10"), col("event_timestamp", "number"),
    col("event_name", "category", ["page_view", "purchase"]),
])])


def parse(question: str, profile: SchemaProfile) -> DataQuestion:
    parsed = parse_question(question, profile, TODAY)
    assert parsed is not None, f"not understood: {question}"
    return parsed


def filters(parsed: DataQuestion) -> list[tuple[str, str, object]]:
    return [(f.column, f.op, f.value) for f in parsed.spec.filters]


# --- routing: a churn word the data has as a column is a data question ------------------------------


def test_churn_rate_on_data_with_a_churned_flag_is_a_data_question() -> None:
    assert _capability_words_are_columns("What's our churn rate by region?", SUBS)


def test_who_will_churn_still_asks_for_the_churn_model() -> None:
    assert not _capability_words_are_columns("Which accounts are likely to churn?", SUBS)


# --- flags ---------------------------------------------------------------------------------------------


def test_what_is_our_churn_rate_is_the_flag_share_not_a_grouping_by_churn_date() -> None:
    assert parse("What's our churn rate?", SUBS).spec.dimensions == []


def test_a_flag_measure_leaves_another_flag_as_a_filter() -> None:
    assert ("accounts.autopay", "=", False) in filters(parse("churn rate for accounts without autopay", SUBS))


def test_on_is_a_filler_not_an_unknown_word() -> None:
    assert parse("What share of accounts are on autopay?", SUBS).clarify is None


def test_lexicon_words_are_not_yaml_booleans() -> None:
    assert ("on",) in static()["fillers_set"] and "no" in static()["negations"]


# --- lifecycle: who is a live account -----------------------------------------------------------------


def test_mrr_counts_live_accounts_only() -> None:
    assert filters(parse("What's our current MRR?", SUBS)) == [("accounts.is_churned", "=", False)]


def test_the_live_accounts_assumption_is_stated() -> None:
    assert "active accounts only (is churned is no)" in parse("MRR by plan", SUBS).qualifiers


def test_a_churned_mrr_question_keeps_its_own_flag_filter() -> None:
    assert filters(parse("MRR of churned accounts", SUBS)) == [("accounts.is_churned", "=", True)]


def test_counting_accounts_by_their_table_name_counts_all_of_them() -> None:
    assert filters(parse("How many accounts do we have?", SUBS)) == []


def test_the_period_of_a_named_event_uses_its_own_date() -> None:
    time_range = parse("How many accounts churned in Q3 2025?", SUBS).spec.time_range
    assert time_range is not None and time_range.column == "accounts.churn_date"


# --- values in other words ---------------------------------------------------------------------------


def test_a_state_name_matches_its_code_in_a_region_column() -> None:
    assert filters(parse("how many accounts in Oregon", SUBS)) == [("accounts.region", "=", "OR")]


def test_another_form_of_a_value_matches_it() -> None:
    assert ("payments.status", "=", "Refunded") in filters(parse("how many refunds", PAYMENTS))


def test_the_counted_rows_word_that_is_also_their_value_filters() -> None:
    assert filters(parse("how many customers do we have", CONTACTS)) == [("contacts.lifecycle_stage", "=", "Customer")]


# --- measures ----------------------------------------------------------------------------------------


def test_the_average_of_a_table_averages_the_revenue_metrics_column() -> None:
    metric = parse("What's the average payment?", PAYMENTS).spec.metrics[0]
    assert (metric.agg, metric.column) == ("avg", "payments.amount")


def test_the_average_of_a_table_covers_the_revenue_metrics_rows() -> None:
    assert filters(parse("What's the average payment?", PAYMENTS)) == [("payments.status", "not in", ["Failed", "Refunded"])]


def test_the_average_of_a_table_with_two_money_columns_and_no_metric_asks() -> None:
    bare = SchemaProfile(tables=PAYMENTS.tables)
    assert parse("What's the average payment?", bare).clarify is not None


def test_a_money_total_on_the_revenue_table_sums_the_rows_revenue_sums() -> None:
    assert filters(parse("How much tax did we collect?", PAYMENTS)) == [("payments.status", "not in", ["Failed", "Refunded"])]


def test_a_count_of_events_of_each_type_is_not_a_positive_timestamp_filter() -> None:
    assert not any(f[0] == "events.event_timestamp" for f in filters(parse("How many events of each type do we have?", EVENTS)))


def test_which_month_with_a_period_groups_by_month() -> None:
    assert parse("Which month this year had the most contacts?", CONTACTS).spec.time_grain == "month"


def test_personal_data_is_never_a_grouping() -> None:
    parsed = parse_question("Which email campaign had the most payments?", PAYMENTS, TODAY)
    assert parsed is None or "payments.customer_email" not in parsed.spec.dimensions


def test_the_first_quarter_is_q1_of_this_year() -> None:
    from assistant.planner.timeframes import find_timeframes

    frame = find_timeframes("sales in the first quarter", TODAY)[0]
    assert (frame.start, frame.end) == (dt.date(2025, 1, 1), dt.date(2025, 4, 1))


def test_adding_contacts_is_an_ordinary_verb() -> None:
    assert parse("How many contacts did we add last month?", CONTACTS).clarify is None


def test_a_word_that_names_a_table_is_not_a_partial_column_name() -> None:
    assert not any(m.column == "events.event_timestamp" for m in parse("How many events do we have?", EVENTS).spec.metrics)


def test_a_grouping_by_a_kind_word_no_column_has_is_reported_not_dropped() -> None:
    assert parse("How many events of each type do we have?", EVENTS).unmatched == ["type"]
