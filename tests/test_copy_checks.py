"""Checks, fitter, brand parsing and personalisation of copy."""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

import pandas as pd
import pytest

from foundation.errors import ToolInputError
from tools.copywriting import (
    check_variant,
    fit_text,
    fit_variant,
    get_channel,
    load_brand,
    opted_in,
    render_for_customers,
    sample_brand,
    sms_segments,
)

BRAND = sample_brand()


def by_name(checks: list) -> dict:
    return {c.name: c for c in checks}


def test_sample_brand_is_parsed_from_docs() -> None:
    assert BRAND.name == "Alder & Peak"
    assert {"cheapest", "eco-friendly", "hurry", "risk-free"} <= set(BRAND.banned)
    assert BRAND.disclaimers["sms"] == ["Reply STOP to opt out"]
    assert BRAND.sender_prefix["sms"] == "Alder & Peak:"
    assert "{{unsubscribe_link}}" in BRAND.disclaimers["email"][0]
    assert "free" in BRAND.conditional
    assert any(v.startswith("Grounded") for v in BRAND.voice)


def test_brand_yaml_overrides(tmp_path: Path) -> None:
    (tmp_path / "brand.yaml").write_text(
        "name: Acme\nbanned: [awesome]\ndisclaimers: {sms: ['Txt STOP to end']}\n"
    )
    brand = load_brand(tmp_path)
    assert brand.name == "Acme" and brand.banned == ["awesome"]
    assert load_brand(tmp_path / "missing").name == "Alder & Peak"


def test_banned_words_case_insensitive_on_word_boundaries() -> None:
    sms = get_channel("sms")
    bad = by_name(check_variant(sms, {"text": "Alder & Peak: The CHEAPEST tents. Reply STOP to opt out"}, BRAND))
    assert not bad["banned_words"].passed and "cheapest" in bad["banned_words"].detail
    ok = by_name(check_variant(sms, {"text": "Alder & Peak: Evergreen trails. Reply STOP to opt out"}, BRAND))
    assert ok["banned_words"].passed
    assert ok["disclaimers"].passed


def test_disclaimer_caps_punctuation_spam_and_merge_fields() -> None:
    sms = get_channel("sms")
    checks = by_name(check_variant(
        sms, {"text": "BIG NEWS {{shoe_size}}!!! Click here"}, BRAND, ["first_name"]
    ))
    assert not checks["disclaimers"].passed
    assert not checks["all_caps"].passed and "BIG" in checks["all_caps"].detail
    assert not checks["punctuation"].passed
    assert not checks["spam_triggers"].passed
    assert not checks["merge_fields"].passed and "shoe_size" in checks["merge_fields"].detail
    assert checks["length"].passed


def test_conditional_claims_need_their_condition() -> None:
    push = get_channel("push")
    bare = by_name(check_variant(push, {"title": "Free shipping", "body": "Shop now."}, BRAND))
    assert not bare["conditional_claims"].passed
    cond = by_name(check_variant(push, {"title": "Free shipping over £50", "body": "Shop now."}, BRAND))
    assert cond["conditional_claims"].passed


def test_sms_encoding_and_segments() -> None:
    assert sms_segments("a" * 160)[2] == 1
    assert sms_segments("a" * 161) == ("GSM-7", 161, 2)
    assert sms_segments("€" * 80)[1] == 160  # extension characters count twice
    assert sms_segments("ł" * 70) == ("UCS-2", 70, 1)
    assert sms_segments("ł" * 71)[2] == 2
    sms = get_channel("sms")
    checks = by_name(check_variant(sms, {"text": "🏕️" + "a" * 100}, BRAND))
    assert not checks["sms_segments"].passed and "UCS-2" in checks["sms_segments"].detail


def test_google_rsa_item_counts() -> None:
    rsa = get_channel("google_rsa")
    checks = by_name(check_variant(rsa, {"headlines": ["One", "Two"], "descriptions": ["x"]}, BRAND))
    assert not checks["items"].passed
    fitted = fit_variant(rsa, {"headlines": ["One"] * 20, "descriptions": ["a " * 80] * 6}, BRAND,
                         defaults={"headlines": ["Two", "Three", "Four"], "descriptions": ["Five."]})
    assert 3 <= len(fitted["headlines"]) <= 15
    assert 2 <= len(fitted["descriptions"]) <= 4
    assert by_name(check_variant(rsa, fitted, BRAND))["length"].passed


