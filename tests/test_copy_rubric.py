"""The copy quality rubric of issue 20: its checks on tiny hand-written variants, the annotated
brief set, and the full run of every brief x channel through the public service.

The full run's thresholds (no instruction text 100%, must-know 100%, audience in a headline 0,
the rest >= 90%) hold on the main set (tests/data/copy_briefs.yaml); `pytest -s -k rubric_table`
or `python benchmarks/bench_copy.py --rubric [--briefs FILE]` prints the figures, also for the
extra and round-4 sets. Text is compared after GSM-7's transliteration (tools/copywriting/gsm7.py):
an SMS that writes "-1C" says the brief's "−1 °C"; one that leaves it out misses it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tools.copywriting.rubric import (
    CRITERIA,
    Brief,
    CaseResult,
    FieldRequest,
    RubricContext,
    RubricSetError,
    audience_in_headlines,
    cases,
    concrete_facts,
    element,
    evaluate_case,
    fact_vocabulary,
    failed_checks,
    field_request_problems,
    format_table,
    instruction_leaks,
    load_rubric_set,
    missing_elements,
    normalize,
    opening,
    product_aliases,
    run_rubric,
    same_angle_pairs,
    score,
    strip_boilerplate,
)

BRIEFS_FILE = Path(__file__).parent / "data" / "copy_briefs.yaml"
FOOTER = "You're receiving this email because you subscribed to Alder & Peak updates. Unsubscribe: {{unsubscribe_link}}."
PASSED = [{"name": "length", "passed": True, "detail": "ok"}]
VOCAB = fact_vocabulary(["Ridgeline 2P Tent", *product_aliases("Ridgeline 2P Tent"), "Tents", "free returns"])
CONTEXT = RubricContext(VOCAB, (FOOTER, "Reply STOP to opt out", "Alder & Peak:"),
                        {"email": ("subject", "preheader", "body"), "sms": ("text",)},
                        ("\\bgive me\\b",))
WINBACK = Brief(
    id="winback", purpose="win-back", language="en",
    brief="Win-back for lapsed customers: 15% off, code COMEBACK15, ends Sunday; keep it warm",
    must_know=(element("COMEBACK15"), element("re:15\\s?%"), element(["Sunday", "Sun"])),
    instructions=("win-back for", "keep it warm"), audience=("lapsed customers",),
)


def email(subject: str, body: str, checks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"subject": subject, "preheader": "", "body": f"Hi {{{{first_name|there}}}},\n\n{body}\n\n{FOOTER}",
            "checks": PASSED if checks is None else checks}


# --------------------------------------------------------------------------- matching


def test_normalize_drops_accents_and_curly_quotes() -> None:
    assert normalize("Présente l’offre  à   Zoë") == "Presente l'offre a Zoe"


def test_phrase_matches_whole_words_ignoring_case_and_accents() -> None:
    assert element("no discount").found_in("No  discount this time")


def test_phrase_does_not_match_inside_a_longer_word() -> None:
    assert not element("upbeat").found_in("upbeats")


def test_alternatives_need_only_one_match() -> None:
    assert element(["30 November", "Nov 30"]).found_in("Ends Nov 30.")


def test_regex_elements_allow_the_variants_a_language_writes() -> None:
    assert element("re:15\\s?%").found_in("15 % Rabatt")


def test_an_sms_temperature_in_gsm7_matches_the_briefs_degrees() -> None:
    """The rubric compares after GSM-7's transliteration (tools/copywriting/gsm7.py): "-1C" says "−1 °C"."""
    assert element("re:[-−]1\\s?°C").found_in("Emberline -7: comfort -1C, limit -7C.")


def test_a_phrase_with_degrees_matches_its_gsm7_spelling() -> None:
    assert element("comfort −1 °C").found_in("Comfort -1C.")


def test_another_temperature_does_not_stand_in_for_the_briefs() -> None:
    assert not element("re:[-−]1\\s?°C").found_in("Emberline -7: limit -7C, comfort -10C.")


