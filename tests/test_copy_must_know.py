"""Offline copy keeps what the customer must know and opens each variant its own way (issue 20, round 3).

Classes of failure from the rubric: a long SMS offer that lost its code, the "ask for a review"
call to action dropped, a link missing from search ads, variants opening on the same long
must-know line, and an English brief drafted in French or German keeping its offer in English.
"""

from __future__ import annotations

import pytest

from tools.copywriting import draft_copy
from tools.copywriting.brief import brief_action
from tools.copywriting.fitter import compact
from tools.copywriting.rubric import opening, same_angle_pairs

REFERRAL = ("Referral: give a friend $20 off their first order over $100, and get 500 Trail Club points when "
            "they buy. Code FRIEND20. Casual.")


@pytest.mark.parametrize(("brief", "action"), [
    ("Thank buyers of the Ridgeline 2P Tent and ask for a review; warm", "Leave a review"),
    ("Thank customers and ask them to share a photo from their trip.", "Share a photo from your trip"),
    ("Thank customers for their first order and point them to our repair guides.", "See our repair guides"),
])
def test_what_the_customer_is_asked_to_do_is_read_as_an_action(brief: str, action: str) -> None:
    assert brief_action(brief)[0] == action


def test_the_action_is_taken_out_of_the_brief() -> None:
    assert brief_action("Thank buyers of the Ridgeline 2P Tent and ask for a review")[1] == (
        "Thank buyers of the Ridgeline 2P Tent")


def test_compact_drops_valueless_clauses_and_keeps_the_code() -> None:
    text = ("Give a friend $20 off their first order over $100, and get 500 Trail Club points when they buy. "
            "Code FRIEND20.")
    assert compact(text, ["FRIEND20"]) == ("Give a friend $20 off their first order over $100, "
                                           "get 500 Trail Club points. Code FRIEND20.")


def test_a_long_sms_offer_keeps_its_code_in_every_variant() -> None:
    texts = [v["text"] for v in draft_copy("sms", REFERRAL).variants]
    assert [("FRIEND20" in t, "$20" in t) for t in texts] == [(True, True)] * 3


def test_ask_for_a_review_is_in_every_variant_of_every_channel() -> None:
    brief = "Thank buyers of the Ridgeline 2P Tent and ask for a review; no discount for reviews. Warm."
    missing = [(ch, n) for ch in ("email", "sms", "push", "google_rsa", "meta_ad", "social")
               for n, v in enumerate(draft_copy(ch, brief).variants, 1)
               if "review" not in " ".join(str(x) for k, x in v.items() if k != "checks").lower()]
    assert missing == []


def test_search_ads_carry_the_link_of_a_long_must_know_line() -> None:
    brief = ("Welcome email for first-time buyers: how our 60-day returns work and the free repair guides at "
             "alderandpeak.com/repair. Friendly, no sales pitch.")
    variants = draft_copy("google_rsa", brief).variants
    assert all(any("alderandpeak.com/repair" in d for d in v["descriptions"]) for v in variants)


def test_variants_open_differently_when_the_must_know_line_is_long() -> None:
    brief = ("Thank-you note to Gold members for a great year: free express shipping and free repair labour "
             "continue in 2027. Sincere, short.")
    variants = draft_copy("push", brief).variants
    assert same_angle_pairs([opening(v) for v in variants]) == []


def test_an_english_brief_drafted_in_french_states_the_offer_in_french() -> None:
    texts = [v["text"] for v in draft_copy("sms", "Winter sale: 30% off jackets until 31 January.", language="fr").variants]
    assert [("30 %" in t, "janvier" in t, " off " in t) for t in texts] == [(True, True, False)] * 3


def test_an_english_brief_drafted_in_german_passes_its_must_know_check() -> None:
    variants = draft_copy("email", "Announce the Switchback 4P Tent with 10% off until 14 December.",
                          language="de").variants
    assert [c["passed"] for v in variants for c in v["checks"] if c["name"] == "must_know"] == [True] * 3
