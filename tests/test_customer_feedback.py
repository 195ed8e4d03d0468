"""Customer feedback: text preparation, sentiment, themes, cache, table analysis and the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pytest

from foundation.errors import ToolInputError
from tools.feedback.analysis import analyze_table, analyze_texts
from tools.feedback.cache import FeedbackCache, text_key
from tools.feedback.requests import feedback_args
from tools.feedback.sentiment import label, load_head
from tools.feedback.text import chunk_text, clean_text, detect_language
from tools.feedback.themes import class_keywords
from tools.schema_profile import load_profile
from tools.warehouse import DuckDBWarehouse

ROOT = Path(__file__).resolve().parents[1]


class WordEncoder:
    """A fast stand-in for MiniLM: hashed bag of words, unit length; counts what it encodes."""

    dim = 384

    def __init__(self) -> None:
        self.encoded = 0

    def encode(self, texts: Sequence[str], batch_size: int = 8) -> np.ndarray:
        self.encoded += len(texts)
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, int(hashlib.md5(word.strip(".,!").encode()).hexdigest(), 16) % self.dim] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


REVIEWS = [
    "The zipper broke after a week.", "Zipper jammed on the first trip.", "The zipper split open, useless.",
    "Arrived fast, well packaged.", "Fast delivery, arrived in two days.", "Delivery was fast and tracked.",
]


# --- text ---------------------------------------------------------------------------------


def test_html_tags_are_removed_and_entities_decoded() -> None:
    assert clean_text("Great<br/>tent &amp; poles") == "Great\ntent & poles"


def test_scripts_in_html_are_dropped_with_their_content() -> None:
    assert clean_text("<p>Nice</p><script>alert(1)</script>") == "Nice"


def test_english_is_recognised() -> None:
    assert detect_language("The tent is great and it was easy to pitch.") == "en"


def test_german_is_recognised() -> None:
    assert detect_language("Der Reißverschluss ist nicht gut und die Qualität war sehr schlecht.") == "de"


def test_a_short_exclamation_is_undetermined() -> None:
    assert detect_language("Brilliant!") == "und"


def test_long_texts_are_chunked_without_losing_a_word() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(100))
    assert " ".join(chunk_text(text, max_words=50)).split() == text.split()


def test_every_chunk_fits_the_limit() -> None:
    text = "word " * 1000  # one endless sentence
    assert max(len(c.split()) for c in chunk_text(text, max_words=160)) == 160


# --- sentiment, keywords --------------------------------------------------------------------


def test_the_shipped_head_has_one_weight_per_embedding_dimension() -> None:
    assert load_head().weights.shape == (384,)


def test_scores_near_zero_are_neutral() -> None:
    assert [label(-0.6), label(0.1), label(0.6)] == ["negative", "neutral", "positive"]


def test_keywords_name_what_sets_a_group_apart() -> None:
    classes = np.array([0, 0, 0, 1, 1, 1])
    assert "zipper" in class_keywords(REVIEWS, classes, top=3)[0]


# --- analysis of texts ----------------------------------------------------------------------


def test_each_text_gets_a_sentiment_in_range() -> None:
    result = analyze_texts(REVIEWS, encoder=WordEncoder(), k=2)
    assert all(-1 <= r["sentiment"] <= 1 for r in result.rows)


def test_themes_split_zipper_complaints_from_delivery_praise() -> None:
    result = analyze_texts(REVIEWS, encoder=WordEncoder(), k=2)
    themes = {tuple(sorted(r["id"] for r in result.rows if r["theme"] == t.id)) for t in result.themes}
    assert themes == {(0, 1, 2), (3, 4, 5)}


def test_a_theme_has_at_most_three_quotes() -> None:
    result = analyze_texts(REVIEWS, encoder=WordEncoder(), k=2)
    assert max(len(t.quotes) for t in result.themes) == 3


def test_texts_in_other_languages_are_listed_as_not_scored() -> None:
    texts = [*REVIEWS, "La fermeture éclair a cassé après deux sorties, je suis très déçu."]
    result = analyze_texts(texts, encoder=WordEncoder(), k=2)
    assert result.not_scored == [{"id": 6, "reason": "language", "language": "fr"}]


def test_the_notes_say_which_languages_were_not_scored() -> None:
    texts = [*REVIEWS, "La fermeture éclair a cassé après deux sorties, je suis très déçu."]
    assert "Scored English texts only; not scored: 1 French." in analyze_texts(texts, encoder=WordEncoder(), k=2).notes


def test_a_long_text_is_reported_as_chunked() -> None:
    texts = [*REVIEWS, "The zipper broke. " * 200]
    assert analyze_texts(texts, encoder=WordEncoder(), k=2).summary["chunked"] == 1


def test_a_column_of_empty_texts_is_a_clear_error() -> None:
    with pytest.raises(ToolInputError, match="None of the 3 texts could be scored"):
        analyze_texts(["", None, "   "], encoder=WordEncoder())


def test_breakdown_gives_the_mean_sentiment_per_group() -> None:
    result = analyze_texts(REVIEWS, groups=["Packs"] * 3 + ["Tents"] * 3, encoder=WordEncoder(), k=2)
    assert [g["texts"] for g in result.breakdown["groups"]] == [3, 3]


def test_a_word_that_jumps_in_one_month_is_an_alert() -> None:
    usual = ["Fast delivery and a great tent.", "Comfortable boots, true to size.", "Warm bag, slept well."]
    texts, months = [], []
    for m in range(1, 7):
        texts += usual * 5
        months += [date(2026, m, 15)] * 15
    texts += ["The zipper broke on day two."] * 12
    months += [date(2026, 4, 20)] * 12
    result = analyze_texts(texts, periods=months, encoder=WordEncoder(), k=2)
    assert ("zipper" in result.alerts[0]["words"], result.alerts[0]["month"]) == (True, "2026-04")


# --- cache ----------------------------------------------------------------------------------


def test_reanalysis_embeds_only_new_texts(tmp_path: Path) -> None:
    head = load_head()
    encoder = WordEncoder()
    analyze_texts(REVIEWS, encoder=encoder, cache=FeedbackCache(tmp_path, "reviews", "text", head.version), k=2)
    encoder.encoded = 0
    analyze_texts([*REVIEWS, "Great boots."], encoder=encoder,
                  cache=FeedbackCache(tmp_path, "reviews", "text", head.version), k=2)
    assert encoder.encoded == 1


def test_the_cache_file_is_owner_only(tmp_path: Path) -> None:
    cache = FeedbackCache(tmp_path, "reviews", "text", "v1")
    cache.add([text_key("a")], np.ones((1, 384), np.float32), np.zeros(1), np.ones(1))
    cache.save()
    assert oct(os.stat(cache.path).st_mode & 0o777) == "0o600"


# --- tables ---------------------------------------------------------------------------------


@pytest.fixture()
def shop(tmp_path: Path) -> DuckDBWarehouse:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE products (product_id INTEGER, name VARCHAR, category VARCHAR)")
        con.execute("INSERT INTO products VALUES (1, 'Summit 28 Daypack', 'Backpacks'), (2, 'Cirrus 2P Tent', 'Tents')")
        con.execute("CREATE TABLE reviews (review_id INTEGER, product_id INTEGER, review_date DATE, rating INTEGER, "
                    "review_text VARCHAR)")
        rows = [(i + 1, 1 if i < 3 else 2, f"2026-0{1 + i % 6}-10", 1 if i < 3 else 5, t) for i, t in enumerate(REVIEWS)]
        con.executemany("INSERT INTO reviews VALUES (?, ?, ?, ?, ?)", rows)
    return DuckDBWarehouse(path)


def test_a_breakdown_column_of_a_linked_table_is_joined(shop: DuckDBWarehouse) -> None:
    result = analyze_table(shop, load_profile(shop, None), "reviews", "review_text", by="category",
                           encoder=WordEncoder(), k=2)
    assert [g["value"] for g in result.breakdown["groups"]] == ["Backpacks", "Tents"]


def test_a_filter_keeps_only_matching_rows(shop: DuckDBWarehouse) -> None:
    result = analyze_table(shop, load_profile(shop, None), "reviews", "review_text", where={"rating": [1]},
                           encoder=WordEncoder(), k=1)
    assert [r["id"] for r in result.rows] == [1, 2, 3]


def test_a_numeric_column_is_refused_with_the_text_columns_named(shop: DuckDBWarehouse) -> None:
    with pytest.raises(ToolInputError, match="holds number values, not text. Text columns: review_text"):
        analyze_table(shop, load_profile(shop, None), "reviews", "rating", encoder=WordEncoder())


def test_the_planner_finds_the_reviews_table_and_the_star_filter(shop: DuckDBWarehouse) -> None:
    args = feedback_args("which themes drive 1-star reviews?", load_profile(shop, None))
    assert args == {"table": "reviews", "text_column": "review_text", "where": {"rating": [1]}}


def test_the_planner_reads_a_category_from_the_question(shop: DuckDBWarehouse) -> None:
    args = feedback_args("quote three customers who love the backpacks", load_profile(shop, None))
    assert args["where"] == {"category": "Backpacks"}


# --- demo reviews ---------------------------------------------------------------------------


def _backpack_reviews() -> tuple[dict[str, list[object]], date]:
    from assistant.demo_reviews import build_reviews

    as_of = date(2026, 10, 31)
    days = np.arange(np.datetime64("2025-10-01"), np.datetime64("2026-10-01"))
    purchases = {"customer_id": np.arange(len(days) * 4), "product_id": np.ones(len(days) * 4, int),
                 "order_date": np.repeat(days, 4), "category": np.zeros(len(days) * 4, int)}
    return build_reviews(purchases, ["Backpacks"], as_of, seed=7, n_reviews=1200), as_of


def _zipper_share(reviews: dict[str, list[object]], in_month: bool) -> float:
    from assistant.demo_reviews import zipper_month

    start, end = zipper_month(date(2026, 10, 31))
    texts = [t for d, t in zip(reviews["review_date"], reviews["review_text"], strict=True)
             if isinstance(t, str) and (start <= d < end) == in_month]  # type: ignore[operator]
    return sum("zip" in t.lower() for t in texts) / len(texts)


def test_demo_backpack_reviews_complain_about_zippers_in_the_bad_month() -> None:
    reviews, _ = _backpack_reviews()
    assert _zipper_share(reviews, in_month=True) > 0.5


def test_demo_backpack_reviews_rarely_mention_zippers_otherwise() -> None:
    reviews, _ = _backpack_reviews()
    assert _zipper_share(reviews, in_month=False) < 0.1


# --- end to end with the bundled encoder (slower) --------------------------------------------


@pytest.mark.integration
def test_praise_scores_above_complaints_with_the_bundled_encoder() -> None:
    result = analyze_texts(["I love this tent, it is fantastic.", "Terrible boots, they fell apart. Awful."], k=1)
    assert result.rows[0]["sentiment"] > 0.5 > -0.5 > result.rows[1]["sentiment"]


@pytest.mark.integration
def test_cli_prints_the_contract_json(shop: DuckDBWarehouse, tmp_path: Path) -> None:
    env = {**os.environ, "MARA_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "assistant.cli", "feedback", "analyze", "--table", "reviews",
                           "--text-col", "review_text", "--by", "category", "--json"],
                          capture_output=True, text=True, env=env, timeout=300, check=True)
    payload = json.loads(done.stdout)
    assert set(payload["rows"][0]) >= {"id", "sentiment", "label"} and set(payload["themes"][0]) >= {
        "label", "size", "keywords", "sentiment", "quotes"}
