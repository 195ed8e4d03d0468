"""The semantic question parser: right or honest, never an answer to a different question.

Most tests read tiny in-memory schemas (no database): what matters is the query a question becomes.
The ones that need numbers run the real query on the tiny workspace of conftest.py.
"""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.planner.compose import compose_query_reply
from assistant.planner.parser import DataQuestion, parse_question
from assistant.planner.timeframes import find_timeframes
from foundation.settings import MaraSettings
from tools.context import ToolContext
from tools.data import run_query_spec
from tools.schema_profile import (
    ColumnProfile,
    MetricDefinition,
    SchemaProfile,
    TableProfile,
)

TODAY = dt.date(2025, 11, 15)


def col(name: str, role: str, values: list[str] | None = None, low: str | None = None, high: str | None = None) -> ColumnProfile:
    return ColumnProfile(name, "VARCHAR", role, values=values or [], min=low, max=high)  # type: ignore[arg-type]


# A bare transaction log: no customer table, the customer is a repeated id.
LOG = SchemaProfile(tables=[TableProfile("transactions", 500, [
    col("transaction_id", "id"), col("customer_id", "id"), col("transaction_date", "date", low="2024-01-03", high="2025-11-10"),
    col("amount", "money"), col("channel", "category", ["web", "app", "store"]),
    col("country", "category", ["Germany", "France", "United States"]),
])])

# SaaS accounts with US state codes that are also English words, flags and two numbers.
ACCOUNTS = SchemaProfile(tables=[TableProfile("accounts", 300, [
    col("account_id", "id"), col("signup_date", "date", low="2022-01-04", high="2025-11-02"),
    col("region", "category", ["CA", "TX", "IN", "OR", "ME", "NY"]), col("plan", "category", ["basic", "pro", "enterprise"]),
    col("is_churned", "flag"), col("seats", "number"), col("tenure_months", "number"), col("mrr", "money"),
])])

# Products, line items, orders and email events with a semantic click rate.
SHOP = SchemaProfile(
    tables=[
        TableProfile("orders", 800, [col("order_id", "id"), col("order_date", "date", low="2024-06-01", high="2025-11-12"),
                                     col("total", "money"), col("channel", "category", ["web", "app"])]),
        TableProfile("order_items", 2000, [col("order_id", "id"), col("product_id", "id"), col("quantity", "number"),
                                           col("line_total", "money")]),
        TableProfile("products", 40, [col("product_id", "id"), col("name", "text"), col("category", "category", ["Tents", "Stoves"])]),
        TableProfile("campaigns", 12, [col("campaign_id", "id"), col("name", "text")]),
        TableProfile("email_events", 9000, [col("event_id", "id"), col("campaign_id", "id"),
                                            col("event_type", "category", ["send", "open", "click"]),
                                            col("event_ts", "date", low="2024-06-01", high="2025-11-12")]),
    ],
    metrics={"click_rate": MetricDefinition("click_rate", "email_events", ratio=("clicks", "sends"), unit="percent",
                                            description="Clicks / sends"),
             "clicks": MetricDefinition("clicks", "email_events", agg="count"),
             "sends": MetricDefinition("sends", "email_events", agg="count")},
)


def parse(question: str, profile: SchemaProfile, previous: DataQuestion | None = None) -> DataQuestion:
    parsed = parse_question(question, profile, TODAY, previous=previous)
    assert parsed is not None, f"not understood: {question}"
    return parsed


# --- the failures issue 16 names ---------------------------------------------------------------


def test_customers_on_a_transaction_log_are_distinct_customers_not_rows() -> None:
    spec = parse("How many customers do we have?", LOG).spec
    assert [(m.agg, m.column) for m in spec.metrics] == [("count_distinct", "transactions.customer_id")]


def test_transactions_on_the_same_log_are_rows() -> None:
    spec = parse("how many transactions did we have?", LOG).spec
    assert [(m.agg, m.column) for m in spec.metrics] == [("count", None)]


def test_the_average_is_of_the_column_named() -> None:
    assert parse("average seats per account", ACCOUNTS).spec.metrics[0].column == "accounts.seats"
    assert parse("what's the average tenure?", ACCOUNTS).spec.metrics[0].column == "accounts.tenure_months"


