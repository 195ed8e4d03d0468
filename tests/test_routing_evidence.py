"""Routing guard: a non-data capability is reached only on its own words, never on the schema's.

Fast: no embeddings are computed — `Router.decide` gets similarity scores as the embedding router
would produce them, so each test shows the guard overruling (or following) similarity.
"""

from __future__ import annotations

import pytest

from assistant.planner.declines import AUDIENCE_QUESTION, audience_request, needs_message
from assistant.planner.routing import Router, evidence
from tools.schema_profile import ColumnProfile, SchemaProfile, TableProfile

ALL = {"query_data", "describe_data", "run_sql", "search_knowledge", "rfm_segments", "cluster_customers",
       "predict_churn", "customer_lifetime_value", "recommend_products", "analyze_feedback", "draft_copy",
       "save_audience", "make_chart"}


def _col(name: str, role: str, values: list[str] | None = None, pii: bool = False) -> ColumnProfile:
    return ColumnProfile(name, "VARCHAR", role, values=values or [], pii=pii)  # type: ignore[arg-type]


ACCOUNTS = SchemaProfile([TableProfile("accounts", 300, [
    _col("account_id", "id"), _col("plan", "category", ["Starter", "Pro"]), _col("MRR", "money"),
    _col("signup_date", "date"), _col("churn_date", "date"), _col("is_churned", "flag"),
    _col("nps_score", "number"), _col("region", "category", ["EMEA", "APAC"]),
])])
SHOP = SchemaProfile([
    TableProfile("customers", 500, [_col("customer_id", "id"), _col("country", "category", ["DE", "FR"])]),
    TableProfile("orders", 2000, [_col("order_id", "id"), _col("customer_id", "id"), _col("order_date", "date"),
                                  _col("total_usd", "money"), _col("status", "category", ["completed", "returned"])],
                 customer_key="customer_id"),
    TableProfile("reviews", 300, [_col("review_id", "id"), _col("rating", "number"), _col("review_text", "text")]),
    TableProfile("campaigns", 40, [_col("campaign_id", "id"), _col("offer", "category", ["10% off", "free shipping"]),
                                   _col("target_segment", "category", ["lapsed", "vip"])]),
])


def _route(message: str, scores: dict[str, float], profile: SchemaProfile | None = None) -> str:
    return Router(ALL).decide(message, scores, evidence(message, profile)).intent


# --- similarity alone is overruled when the message has no word of the capability ------------------

@pytest.mark.parametrize(("message", "closest"), [
    ("average order value by channel", "customer_lifetime_value"),
    ("number of reviews per product category", "analyze_feedback"),
    ("which offer drove the most orders", "search_knowledge"),
    ("how many orders were returned last quarter", "search_knowledge"),
    ("what did we make in October", "describe_data"),
])
def test_a_data_question_near_another_tool_goes_to_the_data_path(message: str, closest: str) -> None:
    assert _route(message, {closest: 0.7, "query_data": 0.4}, SHOP) == "query_data"


def test_a_column_named_like_a_capability_is_the_schemas_word() -> None:
    assert _route("churn rate by region", {"predict_churn": 0.8, "query_data": 0.5}, ACCOUNTS) == "query_data"


def test_the_same_words_without_such_a_column_ask_for_the_model() -> None:
    assert _route("churn rate by region", {"predict_churn": 0.8, "query_data": 0.5}, SHOP) == "predict_churn"


def test_a_score_column_is_not_a_forecast() -> None:
    assert _route("average nps score by plan", {"predict_churn": 0.6, "query_data": 0.5}, ACCOUNTS) == "query_data"


def test_a_value_counts_as_the_schemas_word_only_when_its_table_is_named() -> None:
    ev_campaigns = evidence("how many campaigns targeted the lapsed segment", SHOP)
    ev_customers = evidence("list our lapsed customers", SHOP)
    assert ("rfm_segments" in ev_campaigns.strong, "rfm_segments" in ev_customers.strong) == (False, True)


