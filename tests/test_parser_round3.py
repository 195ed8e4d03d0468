"""Issue 16, round 3: the failure classes of the adversarial round on unseen layouts, one fact per test.

Superlatives and aggregates bind to a measure column (or ask), two values of one column are compared
(not pooled), ordinary status words map to flags, bare months/quarters anchor to the data, follow-ups
change one part. Tiny in-memory schemas (no database): what query a question becomes.
"""

from __future__ import annotations

import datetime as dt

from assistant.planner.parser import DataQuestion, parse_question
from tools.schema_profile import (
    ColumnProfile,
    MetricDefinition,
    MetricFilter,
    SchemaProfile,
    TableProfile,
)

TODAY = dt.date(2026, 1, 15)  # months after both exports end


def col(name: str, role: str, values: list[str] | None = None, low: str | None = None, high: str | None = None,
        pii: bool = False) -> ColumnProfile:
    return ColumnProfile(name, "VARCHAR", role, values=values or [], min=low, max=high, pii=pii)  # type: ignore[arg-type]


# Hotel bookings: a nightly rate (read as a plain number) next to a booking total, two dates, a status.
HOTEL = SchemaProfile(tables=[TableProfile("bookings", 260, [
    col("Booking ID", "id"), col("Guest Email", "text", pii=True), col("Booked On", "date", low="2024-01-05", high="2025-09-26"),
    col("Check-in", "date", low="2024-01-24", high="2025-12-14"), col("Nights", "number", low="1", high="7"),
    col("Room Type", "category", ["Standard", "Deluxe", "Suite"]), col("Room Rate", "number", low="89", high="419"),
    col("Total Price", "money", low="89", high="2863"), col("Status", "category", ["Checked Out", "Cancelled", "No-Show"]),
    col("Channel", "category", ["Direct", "Expedia", "Airbnb"]), col("Breakfast Included", "flag"),
], primary_key="Booking ID", customer_key="Guest Email", main_date="Booked On")])

# B2B invoices: a Paid flag named by an ordinary verb, its own date, US state codes as regions (ME, OR, IN).
INVOICES = SchemaProfile(
    tables=[TableProfile("invoices", 220, [
        col("Invoice Number", "id"), col("Client", "category", ["Apex Media", "Granite Clinics", "River Labs"]),
        col("Region", "category", ["TX", "ME", "OR", "IN"]), col("Issue Date", "date", low="2024-07-03", high="2025-10-29"),
        col("Paid Date", "date", low="2024-07-20", high="2025-11-10"), col("Amount", "money", low="410", high="40740"),
        col("Paid", "flag"), col("Terms", "category", ["Net 30", "Net 60"]),
    ], primary_key="Invoice Number", main_date="Issue Date")],
    metrics={"revenue": MetricDefinition("revenue", "invoices", agg="sum", column="Amount", unit="money")},
)

# A price list with two equally likely prices: "the cheapest" cannot pick one.
PRICES = SchemaProfile(tables=[TableProfile("products", 40, [
    col("sku", "id"), col("category", "category", ["Tea", "Teaware"]), col("unit_price", "money", low="2", high="90"),
    col("list_price", "money", low="3", high="99"),
], primary_key="sku")])


# Order lines: a line-item log with an order id and a customer key, no table of orders.
LINES = SchemaProfile(tables=[TableProfile("order_lines", 300, [
    col("order_id", "id"), col("customer_email", "text", pii=True), col("sku", "category", ["TEA-1", "POT-2"]),
    col("quantity", "number", low="1", high="48"), col("line_total", "money", low="1", high="400"),
    col("created_at", "date", low="2025-01-01", high="2025-10-31"),
], customer_key="customer_email", main_date="created_at", order_key="order_id")])

