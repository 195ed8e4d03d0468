"""The offline planner understands marketers' phrasings over the live schema — no LLM involved."""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.planner.parser import parse_question
from assistant.planner.routing import Router
from assistant.planner.timeframes import parse_timeframe
from foundation.settings import MaraSettings
from tools.context import ToolContext
from tools.data import run_query_spec

TODAY = dt.date(2025, 11, 1)


@pytest.fixture
def ctx(settings: MaraSettings) -> ToolContext:
    return ToolContext(settings)


def answer(ctx: ToolContext, question: str) -> list[list[object]]:
    parsed = parse_question(question, ctx.profile(), TODAY)
    assert parsed is not None and parsed.clarify is None, f"not understood: {question}"
    rows = run_query_spec(ctx, parsed.spec).data["rows"]
    return [r[:-1] for r in rows] if parsed.rows_alias else rows  # the rows-covered count is not the answer


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How many customers do we have?", [[6]]),
        ("number of clients", [[6]]),
        ("how many customers in Germany", [[2]]),
        ("How many German customers are there?", [[2]]),
        ("how many customers in Germany or France?", [[3]]),
        ("How many gold customers opted in to SMS?", [[1]]),
        ("how many customers are not opted in to sms", [[3]]),
        ("count of UK shoppers", [[1]]),
        ("How many orders over $100?", [[4]]),
        ("how many customers ordered via the app", [[2]]),
        ("total sales last month", [[140.0]]),
        ("revenue from German customers in 2025", [[1005.5]]),
        ("what was our average order value?", [[184.46]]),
    ],
)
def test_single_number_questions(ctx: ToolContext, question: str, expected: list[list[float]]) -> None:
    got = [[float(v) for v in row] for row in answer(ctx, question)]
    assert got == [[pytest.approx(v, abs=0.01) for v in row] for row in expected]


def test_breakdown_by_a_column_of_a_joined_table(ctx: ToolContext) -> None:
    rows = answer(ctx, "revenue by country")
    assert [r[0] for r in rows] == ["Germany", "United States", "United Kingdom"]


def test_which_x_has_the_most(ctx: ToolContext) -> None:
    rows = answer(ctx, "Which country has the most customers?")
    assert rows[0][1] == 2 and rows[0][0] in {"Germany", "United States"}


def test_top_n(ctx: ToolContext) -> None:
    rows = answer(ctx, "top 2 cities by revenue")
    assert [r[0] for r in rows] == ["Berlin", "Denver"]


def test_monthly_trend(ctx: ToolContext) -> None:
    rows = answer(ctx, "orders per month since September 2025")
    assert [(str(r[0]), r[1]) for r in rows] == [("2025-09-01", 2), ("2025-10-01", 2)]


def test_unknown_breakdown_is_reported_not_guessed(ctx: ToolContext) -> None:
    parsed = parse_question("revenue by favourite colour", ctx.profile(), TODAY)
    assert parsed is not None and parsed.unmatched == ["favourite colour"]


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("last month", "2025-10-01", "2025-11-01"),
        ("last quarter", "2025-07-01", "2025-10-01"),
        ("this year", "2025-01-01", "2025-11-02"),
        ("in 2024", "2024-01-01", "2025-01-01"),
        ("Q3 2025", "2025-07-01", "2025-10-01"),
        ("in March 2025", "2025-03-01", "2025-04-01"),
        ("the last 30 days", "2025-10-03", "2025-11-02"),
        ("the past 3 months", "2025-08-02", "2025-11-02"),
        ("since 2025-06-15", "2025-06-15", "2025-11-02"),
    ],
)
def test_timeframes(text: str, start: str, end: str) -> None:
    frame = parse_timeframe(text, TODAY)
    assert frame is not None
    assert (str(frame.start), str(frame.end)) == (start, end)


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("How many customers do we have?", "query_data"),
        ("revenue by country last quarter", "query_data"),
        ("what tables are there?", "describe_data"),
        ("SELECT count(*) FROM orders", "run_sql"),
        ("hello!", "greeting"),
        ("what can you do?", "help"),
        ("which disclaimer goes into an SMS?", "search_knowledge"),
        ("what is our refund window", "search_knowledge"),
        ("how should our tone sound on instagram", "search_knowledge"),
        ("drop table customers", "refuse_write"),
        ("please delete all orders", "refuse_write"),
        ("who are our champions?", "rfm_segments"),
        ("which customers are at risk of lapsing", "rfm_segments"),
        ("which customers are likely to churn next quarter?", "predict_churn"),
        ("who will buy again in the next 30 days", "predict_churn"),
        ("what's the predicted lifetime value of our customers", "customer_lifetime_value"),
        ("cluster our customers by behaviour", "cluster_customers"),
        ("how many customers churned?", "rfm_segments"),
        ("how many customers opted in to sms", "query_data"),
    ],
)
def test_routing(message: str, intent: str) -> None:
    router = Router({"describe_data", "query_data", "run_sql", "search_knowledge", "rfm_segments",
                     "cluster_customers", "predict_churn", "customer_lifetime_value"})
    assert router.route(message).intent == intent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("draft 2 SMS for our autumn sale with 20% off jackets for at-risk customers",
         {"channel": "sms", "variants": 2, "segment": "At Risk", "offer": "20% off jackets"}),
        ("Write three push notifications about free shipping this weekend",
         {"channel": "push", "variants": 3, "brief": "free shipping this weekend"}),
        ("write an email about the new Ridgeline tent for champions",
         {"channel": "email", "segment": "Champions", "brief": "new Ridgeline tent for champions"}),
        ("give me google ads headlines for our tents", {"channel": "google_rsa"}),
        ("compose an instagram ad for the Basecamp backpack", {"channel": "meta_ad"}),
    ],
)
def test_copy_requests(text: str, expected: dict[str, object]) -> None:
    from assistant.planner.copy_requests import copy_request

    args = copy_request(text)
    assert args is not None
    assert {k: args[k] for k in expected} == expected


