"""Issue 20, held-out gaps: every variant says something specific and opens on its own angle.

A brief's facts (date, place, registration, the offer with its own condition) are read in every
language; a brief that names no product still gets one from the catalog (its category's, else the
newest); short channels (SMS, push, Meta ads) lead each variant with a different fact of the
must-know line; no draft says the same sentence twice.
"""

from __future__ import annotations

import json
from typing import Any

from tools.copywriting import draft_copy, sample_brand
from tools.copywriting.brief import read_brief
from tools.copywriting.fitter import SENTENCE_END
from tools.copywriting.offline import (
    as_catalog,
    detect_categories,
    no_repeats,
    opening,
    phrases,
    short_facts,
)

BRAND = sample_brand()
CLIMBING = [{"name": "Cascade Climbing Helmet", "category": "Climbing", "launched_date": "2026-09-01"},
            {"name": "Switchback Quickdraw Set", "category": "Climbing", "launched_date": "2026-08-01"},
            {"name": "Sierra Climbing Shoe", "category": "Climbing", "launched_date": "2026-07-01"},
            {"name": "Meridian 40L Duffel", "category": "Backpacks", "launched_date": "2026-10-01"}]
KLETTERABEND = "Einladung zum Kletterabend in München am Freitag, 12. Dezember, 18 Uhr. Anmeldung bis 10. Dezember. Locker."
WORKSHOP = ("Invite climbers to a free rope-care workshop at our Denver store on Thursday 11 December. "
            "Register by 8 December at alderandpeak.com/events.")


def text_of(variant: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in variant.items() if k != "checks"}, ensure_ascii=False)


def test_a_german_compound_names_its_category() -> None:
    assert detect_categories("Kletterabend in München", BRAND) == ["Climbing"]


def test_a_french_word_names_its_category() -> None:
    assert detect_categories("Soirée escalade à Lyon", BRAND) == ["Climbing"]


def test_a_french_verb_that_starts_like_a_category_is_not_one() -> None:
    assert detect_categories("Tentez votre chance à Lyon", BRAND) == []


def test_a_german_ordinal_date_does_not_end_a_sentence() -> None:
    assert SENTENCE_END.split("Lawinenkurs am Samstag, 17. Januar. Anmeldung bis 9. Januar.") == [
        "Lawinenkurs am Samstag, 17. Januar.", "Anmeldung bis 9. Januar."]


def test_a_sentence_ending_in_an_amount_still_ends() -> None:
    assert SENTENCE_END.split("Free shipping over $75. Code SHIP75.") == ["Free shipping over $75.", "Code SHIP75."]


def test_each_offer_keeps_its_own_condition() -> None:
    parts = read_brief("Free returns within 60 days on all orders, plus free standard shipping over $75.")
    assert parts.condition == "within 60 days on all orders"


def test_one_offer_keeps_all_its_conditions() -> None:
    assert read_brief("Free shipping on orders over $50 this week").condition == "on orders over $50"


def test_a_repeated_sentence_is_said_once() -> None:
    assert no_repeats({"primary_text": "Worth a look: Ridgeline 2P Tent. Worth a look: Ridgeline 2P Tent. 3-season."}) == {
        "primary_text": "Worth a look: Ridgeline 2P Tent. 3-season."}


def test_a_call_to_action_that_opened_the_draft_is_not_repeated_at_its_end() -> None:
    body = "Hey!\n\nShop Footwear.\n\nNew in Footwear: Glacier Mid GTX Boot.\n\nShop footwear."
    assert no_repeats({"body": body})["body"] == "Hey!\n\nShop Footwear.\n\nNew in Footwear: Glacier Mid GTX Boot."


def test_a_sentence_another_one_already_says_goes() -> None:
    text = "Am Freitag, 12. Dezember, 18 Uhr. Kletterabend in München am Freitag, 12. Dezember, 18 Uhr."
    assert no_repeats({"text": text})["text"] == "Kletterabend in München am Freitag, 12. Dezember, 18 Uhr."


def test_a_brief_without_a_product_gets_the_newest_one_of_its_category() -> None:
    parts = read_brief(KLETTERABEND, categories_of=lambda t: detect_categories(t, BRAND))
    assert short_facts(parts, phrases("de"), None, as_catalog(CLIMBING))[0] == "Neu: Cascade Climbing Helmet."


def test_a_soft_sell_brief_gets_no_product_pushed_into_it() -> None:
    parts = read_brief("Welcome new subscribers and point them to our packing checklists. No sales pitch.")
    assert short_facts(parts, phrases("en"), None, as_catalog(CLIMBING)) == []


def test_every_german_event_sms_names_a_product() -> None:
    result = draft_copy("sms", KLETTERABEND, language="de", catalog=CLIMBING)
    assert all("Climbing" in v["text"] or "Quickdraw" in v["text"] for v in result.variants)


def test_event_sms_variants_open_on_different_facts() -> None:
    result = draft_copy("sms", KLETTERABEND, language="de", catalog=CLIMBING)
    assert len({opening(v) for v in result.variants}) == 3


def test_a_meta_ad_whose_message_fills_the_text_still_opens_differently() -> None:
    result = draft_copy("meta_ad", WORKSHOP, catalog=CLIMBING)
    assert len({v["primary_text"].split(". ")[0] for v in result.variants}) == 3


def test_a_meta_ad_keeps_the_registration_when_it_splits_the_message() -> None:
    result = draft_copy("meta_ad", WORKSHOP, catalog=CLIMBING)
    assert all("alderandpeak.com/events" in text_of(v) and "8 December" in text_of(v) for v in result.variants)


def test_the_free_returns_search_ad_has_the_offer_in_a_headline() -> None:
    result = draft_copy("google_rsa", "Free returns within 60 days on all orders, plus free standard shipping over $75. "
                        "Reassuring tone for first-time buyers.")
    assert all("Free returns within 60 days" in v["headlines"] for v in result.variants)
