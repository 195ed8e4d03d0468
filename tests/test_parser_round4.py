"""Issue 16, round 4: never answer a different question — one mechanism per test, on shapes unlike the dev sets.

Each fixture is a tiny in-memory schema (no database) of a shape no development set has (a store's
orders with a returned flag, ad groups with a rate column, a support-ticket log): what a question
becomes, or that it asks back instead of computing something else.
"""

from __future__ import annotations

import datetime as dt

from assistant.planner.compose import compose_query_reply
from assistant.planner.parser import DataQuestion, parse_question
from tools.schema_profile import ColumnProfile, SchemaProfile, TableProfile

TODAY = dt.date(2026, 3, 2)


def col(name: str, role: str, values: list[str] | None = None, low: str | None = None, high: str | None = None) -> ColumnProfile:
    return ColumnProfile(name, "VARCHAR", role, values=values or [], min=low, max=high)  # type: ignore[arg-type]


# A store's orders: a returned flag next to the date of the return, a status with a "Lost" value.
STORES = SchemaProfile(tables=[TableProfile("orders", 500, [
    col("order_id", "id"), col("store", "category", ["North", "South", "Mall"]), col("returned", "flag"),
    col("return_date", "date", low="2025-02-01", high="2026-02-20"), col("total", "money", low="5", high="900"),
    col("status", "category", ["Delivered", "Lost", "Pending"]), col("placed_at", "date", low="2025-01-01", high="2026-02-27"),
], primary_key="order_id", main_date="placed_at")])

# Ad groups: a rate already computed per row, read as a plain number.
ADS = SchemaProfile(tables=[TableProfile("ad_groups", 80, [
    col("ad_group", "category", ["Brand", "Generic", "Competitor"]), col("clicks", "number", low="0", high="900"),
    col("Conversion Rate", "number", low="0.1", high="9.5"), col("spend", "money", low="1", high="400"),
])])

# A support-ticket log: no money, no flag; "high" is an ordinary word and a priority.
TICKETS = SchemaProfile(tables=[TableProfile("tickets", 300, [
    col("ticket_id", "id"), col("agent", "category", ["Ana", "Bo", "Cy"]), col("priority", "category", ["low", "high"]),
    col("resolution_minutes", "number", low="3", high="900"), col("opened_at", "date", low="2025-06-01", high="2026-02-01"),
], primary_key="ticket_id", main_date="opened_at")])


def parse(question: str, profile: SchemaProfile, previous: str | None = None) -> DataQuestion:
    before = parse_question(previous, profile, TODAY) if previous else None
    parsed = parse_question(question, profile, TODAY, previous=before)
    assert parsed is not None, f"not understood: {question}"
    return parsed


# --- a superlative's measure is never a grouping ------------------------------------------------------------

def test_highest_rate_groups_only_by_the_group_asked_about() -> None:
    assert parse("Which store has the highest return rate?", STORES).spec.dimensions == ["orders.store"]


def test_highest_rate_is_the_share_of_the_flag() -> None:
    assert parse("Which store has the highest return rate?", STORES).spec.metrics[0].column == "orders.returned"


def test_best_rate_column_is_the_measure_not_a_group() -> None:
    assert parse("Which ad group has the best conversion rate?", ADS).spec.dimensions == ["ad_groups.ad_group"]


def test_best_rate_column_is_averaged() -> None:
    metric = parse("Which ad group has the best conversion rate?", ADS).spec.metrics[0]
    assert (metric.agg, metric.column) == ("avg", "ad_groups.Conversion Rate")


# --- a rate, share, average or median the measure does not compute: ask ------------------------------------

def test_rate_with_nothing_to_rate_asks() -> None:
    assert parse("What's the ticket rate by agent?", TICKETS).clarify is not None


def test_rate_question_names_options() -> None:
    assert "share of tickets by agent" in (parse("What's the ticket rate by agent?", TICKETS).clarify or "")


def test_average_word_the_measure_ignores_asks() -> None:
    assert "average resolution_minutes" in (parse("average tickets by agent", TICKETS).clarify or "")


def test_median_is_never_answered_with_an_average() -> None:
    assert "median" in (parse("median resolution minutes", TICKETS).clarify or "")


# --- "which group has the highest share of X": the share within each group ---------------------------------

def test_share_of_a_value_per_group_is_a_share_not_a_count() -> None:
    assert "share_pct" in (parse("Which store has the highest share of lost orders?", STORES).sql or "")


def test_share_of_a_value_per_group_divides_by_the_groups_rows() -> None:
    sql = parse("Which store has the highest share of lost orders?", STORES).sql or ""
    assert "LEFT JOIN" in sql