def test_an_average_of_a_column_that_does_not_exist_asks_instead_of_averaging_another() -> None:
    parsed = parse("what's the average discount?", ACCOUNTS)
    assert parsed.clarify is not None and "discount" in parsed.clarify


def test_a_value_not_in_the_data_is_never_silently_dropped() -> None:
    parsed = parse("how many transactions came from TikTok?", LOG)
    assert parsed.clarify is not None and "tiktok" in parsed.clarify.lower()


def test_a_listed_value_the_data_lacks_is_named_in_the_answer() -> None:
    parsed = parse("how many customers in Germany or Atlantis?", LOG)
    assert parsed.clarify is None and parsed.spec.filters[0].value == "Germany"
    assert any("atlantis" in note for note in parsed.notes)


@pytest.mark.parametrize("question", ["how many accounts signed up in 2024?", "how many accounts are on the pro plan?",
                                      "show me accounts in total", "is it true that me and you churned?"])
def test_in_or_me_are_words_not_states(question: str) -> None:
    parsed = parse_question(question, ACCOUNTS, TODAY)
    assert parsed is None or not any(f.column == "accounts.region" for f in parsed.spec.filters)


@pytest.mark.parametrize(("question", "state"), [("how many accounts in IN?", "IN"), ("accounts in region or", "OR"),
                                                 ("MRR in the region ME", "ME")])
def test_a_state_code_matches_when_written_as_one_or_next_to_its_column(question: str, state: str) -> None:
    filters = parse(question, ACCOUNTS).spec.filters
    assert [(f.column, f.value) for f in filters if f.column == "accounts.region"] == [("accounts.region", state)]


def test_compare_september_with_august_answers_both_months_not_all_time() -> None:
    parsed = parse("compare revenue in September vs August", LOG)
    assert parsed.spec.time_range is not None
    assert (parsed.spec.time_range.start, parsed.spec.time_range.end) == (dt.date(2025, 8, 1), dt.date(2025, 10, 1))
    assert parsed.spec.time_grain == "month" and parsed.compare == ["September 2025", "August 2025"]


def test_a_comparison_reply_states_both_periods_and_the_change() -> None:
    plan = {"tool": "query_data", "subject": "revenue (sum of transactions.amount)", "kind": "value", "time_grain": "month",
            "compare": ["September 2025", "August 2025"], "qualifiers": ["September 2025 vs August 2025"]}
    data = {"columns": ["month", "revenue"], "rows": [[dt.date(2025, 8, 1), 1000.0], [dt.date(2025, 9, 1), 1200.0]]}
    reply = compose_query_reply(plan, data)
    assert "September 2025: **1,200** vs August 2025: **1,000** (+20.0%" in reply


def test_best_selling_products_by_quantity() -> None:
    spec = parse("best-selling products by quantity", SHOP).spec
    assert spec.table == "order_items" and spec.dimensions == ["products.name"]
    assert [(m.agg, m.column) for m in spec.metrics] == [("sum", "order_items.quantity")] and spec.order == "desc"


def test_click_rate_by_campaign_is_the_semantic_metric_per_campaign() -> None:
    spec = parse("click rate by campaign", SHOP).spec
    assert spec.table == "email_events" and spec.metrics[0].name == "click_rate" and spec.dimensions == ["campaigns.name"]


# --- reading the rest of a question ------------------------------------------------------------


def test_top_n_entities_by_spend() -> None:
    spec = parse("top 10 customers by spend", LOG).spec
    assert spec.dimensions == ["transactions.customer_id"] and spec.limit == 10 and spec.order == "desc"
    assert spec.metrics[0].column == "transactions.amount"


def test_which_group_has_the_most_names_the_first_group() -> None:
    parsed = parse("Which channel brought the most revenue last year?", LOG)
    assert parsed.top_group and parsed.spec.dimensions == ["transactions.channel"] and parsed.spec.order == "desc"


def test_a_flag_with_a_rate_word_is_the_share_of_rows() -> None:
    parsed = parse("what is our churn rate by plan?", ACCOUNTS)
    assert (parsed.spec.metrics[0].agg, parsed.spec.metrics[0].column, parsed.kind) == ("avg", "accounts.is_churned", "share")
    assert parsed.spec.dimensions == ["accounts.plan"]