def test_a_bad_regex_names_itself() -> None:
    with pytest.raises(RubricSetError, match="Bad regular expression"):
        element("re:(unclosed")


# --------------------------------------------------------------------------- per-variant checks


def test_instruction_text_pasted_into_the_body_is_found() -> None:
    variant = email("15% off with COMEBACK15", "Win-back for lapsed customers: 15% off; keep it warm.")
    assert instruction_leaks(variant, WINBACK.instructions) == ["body: win-back for", "body: keep it warm"]


def test_copy_without_the_brief_instructions_has_no_leak() -> None:
    variant = email("15% off your next order", "It's been a while. Take 15% off with COMEBACK15 until Sunday.")
    assert instruction_leaks(variant, WINBACK.instructions, ["\\bgive me\\b"]) == []


def test_generic_instruction_markers_are_regexes() -> None:
    assert instruction_leaks({"text": "Give me 5 subject lines"}, [], ["\\bgive me\\b"]) == ["text: \\bgive me\\b"]


def test_audience_named_in_the_subject_is_flagged() -> None:
    assert audience_in_headlines(email("For our lapsed customers: 15% off", "..."), ["lapsed customers"]) == [
        "subject: lapsed customers"]


def test_audience_named_in_the_body_is_allowed() -> None:
    assert audience_in_headlines(email("15% off, until Sunday", "As one of our lapsed customers..."),
                                 ["lapsed customers"]) == []


def test_every_headline_of_a_list_is_checked() -> None:
    assert audience_in_headlines({"headlines": ["Tents for Gold members", "Ridgeline 2P"]}, ["Gold members"]) == [
        "headlines: Gold members"]


def test_a_win_back_sms_without_code_and_deadline_misses_them() -> None:
    assert missing_elements("Alder & Peak: 15% off. Take a look.", WINBACK.must_know) == ["COMEBACK15", "Sunday | Sun"]


def test_a_product_named_by_its_short_form_is_a_concrete_fact() -> None:
    assert concrete_facts({"text": "The Ridgeline 2P pitches in five minutes."}, VOCAB) == ["Ridgeline 2P"]


def test_an_offer_percentage_is_a_concrete_fact() -> None:
    assert concrete_facts({"text": "Take 15% off."}, VOCAB) == ["15%"]


def test_a_promo_code_is_a_concrete_fact() -> None:
    assert concrete_facts({"text": "Use COMEBACK15 at checkout."}, VOCAB) == ["COMEBACK15"]


def test_generic_copy_has_no_concrete_fact() -> None:
    assert concrete_facts({"text": "Planning your next trip? Take a look."}, VOCAB) == []


def test_the_brand_footer_does_not_count_as_a_fact() -> None:
    footer_only = {"body": "Planning a trip? Alder & Peak Europe, 3511 AX Utrecht, 1.9 kg of paper."}
    assert concrete_facts(footer_only, VOCAB, ["Alder & Peak Europe, 3511 AX Utrecht, 1.9 kg of paper."]) == []


def test_strip_boilerplate_removes_fixed_texts_and_merge_fields() -> None:
    assert strip_boilerplate("Alder & Peak: Hi {{first_name|there}}, tents. Reply STOP to opt out",
                             ["Alder & Peak:", "Reply STOP to opt out"]) == "Hi , tents."


def test_failed_checks_are_listed_by_name() -> None:
    variant = {"text": "x", "checks": [{"name": "banned_words", "passed": False, "detail": "hurry"}, *PASSED]}
    assert failed_checks(variant) == ["banned_words: hurry"]


def test_a_variant_without_checks_fails_the_checks_criterion() -> None:
    assert failed_checks({"text": "x"}) == ["checks: missing"]


# --------------------------------------------------------------------------- angles and field-level requests