def test_share_of_a_value_per_group_says_which_value() -> None:
    assert parse("Which store has the highest share of lost orders?", STORES).subject == "share of orders with status is Lost"


# --- follow-ups that point back with a pronoun keep the previous rows ---------------------------------------

def test_their_keeps_the_previous_filter() -> None:
    parsed = parse("what was their total?", STORES, previous="How many orders from the Mall store?")
    assert [f.value for f in parsed.spec.filters] == ["Mall"]


def test_their_after_the_questions_own_rows_is_not_a_follow_up() -> None:
    parsed = parse("how many orders had their total over 100", STORES, previous="How many orders from the Mall store?")
    assert "Mall" not in [f.value for f in parsed.spec.filters]


# --- a value said right before its column name ("high priority") -------------------------------------------

def test_ordinary_word_value_before_its_column_filters() -> None:
    parsed = parse("which agent has the most high priority tickets", TICKETS)
    assert [(f.column, f.value) for f in parsed.spec.filters] == [("tickets.priority", "high")]


# --- yes/no groups read as words ----------------------------------------------------------------------------

def test_flag_groups_read_yes_and_no_not_1_and_0() -> None:
    plan = {"tool": "query_data", "subject": "orders", "grouping": ["returned"], "flag_columns": ["returned"], "order": "desc"}
    reply = compose_query_reply(plan, {"columns": ["returned", "orders"], "rows": [[0, 420], [1, 80]], "row_count": 2})
    assert "returned = no: **420**" in reply


# --- "how much" is an amount, never a count ----------------------------------------------------------------

# A donation log: one row per gift, the donor's e-mail repeats; a recurring flag.
GIFTS = SchemaProfile(tables=[TableProfile("donations", 900, [
    col("donation_id", "id"), col("donor_email", "text"), col("amount", "money", low="1", high="5000"),
    col("campaign", "category", ["Spring Appeal", "Year End"]), col("recurring", "flag"),
    col("country", "category", ["US", "CA", "GB"]), col("donated_at", "date", low="2024-01-01", high="2025-12-30"),
], primary_key="donation_id", customer_key="donor_email", main_date="donated_at")])


def test_how_much_answered_only_by_a_count_asks() -> None:
    assert "amount" in (parse("how much did Canadian donors give?", GIFTS).clarify or "")


# --- "top 3 countries by donors": ranked by the people, not grouped by each person -------------------------

def test_top_groups_by_people_never_group_by_each_person() -> None:
    assert parse("top 3 countries by donors", GIFTS).spec.dimensions == ["donations.country"]


def test_top_groups_by_people_count_distinct_people() -> None:
    metric = parse("top 3 countries by donors", GIFTS).spec.metrics[0]
    assert (metric.agg, metric.column) == ("count_distinct", "donations.donor_email")


# --- a share of people on a log of their rows counts each person once --------------------------------------

def test_share_of_people_with_a_flag_counts_distinct_people() -> None:
    assert 'count(DISTINCT "donations"."donor_email")' in (parse("what percent of donors are recurring?", GIFTS).sql or "")


def test_share_of_rows_with_a_flag_stays_a_share_of_rows() -> None:
    assert parse("share of donations that are recurring", GIFTS).sql is None


# --- numbers named as the thing counted or divided by -------------------------------------------------------

# A weekly ad report: counts per row (conversions, clicks), money (cost), a rate per row, a conversion value.
WEEKLY = SchemaProfile(tables=[TableProfile("ad_weeks", 140, [
    col("week", "date", low="2025-01-06", high="2025-11-24"), col("campaign", "category", ["Brand", "Generic"]),
    col("clicks", "number", low="0", high="9000"), col("conversions", "number", low="0", high="300"),
    col("cost", "money", low="1", high="5000"), col("ctr", "number", low="0.1", high="12"),
    col("bookings", "number", low="0", high="40"),
], main_date="week")])


def test_how_many_of_a_count_column_is_its_sum() -> None:
    metric = parse("How many conversions did the Brand campaign get?", WEEKLY).spec.metrics[0]
    assert (metric.agg, metric.column) == ("sum", "ad_weeks.conversions")


def test_cost_per_a_count_column_divides_sums() -> None:
    parsed = parse("What's our cost per conversion?", WEEKLY)
    assert [(m.agg, m.column) for m in parsed.spec.metrics[:2]] == [("sum", "ad_weeks.cost"), ("sum", "ad_weeks.conversions")]


def test_cost_per_a_count_column_never_groups_by_it() -> None:
    assert parse("What's our cost per conversion?", WEEKLY).spec.dimensions == []