def test_fitter_never_cuts_mid_word() -> None:
    rng = random.Random(7)
    vocab = ["trail", "tent", "jacket", "waterproof", "Ridgeline", "{{first_name|there}}", "20%",
             "off", "until", "November.", "sleeping-bag", "and", "warm,", "lightweight", "kit"]
    for _ in range(500):
        text = " ".join(rng.choice(vocab) for _ in range(rng.randint(1, 60)))
        limit = rng.randint(5, 120)
        out = fit_text(text, limit)
        assert len(re.sub(r"\{\{[^}]*\}\}", "x" * 12, out)) <= limit or out == ""
        source_words = set(text.split())
        for word in out.split():
            assert word.rstrip(".,") in {w.rstrip(".,") for w in source_words}, (word, text)


def test_fitter_keeps_disclaimers_and_makes_sms_gsm7() -> None:
    sms = get_channel("sms")
    raw = {"text": "Reply STOP to opt out “Our” autumn sale — " + "lovely gear " * 30}
    fitted = fit_variant(sms, raw, BRAND, has_offer=True)
    text = fitted["text"]
    assert text.startswith("Alder & Peak:") and text.endswith("T&Cs: ap.co/terms Reply STOP to opt out")
    assert text.count("Reply STOP") == 1
    assert "“" not in text and "—" not in text
    checks = by_name(check_variant(sms, fitted, BRAND, has_offer=True))
    assert checks["sms_segments"].passed and checks["length"].passed and checks["disclaimers"].passed


def test_check_speed_under_two_ms() -> None:
    email = get_channel("email")
    fields = {"subject": "Your Ridgeline is ready for autumn", "preheader": "20% off until 30 November",
              "body": "Hi {{first_name|there}},\n\n" + "Some words about gear. " * 40}
    check_variant(email, fields, BRAND)
    start = time.perf_counter()
    for _ in range(200):
        check_variant(email, fields, BRAND)
    assert (time.perf_counter() - start) / 200 < 0.01  # generous in CI; the benchmark reports ≤ 2 ms


def test_render_for_customers_with_fallbacks() -> None:
    rows = pd.DataFrame({
        "customer_id": [1, 2, 3, 4],
        "first_name": ["Maya", None, "Bartholomew-Alexander", "Łucja"],
        "country": ["UK", "DE", "US", "PL"],
    })
    out = render_for_customers({"text": "Hi {{first_name|there}}, news for {{country}}."}, rows, gsm7=True)
    assert list(out["text"]) == [
        "Hi Maya, news for UK.", "Hi there, news for DE.", "Hi there, news for US.", "Hi there, news for PL.",
    ]
    assert list(out["customer_id"]) == [1, 2, 3, 4]
    with pytest.raises(ToolInputError, match="shoe_size"):
        render_for_customers({"text": "{{shoe_size}}"}, rows)
    fb = render_for_customers({"text": "{{shoe_size}}"}, rows, {"shoe_size": "your size"})
    assert fb["text"][0] == "your size"


def test_no_opted_in_customers_is_an_error() -> None:
    rows = pd.DataFrame({"customer_id": [1, 2], "sms_opt_in": [False, None]})
    with pytest.raises(ToolInputError, match="opted in to sms"):
        opted_in(rows, "sms")
    assert len(opted_in(pd.DataFrame({"customer_id": [1], "sms_opt_in": [True]}), "sms")) == 1


def test_render_mixes_columns_fallback_only_fields_and_literals() -> None:
    rows = pd.DataFrame({"first_name": ["Ana", "", "Sam"], "city": ["Lyon", "Oslo", None]})
    out = render_for_customers(
        {"subject": "{{tier|Friend}} {{first_name|there}} in {{city|your city}} ({{tier|x}})",
         "plain": "No fields here"}, rows)
    assert list(out["subject"]) == [
        "Friend Ana in Lyon (x)", "Friend there in Oslo (x)", "Friend Sam in your city (x)",
    ]
    assert list(out["plain"]) == ["No fields here"] * 3


def test_a_shortened_product_name_still_names_the_product() -> None:
    from tools.copywriting.checks import missing_elements

    assert missing_elements(["Stormfront 3L Shell Jacket"], "the Stormfront 3L Shell is waterproof") == []


def test_an_offer_must_appear_whole() -> None:
    from tools.copywriting.checks import missing_elements

    assert missing_elements(["15% off one full-price order"], "15% off one order") == ["15% off one full-price order"]


def test_squeeze_drops_the_words_after_a_sentences_last_value_not_the_code() -> None:
    from tools.copywriting.fitter import squeeze

    text = "Your friend saves $20 on a first order over $100 and you earn 300 points with Trail Club. Code AMI20."
    assert squeeze(text, 86, keep=["AMI20", "300 points"]) == "Your friend saves $20 on a first order over $100 and you earn 300 points. Code AMI20."


def test_squeeze_gives_up_rather_than_cut_a_value() -> None:
    from tools.copywriting.fitter import squeeze

    assert squeeze("15% off with COMEBACK15 until Sunday.", 20, keep=["COMEBACK15"]) is None
