"""GSM-7 transliteration (issue 20): an SMS writes a fact's symbols in its own alphabet and keeps
the fact — "−1 °C" becomes "-1C" in the fitted SMS, the ``must_know`` check and the rubric."""

from __future__ import annotations

import pandas as pd
import pytest

from tools.copywriting import (
    check_variant,
    draft_copy,
    fit_variant,
    get_channel,
    render_for_customers,
    sample_brand,
)
from tools.copywriting.channels import GSM7_EXTENSION, is_gsm7, sms_segments
from tools.copywriting.checks import missing_elements
from tools.copywriting.gsm7 import to_gsm7

BRAND = sample_brand()
RATINGS = "Explain sleeping bag temperature ratings using the Emberline -7: comfort -1 °C, limit -7 °C. Keep it simple."


@pytest.mark.parametrize(("text", "gsm7"), [
    ("comfort −1 °C", "comfort -1C"),
    ("limit -7°C", "limit -7C"),
    ("fine down to 23 °F", "fine down to 23F"),
    ("a 90° turn", "a 90 deg turn"),
    ("N° 1 in tents", "No 1 in tents"),
    ("the “Ridgeline” tent", 'the "Ridgeline" tent'),
    ("Alder & Peak’s gear", "Alder & Peak's gear"),
    ("autumn – and winter — sale", "autumn - and winter - sale"),
    ("120 × 200 cm", "120 x 200 cm"),
    ("½ price", "1/2 price"),
    ("Gore-Tex™ shell", "Gore-Tex shell"),
    ("envío gratis", "envio gratis"),
])
def test_a_symbol_is_written_in_gsm7_keeping_the_fact(text: str, gsm7: str) -> None:
    assert to_gsm7(text) == gsm7


def test_every_transliteration_is_gsm7() -> None:
    assert is_gsm7(to_gsm7("−1 °C “x” ’ – — × ½ ¼ ¾ ™ ® © … • « » œ ç á"))


def test_the_euro_sign_is_in_gsm7s_extension_table() -> None:
    assert "€" in GSM7_EXTENSION


def test_the_euro_sign_is_kept_and_counts_two_units() -> None:
    assert (to_gsm7("€20 off"), sms_segments("€20 off")[:2]) == ("€20 off", ("GSM-7", 8))


def test_a_temperature_in_a_short_sms_stays_gsm7() -> None:
    """Before: a message short enough for one UCS-2 segment kept "°" and went UCS-2."""
    fitted = fit_variant(get_channel("sms"), {"text": "Emberline -7: comfort -1 °C."}, BRAND)
    assert fitted["text"] == "Alder & Peak: Emberline -7: comfort -1C. Reply STOP to opt out"


def test_the_must_know_check_reads_a_temperature_in_gsm7() -> None:
    assert missing_elements(["comfort -1 °C"], "Emberline: comfort -1C, limit -7C") == []


def test_the_must_know_check_still_misses_a_dropped_temperature() -> None:
    assert missing_elements(["-1 °C"], "Emberline: limit -7C") == ["-1 °C"]


def test_an_sms_keeps_the_briefs_temperature() -> None:
    result = draft_copy("sms", RATINGS, brand=BRAND)
    assert all("-1C" in v["text"] for v in result.variants), [v["text"] for v in result.variants]


def test_every_sms_of_a_temperature_brief_is_one_gsm7_segment() -> None:
    result = draft_copy("sms", RATINGS, brand=BRAND)
    assert {sms_segments(v["text"])[::2] for v in result.variants} == {("GSM-7", 1)}


def test_the_sms_warning_shows_how_a_temperature_is_written() -> None:
    result = draft_copy("sms", RATINGS, brand=BRAND)
    assert "has no °; the SMS drafts write it in GSM-7 (e.g. '-1 °C' as '-1C')" in " ".join(result.warnings)


def test_an_email_keeps_the_degree_sign() -> None:
    result = draft_copy("email", RATINGS, brand=BRAND)
    assert all("-1 °C" in v["body"] for v in result.variants)


def test_a_rendered_sms_value_is_transliterated_like_the_copy() -> None:
    rows = pd.DataFrame({"customer_id": [1], "product": ["Trail “Lite” ½ Zip"]})
    out = render_for_customers({"text": "{{product|our gear}} is back."}, rows, gsm7=True, max_value_chars=40)
    assert out["text"][0] == 'Trail "Lite" 1/2 Zip is back.'


def test_a_checked_sms_with_a_temperature_passes_must_know() -> None:
    fitted = fit_variant(get_channel("sms"), {"text": "Emberline -7: comfort -1 °C, limit -7 °C."}, BRAND)
    checks = {c.name: c for c in check_variant(get_channel("sms"), fitted, BRAND, must_know=["-1 °C", "-7 °C"])}
    assert checks["must_know"].passed, checks["must_know"].detail


def test_a_lower_case_c_cedilla_becomes_a_plain_c_not_a_capital() -> None:
    assert to_gsm7("Vous reçoit") == "Vous recoit"
