"""Issue 20: offline copy a marketer would send — the brief is read, not pasted.

What to say (topic, offer, code, deadline, condition) is kept apart from how and to whom
(tone, audience, length, constraints); what the customer must know is in every variant; a
request for subject lines gets subject lines.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from tools.copywriting import draft_copy, get_channel, load_channels, sample_brand
from tools.copywriting.brief import read_brief, requested_fields
from tools.copywriting.fitter import fit_text, repair_text

BRAND = sample_brand()
GOLD = "Introduce the new trail-running range to our Gold members; upbeat, keep it brief"
WINBACK = "Win back lapsed customers: 15% off, code COMEBACK15, ends Sunday. Friendly, no hard sell"
INSTRUCTION_WORDS = ("upbeat", "keep it brief", "gold members", "lapsed", "friendly", "no hard sell", "introduce")


def texts(variant: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in variant.items() if k != "checks"}, ensure_ascii=False).lower()


def test_the_brief_is_read_into_content_and_instructions() -> None:
    parts = read_brief(GOLD)
    assert parts.topic == "the new trail-running range"
    assert parts.audience == "our Gold members"
    assert parts.tone == "playful" and parts.length == "short"
    assert parts.purpose == "announce"


def test_offer_code_deadline_and_condition_are_content() -> None:
    parts = read_brief("Remind shoppers who left boots in their cart: free shipping on orders over $75 "
                       "with code BOOTS10, valid 48 hours")
    assert (parts.offer, parts.condition, parts.code) == ("free shipping", "on orders over $75", "BOOTS10")
    assert parts.end_date == "48 hours" and parts.purpose == "abandoned_cart"
    assert parts.must_know == ["free shipping", "$75", "BOOTS10", "48 hours"]


def test_constraints_steer_and_never_become_content() -> None:
    parts = read_brief("The Stormfront 3L Shell Jacket is back in stock in all sizes - let lapsed customers know, "
                       "no discount", products=["Stormfront 3L Shell Jacket"])
    assert parts.no_discount and parts.offer is None
    assert parts.topic == "Stormfront 3L Shell Jacket" and parts.proof == ["in all sizes"]
    assert parts.purpose == "back_in_stock"
    assert not any("discount" in p or "lapsed" in p for p in parts.proof)


@pytest.mark.parametrize("channel", sorted(load_channels()))
def test_no_instruction_text_in_any_field(channel: str) -> None:
    for brief in (GOLD, WINBACK):
        for variant in draft_copy(channel, brief, variants=3).variants:
            body = texts(variant)
            assert not [w for w in INSTRUCTION_WORDS if w in body], (brief, variant)


def test_the_subject_never_names_the_audience() -> None:
    for variant in draft_copy("email", GOLD, variants=3).variants:
        assert "gold" not in variant["subject"].lower()
        assert "trail-running range" in variant["body"]


@pytest.mark.parametrize("channel", sorted(load_channels()))
def test_what_the_customer_must_know_is_in_every_variant(channel: str) -> None:
    result = draft_copy(channel, WINBACK, variants=3, segment="At Risk")
    for variant in result.variants:
        body = texts(variant)
        assert "15%" in body and "comeback15" in body and "sunday" in body, variant
        assert next(c for c in variant["checks"] if c["name"] == "must_know")["passed"]


@pytest.mark.parametrize("language", ["de", "fr", "es"])
def test_must_know_in_other_languages(language: str) -> None:
    result = draft_copy("sms", WINBACK, variants=3, language=language)
    for variant in result.variants:
        assert "COMEBACK15" in variant["text"] and "15%" in variant["text"], variant
        assert all(c["passed"] for c in variant["checks"]), variant["checks"]


def test_the_fitter_drops_words_never_the_code_or_deadline() -> None:
    text = ("Hi there, it has been a long while and we have plenty of new things to show you this season. "
            "15% off with code COMEBACK15 until Sunday.")
    fitted = fit_text(text, 60, keep=["COMEBACK15", "Sunday"])
    assert fitted == "15% off with code COMEBACK15 until Sunday."


def test_a_free_offer_keeps_its_condition_in_a_search_ad() -> None:
    """Before: all three variants failed the brand's own conditional-claim check ("free" alone)."""
    result = draft_copy("google_rsa", "Free returns within 60 days on every order", variants=3)
    for variant in result.variants:
        checks = {c["name"]: c["passed"] for c in variant["checks"]}
        assert all(checks.values()), variant["checks"]
        assert any("60 days" in d for d in variant["descriptions"])