def test_opening_skips_greeting_and_sender_name() -> None:
    variant = {"subject": "Your tent is back", "body": "Hi {{first_name|there}},\n\nThe Ridgeline 2P is back. More text."}
    assert opening(variant) == "Your tent is back The Ridgeline 2P is back."


def test_sms_opening_skips_the_sender_prefix() -> None:
    assert opening({"text": "Alder & Peak: Back in stock. Reply STOP to opt out"}, CONTEXT.boilerplate) == "Back in stock."


def test_openings_that_differ_by_one_word_share_an_angle() -> None:
    assert same_angle_pairs(["Good for your next trip: the new trail range.",
                             "Great for your next trip: the new trail range."]) == [(0, 1)]


def test_openings_with_different_structures_are_different_angles() -> None:
    assert same_angle_pairs(["The Ridgeline 2P weighs 1.9 kg.",
                             "Two nights out, one light tent: meet the Ridgeline 2P.",
                             "Back in stock in every colour, at last."]) == []


def test_five_subject_lines_answer_a_request_for_five() -> None:
    variants = [{"subject": f"Subject {n}", "preheader": "p", "checks": PASSED} for n in "ABCDE"]
    assert field_request_problems(variants, ["subject"], 5, ("subject", "preheader", "body")) == []


def test_whole_emails_do_not_answer_a_request_for_subject_lines() -> None:
    variants = [email(f"Subject {n}", "Body") for n in "ABCDE"]
    assert field_request_problems(variants, ["subject"], 5, ("subject", "preheader", "body")) == [
        "fields not asked for: body"]


def test_three_subject_lines_do_not_answer_a_request_for_five() -> None:
    variants = [{"subject": f"Subject {n}"} for n in "ABC"]
    assert field_request_problems(variants, ["subject"], 5, ("subject",)) == [
        "3 distinct subject values, asked for 5"]


def test_a_list_field_counts_its_items() -> None:
    assert field_request_problems([{"headlines": [f"H{n}" for n in range(10)]}], ["headlines"], 10, ("headlines",)) == []


# --------------------------------------------------------------------------- a whole case


GOOD_WINBACK = [
    email("A little something for your next trip", "It's been a while. Take 15% off tents with COMEBACK15 until Sunday."),
    email("15% off tents and packs until Sunday", "The Ridgeline 2P is ready for autumn: 15% off with COMEBACK15, ends Sunday."),
    email("Your code is waiting", "We kept a code for you: COMEBACK15 takes 15% off until Sunday, with free returns."),
]
ISSUE_WINBACK = [  # the issue's example: the brief pasted, code and deadline lost in the SMS
    {"text": "Alder & Peak: Good for your next trip: win-back for lapsed customers. 15% off. Take a look. Reply STOP to opt out",
     "checks": PASSED},
    {"text": "Alder & Peak: Worth a look: win-back for lapsed customers. 15% off. Take a look. Reply STOP to opt out",
     "checks": PASSED},
]


def test_good_win_back_drafts_pass_every_criterion() -> None:
    result = evaluate_case(WINBACK, "email", GOOD_WINBACK, CONTEXT)
    assert all(all(flags) for flags in result.outcomes.values()), result.problems


def test_the_issues_win_back_sms_leaks_the_brief() -> None:
    assert evaluate_case(WINBACK, "sms", ISSUE_WINBACK, CONTEXT).outcomes["no_instruction_text"] == [False, False]


def test_the_issues_win_back_sms_misses_code_and_deadline() -> None:
    assert evaluate_case(WINBACK, "sms", ISSUE_WINBACK, CONTEXT).outcomes["must_know_present"] == [False, False]


def test_the_issues_win_back_sms_variants_share_an_angle() -> None:
    assert evaluate_case(WINBACK, "sms", ISSUE_WINBACK, CONTEXT).outcomes["angles_differ"] == [False]