# --- a capability's own words win ----------------------------------------------------------------

@pytest.mark.parametrize(("message", "intent"), [
    ("how much will each customer be worth over the next 12 months", "customer_lifetime_value"),
    ("what themes come up in 1-star reviews", "analyze_feedback"),
    ("what's the current promo code for the autumn campaign", "search_knowledge"),
    ("products frequently bought with the sleeping pad", "recommend_products"),
    ("write an instagram caption for the new jacket", "draft_copy"),
    ("group our customers into personas based on how they shop", "cluster_customers"),
])
def test_own_words_reach_the_capability_even_when_similarity_prefers_data(message: str, intent: str) -> None:
    assert _route(message, {"query_data": 0.7, intent: 0.3}, SHOP) == intent


def test_a_count_of_email_opt_ins_is_no_copy_request() -> None:
    assert "draft_copy" not in evidence("give me the count of customers who opted in to email", SHOP).strong


def test_who_the_copy_is_for_is_not_a_second_request() -> None:
    assert _route("draft a push for at-risk customers with 10% off", {"rfm_segments": 0.7, "draft_copy": 0.6}) == "draft_copy"


def test_a_model_asked_for_before_the_copy_runs_first() -> None:
    message = "predict who's about to stop ordering and draft a win-back SMS for them"
    assert _route(message, {"draft_copy": 0.8, "predict_churn": 0.5}) == "predict_churn"


def test_saving_an_audience_beats_the_segment_it_names() -> None:
    assert _route("save the champions as an audience called vip-list", {"rfm_segments": 0.9}) == "save_audience"


def test_copy_for_a_saved_audience_is_copy_not_saving_one() -> None:
    assert _route("Draft 3 email variants for the saved audience “top-customers”", {"save_audience": 0.9}) == "draft_copy"


def test_weak_words_lose_to_a_data_questions_shape() -> None:
    assert _route("total shipping charged per order", {"search_knowledge": 0.6, "query_data": 0.5}) == "query_data"


def test_weak_words_alone_follow_similarity() -> None:
    assert _route("what is your shipping like", {"search_knowledge": 0.6, "query_data": 0.5}) == "search_knowledge"


def test_a_near_copy_of_an_example_is_trusted_without_keywords() -> None:
    assert _route("tell me what the wider team thinks we ought to pitch", {"recommend_products": 0.8, "query_data": 0.3}) \
        == "recommend_products"


def test_a_chart_follow_up_is_not_sent_to_describe_the_data() -> None:
    assert _route("plot it as a line chart", {"describe_data": 0.5, "query_data": 0.4}) == "query_data"


# --- audiences and declines ----------------------------------------------------------------------

def test_an_audience_takes_its_segments_and_name_from_the_request() -> None:
    assert audience_request("save the at-risk customers as an audience called winback") == \
        {"name": "winback", "rfm_segments": ["At Risk"]}


def test_an_audience_without_a_segment_is_a_question() -> None:
    assert audience_request("save these as an audience") is None and AUDIENCE_QUESTION.startswith("Which customers")


def test_a_decline_names_the_missing_role_and_the_closest_table() -> None:
    text = needs_message("rfm_segments", ACCOUNTS)
    assert "closest is **accounts**" in text and "no column for who bought" in text


def test_a_decline_lists_what_exists() -> None:
    assert "MRR" in needs_message("customer_lifetime_value", ACCOUNTS)


def test_a_decline_never_asks_for_a_table_by_name() -> None:
    assert "orders table" not in needs_message("predict_churn", ACCOUNTS)


def test_feedback_decline_says_no_table_has_customer_text() -> None:
    assert "none of your tables has one" in needs_message("analyze_feedback", ACCOUNTS)


def test_a_tool_added_later_is_reached_on_the_distinct_words_of_its_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    import assistant.planner.routing as routing

    examples = {"query_data": ["revenue by month"], "explain_change": ["why did revenue drop in march"]}
    monkeypatch.setattr(routing, "routing_examples", lambda: examples)
    router = Router({"query_data", "explain_change"})
    ev = evidence("why did orders drop last week", SHOP, router._derived_cues)
    assert router.decide("why did orders drop last week", {"query_data": 0.7, "explain_change": 0.5}, ev).intent \
        == "explain_change"


