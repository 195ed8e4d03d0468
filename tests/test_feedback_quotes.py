"""What customers love or complain about, and copy that quotes them within the brand's rules (issue 23).

A tiny shop: two backpack reviews of praise, two of complaints, one praise of a tent, by named
customers, one review without consent to be quoted. Sentiment comes from the bundled encoder
and head (no stand-in), so the mood filters are tested on the real scores.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from foundation.errors import ToolInputError
from foundation.settings import MaraSettings
from knowledge.brand import BrandProfileError, QuoteRules, parse_profile
from tools.copywriting.service import CopyRequest, run_copy
from tools.feedback.analysis import analyze_table
from tools.feedback.quotes import asks_for_quotes, customer_quotes, without_quote_request
from tools.feedback.requests import feedback_args, feedback_mood, quote_count
from tools.schema_profile import load_profile
from tools.warehouse import DuckDBWarehouse

LOVED = "I love this pack. It carries heavy loads comfortably all day."
LOVED_PRIVATE = "Fantastic backpack, the best I have owned, so comfortable."
HATED = "The zipper broke after a week. Really disappointed."
HATED_TOO = "Very disappointed, poor quality and the straps hurt."
TENT = "Wonderful tent, quick to pitch and dry all night."
REVIEWS = [  # id, product, customer, rating, consent, text
    (1, 1, 1, 5, True, LOVED),
    (2, 1, 2, 5, False, LOVED_PRIVATE),
    (3, 1, 3, 1, True, HATED),
    (4, 1, 4, 2, True, HATED_TOO),
    (5, 2, 1, 5, True, TENT),
]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("quotes") / "ws"
    home.mkdir()
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("CREATE TABLE customers (customer_id INTEGER, first_name VARCHAR, last_name VARCHAR, email VARCHAR)")
        con.executemany("INSERT INTO customers VALUES (?, ?, ?, ?)", [
            (1, "Maya", "Keller", "maya@example.com"), (2, "Jonas", "Berg", "jonas@example.com"),
            (3, "Ana", "Ruiz", "ana@example.com"), (4, "Sam", "Lee", "sam@example.com")])
        con.execute("CREATE TABLE products (product_id INTEGER, name VARCHAR, category VARCHAR)")
        con.execute("INSERT INTO products VALUES (1, 'Summit 28 Daypack', 'Backpacks'), (2, 'Cirrus 2P Tent', 'Tents')")
        con.execute("CREATE TABLE reviews (review_id INTEGER, product_id INTEGER, customer_id INTEGER, "
                    "rating INTEGER, consent_to_publish BOOLEAN, review_text VARCHAR)")
        con.executemany("INSERT INTO reviews VALUES (?, ?, ?, ?, ?, ?)", REVIEWS)
    return home


@pytest.fixture(scope="module")
def shop(home: Path) -> DuckDBWarehouse:
    return DuckDBWarehouse(home / "warehouse.duckdb")


# --- reading the question ---------------------------------------------------------------------


@pytest.mark.parametrize(("question", "mood"), [
    ("quote three customers who love the backpacks", "positive"),
    ("what do customers like about our tents", "positive"),
    ("what are customers complaining about", "negative"),
    ("which problems do people mention with the backpacks", "negative"),
    ("how do reviews of our tents feel this quarter vs last", None),
])
def test_the_mood_comes_from_the_question(question: str, mood: str | None) -> None:
    assert feedback_mood(question) == mood


def test_quote_three_asks_for_three_quotes() -> None:
    assert quote_count("quote three customers who love the backpacks") == 3


def test_the_planner_passes_mood_and_count(shop: DuckDBWarehouse) -> None:
    args = feedback_args("quote three customers who love the backpacks", load_profile(shop, None))
    assert (args["where"], args["mood"], args["quotes"]) == ({"category": "Backpacks"}, "positive", 3)


def test_a_star_filter_needs_no_mood(shop: DuckDBWarehouse) -> None:
    assert "mood" not in feedback_args("what do 1-star reviews complain about", load_profile(shop, None))


# --- analysis with a mood (bundled encoder) -------------------------------------------------------


@pytest.mark.integration
def test_quotes_of_customers_who_love_it_are_praise_only(shop: DuckDBWarehouse) -> None:
    result = analyze_table(shop, load_profile(shop, None), "reviews", "review_text", where={"category": "Backpacks"},
                           mood="positive", quotes=3, k=1)
    assert sorted(q["text"] for q in result.quotes) == sorted([LOVED, LOVED_PRIVATE])


@pytest.mark.integration
def test_complaints_are_quoted_from_negative_texts_only(shop: DuckDBWarehouse) -> None:
    result = analyze_table(shop, load_profile(shop, None), "reviews", "review_text", mood="negative", quotes=3, k=1)
    assert sorted(q["id"] for q in result.quotes) == [3, 4]


@pytest.mark.integration
def test_themes_with_a_mood_are_of_those_texts_only(shop: DuckDBWarehouse) -> None:
    result = analyze_table(shop, load_profile(shop, None), "reviews", "review_text", mood="negative", k=1)
    assert ([r["id"] for r in result.rows], result.summary["scored"]) == ([3, 4], 5)


def test_an_unknown_mood_is_refused(shop: DuckDBWarehouse) -> None:
    with pytest.raises(ToolInputError, match="Accepted: positive, negative"):
        analyze_table(shop, load_profile(shop, None), "reviews", "review_text", mood="angry")


# --- quotes for copy under the brand's rules ----------------------------------------------------


@pytest.mark.integration
def test_copy_quotes_are_signed_by_first_name_and_initial(shop: DuckDBWarehouse) -> None:
    quotes, _ = customer_quotes(shop, load_profile(shop, None), "the backpacks", QuoteRules())
    assert sorted(q.line() for q in quotes) == sorted([f"“{LOVED}” — Maya K.", f"“{LOVED_PRIVATE}” — Jonas B."])


@pytest.mark.integration
def test_a_consent_column_keeps_unconsented_reviews_out(shop: DuckDBWarehouse) -> None:
    quotes, _ = customer_quotes(shop, load_profile(shop, None), "the backpacks",
                                QuoteRules(consent_column="consent_to_publish"))
    assert [q.id for q in quotes] == [1]


@pytest.mark.integration
def test_anonymous_attribution_prints_no_name(shop: DuckDBWarehouse) -> None:
    quotes, _ = customer_quotes(shop, load_profile(shop, None), "the backpacks", QuoteRules(attribution="anonymous"))
    assert {q.by for q in quotes} == {"a verified buyer"}


def test_a_consent_column_that_does_not_exist_quotes_nothing(shop: DuckDBWarehouse) -> None:
    with pytest.raises(ToolInputError, match="quotes.consent_column 'opt_in' is not a column of reviews"):
        customer_quotes(shop, load_profile(shop, None), "the backpacks", QuoteRules(consent_column="opt_in"))


def test_a_min_rating_above_the_asked_stars_quotes_nothing(shop: DuckDBWarehouse) -> None:
    quotes, notes = customer_quotes(shop, load_profile(shop, None), "2-star reviews of the backpacks", QuoteRules())
    assert (quotes, notes) == ([], ["No quotes: brand.yaml quotes only reviews of 4★ or more."])


@pytest.mark.parametrize(("brief", "asks"), [
    ("draft an e-mail quoting what customers love about the backpacks", True),
    ("the backpack, and quote what customers love", True),
    ("our tents with customer quotes", True),
    ("Autumn sale: 20% off tents", False),
    ("Quote of the week: leave no trace", False),
])
def test_a_brief_asking_for_quotes_is_recognised(brief: str, asks: bool) -> None:
    assert asks_for_quotes(brief) is asks


def test_the_quote_request_is_not_copy() -> None:
    assert without_quote_request("quoting what customers love about the backpacks") == "about the backpacks"


@pytest.mark.integration
def test_an_email_quoting_customers_prints_consented_quotes(home: Path) -> None:
    (home / "brand.yaml").write_text(yaml.safe_dump({"name": "Alder & Peak", "quotes": {
        "consent_column": "consent_to_publish"}}), encoding="utf-8")
    settings = MaraSettings(home=home, mode="offline", _env_file=None)  # type: ignore[call-arg]
    response = run_copy(CopyRequest(channel="email", brief="quoting what customers love about the backpacks",
                                    variants=2, offline=True), settings)
    bodies = [v["body"] for v in response.variants]
    assert [f"“{LOVED}” — Maya K." in b and LOVED_PRIVATE not in b for b in bodies] == [True, True]


@pytest.mark.integration
def test_the_copy_usage_says_which_quotes_rule_applied(home: Path) -> None:
    (home / "brand.yaml").write_text(yaml.safe_dump({"name": "Alder & Peak", "quotes": {
        "consent_column": "consent_to_publish"}}), encoding="utf-8")
    settings = MaraSettings(home=home, mode="offline", _env_file=None)  # type: ignore[call-arg]
    response = run_copy(CopyRequest(channel="email", brief="quoting what customers love about the backpacks",
                                    variants=1, offline=True), settings)
    assert any("quoted only where consent_to_publish is true" in w for w in response.usage["warnings"])


# --- the brand profile's rule ---------------------------------------------------------------------


def test_brand_profiles_quote_by_first_name_and_initial_by_default() -> None:
    assert parse_profile({"name": "X"}).quotes == QuoteRules(attribution="first_name_initial", min_rating=4)


def test_an_unknown_quotes_key_is_named_with_the_accepted_ones() -> None:
    with pytest.raises(BrandProfileError, match="unknown key 'quotes.consent' .*consent_column, attribution"):
        parse_profile({"name": "X", "quotes": {"consent": "yes"}})


def test_an_unknown_attribution_is_refused() -> None:
    with pytest.raises(BrandProfileError, match="quotes.attribution"):
        parse_profile({"name": "X", "quotes": {"attribution": "full_name"}})