def test_five_subject_lines_are_five_subject_lines() -> None:
    result = draft_copy("email", "Give me 5 subject lines for the Black Friday e-mail")
    assert len(result.variants) == 5
    assert all(set(v) == {"subject", "preheader", "checks"} for v in result.variants)
    assert len({v["subject"] for v in result.variants}) == 5
    assert all("subject line" not in v["subject"].lower() for v in result.variants)
    assert all(c["passed"] for v in result.variants for c in v["checks"])


def test_fields_argument_narrows_the_draft() -> None:
    result = draft_copy("meta_ad", "Autumn Sale: 20% off selected tents until 30 November", fields=["headline"])
    assert all(set(v) == {"headline", "checks"} for v in result.variants)
    assert result.usage["fields"] == ["headline"]
    with pytest.raises(Exception, match="meta_ad fields"):
        draft_copy("meta_ad", "Autumn Sale", fields=["subtitle"])


def test_shorter_is_the_same_message_shorter() -> None:
    brief = "Autumn Sale: 20% off selected tents until 30 November. The Ridgeline 2P weighs 1.9 kg"
    long = draft_copy("social", brief, variants=2)
    short = draft_copy("social", brief, variants=2, length="short")
    assert short.usage["angles"] == long.usage["angles"]
    for a, b in zip(long.variants, short.variants, strict=True):
        assert len(b["text"]) < len(a["text"])
        assert "20%" in b["text"] and "30 November" in b["text"]


def test_repair_text_fixes_what_a_rule_can_fix() -> None:
    fixed = repair_text("GREAT tents!! Act immediately! Free gear. Use code WELCOME10 now!", BRAND)
    assert "GREAT" not in fixed and "!!" not in fixed and fixed.count("!") <= 1
    assert "act immediately" not in fixed.lower() and "Free gear" not in fixed
    assert "WELCOME10" in fixed


def test_a_failure_the_fitter_cannot_fix_is_named() -> None:
    result = draft_copy("social", "Our waterproof tents for wet weekends", variants=1)
    assert any("claims check still fails" in w for w in result.warnings)


def test_catalog_facts_make_the_copy_specific() -> None:
    catalog = [{"name": "Glacier Mid GTX Boot", "category": "Footwear", "launched_date": "2026-04-06"},
               {"name": "Old Boot", "category": "Footwear", "launched_date": "2019-01-01"},
               {"name": "Cirrus Trail Runner GTX", "category": "Footwear", "launched_date": "2025-08-19"}]
    result = draft_copy("email", GOLD, variants=3, catalog=catalog)
    bodies = " ".join(v["body"] for v in result.variants)
    assert "Glacier Mid GTX Boot" in bodies and "Old Boot" not in bodies


def test_variants_differ_in_angle_not_only_words() -> None:
    result = draft_copy("push", "Invite customers to the Gold member trail day in Boulder on 12 October")
    assert result.usage["angles"][:2] == ["invite", "event_date"]
    assert all("12 October" in json.dumps(v) for v in result.variants)


def test_chat_requests_for_fields() -> None:
    from assistant.planner.copy_requests import copy_request

    args = copy_request("Give me 5 subject lines for the Black Friday e-mail")
    assert args is not None and args["fields"] == ["subject"] and args["variants"] == 5


def test_a_chat_field_request_keeps_the_offer_in_its_brief() -> None:
    from assistant.planner.copy_requests import copy_request

    args = copy_request("Can you suggest 5 subject lines for the Black Friday e-mail? 25% off with code BF25")
    assert args is not None and "25% off with code BF25" in args["brief"]


def test_a_chat_request_for_a_headline_asks_for_one() -> None:
    from assistant.planner.copy_requests import copy_request

    args = copy_request("Write a headline for the Meta ad launching the Fjord Down Quilt")
    assert args is not None and (args["channel"], args["fields"], args["variants"]) == ("meta_ad", ["headline"], 1)


def test_subject_lines_asked_alone_each_carry_the_offer() -> None:
    result = draft_copy("email", "Give me 4 subject lines for the Basecamp Down Parka, 25% off this week",
                        catalog=[{"name": "Basecamp Down Parka", "category": "Jackets"}])
    assert ["25% off" in v["subject"] for v in result.variants] == [True] * 4


def test_a_registration_deadline_is_in_every_push() -> None:
    result = draft_copy("push", "Invite Trail Club members to a free stove clinic at our Boulder store on Saturday "
                                "6 December at 10:00, RSVP by 3 December. Relaxed.")
    assert [("3 December" in v["body"], "6 December" in v["body"]) for v in result.variants] == [(True, True)] * 3


