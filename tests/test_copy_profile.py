"""Audience profiles shape the copy; whole-brief parsing; languages; rendering; API models."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from assistant.chat_models import make_chat_model
from assistant.testing import ScriptedOpenAIServer, ScriptedReply
from foundation.errors import MaraError, ToolInputError
from tests.test_copy_offline import BRIEFS
from tools.context import ToolContext
from tools.copywriting import draft_copy, load_channels
from tools.copywriting.offline import parse_brief
from tools.copywriting.profile import AudienceProfile, profile_for_ids, segment_profile
from tools.copywriting.service import (
    CopyRequest,
    CopyResponse,
    RenderRequest,
    render_copy,
    run_copy,
)

HARD = {"length", "items", "sms_segments"}
BRAND_CHECKS = {"banned_words", "disclaimers", "merge_fields"}
AT_RISK_HIGH = AudienceProfile(
    name="At Risk", size=1840, share=0.09, top_categories=["Jackets", "Footwear"], avg_order_value=310.0,
    baseline_order_value=180.0, avg_recency_days=240, baseline_recency_days=120, avg_frequency=3.1,
    traits=["lapsed", "high-spend"],
)
NEW_LOW = AudienceProfile(
    name="New", size=920, share=0.05, top_categories=["Apparel"], avg_order_value=85.0,
    baseline_order_value=180.0, avg_recency_days=12, baseline_recency_days=120, avg_frequency=1.0,
    traits=["recent", "one-off", "low-spend"],
)
BRIEF = "Autumn sale: 20% off selected jackets, tents and sleeping bags until 30 November"


def _fields(variant: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in variant.items() if k != "checks"}


def _words(result: Any) -> set[str]:
    import re

    return set(re.findall(r"[a-z']+", json.dumps([_fields(v) for v in result.variants]).lower()))


def _assert_limits(result: Any) -> None:
    for variant in result.variants:
        for check in variant["checks"]:
            if check["name"] in HARD | BRAND_CHECKS:
                assert check["passed"], (variant, check)


@pytest.mark.parametrize("channel", sorted(load_channels()))
def test_profiles_give_materially_different_copy(channel: str) -> None:
    risk = draft_copy(channel, BRIEF, variants=3, profile=AT_RISK_HIGH)
    new = draft_copy(channel, BRIEF, variants=3, profile=NEW_LOW)
    _assert_limits(risk)
    _assert_limits(new)
    assert set(risk.usage["angles"]).isdisjoint(new.usage["angles"]) or risk.usage["angles"] != new.usage["angles"]
    assert risk.usage["angles"][0] == "returning" and new.usage["angles"][0] == "welcome"
    for a, b in zip(risk.variants, new.variants, strict=True):
        assert _fields(a) != _fields(b)
    # the audience's top category is named; the angles differ in words, not only order
    assert "jackets" in json.dumps(_fields(risk.variants[0])).lower()
    only_risk, only_new = _words(risk) - _words(new), _words(new) - _words(risk)
    assert len(only_risk) >= 3 and len(only_new) >= 3, (only_risk, only_new)
    assert "risk" not in json.dumps([_fields(v) for v in risk.variants]).lower()
    for result in (risk, new):
        assert len(set(result.usage["angles"])) == 3
        assert len({repr(_fields(v)) for v in result.variants}) == 3


def test_profile_fields_drive_the_plan() -> None:
    assert AT_RISK_HIGH.lifecycle == "winback" and AT_RISK_HIGH.value_tier == "high"
    assert NEW_LOW.lifecycle == "welcome" and NEW_LOW.value_tier == "low"
    unnamed = AudienceProfile(avg_recency_days=400, baseline_recency_days=100, avg_order_value=50,
                              baseline_order_value=100)
    assert unnamed.lifecycle == "winback" and unnamed.value_tier == "low"
    result = draft_copy("email", BRIEF, variants=3, profile=unnamed)
    assert "value" in result.usage["angles"] and "been a while" in result.variants[0]["body"]
    cluster = AudienceProfile(name="Frequent big-basket customers", top_categories=["Climbing"])
    assert cluster.lifecycle == "appreciation" and cluster.value_tier == "high"
    summary = AT_RISK_HIGH.summary()
    assert "1,840 customers" in summary and "Jackets" in summary and "310" in summary
    assert "Never tell customers" in summary
    result = draft_copy("email", BRIEF, profile=AT_RISK_HIGH.model_dump())
    assert "At Risk" in result.usage["audience"]
    with pytest.raises(ToolInputError, match="profile"):
        draft_copy("email", BRIEF, profile={"size": -3})


def test_whole_brief_is_read() -> None:
    facts = parse_brief("Last weekend of the Autumn Sale, ends 30 November: 15% off footwear, in a playful tone",
                        brand=__import__("tools.copywriting", fromlist=["x"]).sample_brand())
    assert facts.offer and "15% off footwear" in facts.offer
    assert facts.end_date == "30 November" and facts.urgent and facts.tone == "playful"
    assert facts.category == "Footwear" and "playful" not in facts.detail
    result = draft_copy("email", "Last weekend of the Autumn Sale, ends 30 November: 15% off footwear, in a playful tone",
                        variants=2)
    assert result.usage["angles"][0] == "timely"
    assert result.variants[0]["subject"].startswith("Final days")
    assert result.variants[0]["body"].startswith("Hey {{first_name|there}}!")
    formal = draft_copy("email", "Winter catalogue is online", tone="formal", variants=1)
    assert formal.variants[0]["body"].startswith("Hello {{first_name|there}},")
    # the product category of the brief is used when the audience has none
    result = draft_copy("push", "New Talus Mid GTX boots in wide fit", segment="Champions", variants=3)
    assert any("footwear" in json.dumps(_fields(v)).lower() for v in result.variants)


@pytest.mark.parametrize("language,marker", [("de", "Hallo"), ("fr", "Bonjour"), ("es", "Hola")])
def test_offline_drafts_in_supported_languages(language: str, marker: str) -> None:
    failures = []
    for channel in load_channels():
        for i, brief in enumerate(BRIEFS[:20]):
            profile = (AT_RISK_HIGH, NEW_LOW, None)[i % 3]
            result = draft_copy(channel, brief, variants=3, language=language, profile=profile)
            assert result.usage["language"] == language
            for variant in result.variants:
                failures += [(brief, c) for c in variant["checks"]
                             if c["name"] in HARD | BRAND_CHECKS and not c["passed"]]
    assert not failures, failures[:3]
    email = draft_copy("email", "Winterkatalog: 20% Rabatt auf Jacken bis zum 30. November", language=language,
                       segment="Need Attention", variants=3)
    assert marker in email.variants[0]["body"]
    assert email.usage["language"] == language
    german_brief = [w for w in email.warnings if "looks German" in w]
    assert bool(german_brief) == (language != "de")
    sms = draft_copy("sms", "Herbstverkauf: 20% Rabatt auf Jacken bis zum 30. November", language=language,
                     variants=1)
    assert "20% Rabatt" in sms.variants[0]["text"] and "30. November" in sms.variants[0]["text"]


def test_unsupported_offline_language_says_so() -> None:
    result = draft_copy("sms", "Autumn sale", language="ja")
    assert any("Offline mode drafts only in en, de, fr, es" in w for w in result.warnings)
    assert result.usage["language"] == "en"
    assert draft_copy("sms", "Autumn sale", language="German").usage["language"] == "de"
    assert draft_copy("sms", "Autumn sale", language="es-MX").usage["language"] == "es"


def _orders_source() -> dict[str, pd.DataFrame]:
    orders, items = [], []
    oid = 0
    for c in range(1, 61):
        for k in range(1 + c % 4):
            oid += 1
            day = dt.date(2025, 1, 1) + dt.timedelta(days=(c * 7 + k * 30) % 300)
            orders.append((oid, c, day, float(50 + (c % 5) * 60)))
            items.append((oid, 1, 1 + c % 3, 1, float(50 + (c % 5) * 60)))
    return {
        "orders": pd.DataFrame(orders, columns=["order_id", "customer_id", "order_date", "total"]),
        "order_items": pd.DataFrame(items, columns=["order_id", "line_number", "product_id", "quantity", "line_total"]),
        "products": pd.DataFrame({"product_id": [1, 2, 3], "name": ["a", "b", "c"],
                                  "category": ["Tents", "Jackets", "Footwear"]}),
    }


def test_profiles_from_data() -> None:
    source = _orders_source()
    everyone = profile_for_ids(source, None, name="All")
    assert everyone.size == 60 and everyone.avg_order_value == everyone.baseline_order_value
    assert set(everyone.top_categories) == {"Tents", "Jackets", "Footwear"}
    some = profile_for_ids(source, [2, 5, 8, 11, 14], name="Some")  # c % 3 == 2 → Footwear
    assert some.size == 5 and some.top_categories == ["Footwear"]
    risk = segment_profile(source, "at risk")
    assert risk.name == "At Risk" and risk.kind == "rfm_segment" and risk.size and risk.description
    with pytest.raises(ToolInputError, match="Segments:"):
        segment_profile(source, "Sleepers")


# --- service, API models and CLI ---------------------------------------------------------------


def test_api_models_and_run_copy(settings: Any) -> None:
    with pytest.raises(Exception, match="colour"):
        CopyRequest(channel="sms", brief="x", colour="red")  # type: ignore[call-arg]
    response = run_copy(CopyRequest(channel="sms", brief=BRIEF, segment="Champions", variants=2), settings)
    assert isinstance(response, CopyResponse) and len(response.variants) == 2
    assert set(response.contract()) == {"variants", "usage"}
    assert "Champions" in response.usage["audience"] and response.citations == []
    assert response.usage["mode"] == "offline"
    with pytest.raises(ToolInputError, match="shoe_size"):  # merge fields come from the customers table
        run_copy(CopyRequest(channel="sms", brief="Hi {{shoe_size}}, new boots"), settings)
    explicit = run_copy(CopyRequest(channel="email", brief=BRIEF, profile=AT_RISK_HIGH), settings)
    assert explicit.usage["angles"][0] == "returning"


@pytest.fixture
def cli_home(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from foundation.settings import get_settings
    from tools.audiences import save_audience
    from tools.warehouse import open_warehouse

    save_audience(open_warehouse(settings), settings.home, "Everyone", "query",
                  {"sql": "SELECT customer_id FROM customers"})
    monkeypatch.setenv("MARA_HOME", str(settings.home))
    monkeypatch.setenv("MARA_MODE", "offline")
    get_settings.cache_clear()
    yield settings.home
    get_settings.cache_clear()


def test_copy_group_keeps_the_draft_contract(cli_home: Path) -> None:
    from assistant.cli_copy import copy_app

    res = CliRunner().invoke(copy_app, ["--channel", "push", "--brief", BRIEF, "--audience", "Everyone",
                                        "--variants", "2", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert set(doc) == {"variants", "usage"} and set(doc["variants"][0]) == {"title", "body", "checks"}
    assert "Everyone" in doc["usage"]["audience"]
    res = CliRunner().invoke(copy_app, ["--json"])
    assert isinstance(res.exception, MaraError) and "--channel and --brief" in str(res.exception)
    res = CliRunner().invoke(copy_app, ["--channel", "sms", "--brief", "x", "--variants", "40", "--json"])
    assert isinstance(res.exception, MaraError) and "--variants" in str(res.exception)


def test_copy_render_preview_and_csv(cli_home: Path, tmp_path: Path) -> None:
    from assistant.cli_copy import copy_app

    out = tmp_path / "sms.csv"
    res = CliRunner().invoke(copy_app, [
        "render", "--audience", "Everyone", "--channel", "sms", "--brief", BRIEF,
        "--preview", "2", "--out", str(out), "--json",
    ])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["rows"] == 3 and doc["excluded_no_opt_in"] == 3 and len(doc["preview"]) == 2
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["customer_id", "text"] and len(frame) == 3
    assert all(t.startswith("Alder & Peak:") and t.endswith("Reply STOP to opt out") for t in frame["text"])
    assert "{{" not in "".join(frame["text"])
    assert all(c["passed"] for c in doc["checks"] if c["name"] in HARD)
    # a template with merge fields and a fallback from the command line
    res = CliRunner().invoke(copy_app, [
        "render", "--audience", "Everyone", "--channel", "email",
        "--template", json.dumps({"subject": "{{first_name}}, new in {{city}}", "preheader": "For {{loyalty_tier}}",
                                  "body": "Hi {{first_name}}"}),
        "--fallback", "first_name=there", "--json",
    ])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["path"] == str(cli_home / "exports" / "everyone-email.csv")
    assert doc["preview"][0]["subject"] == "Anna, new in Berlin"
    text = CliRunner().invoke(copy_app, ["render", "--audience", "Everyone", "--channel", "social",
                                         "--template", "Hi {{first_name|there}} from {{country}}"]).stdout
    assert "messages for 'Everyone'" in text and "Hi Anna from Germany" in text


def test_copy_render_bad_input(cli_home: Path) -> None:
    from assistant.cli_copy import copy_app

    def err(*args: str) -> str:
        res = CliRunner().invoke(copy_app, ["render", "--audience", "Everyone", *args])
        assert isinstance(res.exception, MaraError), res.output
        return str(res.exception)

    assert "shoe_size" in err("--channel", "sms", "--template", "Hi {{shoe_size}}")
    assert "several fields" in err("--channel", "email", "--template", "Hi")
    assert "not valid JSON" in err("--channel", "email", "--template", "{nope")
    assert "brief" in err("--channel", "sms")
    assert "FIELD=VALUE" in err("--channel", "sms", "--template", "Hi", "--fallback", "oops")
    assert "headline" in err("--channel", "push", "--template", json.dumps({"headline": "x"}))
    res = CliRunner().invoke(copy_app, ["render", "--audience", "Nobody", "--channel", "sms", "--template", "Hi"])
    assert isinstance(res.exception, MaraError) and "Nobody" in str(res.exception)


def test_render_request_for_the_api(settings: Any, cli_home: Path, tmp_path: Path) -> None:
    result = render_copy(RenderRequest(audience="Everyone", channel="sms", brief=BRIEF, variant=2,
                                       preview=1, out=str(tmp_path / "r.csv")), settings)
    assert result["rows"] == 3 and len(result["preview"]) == 1 and result["usage"]["mode"] == "offline"
    assert result["template"]["text"].startswith("Alder & Peak:")


def test_llm_prompt_carries_the_profile(settings: Any) -> None:
    reply = json.dumps({"variants": [
        {"text": "Alder & Peak: Hi {{first_name|there}}, new jackets are in. T&Cs: ap.co/terms Reply STOP to opt out"},
    ]})
    with ScriptedOpenAIServer([ScriptedReply(content=reply)]) as server:
        llm = settings.model_copy(update={"mode": None, "llm_base_url": server.base_url,
                                          "llm_model": "scripted-model", "llm_max_retries": 0})
        ctx = ToolContext(llm, chat_model_factory=make_chat_model)  # as the CLI and agent build it
        response = run_copy(CopyRequest(channel="sms", brief=BRIEF, profile=AT_RISK_HIGH, variants=1,
                                        language="it"), llm, ctx=ctx)
        prompt = json.dumps(server.requests[0]["messages"])
    assert response.usage["mode"] == "llm" and response.usage["calls"] == 1
    assert "1,840 customers" in prompt and "Jackets" in prompt and "lifecycle: winback" in prompt
    assert "Language: it" in prompt
    assert not any("Offline mode drafts only" in w for w in response.usage["warnings"])
    assert all(c["passed"] for c in response.variants[0]["checks"] if c["name"] in HARD)


def test_per_segment_sets_use_each_profile() -> None:
    from tools.copywriting.audience import draft_for_segments

    sets = draft_for_segments("push", BRIEF, ["At Risk", "New"], {"At Risk": AT_RISK_HIGH, "New": NEW_LOW},
                              variants=2)
    assert sets["At Risk"].usage["angles"][0] == "returning" and sets["New"].usage["angles"][0] == "welcome"
    assert "Jackets" in sets["At Risk"].variants[0]["title"] and "Apparel" in sets["New"].variants[0]["title"]


def test_mounted_in_a_parent_app(cli_home: Path) -> None:
    import typer

    from assistant.cli_brand import brand_app
    from assistant.cli_copy import copy_app

    app = typer.Typer()
    app.add_typer(copy_app, name="copy")
    app.add_typer(brand_app, name="brand")

    @app.command()
    def other() -> None:  # a second command so "copy" is a real subcommand
        pass

    res = CliRunner().invoke(app, ["copy", "--channel", "sms", "--brief", BRIEF, "--variants", "1", "--json"])
    assert res.exit_code == 0, res.output
    assert set(json.loads(res.stdout)) == {"variants", "usage"}
    res = CliRunner().invoke(app, ["copy", "render", "--audience", "Everyone", "--channel", "sms",
                                   "--template", "Hi {{first_name|there}}", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["rows"] == 3
    assert json.loads(CliRunner().invoke(app, ["brand", "show", "--json"]).stdout)["profile"]["name"]
