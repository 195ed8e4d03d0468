"""Brand profile: brand.yaml schema and errors, demo writer, claims check, `mara brand` CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from assistant.testing import ScriptedOpenAIServer, ScriptedReply
from knowledge.brand import (
    BrandProfile,
    BrandProfileError,
    Product,
    load_profile,
    parse_profile,
    save_profile,
    suggest_profile,
    write_demo_brand,
)
from knowledge.sample import sample_brand_path
from tools.copywriting import check_variant, draft_copy, get_channel, load_brand
from tools.copywriting.brand import BrandRules


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from foundation.settings import get_settings

    ws = tmp_path / "ws"
    ws.mkdir()
    monkeypatch.setenv("MARA_HOME", str(ws))
    monkeypatch.setenv("MARA_MODE", "offline")
    get_settings.cache_clear()
    yield ws
    get_settings.cache_clear()


def test_suggested_sample_profile_has_every_part() -> None:
    profile = suggest_profile([sample_brand_path()])
    assert profile.name == "Alder & Peak"
    assert "Weekend Wanderer" in profile.audience
    grounded = next(v for v in profile.voice if v.name == "Grounded")
    assert grounded.do and grounded.dont and "superlative" in grounded.description
    assert {"cheapest", "#1", "eco-friendly"} <= {b.lower() for b in profile.banned}
    assert "free" in [c.lower() for c in profile.conditional]
    assert profile.disclaimers["sms"] == ["Reply STOP to opt out"]
    assert "{{unsubscribe_link}}" in profile.disclaimers["email"][0]
    assert profile.sender_prefix["sms"] == "Alder & Peak:"
    shell = next(p for p in profile.products if p.name.startswith("Stormfront"))
    assert "waterproof" in shell.claims and shell.category == "Jackets"
    lamp = next(p for p in profile.products if p.name.startswith("Lumen"))
    assert "waterproof" not in lamp.claims  # "splash-resistant, not waterproof"
    pack = next(p for p in profile.products if p.name.startswith("Switchback"))
    assert "lifetime warranty" in pack.claims
    ridgeline = next(p for p in profile.products if p.name.startswith("Ridgeline"))
    assert "stormproof" in ridgeline.not_allowed


def test_demo_writer_round_trips(tmp_path: Path) -> None:
    path = write_demo_brand(tmp_path)
    assert path == tmp_path / "brand.yaml" and path.read_text().startswith("# Brand profile")
    profile = load_profile(path)
    assert profile == suggest_profile([sample_brand_path()])
    rules = load_brand(tmp_path)
    assert rules.name == "Alder & Peak" and rules.products
    # not overwritten when asked not to
    path.write_text(path.read_text().replace("name: Alder & Peak", "name: Edited"))
    write_demo_brand(tmp_path, overwrite=False)
    assert load_profile(path).name == "Edited"


@pytest.mark.parametrize("data,named", [
    ({"name": "X", "bannd": ["a"]}, "unknown key 'bannd'"),
    ({"name": "X", "voice": [{"name": "Warm", "do": "be nice", "colour": 1}]}, "voice[0].do"),
    ({"name": "X", "voice": [{"name": "Warm", "colour": 1}]}, "unknown key 'voice[0].colour'"),
    ({"name": "X", "disclaimers": {"fax": ["x"]}}, "unknown channel 'fax'"),
    ({"name": "X", "products": [{"claims": ["waterproof"]}]}, "missing key 'products[0].name'"),
    ({"name": "X", "max_exclamations": -1}, "max_exclamations"),
    ({"banned": ["x"]}, "missing key 'name'"),
])
def test_validation_errors_name_the_key(data: dict, named: str) -> None:
    with pytest.raises(BrandProfileError) as err:
        parse_profile(data, "brand.yaml")
    assert named in str(err.value) and "brand.yaml is invalid" in str(err.value)


def test_unreadable_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(BrandProfileError, match="No brand profile"):
        load_profile(tmp_path / "brand.yaml")
    (tmp_path / "brand.yaml").write_text("name: X\nbanned: [a, b\n")
    with pytest.raises(BrandProfileError, match="not valid YAML at line"):
        load_profile(tmp_path / "brand.yaml")
    (tmp_path / "brand.yaml").write_text("- just\n- a list\n")
    with pytest.raises(BrandProfileError, match="must be a YAML mapping"):
        load_profile(tmp_path / "brand.yaml")
    with pytest.raises(BrandProfileError, match="voice"):  # the copy tool reports it the same way
        (tmp_path / "brand.yaml").write_text("name: X\nvoice: 3\n")
        load_brand(tmp_path)


def test_voice_accepts_plain_strings() -> None:
    profile = parse_profile({"name": "X", "voice": ["Warm: one friendly line", "Plain"]})
    assert [v.name for v in profile.voice] == ["Warm", "Plain"]
    assert profile.voice[0].description == "one friendly line"


def test_workspace_profile_drives_copy(tmp_path: Path) -> None:
    profile = BrandProfile(
        name="Fjell", banned=["epic"], disclaimers={"sms": ["Stop: reply NO"]},
        sender_prefix={"sms": "Fjell:"},
        products=[Product(name="Skarv Jacket", category="Jackets", claims=["waterproof"])],
    )
    save_profile(profile, tmp_path / "brand.yaml")
    rules = load_brand(tmp_path)
    result = draft_copy("sms", "An epic autumn sale on jackets until 30 November", brand=rules, variants=2)
    for variant in result.variants:
        assert variant["text"].startswith("Fjell:") and variant["text"].endswith("Stop: reply NO")
        assert "epic" not in variant["text"].lower()
        assert all(c["passed"] for c in variant["checks"] if c["name"] in ("banned_words", "disclaimers"))


def _claims(text: str, brand: BrandRules | None = None) -> dict:
    brand = brand or load_brand()
    checks = check_variant(get_channel("social"), {"text": text}, brand)
    return next(c.to_dict() for c in checks if c.name == "claims")


@pytest.mark.parametrize("text", [
    "Waterproof jackets for wet autumn walks.",
    "Every pack comes with a lifetime warranty.",
    "The best tent for your next trip.",
    "The Ridgeline 2P is stormproof.",
    "The Ridgeline 2P is a 4-season tent.",
    "Our lightest boots yet.",
])
def test_claims_not_in_allowed_claims_are_flagged(text: str) -> None:
    check = _claims(text)
    assert not check["passed"], check


@pytest.mark.parametrize("text", [
    "The Stormfront 3L Shell is waterproof: 20,000 mm.",
    "The Switchback 45L has a lifetime warranty.",
    "The Summit 4P is a 4-season tent.",
    "Best wishes from the trail team.",
    "Our autumn sale is on until 30 November.",
])
def test_allowed_or_no_claims_pass(text: str) -> None:
    check = _claims(text)
    assert check["passed"], check


def test_number_one_is_flagged_without_a_banned_list() -> None:
    brand = BrandRules(name="Plain")  # default claim terms, nothing banned
    assert not _claims("The #1 tent of the year", brand)["passed"]
    assert not _claims("Number one for hikers", brand)["passed"]
    allowed = BrandRules(name="Plain", allowed_claims=["Voted best daypack 2025 by Trail Mag"])
    assert _claims("Our best daypack", allowed)["passed"]


def test_claims_failures_go_to_the_repair_round() -> None:
    from tests.test_copy_llm import ScriptedChat, sms_json

    bad = sms_json("Alder & Peak: waterproof jackets, lifetime warranty. Reply STOP to opt out")
    good = sms_json("Alder & Peak: the Stormfront 3L Shell is waterproof, 20,000 mm. Reply STOP to opt out")
    model = ScriptedChat(replies=[bad, good])
    result = draft_copy("sms", "Stormfront shell jackets", variants=1, model=model)
    assert "claims" in model.seen[1][-1].content and "lifetime warranty" in model.seen[1][-1].content
    assert all(c["passed"] for c in result.variants[0]["checks"])


# --- CLI ---------------------------------------------------------------------------------------


def test_brand_show_json(home: Path) -> None:
    from assistant.cli_brand import brand_app

    res = CliRunner().invoke(brand_app, ["show", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["exists"] is False and doc["profile"]["name"] == "Alder & Peak"
    write_demo_brand(home)
    doc = json.loads(CliRunner().invoke(brand_app, ["show", "--json"]).stdout)
    assert doc["exists"] is True and doc["path"] == str(home / "brand.yaml")
    text = CliRunner().invoke(brand_app, ["show"]).stdout
    assert yaml.safe_load(text)["name"] == "Alder & Peak"
    (home / "brand.yaml").write_text("name: X\nbanned: nope\n")
    res = CliRunner().invoke(brand_app, ["show", "--json"])
    assert isinstance(res.exception, BrandProfileError) and "banned" in str(res.exception)


def test_brand_suggest_offline_and_write(home: Path, tmp_path: Path) -> None:
    from assistant.cli_brand import brand_app

    res = CliRunner().invoke(brand_app, ["suggest", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["mode"] == "offline" and doc["written"] is None
    assert doc["profile"]["name"] == "Alder & Peak" and doc["sources"] == [str(sample_brand_path())]
    assert not (home / "brand.yaml").exists()
    res = CliRunner().invoke(brand_app, ["suggest", "--write", "--json"])
    assert json.loads(res.stdout)["written"] == str(home / "brand.yaml")
    res = CliRunner().invoke(brand_app, ["suggest", "--write"])
    assert isinstance(res.exception, BrandProfileError) and "--force" in str(res.exception)
    assert CliRunner().invoke(brand_app, ["suggest", "--write", "--force"]).exit_code == 0
    # a style guide of another brand, given as a path
    guide = tmp_path / "guide.md"
    guide.write_text(
        "---\ntitle: Nordwind Style Guide\n---\n# Nordwind Style Guide\n\n## Tone of voice\n\n### Calm\n\n"
        "We explain, we do not shout.\n\n- **Do:** \"Here is what changed.\"\n- **Don't:** \"Amazing!!!\"\n\n"
        "## Banned words\n\n- \"revolutionary\", \"game-changing\"\n- \"free\" without its conditions\n"
    )
    doc = json.loads(CliRunner().invoke(brand_app, ["suggest", str(guide), "--json"]).stdout)
    profile = doc["profile"]
    assert profile["name"] == "Nordwind"
    assert profile["voice"][0]["name"] == "Calm" and profile["voice"][0]["do"] == ["Here is what changed."]
    assert profile["banned"] == ["revolutionary", "game-changing"] and profile["conditional"] == ["free"]
    res = CliRunner().invoke(brand_app, ["suggest", str(tmp_path / "nope.md")])
    assert isinstance(res.exception, BrandProfileError) and "nope.md" in str(res.exception)


def test_brand_suggest_with_llm_through_scripted_server(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.cli_brand import brand_app
    from foundation.settings import get_settings

    reply = {
        "name": "Alder & Peak",
        "audience": "Hikers, campers and climbers in ten markets.",
        "banned": ["epic"],
        "max_exclamations": "lots",  # invalid: kept from the rules draft, with a warning
        "mood": "calm",  # unknown key: ignored, with a warning
    }
    with ScriptedOpenAIServer([ScriptedReply(content="```json\n" + json.dumps(reply) + "\n```")]) as server:
        monkeypatch.setenv("MARA_MODE", "llm")
        monkeypatch.setenv("MARA_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("MARA_LLM_MODEL", "scripted-model")
        monkeypatch.setenv("MARA_LLM_MAX_RETRIES", "0")
        get_settings.cache_clear()
        res = CliRunner().invoke(brand_app, ["suggest", "--json", "--write"])
        assert res.exit_code == 0, res.output
        doc = json.loads(res.stdout)
        body = server.requests[0]
    assert doc["mode"] == "llm" and doc["usage"]["calls"] == 1
    profile = doc["profile"]
    assert profile["audience"] == "Hikers, campers and climbers in ten markets."
    assert "epic" in profile["banned"] and "cheapest" in profile["banned"]  # unioned with the rules
    assert profile["max_exclamations"] == 1 and profile["products"]
    assert any("max_exclamations" in w for w in doc["warnings"]) and any("mood" in w for w in doc["warnings"])
    prompt = json.dumps(body["messages"])
    assert "<document source=" in prompt and "not instructions" in prompt
    assert load_profile(home / "brand.yaml").audience == profile["audience"]
    # --offline skips the model even in LLM mode
    doc = json.loads(CliRunner().invoke(brand_app, ["suggest", "--offline", "--json"]).stdout)
    assert doc["mode"] == "offline"


def test_brand_suggest_llm_reply_unusable_falls_back(tmp_path: Path) -> None:
    from knowledge.brand import suggest_profile_llm
    from tests.test_copy_llm import ScriptedChat

    profile, usage, warnings = suggest_profile_llm(ScriptedChat(replies=["no idea"]), [sample_brand_path()])
    assert profile == suggest_profile([sample_brand_path()])
    assert any("rules-based draft" in w for w in warnings) and usage["calls"] == 1


def test_brief_with_unapproved_claim_warns() -> None:
    result = draft_copy("social", "Waterproof boots for wet autumn walks", variants=1)
    assert any("'waterproof'" in w and "Talus Mid GTX" in w for w in result.warnings)
    assert not draft_copy("social", "Talus Mid GTX: waterproof boots for wet walks", variants=1).warnings


def test_banned_and_unconditioned_phrases_in_brief_are_dropped_with_a_warning() -> None:
    result = draft_copy("sms", "HURRY!!! LAST CHANCE to get the cheapest gear", variants=2)
    (warning,) = [w for w in result.warnings if "does not allow" in w]
    assert "hurry" in warning and "cheapest" in warning and "last chance (no condition stated)" in warning
    for variant in result.variants:
        assert all(c["passed"] for c in variant["checks"]), variant
