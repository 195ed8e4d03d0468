"""Offline copy drafting: 60+ briefs × every channel always pass the hard limits."""

from __future__ import annotations

import pytest

from tools.copywriting import draft_copy, load_channels

BRIEFS = [
    "Autumn sale: 20% off selected jackets, tents and sleeping bags until 30 November",
    "Draft an SMS about the Autumn Sale, 15% off selected footwear until 30 November",
    "Win back lapsed customers with code COMEBACK15 for 15% off one full-price order",
    "Announce the new Ridgeline 2P tent: 1.9 kg, three seasons, sets up in four minutes",
    "Trail Club members get free express shipping on every order",
    "Remind Gold members about free repair labour on any Alder & Peak gear",
    "Holiday gift card bonus: buy a gift card of 100 or more and get a 15 bonus card until 24 December",
    "Stormfront 3L Shell is back in stock in all sizes",
    "Invite customers to the Gold member trail day in Boulder",
    "Tell people the Emberline -7 sleeping bag keeps you warm at -7 °C comfort rating",
    "Promote free standard shipping over £50 in the UK",
    "New season boots: the Talus Mid GTX is here",
    "Thank our best customers for a great year outside",
    "Welcome new members to Trail Club and explain how points work",
    "Points reminder: 100 points = 5 off your next order",
    "Early access to the winter sale for Silver and Gold members, starts 1 December",
    "Leave No Trace tips for autumn hikes",
    "Check your gear before winter: book a repair",
    "Lumen 400 headlamp, splash-resistant IPX4, now 20% off until 30 November",
    "Ember stove boils a litre in 3 minutes in lab conditions",
    "Last weekend of the Autumn Sale, ends 30 November",
    "Birthday month: 10% off one order for Trail Club members",
    "We miss you: 15% off your next trip with code COMEBACK15 until 31 December",
    "Spring collection preview for our most loyal customers",
    "Daypacks for school runs and weekend walks",
    "Rain jackets that actually keep you dry: 20,000 mm rating",
    "New colours of the Stormfront shell",
    "Our repair service is open again after the holidays",
    "Reminder: your Trail Club points expire after 18 months without a purchase",
    "Camp cooking kit bundle with 20% off until 30 November",
    "Sleeping bags up to 20% off until 30 November",
    "Merino base layers for cold mornings",
    "Hiking poles restocked",
    "Gift ideas for the hiker in your life",
    "Trail running shoes with a new grippier sole",
    "Three-season tents from 1.4 kg",
    "Free returns within 60 days",
    "Join our Saturday trail clean-up",
    "Waterproof boots with GORE-TEX membrane for wet autumn walks",
    "Kids' hiking boots in new sizes",
    "Sale on tents: 20% off selected styles until 30 November, while stocks last",
    "Our winter catalogue is online",
    "Climbing harness fitting days in our Utrecht store",
    "Weekend sale on footwear, 15% off, ends Sunday 9 November",
    "Send a thank-you to customers who reviewed their gear",
    "Email about care tips for down jackets",
    "Push notification: your favourite boots are back in stock",
    "Meta ad for the Ridgeline 2P tent aimed at first-time campers",
    "Google ad for waterproof hiking jackets",
    "Social post about a member's first summit with our gear",
    "Brief with “smart quotes” and an em dash — for GSM testing",
    "A very very long brief that keeps going and going about many many products including "
    "tents, jackets, boots, stoves, headlamps, sleeping bags, poles, packs and more, with no "
    "clear structure and a lot of detail that will never fit into an SMS or a push title at all",
    "HURRY!!! LAST CHANCE to get the cheapest eco-friendly gear EVER!!!",
    "Shorts",
    "10% off",
    "Trail Club Silver: free standard shipping on every order, no minimum",
    "Autumn Sale ends 30 November: jackets 20% off, footwear 15% off",
    "New: Talus Mid GTX in wide fit",
    "Book a free repair check for Gold members until 15 December",
    "Packing list for a two-night loop",
    "Winter camping workshop on 6 December",
    "Promote {{first_name}} personalised picks from {{loyalty_tier}} perks",
]
SEGMENTS = [None, "At Risk", "Champions", "New", "Need Attention", "Lost", "Some cluster"]
HARD = {"length", "items", "sms_segments"}