# Payments: revenue leaves out refunded ones; the refunded money has its own column.
PAYMENTS = SchemaProfile(
    tables=[TableProfile("payments", 160, [
        col("payment_id", "id"), col("created", "date", low="2025-01-01", high="2025-11-13"), col("amount", "money"),
        col("amount_refunded", "money"), col("status", "category", ["Paid", "Failed", "Refunded"]),
    ], primary_key="payment_id")],
    metrics={"revenue": MetricDefinition("revenue", "payments", agg="sum", column="amount", unit="money",
                                         where=(MetricFilter("status", "not in", ("Failed", "Refunded")),))},
)

# Accounts with two flags.
ACCOUNTS = SchemaProfile(tables=[TableProfile("accounts", 300, [
    col("account_id", "id"), col("is_churned", "flag"), col("has_support_ticket", "flag"), col("plan", "category", ["starter", "pro"]),
], primary_key="account_id")])


def parse(question: str, profile: SchemaProfile, previous: str | None = None) -> DataQuestion:
    before = parse_question(previous, profile, TODAY) if previous else None
    parsed = parse_question(question, profile, TODAY, previous=before)
    assert parsed is not None, f"not understood: {question}"
    return parsed


def metric(parsed: DataQuestion) -> tuple[str, str | None]:
    first = parsed.spec.metrics[0]
    return first.agg, first.column


def filters(parsed: DataQuestion) -> list[tuple[str, str, object]]:
    return [(f.column, f.op, f.value) for f in parsed.spec.filters]


# --- superlatives and aggregates bind to a measure ----------------------------------------------------


def test_the_most_expensive_group_is_ranked_by_its_average_price() -> None:
    assert metric(parse("Which room type is the most expensive?", HOTEL)) == ("avg", "bookings.Room Rate")


def test_the_most_expensive_group_is_grouped_by_the_group_named() -> None:
    assert parse("Which room type is the most expensive?", HOTEL).spec.dimensions == ["bookings.Room Type"]


def test_the_cheapest_group_is_ranked_lowest_first() -> None:
    assert parse("What is our cheapest room type?", HOTEL).spec.order == "asc"


def test_the_cheapest_group_names_the_first_group() -> None:
    assert parse("What is our cheapest room type?", HOTEL).top_group


def test_the_most_expensive_row_is_the_highest_row_value() -> None:
    assert metric(parse("What was the most expensive booking?", HOTEL)) == ("max", "bookings.Total Price")


def test_the_smallest_row_is_the_lowest_row_value() -> None:
    assert metric(parse("What was our smallest invoice?", INVOICES)) == ("min", "invoices.Amount")


def test_the_group_with_the_biggest_row_is_grouped_by_the_max_of_the_row_value() -> None:
    parsed = parse("Which client had the biggest invoice?", INVOICES)
    assert (metric(parsed), parsed.spec.dimensions) == (("max", "invoices.Amount"), ["invoices.Client"])


def test_two_equally_likely_prices_ask_which() -> None:
    clarify = parse("What is the cheapest category?", PRICES).clarify or ""
    assert "unit_price" in clarify and "list_price" in clarify


def test_an_aggregate_word_with_no_column_asks_instead_of_counting_rows() -> None:
    assert (parse("What's the average per region?", INVOICES).clarify or "").startswith("The average of what?")


def test_a_share_over_a_threshold_is_a_share_of_rows_not_a_grouping_by_the_column() -> None:
    sql = parse("What share of invoices are over 5000?", INVOICES).sql or ""
    assert "share_pct" in sql and "> 5000" in sql


def test_a_share_over_a_threshold_states_the_threshold() -> None:
    assert "Amount > 5000" in parse("What share of invoices are over 5000?", INVOICES).qualifiers


# --- two values of one column are compared ----------------------------------------------------------


def test_a_vs_b_groups_by_their_column() -> None:
    assert parse("Invoiced amount ME vs OR", INVOICES).spec.dimensions == ["invoices.Region"]