WIN_BACK = {
    "source": "offers.md",
    "heading": "Current Offers > Win-back offer: \"We miss you\"",
    "text": "- **Who:** lapsed customers.\n- **Offer:** 15% off one full-price order with code **COMEBACK15**.\n"
            "- **Minimum spend:** 50 in local currency.",
}
GIFT_CARD = {
    "source": "offers.md",
    "heading": "Current Offers > Holiday gift card bonus",
    "text": "Buy a gift card of 100 and get a 15 bonus card with code GIFT15BONUS until 24 December.",
}


@pytest.mark.parametrize(
    ("text", "purpose"),
    [
        ("draft a win-back SMS for them in our voice", "win-back"),
        ("write a welcome email for new customers", "welcome"),
        ("an SMS for customers who left items in their cart", "abandoned cart"),
        ("a birthday push notification", "birthday"),
        ("3 emails about the autumn sale", None),
    ],
)
def test_copy_purpose(text: str, purpose: str | None) -> None:
    from assistant.planner.copy_requests import copy_purpose

    assert copy_purpose(text) == purpose


def test_the_offer_for_a_purpose_comes_from_a_passage_about_it() -> None:
    from assistant.planner.copy_requests import offer_from_passages

    assert offer_from_passages([GIFT_CARD, WIN_BACK], "win-back") == (
        "15% off one full-price order with code COMEBACK15", 'offers.md › Win-back offer: "We miss you"')
    assert offer_from_passages([WIN_BACK], "welcome") is None  # a win-back code is no welcome offer
    assert offer_from_passages([], "win-back") is None
    birthday = {"source": "perks.md", "heading": "Perks > Birthdays",
                "text": "Members get a treat. Birthday treat: 10% off anything with code BDAY10 all month. Enjoy."}
    assert offer_from_passages([birthday], "birthday") == (
        "Birthday treat: 10% off anything with code BDAY10 all month", "perks.md › Birthdays")
    # no "Offer:" line: the sentence with a discount and a code


def test_questions_are_not_copy_requests() -> None:
    from assistant.planner.copy_requests import copy_request

    assert copy_request("how many emails did we send last month") is None


def test_what_is_question_keeps_its_breakdown(ctx: ToolContext) -> None:
    """“what is our revenue by country?”: the 'what' phrase stops at 'by', so the breakdown survives."""
    parsed = parse_question("what is our revenue by country?", ctx.profile(), TODAY)
    assert parsed is not None and parsed.spec.dimensions == ["customers.country"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 more variants", {"skip": 3, "variants": 3}),
        ("give me two more", {"skip": 3, "variants": 2}),
        ("Make these email variants shorter", {"length": "short"}),
        ("now as an SMS", {"channel": "sms", "skip": 0}),
        ("draft 2 SMS for new customers", None),  # a new request with its own topic
        ("revenue by country", None),
    ],
)
def test_copy_follow_ups(text: str, expected: dict[str, object] | None) -> None:
    from assistant.planner.copy_requests import copy_follow_up

    previous = {"channel": "email", "brief": "spring sale", "variants": 3}
    result = copy_follow_up(text, previous)
    if expected is None:
        assert result is None
    else:
        assert result is not None and result["brief"] == "spring sale"
        assert {k: result[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("text", "brief"),
    [
        ("draft a win-back SMS for at-risk customers in our voice", "new gear for the season"),
        ("write 3 emails for new customers about our tent sale", "our tent sale"),
    ],
)
def test_the_audience_is_not_the_topic_of_the_copy(text: str, brief: str) -> None:
    """“for at-risk customers” says who gets the message, not what it is about."""
    from assistant.planner.copy_requests import copy_request

    request = copy_request(text)
    assert request is not None and request["brief"] == brief