def test_negated_values_filter_them_out() -> None:
    filters = parse("revenue not from Germany", LOG).spec.filters
    assert [(f.op, f.value) for f in filters] == [("!=", "Germany")]


def test_numeric_comparisons_use_the_money_column() -> None:
    filters = parse("how many transactions over $250?", LOG).spec.filters
    assert [(f.column, f.op, f.value) for f in filters] == [("transactions.amount", ">", 250.0)]


def test_a_period_outside_the_data_says_what_exists() -> None:
    parsed = parse("revenue in 2019", LOG)
    assert parsed.clarify is not None and "2024-01-03 to 2025-11-10" in parsed.clarify


def test_a_period_on_a_table_without_dates_is_refused_not_dropped() -> None:
    profile = SchemaProfile(tables=[TableProfile("products", 40, [col("product_id", "id"), col("price", "money"),
                                                                  col("category", "category", ["Tents"])])])
    parsed = parse("how many products last month?", profile)
    assert parsed.clarify is not None and "no date" in parsed.clarify


def test_a_grouping_nothing_matches_is_reported() -> None:
    assert parse("revenue by shoe size", LOG).unmatched == ["shoe size"]


def test_two_equally_good_money_columns_make_it_ask() -> None:
    profile = SchemaProfile(tables=[TableProfile("sales", 10, [col("sale_id", "id"), col("gross_amount", "money"),
                                                               col("net_amount", "money")])])
    parsed = parse("total revenue", profile)
    assert parsed.clarify is not None and "gross_amount" in parsed.clarify and "net_amount" in parsed.clarify


# --- follow-ups change one part --------------------------------------------------------------------


def test_follow_ups_change_one_part_of_the_previous_question() -> None:
    first = parse("revenue by channel in September 2025", LOG)
    later = parse("and last month?", LOG, previous=first)
    assert later.spec.dimensions == ["transactions.channel"] and later.spec.time_range is not None
    assert later.spec.time_range.start == dt.date(2025, 10, 1)
    only = parse("only in Germany", LOG, previous=later)
    assert [f.value for f in only.spec.filters] == ["Germany"] and only.spec.time_range == later.spec.time_range
    instead = parse("by country instead", LOG, previous=only)
    assert instead.spec.dimensions == ["transactions.country"] and instead.spec.filters == only.spec.filters
    before = parse("and the month before?", LOG, previous=later)
    assert before.spec.time_range is not None and before.spec.time_range.start == dt.date(2025, 9, 1)


def test_bare_months_and_comparisons_are_periods() -> None:
    frames = find_timeframes("September vs August", TODAY)
    assert [f.label for f in frames] == ["September 2025", "August 2025"]
    assert find_timeframes("may I see revenue", TODAY) == []


# --- on the real tiny workspace: numbers and the restatement --------------------------------------


@pytest.fixture
def ctx(settings: MaraSettings) -> ToolContext:
    return ToolContext(settings)


def test_every_data_answer_restates_what_it_computed(ctx: ToolContext) -> None:
    parsed = parse_question("revenue from German customers in 2025", ctx.profile(), dt.date(2025, 11, 1))
    assert parsed is not None
    data = run_query_spec(ctx, parsed.spec).data
    plan = {"tool": "query_data", "subject": parsed.subject, "qualifiers": parsed.qualifiers, "grouping": parsed.grouping,
            "notes": parsed.notes, "kind": parsed.kind, "rows_alias": parsed.rows_alias, "rows_label": parsed.rows_label}
    reply = compose_query_reply(plan, data)
    assert reply.startswith("**1,005.50**")
    assert "Computed: revenue (sum of orders.total); country is Germany; 2025 — 4 orders" in reply


def test_a_period_with_no_rows_says_where_the_data_ends() -> None:
    plan = {"tool": "query_data", "subject": "revenue", "kind": "value", "rows_alias": "rows", "rows_label": "orders",
            "data_end": "2025-10-15", "qualifiers": ["last week"]}
    reply = compose_query_reply(plan, {"columns": ["revenue", "rows"], "rows": [[None, 0]]})
    assert "**" not in reply.split("\n")[0] and "Your data ends on 2025-10-15" in reply