def test_a_month_in_a_later_tools_examples_is_no_cue(monkeypatch: pytest.MonkeyPatch) -> None:
    import assistant.planner.routing as routing

    monkeypatch.setattr(routing, "routing_examples", lambda: {"query_data": ["revenue by month"],
                                                              "explain_change": ["why did revenue drop in march"]})
    router = Router({"query_data", "explain_change"})
    assert "explain_change" not in evidence("revenue in march", SHOP, router._derived_cues).strong


def test_a_table_of_accounts_is_no_purchase_history() -> None:
    from assistant.planner.declines import purchases_by_customer

    assert not purchases_by_customer(ACCOUNTS.tables[0])


def test_orders_naming_a_repeating_customer_are_a_purchase_history() -> None:
    from assistant.planner.declines import purchases_by_customer

    assert purchases_by_customer(SHOP.table("orders"))


def test_a_contact_list_is_no_purchase_history_even_with_a_date_and_an_amount() -> None:
    from assistant.planner.declines import purchases_by_customer

    contacts = TableProfile("contacts", 252, [_col("Record ID", "id"), _col("Email", "text", pii=True),
                                              _col("Create Date", "date"), _col("Recent Deal Amount", "money")],
                            customer_key="Record ID", primary_key="Record ID")
    assert not purchases_by_customer(contacts)


def test_company_names_are_not_customer_feedback() -> None:
    from assistant.planner.declines import customer_text

    assert (customer_text({"table": "accounts", "text_column": "company_name"}),
            customer_text({"table": "reviews", "text_column": "review_text"})) == (False, True)


@pytest.mark.parametrize("message", ["show that as a column chart", "put it in a table", "turn it into a table"])
def test_display_words_are_not_questions_about_the_schema(message: str) -> None:
    assert "describe_data" not in evidence(message).strong


def test_help_by_similarity_alone_does_not_swallow_a_follow_up() -> None:
    assert _route("and in FR?", {"help": 0.5, "query_data": 0.3}, SHOP) == "query_data"


def test_a_superlative_is_a_data_questions_shape() -> None:
    assert _route("which product sells best", {"recommend_products": 0.75, "query_data": 0.5}, SHOP) == "query_data"


def test_what_we_sell_is_a_data_question_not_a_policy() -> None:
    assert "search_knowledge" not in evidence("how many different products do we sell", SHOP).strong


# --- a capability's vocabulary, read generally (issue 16, stop 14) --------------------------------

def test_a_forecast_of_spend_is_lifetime_value_not_propensity() -> None:
    assert _route("predict next year's spend per customer", {"predict_churn": 0.8, "customer_lifetime_value": 0.5}) \
        == "customer_lifetime_value"


def test_a_horizon_about_people_is_a_propensity_forecast() -> None:
    assert _route("give each customer a score for buying again in the next month", {"query_data": 0.7}, SHOP) \
        == "predict_churn"


def test_a_horizon_without_people_asks_for_no_model() -> None:
    assert "predict_churn" not in evidence("revenue in the next month", SHOP).strong


def test_a_score_column_with_a_forecast_word_stays_unforecast() -> None:
    assert "customer_lifetime_value" not in evidence("average nps score per account", ACCOUNTS).strong


def test_a_lookup_of_something_of_ours_the_schema_lacks_is_brand_knowledge() -> None:
    assert _route("what's our tagline", {"draft_copy": 0.7, "query_data": 0.5}, SHOP) == "search_knowledge"


@pytest.mark.parametrize("message", ["what's our revenue", "what is our AOV?", "what are our best sellers",
                                     "what is our status"])
def test_a_lookup_of_a_data_word_is_no_brand_knowledge(message: str) -> None:
    assert "search_knowledge" not in evidence(message, SHOP).strong