RATINGS = Brief(
    id="ratings", purpose="education", language="en",
    brief="Explain sleeping bag temperature ratings using the Emberline -7: comfort -1 °C, limit -7 °C.",
    must_know=(element("comfort"), element("re:[-−]1\\s?°C")), instructions=("explain sleeping bag",),
)


def test_an_sms_that_writes_the_temperature_in_gsm7_has_every_must_know() -> None:
    sms = {"text": "Alder & Peak: Emberline -7: comfort -1C, limit -7C. Reply STOP to opt out", "checks": PASSED}
    assert evaluate_case(RATINGS, "sms", [sms], CONTEXT).outcomes["must_know_present"] == [True]


def test_an_sms_that_drops_the_temperature_misses_a_must_know() -> None:
    sms = {"text": "Alder & Peak: Emberline -7: comfort vs limit, explained. Reply STOP to opt out", "checks": PASSED}
    assert evaluate_case(RATINGS, "sms", [sms], CONTEXT).outcomes["must_know_present"] == [False]


def test_a_draft_that_only_repeats_the_briefs_offer_has_no_fact_beyond_it() -> None:
    result = evaluate_case(WINBACK, "sms", [{"text": "15% off with COMEBACK15 until Sunday.", "checks": PASSED}], CONTEXT)
    assert result.outcomes["fact_beyond_brief"] == [False]


def test_a_product_from_the_catalog_is_a_fact_beyond_the_brief() -> None:
    result = evaluate_case(WINBACK, "sms", [{"text": "15% off the Ridgeline 2P, COMEBACK15, until Sunday.",
                                             "checks": PASSED}], CONTEXT)
    assert result.outcomes["fact_beyond_brief"] == [True]


def test_a_field_request_checks_must_know_in_each_requested_value() -> None:
    brief = Brief(id="bf", purpose="sale", language="en", brief="Give me 2 subject lines (25% off)",
                  must_know=(element("re:25\\s?%"),), request=FieldRequest("email", ("subject",), 2))
    result = evaluate_case(brief, "email", [{"subject": "25% off everything"}, {"subject": "Our biggest sale"}], CONTEXT)
    assert result.outcomes["must_know_present"] == [True, False]


def test_a_drafting_error_fails_the_case_instead_of_stopping_the_run() -> None:
    def draft(brief: Brief, channel: str) -> Sequence[Mapping[str, Any]]:
        raise ValueError("boom")

    results = run_rubric([WINBACK], ["email"], draft, CONTEXT)
    assert score(results)["must_know_present"].passed == 0 and results[0].error == "ValueError: boom"


def test_field_level_briefs_run_only_on_their_channel() -> None:
    brief = Brief(id="s", purpose="sale", language="en", brief="5 subject lines", request=FieldRequest("email", ("subject",), 5))
    assert cases([brief, WINBACK], ["email", "sms"]) == [(brief, "email"), (WINBACK, "email"), (WINBACK, "sms")]


def test_the_table_lists_every_criterion() -> None:
    table = format_table([evaluate_case(WINBACK, "email", GOOD_WINBACK, CONTEXT)])
    assert all(name in table for name, *_ in CRITERIA)


# --------------------------------------------------------------------------- the brief set


def test_a_brief_with_an_unknown_purpose_is_refused_by_id(tmp_path: Path) -> None:
    path = tmp_path / "briefs.yaml"
    path.write_text("briefs:\n  - {id: x, purpose: promo, language: en, brief: Sale}\n")
    with pytest.raises(RubricSetError, match="brief 'x': unknown purpose 'promo'"):
        load_rubric_set(path)


def test_duplicate_brief_ids_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "briefs.yaml"
    path.write_text("briefs:\n  - {id: x, purpose: sale, language: en, brief: A}\n"
                    "  - {id: x, purpose: sale, language: en, brief: B}\n")
    with pytest.raises(RubricSetError, match="Duplicate brief id"):
        load_rubric_set(path)


@pytest.fixture(scope="module")
def brief_set() -> Any:
    return load_rubric_set(BRIEFS_FILE)