def test_a_rate_column_is_averaged_not_summed() -> None:
    assert parse("Which campaign has the best CTR?", WEEKLY).spec.metrics[0].agg == "avg"


def test_average_per_row_id_is_the_columns_average() -> None:
    parsed = parse("Average number of replies per ticket", SchemaProfile(tables=[TableProfile("tickets", 50, [
        col("ticket_id", "id"), col("replies", "number", low="0", high="12")], primary_key="ticket_id")]))
    assert [(m.agg, m.column) for m in parsed.spec.metrics[:1]] == [("avg", "tickets.replies")]


def test_a_value_word_a_count_column_cannot_explain_asks() -> None:
    assert parse("Total conversion value", WEEKLY).clarify is not None


def test_how_many_of_a_product_sold_is_units() -> None:
    shop = SchemaProfile(tables=[TableProfile("sales", 300, [
        col("sale_id", "id"), col("item", "category", ["Oak Stool", "Pine Shelf"]), col("qty", "number", low="1", high="6"),
        col("sold_on", "date", low="2025-01-01", high="2025-10-01")], primary_key="sale_id", main_date="sold_on")])
    metric = parse("How many Oak Stools did we sell?", shop).spec.metrics[0]
    assert (metric.agg, metric.column) == ("sum", "sales.qty")


def test_a_ratio_breakdown_is_ranked_by_the_ratio() -> None:
    plan = {"tool": "query_data", "subject": "cost per conversion", "kind": "ratio", "grouping": ["campaign"], "order": "desc"}
    reply = compose_query_reply(plan, {"columns": ["campaign", "cost", "conversions"], "rows": [["Brand", 900, 90], ["Generic", 500, 10]]})
    assert reply.index("Generic") < reply.index("Brand")


# --- "by payment type": a generic kind column with a word saying whose kind ----------------------------------

def test_by_modifier_and_kind_column_groups_by_that_column() -> None:
    log = SchemaProfile(tables=[TableProfile("activity", 300, [
        col("Type", "category", ["Express Checkout", "Refund"]), col("Gross", "money", low="-90", high="400")])])
    assert parse("Gross by payment type", log).spec.dimensions == ["activity.Type"]


def test_by_modifier_and_kind_column_says_how_it_was_read() -> None:
    log = SchemaProfile(tables=[TableProfile("activity", 300, [
        col("Type", "category", ["Express Checkout", "Refund"]), col("Gross", "money", low="-90", high="400")])])
    assert parse("Gross by payment type", log).notes == ["“payment type” read as the Type column"]


def test_by_an_unknown_word_before_a_specific_column_is_not_read_as_it() -> None:
    assert parse("total by favourite store", STORES).spec.dimensions == []


# --- an event date that already says who became X ---------------------------------------------------------

GYM = SchemaProfile(tables=[TableProfile("people", 400, [
    col("person_id", "id"), col("stage", "category", ["Trial", "Member", "Lapsed"]),
    col("joined_on", "date", low="2023-01-02", high="2025-12-20"), col("became_member_on", "date", low="2023-02-01", high="2025-12-18"),
], primary_key="person_id", main_date="joined_on")])


def test_members_won_in_a_period_are_counted_by_the_became_member_date() -> None:
    assert parse("How many members did we win in 2025?", GYM).spec.time_range.column == "people.became_member_on"  # type: ignore[union-attr]


def test_members_won_in_a_period_keep_those_who_have_lapsed_since() -> None:
    assert parse("How many members did we win in 2025?", GYM).spec.filters == []


def test_members_without_a_period_are_the_current_ones() -> None:
    assert [f.value for f in parse("How many members do we have?", GYM).spec.filters] == ["Member"]


# --- "which … the most" with a money verb, or with no group at all ------------------------------------------

def test_raised_the_most_ranks_by_money() -> None:
    metric = parse("Which campaign raised the most?", GIFTS).spec.metrics[0]
    assert (metric.agg, metric.column) == ("sum", "donations.amount")


def test_has_the_most_rows_still_counts_them() -> None:
    assert parse("Which campaign has the most donations?", GIFTS).spec.metrics[0].agg == "count"


def test_which_with_nothing_to_group_by_asks_instead_of_a_total() -> None:
    clarify = parse("Which US state orders the most?", SchemaProfile(tables=[TableProfile("orders", 300, [
        col("order_id", "id"), col("Ship Country", "category", ["United States", "Canada"]),
        col("Ship State", "category", ["CA", "NY"]), col("placed", "date", low="2025-01-01", high="2025-10-01")],
        primary_key="order_id", main_date="placed")])).clarify
    assert "Ship State" in (clarify or "")