def test_how_our_copy_should_sound_is_brand_knowledge() -> None:
    assert _route("how formal should our emails sound", {"draft_copy": 0.7, "query_data": 0.5}) == "search_knowledge"


def test_a_deliverable_named_without_a_verb_is_a_copy_request() -> None:
    assert _route("a short reminder text for customers with items left in the cart", {"query_data": 0.7}, SHOP) \
        == "draft_copy"


def test_a_count_of_messages_is_no_deliverable() -> None:
    assert "draft_copy" not in evidence("the number of emails for each campaign", SHOP).strong


def test_past_buying_that_stopped_is_a_lapsed_segment() -> None:
    assert _route("who used to buy a lot but hasn't been back in months", {"query_data": 0.7}, SHOP) == "rfm_segments"


def test_products_for_one_customer_are_recommendations() -> None:
    assert _route("suggest products for customer 311", {"query_data": 0.7}, SHOP) == "recommend_products"


def test_issues_people_raise_are_feedback() -> None:
    assert _route("pull out the main issues people raise in their reviews", {"query_data": 0.7}, SHOP) == "analyze_feedback"


def test_whats_in_a_file_describes_the_data() -> None:
    assert _route("what's in the bookings file", {"query_data": 0.7}) == "describe_data"


def test_weak_words_never_describe_the_data() -> None:
    assert _route("what's the reviews situation", {"describe_data": 0.8, "analyze_feedback": 0.5, "query_data": 0.4}) \
        != "describe_data"


def test_a_route_says_whether_the_message_has_a_data_questions_shape() -> None:
    router = Router(ALL)
    message = "products customers love most, by average star rating"
    assert router.decide(message, {"query_data": 0.5}, evidence(message, SHOP)).data_shape


@pytest.mark.parametrize("message", ["what sort of questions do you answer?", "what kinds of things can you help me with"])
def test_asking_what_mara_answers_is_help(message: str) -> None:
    from assistant.planner.routing import _HELP

    assert _HELP.match(message)


def test_what_customers_may_do_is_a_policy_question() -> None:
    assert _route("can customers return sale items?", {"query_data": 0.7}, SHOP) == "search_knowledge"


def test_customers_who_can_be_reached_are_counted() -> None:
    assert "search_knowledge" not in evidence("how many customers can be reached by sms", SHOP).strong


def test_counted_complaints_are_rows_to_count() -> None:
    assert "analyze_feedback" not in evidence("how many tickets were complaints about damaged items", SHOP).strong


def test_complaints_to_read_are_feedback() -> None:
    assert "analyze_feedback" in evidence("what are the most common complaints?", SHOP).strong


def test_describing_a_dataset_is_describe_data() -> None:
    assert _route("describe the ticket data", {"query_data": 0.7}) == "describe_data"


def test_customers_gone_quiet_are_a_lapsed_segment() -> None:
    assert _route("which customers have gone quiet", {"query_data": 0.7}, SHOP) == "rfm_segments"


def test_a_chance_of_buying_again_is_propensity() -> None:
    assert _route("score everyone on their chance of buying again", {"query_data": 0.7}, SHOP) == "predict_churn"


def test_what_a_customer_will_spend_next_year_is_lifetime_value() -> None:
    assert _route("how much is the average customer going to spend with us next year", {"query_data": 0.7}, SHOP) \
        == "customer_lifetime_value"


def test_a_horizon_without_a_behaviour_asks_for_no_model() -> None:
    assert not evidence("which customers will we email next month", SHOP).strong


def test_what_goes_well_with_a_product_is_a_recommendation() -> None:
    assert _route("what goes well with the Ridgeline tent", {"search_knowledge": 0.7}, SHOP) == "recommend_products"


def test_who_the_copy_reminds_is_its_audience() -> None:
    assert _route("draft an sms reminding lapsed customers about free shipping", {"rfm_segments": 0.7, "draft_copy": 0.6}) \
        == "draft_copy"