def test_a_referral_sms_keeps_its_code() -> None:
    result = draft_copy("sms", "Ask Gold members to refer a friend: the friend gets free standard shipping on the first "
                               "order, the member gets 500 points. Code TRAILFRIEND. No pressure.")
    assert all("TRAILFRIEND" in v["text"] and "500" in v["text"] for v in result.variants)


def test_a_long_must_know_sentence_is_split_across_search_ad_descriptions() -> None:
    result = draft_copy("google_rsa", "Welcome new Trail Club members: 1 point per $1, 10% off in your birthday month, "
                                      "free standard shipping over $75. Warm, keep it short.")
    assert all("$75" in " ".join(v["descriptions"]) for v in result.variants)


def test_cli_fields_option(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from assistant.cli_copy import copy_app
    from foundation.settings import get_settings

    monkeypatch.setenv("MARA_HOME", str(tmp_path))
    monkeypatch.setenv("MARA_MODE", "offline")
    get_settings.cache_clear()
    try:
        res = CliRunner().invoke(copy_app, ["--channel", "email", "--brief", "Autumn Sale: 20% off tents",
                                            "--fields", "subject", "--variants", "4", "--json"])
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert len(doc["variants"]) == 4 and set(doc["variants"][0]) == {"subject", "preheader", "checks"}


def test_field_spec_keeps_limits() -> None:
    from tools.copywriting.drafting import field_spec

    spec = field_spec(get_channel("google_rsa"), ["headline"])
    assert [f.name for f in spec.fields] == ["headlines"] and spec.fields[0].max_chars == 30


# --- round 2: other languages, style-only clauses, message notes, field-level counts ---------------

PRODUCTS = ["Talus Mid GTX Hiking Boot", "Granite 65 Pack", "Stormfront 3L Shell Jacket"]


def test_german_tone_length_and_no_discount_are_instructions() -> None:
    parts = read_brief("Stell unseren Stammkunden den neuen Granite 65 Pack vor. Sachlich im Ton, knapp halten, "
                       "kein Rabatt.", products=PRODUCTS)
    assert parts.topic == "Granite 65 Pack"
    assert {"Sachlich im Ton", "knapp halten", "kein Rabatt"} <= set(parts.instructions)


def test_german_audience_is_not_content() -> None:
    parts = read_brief("Stell unseren Stammkunden den neuen Granite 65 Pack vor.", products=PRODUCTS)
    assert parts.audience == "unseren Stammkunden"


def test_french_tone_audience_and_no_promo_stay_out_of_the_content() -> None:
    parts = read_brief("Présente la veste Stormfront 3L Shell Jacket aux randonneurs fidèles, ton rassurant, "
                       "sans remise.", products=PRODUCTS)
    assert (parts.topic, parts.proof, parts.notes) == ("Stormfront 3L Shell Jacket", [], [])


def test_spanish_label_and_tone_are_instructions() -> None:
    parts = read_brief("Recordatorio de carrito: la mochila Granite 65 Pack sigue en la cesta. Tono cercano, sin prisas.",
                       products=PRODUCTS)
    assert {"Tono cercano", "sin prisas"} <= set(parts.instructions)


def test_a_style_only_clause_is_an_instruction() -> None:
    parts = read_brief("Spring tent sale: 15% off all tents until 12 April. Cheerful but modest, light touch.")
    assert {"Cheerful but modest", "light touch"} <= set(parts.instructions)


def test_a_message_type_label_is_not_the_topic() -> None:
    parts = read_brief("Reactivation for dormant customers: 10% off with code HELLO10, ends Friday")
    assert parts.topic == "" and parts.purpose == "winback"


def test_a_named_product_is_must_know() -> None:
    parts = read_brief("Back in stock: Talus Mid GTX Hiking Boot in all sizes.", products=PRODUCTS)
    assert "Talus Mid GTX Hiking Boot" in parts.must_know


def test_a_code_after_a_capitalised_code_word_is_read() -> None:
    assert read_brief("Refer a friend and you both get 300 points. Code PEAKPAL.").code == "PEAKPAL"


def test_a_second_offer_in_the_brief_is_must_know() -> None:
    parts = read_brief("Give a friend $10 off their first order, and get 250 points when they buy. Code PAL10.")
    assert {"$10", "250", "PAL10"} <= set(parts.must_know)


def test_a_second_offer_reaches_every_sms() -> None:
    result = draft_copy("sms", "Give a friend $10 off their first order, and get 250 points when they buy. Code PAL10.",
                        brand=BRAND)
    assert all("250 points" in v["text"] for v in result.variants)


def test_german_validity_is_the_deadline() -> None:
    parts = read_brief("Rückgewinnung: 10 % mit dem Code HALLO10 auf eine Bestellung, gültig 14 Tage.")
    assert parts.end_date == "14 Tage"


def test_an_event_date_without_on_is_the_event_date() -> None:
    parts = read_brief("Stove clinic at our Leeds store, Tuesday 3 March 19:00: bring your own stove.")
    assert parts.when == "Tuesday 3 March 19:00"


def test_a_request_for_preheaders_alone_drafts_preheaders() -> None:
    result = draft_copy("email", "4 preheaders for the spring email with code SPRING10", brand=BRAND)
    assert [sorted(k for k in v if k != "checks") for v in result.variants] == [["preheader"]] * 4


def test_a_request_for_ten_search_headlines_returns_ten() -> None:
    result = draft_copy("google_rsa", "10 headlines for a search ad for the Talus Mid GTX Hiking Boot", brand=BRAND)
    assert [len(v["headlines"]) for v in result.variants] == [10]


def test_a_french_request_for_subject_lines_is_read() -> None:
    fields, count, _ = requested_fields(
        "3 objets d'e-mail pour les soldes de printemps")
    assert (fields, count) == (["subject"], 3)


def test_an_english_date_is_written_in_the_draft_language() -> None:
    result = draft_copy("sms", "Winter sale: 20% off jackets until 31 December", brand=BRAND, language="fr")
    assert all("31 décembre" in v["text"] for v in result.variants)


def test_sms_variants_open_differently_for_a_product_only_brief() -> None:
    from tools.copywriting.offline import DISTINCT, _similarity, opening

    result = draft_copy("sms", "The Talus Mid GTX Hiking Boot is back in stock in all sizes.", brand=BRAND)
    openings = [opening({"text": v["text"].split(":", 1)[-1]}) for v in result.variants]
    assert max(_similarity(a, b) for i, a in enumerate(openings) for b in openings[i + 1:]) < DISTINCT


def test_a_first_word_alone_does_not_name_another_product() -> None:
    parts = read_brief("Meet the Granite 40 Daypack.", products=["Granite 65 Pack", "Talus Mid GTX Hiking Boot"])
    assert parts.product is None


def test_a_sign_up_deadline_is_said_as_the_brief_words_it() -> None:
    result = draft_copy("meta_ad", "Invite customers to a free rope-care workshop at our Denver store on Thursday "
                                   "11 December. Register by 8 December at alderandpeak.com/events. Friendly.")
    # in the primary text, or in the description when the primary text opens on another fact
    assert all("Register by 8 December: alderandpeak.com/events." in f"{v['primary_text']} {v['description']}"
               for v in result.variants)


def test_a_required_sign_up_is_must_know() -> None:
    result = draft_copy("push", "Soirée film montagne à notre magasin de Lyon le 5 décembre à 19 h, entrée libre sur "
                                "inscription. Ton convivial.", language="fr")
    assert "sur inscription" in result.usage["brief"]["must_know"]


def test_an_sms_says_which_characters_its_alphabet_lacks() -> None:
    result = draft_copy("sms", "Sleeping bag ratings explained: comfort -1 °C, limit -7 °C.")
    assert any("has no °" in w for w in result.warnings)


SPANISH_WINBACK = "Recuperar clientes que llevan un año sin comprar: 15 % con el código HOLA15 hasta el domingo."


def test_a_spanish_win_back_label_with_a_bare_audience_is_an_instruction() -> None:
    assert read_brief(SPANISH_WINBACK).instructions == ["Recuperar clientes que llevan un año sin comprar"]


def test_a_spanish_win_back_subject_does_not_name_its_audience() -> None:
    result = draft_copy("email", SPANISH_WINBACK, language="es")
    assert [("clientes" in v["subject"].lower()) for v in result.variants] == [False] * 3


def test_rsvp_and_iso_stay_acronyms() -> None:
    result = draft_copy("social", "Invite customers to our Trail Day on Saturday 14 November, RSVP by 10 November; sleeping "
                                  "bags rated to EN ISO 23537 on show.", variants=1)
    assert ("RSVP" in result.variants[0]["text"], "ISO 23537" in result.variants[0]["text"]) == (True, True)