def test_suite_has_sixty_briefs() -> None:
    assert len(BRIEFS) >= 60


@pytest.mark.parametrize("channel", sorted(load_channels()))
def test_every_offline_variant_passes_hard_limits(channel: str) -> None:
    failures = []
    for i, brief in enumerate(BRIEFS):
        result = draft_copy(channel, brief, variants=3, segment=SEGMENTS[i % len(SEGMENTS)])
        assert len(result.variants) == 3
        for variant in result.variants:
            for check in variant["checks"]:
                brand_ok = check["name"] in ("banned_words", "disclaimers", "merge_fields")
                if (check["name"] in HARD or brand_ok) and not check["passed"]:
                    failures.append((brief, check))
    assert not failures, failures[:5]


@pytest.mark.parametrize("channel", sorted(load_channels()))
def test_variants_are_distinct_angles(channel: str) -> None:
    result = draft_copy(channel, BRIEFS[0], variants=3, segment="At Risk")
    bodies = [{k: v for k, v in variant.items() if k != "checks"} for variant in result.variants]
    assert len({repr(b) for b in bodies}) == 3
    assert len(set(result.usage["angles"])) == 3


def test_result_shape_and_offline_marking() -> None:
    result = draft_copy("sms", BRIEFS[0]).to_dict()
    assert set(result) == {"variants", "usage"}
    variant = result["variants"][0]
    assert set(variant) == {"text", "checks"}
    assert set(variant["checks"][0]) == {"name", "passed", "detail"}
    assert result["usage"]["mode"] == "offline"
    assert result["usage"]["cost"] == 0
    assert "Offline draft" in result["usage"]["note"]


def test_field_names_per_channel() -> None:
    expected = {
        "email": {"subject", "preheader", "body"},
        "sms": {"text"},
        "push": {"title", "body"},
        "google_rsa": {"headlines", "descriptions"},
        "meta_ad": {"primary_text", "headline", "description"},
        "social": {"text"},
    }
    for channel, fields in expected.items():
        variant = draft_copy(channel, BRIEFS[0], variants=1).variants[0]
        assert set(variant) == fields | {"checks"}


def test_segment_shapes_framing() -> None:
    winback = draft_copy("email", "Spring collection preview", variants=1, segment="At Risk")
    champions = draft_copy("email", "Spring collection preview", variants=1, segment="Champions")
    assert "been a while" in winback.variants[0]["body"]
    assert "Thank" in champions.variants[0]["body"] or "Thanks" in champions.variants[0]["body"]
    assert "risk" not in winback.variants[0]["body"].lower()  # never tell customers they are "at risk"


def test_sms_has_sender_optout_and_offer_terms() -> None:
    text = draft_copy("sms", BRIEFS[0], variants=1).variants[0]["text"]
    assert text.startswith("Alder & Peak:")
    assert text.endswith("Reply STOP to opt out")
    assert "T&Cs: ap.co/terms" in text
    assert "30 November" in text


def test_banned_words_in_brief_never_reach_copy() -> None:
    result = draft_copy("social", "HURRY!!! LAST CHANCE cheapest eco-friendly gear", variants=3)
    for variant in result.variants:
        low = variant["text"].lower()
        assert "cheapest" not in low and "eco-friendly" not in low and "hurry" not in low


@pytest.mark.parametrize("language", ["en", "de"])
def test_headlines_and_hooks_do_not_repeat_the_topic(language: str) -> None:
    """“Everything for your first trip for your next trip” is not copy anyone would send."""
    topic = "everything for your first trip" if language == "en" else "alles für deine erste Tour"
    result = draft_copy("email", topic, variants=6, segment="New", language=language)
    word = "trip" if language == "en" else "tour"
    for variant in result.variants:
        for field in ("subject", "preheader"):
            assert variant[field].lower().count(word) <= 1, (field, variant[field])