def test_a_vs_b_keeps_only_the_two_values() -> None:
    assert filters(parse("Invoiced amount ME vs OR", INVOICES)) == [("invoices.Region", "in", ["ME", "OR"])]


def test_compare_a_and_b_groups_by_their_column() -> None:
    assert parse("Compare revenue in Texas and ME", INVOICES).spec.dimensions == ["invoices.Region"]


def test_two_values_without_a_comparison_word_are_pooled() -> None:
    assert parse("revenue from TX or OR", INVOICES).spec.dimensions == []


def test_in_after_a_verb_is_not_a_state_code() -> None:
    assert filters(parse("Which region brings in the most revenue?", INVOICES)) == []


# --- ordinary status words --------------------------------------------------------------------------


def test_a_flag_named_by_an_ordinary_verb_filters() -> None:
    assert filters(parse("How many invoices are paid?", INVOICES)) == [("invoices.Paid", "=", True)]


def test_un_before_a_flags_word_negates_it() -> None:
    assert filters(parse("How many invoices are unpaid?", INVOICES)) == [("invoices.Paid", "=", False)]


def test_outstanding_is_the_paid_flag_negated() -> None:
    assert filters(parse("How much is outstanding?", INVOICES)) == [("invoices.Paid", "=", False)]


def test_a_share_of_a_flag_named_by_a_verb_is_its_rate() -> None:
    assert parse("What share of invoices have been paid?", INVOICES).kind == "share"


def test_paid_in_a_period_uses_the_paid_date() -> None:
    time_range = parse("How much was paid in Q2?", INVOICES).spec.time_range
    assert time_range is not None and time_range.column == "invoices.Paid Date"


def test_a_date_columns_verb_explains_itself() -> None:
    assert parse("How many guests have booked with us?", HOTEL).clarify is None


def test_the_customer_keys_own_word_counts_customers() -> None:
    assert metric(parse("How many guests do we have?", HOTEL)) == ("count_distinct", "bookings.Guest Email")


def test_a_count_of_a_date_event_counts_rows_by_that_date() -> None:
    time_range = parse("How many check-ins did we have in Q2?", HOTEL).spec.time_range
    assert time_range is not None and time_range.column == "bookings.Check-in"


# --- bare months and quarters anchor to the data ------------------------------------------------------


def test_a_bare_month_after_the_data_ends_is_last_years() -> None:
    time_range = parse("How much did we invoice in November?", INVOICES).spec.time_range
    assert time_range is not None and time_range.start == dt.date(2024, 11, 1)


def test_a_bare_quarter_after_the_data_ends_is_the_latest_in_the_data() -> None:
    time_range = parse("How many invoices did we issue in Q1?", INVOICES).spec.time_range
    assert time_range is not None and time_range.start == dt.date(2025, 1, 1)


def test_a_bare_month_inside_the_data_is_kept() -> None:
    time_range = parse("How much did we invoice in March?", INVOICES).spec.time_range
    assert time_range is not None and time_range.start == dt.date(2025, 3, 1)


def test_a_moved_bare_month_is_stated() -> None:
    assert any("November 2024" in n for n in parse("How much did we invoice in November?", INVOICES).notes)


def test_a_month_with_a_year_is_never_moved() -> None:
    assert parse("How much did we invoice in November 2025?", INVOICES).clarify is not None


# --- follow-ups change one part -------------------------------------------------------------------------


def test_and_in_a_state_code_replaces_the_previous_value() -> None:
    parsed = parse("and in ME?", INVOICES, previous="How much did we invoice in Texas?")
    assert filters(parsed) == [("invoices.Region", "=", "ME")]


def test_what_about_last_year_replaces_the_period() -> None:
    time_range = parse("what about last year?", INVOICES, previous="How much did we invoice in 2024?").spec.time_range
    assert time_range is not None and time_range.start == dt.date(2025, 1, 1)


def test_a_follow_up_keeps_the_measure() -> None:
    assert parse("what about last year?", INVOICES, previous="How much did we invoice in 2024?").subject.startswith("revenue")


