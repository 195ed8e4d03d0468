"""Slack shorthand and typos are read as the words they stand for (assistant/planner/shorthand.py).

Fast: no database, no embeddings — the normaliser works on the lexicon and a tiny in-memory schema.
"""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.planner.lexicon import lexicon_for, tokenize
from assistant.planner.parser import parse_question
from assistant.planner.routing import Router, evidence
from assistant.planner.shorthand import correction, normalise, one_edit
from tools.schema_profile import ColumnProfile, SchemaProfile, TableProfile

ALL = {"query_data", "describe_data", "rfm_segments", "cluster_customers", "predict_churn", "customer_lifetime_value",
       "recommend_products", "analyze_feedback", "search_knowledge", "draft_copy", "save_audience"}


def _col(name: str, role: str, values: list[str] | None = None) -> ColumnProfile:
    return ColumnProfile(name, "VARCHAR", role, values=values or [])  # type: ignore[arg-type]


SHOP = SchemaProfile([TableProfile("orders", 200, [
    _col("order_id", "id"), _col("customer_id", "id"), _col("order_date", "date"), _col("total", "money"),
    _col("status", "category", ["Necklace", "Bracelet"]),
], customer_key="customer_id")])
CONTACTS = SchemaProfile([TableProfile("contacts", 90, [
    _col("Record ID", "id"), _col("Create Date", "date"), _col("Original Source", "category", ["Organic Search", "Direct"]),
])])


# --- shorthand -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("message", "read"), [
    ("rev last wk?", "revenue last week?"),
    ("top 5 prods by revenue ytd pls", "top 5 products by revenue ytd please"),
    ("how many new custs this yr", "how many new customers this year"),
    ("can u pull revenue by channel", "can you pull revenue by channel"),
    ("write 3 subj lines for the sale", "write 3 subject lines for the sale"),
    ("product recs for customer 1042", "product recommendations for customer 1042"),
    ("gold members who havent been in", "gold members who haven't been in"),
])
def test_shorthand_is_spelled_out(message: str, read: str) -> None:
    assert normalise(message) == read


def test_shorthand_is_a_whole_word_only() -> None:
    assert normalise("revenue by product") == "revenue by product"


# --- typos ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("message", "read"), [
    ("how many ordres did we get in octobr", "how many orders did we get in october"),
    ("which custmers are likley to chrun", "which customers are likely to churn"),
    ("reccomend products for customer 12", "recommend products for customer 12"),
    ("what is our retrun polcy", "what is our return policy"),
])
def test_a_typo_of_a_known_word_is_corrected(message: str, read: str) -> None:
    assert normalise(message) == read


def test_a_typo_of_a_schema_value_is_corrected_to_it() -> None:
    assert normalise("how many braclet orders", SHOP) == "how many bracelet orders"


def test_a_word_of_the_schema_is_never_corrected() -> None:
    assert normalise("how many Necklace orders", SHOP) == "how many Necklace orders"


def test_a_first_letter_change_is_another_word_not_a_typo() -> None:
    assert correction("border", frozenset({"order"})) is None


def test_a_short_word_is_left_alone() -> None:
    assert correction("late", frozenset({"rate", "date"})) is None


def test_two_equally_close_words_leave_the_typo_alone() -> None:
    assert correction("cart", frozenset({"card", "carts"})) is None


def test_a_swap_of_neighbours_is_one_edit() -> None:
    assert (one_edit("chrun", "churn"), one_edit("chunk", "churn")) == (True, False)


def test_a_letter_missing_from_a_short_word_is_another_word() -> None:
    assert correction("scale", frozenset({"sale"})) is None


def test_quoted_text_is_left_as_written() -> None:
    assert normalise('draft an email titled "Octobr drop"') == 'draft an email titled "Octobr drop"'


def test_sql_is_left_as_written() -> None:
    assert normalise("select ordres from t") == "select ordres from t"


# --- routing after reading shorthand -------------------------------------------------------------

def _route(message: str, scores: dict[str, float], profile: SchemaProfile | None = None) -> str:
    text = normalise(message, profile)
    return Router(ALL).decide(text, scores, evidence(text, profile)).intent


def test_a_misspelt_capability_still_reaches_it() -> None:
    assert _route("which custmers are likley to chrun next month", {"query_data": 0.6, "predict_churn": 0.5}) == "predict_churn"


def test_abbreviated_recommendations_reach_recommendations() -> None:
    assert _route("product recs for customer 1042", {"query_data": 0.6}) == "recommend_products"


# --- counting questions that use a capability's words ---------------------------------------------

@pytest.mark.parametrize("message", [
    "how many customers haven't ordered in 6 months",
    "how many subscriptions churned last month",
    "how many refunds did we give, and what were they worth",
])
def test_a_counting_question_with_a_capability_word_is_a_data_question(message: str) -> None:
    assert _route(message, {"rfm_segments": 0.7, "customer_lifetime_value": 0.7, "query_data": 0.5}) == "query_data"


def test_who_has_lapsed_without_counting_is_still_segments() -> None:
    assert _route("which customers haven't ordered in 6 months", {"query_data": 0.6, "rfm_segments": 0.5}) == "rfm_segments"


# --- word families in the parser's vocabulary -----------------------------------------------------

def test_a_verbs_past_form_names_the_column_of_its_base() -> None:
    tags = lexicon_for(CONTACTS).tag(tokenize("contacts created last month"), set())
    assert any(e.kind == "column" and e.column is not None and e.column.name == "Create Date" for t in tags for e in t.entries)


def test_a_regular_form_of_a_filler_verb_is_filler() -> None:
    question = parse_question("how much did the orders raise", SHOP, dt.date(2026, 3, 1))
    assert question is not None and not question.unmatched


def test_another_form_of_a_known_word_is_no_typo() -> None:
    assert normalise("save them as an audience named winback") == "save them as an audience named winback"


def test_a_word_is_never_corrected_to_a_filler() -> None:
    assert normalise("need an sms, keep it short") == "need an sms, keep it short"


def test_one_wrong_letter_in_a_short_word_is_another_word() -> None:
    assert normalise("who's at risk of leaving us") == "who's at risk of leaving us"


def test_a_column_name_as_written_keeps_its_shorthand_part() -> None:
    assert normalise("total amt_paid by txn_type") == "total amt_paid by txn_type"


def test_a_table_qualified_column_keeps_its_shorthand_part() -> None:
    assert normalise("sum of orders.amt") == "sum of orders.amt"


def test_shorthand_at_the_end_of_a_sentence_is_still_spelled_out() -> None:
    assert normalise("rev last wk.") == "revenue last week."


@pytest.mark.parametrize("message", ["subscription starts by month", "orders by status", "how many contract renewals last quarter",
                                     "how much are we sending per week", "orders with a personal note"])
def test_a_real_word_a_letter_from_a_lexicon_word_is_meant_as_written(message: str) -> None:
    assert normalise(message) == message


def test_a_capitalised_name_mid_sentence_is_not_corrected_into_a_value() -> None:
    from assistant.planner.shorthand import normalise
    from tools.schema_profile import ColumnProfile, SchemaProfile, TableProfile

    reps = SchemaProfile(tables=[TableProfile("orders", 9, [
        ColumnProfile("rep", "VARCHAR", "category", values=["Martha", "Jonas"]),  # type: ignore[arg-type]
        ColumnProfile("customer", "VARCHAR", "text"),  # type: ignore[arg-type]
    ])])
    assert normalise("how many orders from Marta last month", reps) == "how many orders from Marta last month"