def test_the_set_has_at_least_sixty_briefs(brief_set: Any) -> None:
    assert len(brief_set.briefs) >= 60


def test_the_set_covers_every_purpose(brief_set: Any) -> None:
    from tools.copywriting.rubric import PURPOSES

    assert {b.purpose for b in brief_set.briefs} == set(PURPOSES)


def test_the_set_has_briefs_in_german_french_and_spanish(brief_set: Any) -> None:
    assert {"de", "fr", "es"} <= {b.language for b in brief_set.briefs}


def test_field_level_requests_name_real_channel_fields(brief_set: Any) -> None:
    from tools.copywriting.channels import load_channels

    channels = {name: {f.name for f in spec.fields} for name, spec in load_channels().items()}
    requests = [b.request for b in brief_set.briefs if b.request]
    assert len(requests) >= 5 and all(set(r.fields) <= channels[r.channel] for r in requests)


def test_every_must_know_element_comes_from_its_brief(brief_set: Any) -> None:
    assert [(b.id, m) for b in brief_set.briefs for m in missing_elements(b.brief, b.must_know)] == []


def test_every_instruction_phrase_is_text_of_its_brief(brief_set: Any) -> None:
    assert [(b.id, i) for b in brief_set.briefs for i in b.instructions if not element(i).found_in(b.brief)] == []


def test_every_audience_phrase_is_in_its_brief_or_segment(brief_set: Any) -> None:
    assert [(b.id, a) for b in brief_set.briefs for a in b.audience
            if normalize(a).lower() not in normalize(b.brief).lower() and a != b.segment] == []


# --------------------------------------------------------------------------- the full run (integration)


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`mara demo --customers 300` in a temporary workspace (data, brand knowledge, brand.yaml)."""
    home = tmp_path_factory.mktemp("copy-rubric") / "ws"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MARA_", "OPENAI_"))}
    run = subprocess.run([sys.executable, "-m", "assistant.cli", "demo", "--customers", "300", "--as-of", "2026-10-31", "--json"],
                         env={**env, "MARA_HOME": str(home)}, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return home


@pytest.fixture(scope="module")
def rubric_results(demo_home: Path, brief_set: Any) -> list[CaseResult]:
    """Every brief x channel drafted offline through `run_copy` and scored."""
    from foundation.settings import MaraSettings
    from tools.context import ToolContext
    from tools.copywriting.channels import load_channels
    from tools.copywriting.rubric import context_from_workspace
    from tools.copywriting.service import CopyRequest, run_copy

    settings = MaraSettings(home=demo_home, mode="offline", _env_file=None)  # type: ignore[call-arg]
    ctx = ToolContext(settings)
    channels = load_channels()
    context = context_from_workspace(demo_home, brief_set, {n: [f.name for f in c.fields] for n, c in channels.items()})

    def draft(brief: Brief, channel: str) -> list[dict[str, Any]]:
        request = CopyRequest(channel=channel, brief=brief.brief, segment=brief.segment,
                              language=brief.language, offline=True)
        return run_copy(request, settings, ctx=ctx).variants

    return run_rubric(brief_set.briefs, list(channels), draft, context)


FULL_RUN = pytest.mark.timeout(900)
"""The full run drafts 1,116 variants: about a minute on an idle box, up to five on a loaded 2-core one."""


@pytest.mark.integration
@FULL_RUN
def test_rubric_table_measures_every_criterion(rubric_results: list[CaseResult]) -> None:
    print("\n" + format_table(rubric_results))
    assert [name for name, s in score(rubric_results).items() if s.total == 0] == []


@pytest.mark.integration
@FULL_RUN
def test_offline_copy_meets_the_issue_20_rubric(rubric_results: list[CaseResult]) -> None:
    missed = {name: f"{s.rate:.1%} < {s.goal:.0%}" for name, s in score(rubric_results).items() if not s.meets_goal}
    assert missed == {}