# --- "per" and "on average" are never dropped ---------------------------------------------------------


def test_units_per_order_divides_by_distinct_orders() -> None:
    assert [m.agg for m in parse("units per order", LINES).spec.metrics[:2]] == ["sum", "count_distinct"]


def test_orders_per_customer_is_a_ratio_not_the_order_count() -> None:
    assert parse("orders per customer", LINES).kind == "ratio"


def test_how_many_on_average_is_an_average_per_customer() -> None:
    assert parse("how many orders does a customer place on average", LINES).kind == "ratio"


def test_items_per_order_are_units_not_distinct_products() -> None:
    assert metric(parse("Average number of items per order?", LINES)) == ("sum", "order_lines.quantity")


# --- with and without, contradictions ---------------------------------------------------------------


def test_with_and_without_a_flag_groups_by_it() -> None:
    assert parse("churn rate with and without a support ticket", ACCOUNTS).spec.dimensions == ["accounts.has_support_ticket"]


def test_with_and_without_a_flag_does_not_filter_on_it() -> None:
    assert filters(parse("churn rate with and without a support ticket", ACCOUNTS)) == []


def test_a_filter_on_rows_the_metric_leaves_out_drops_that_exclusion() -> None:
    assert metric(parse("revenue from refunded payments", PAYMENTS)) == ("sum", "payments.amount")


def test_a_dropped_exclusion_is_stated() -> None:
    assert any("refunded" in n for n in parse("revenue from refunded payments", PAYMENTS).notes)


def test_how_much_refunded_is_the_refunded_money_column() -> None:
    assert metric(parse("How much have we refunded in total?", PAYMENTS)) == ("sum", "payments.amount_refunded")


def test_how_many_refunds_still_counts_refunded_payments() -> None:
    assert filters(parse("how many refunds", PAYMENTS)) == [("payments.status", "=", "Refunded")]


# --- values and money words -------------------------------------------------------------------------

WOO = SchemaProfile(tables=[TableProfile("orders", 112, [
    col("order_id", "id"), col("payment_method_title", "category", ["PayPal", "Credit Card"]), col("order_total", "money"),
    col("order_currency", "category", ["USD", "EUR"]),
], primary_key="order_id")])


def test_a_camel_case_value_matches_as_one_word() -> None:
    assert filters(parse("How many orders were paid with paypal?", WOO)) == [("orders.payment_method_title", "=", "PayPal")]


def test_how_many_of_a_currency_asks_amount_or_count() -> None:
    assert "total amount" in (parse("How many euros did we take in?", WOO).clarify or "")


# --- a threshold on how many orders each customer has ----------------------------------------------------


def test_customers_who_ordered_more_than_once_count_customers_past_the_threshold() -> None:
    sql = parse("how many customers have ordered more than once?", LINES).sql or ""
    assert 'count(DISTINCT' in sql and 't."n" > 1' in sql


def test_at_least_three_orders_is_not_a_money_filter() -> None:
    assert filters(parse("customers with at least 3 orders", LINES)) == []


def test_the_order_threshold_is_restated() -> None:
    assert parse("customers with at least 3 orders", LINES).subject.startswith("customers with at least 3 orders")


def test_a_blank_customer_is_not_a_repeat_customer() -> None:
    assert 'IS NOT NULL' in (parse("how many customers have ordered more than once?", LINES).sql or "")


RETURNS = SchemaProfile(tables=[TableProfile("invoice_lines", 331, [
    col("InvoiceNo", "id"), col("CustomerID", "id"), col("Quantity", "number", low="-24", high="48"), col("UnitPrice", "money"),
], customer_key="CustomerID", order_key="InvoiceNo")])


def test_negative_quantities_are_not_purchases_when_counting_repeat_buyers() -> None:
    assert '"Quantity" > 0' in (parse("how many customers bought more than once", RETURNS).sql or "")
