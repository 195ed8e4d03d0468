"""Drafting with a scripted chat model (repair loop + fitter), bad input, CLI and tool."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from foundation.errors import MaraError, ToolInputError
from tools.copywriting import draft_copy

HARD = {"length", "items", "sms_segments"}


class ScriptedChat(BaseChatModel):
    """Returns the scripted replies in order (the last one repeats) and records each prompt."""

    replies: list[str]
    seen: list[list[BaseMessage]] = Field(default_factory=list)
    model_name: str = "gpt-4o-mini"

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        self.seen.append(list(messages))
        reply = self.replies[min(len(self.seen) - 1, len(self.replies) - 1)]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(reply))])


def sms_json(*texts: str) -> str:
    return json.dumps({"variants": [{"text": t} for t in texts]})


BAD_SMS = sms_json(
    "HURRY!!! The cheapest tents of the season are here, " + "lovely gear " * 20,  # long, banned, no opt-out
    "Our autumn sale has 20% off tents until 30 November, come and see the range",  # no sender/opt-out
)
GOOD_SMS = sms_json(
    "Alder & Peak: 20% off selected tents until 30 November. T&Cs: ap.co/terms Reply STOP to opt out",
    "Alder & Peak: Hi {{first_name|there}}, tents are 20% off until 30 November. T&Cs: ap.co/terms Reply STOP to opt out",
)


def test_repair_round_fixes_bad_drafts() -> None:
    model = ScriptedChat(replies=[BAD_SMS, GOOD_SMS])
    result = draft_copy("sms", "Autumn sale: 20% off tents until 30 November", variants=2, model=model)
    assert result.usage["calls"] == 2 and result.usage["repair_rounds"] == 1
    repair_prompt = model.seen[1][-1].content
    assert "banned_words" in repair_prompt and "disclaimers" in repair_prompt and "length" in repair_prompt
    for variant in result.variants:
        assert all(c["passed"] for c in variant["checks"]), variant
    assert result.usage["mode"] == "llm"
    assert result.usage["prompt_tokens"] > 100 and result.usage["completion_tokens"] > 20
    assert result.usage["cost"] > 0 and result.usage["price_known"]


GOLD = "Introduce the new trail-running range to our Gold members; upbeat, keep it brief"


def test_the_prompt_gives_the_briefs_topic_as_content() -> None:
    model = ScriptedChat(replies=[GOOD_SMS])
    draft_copy("sms", GOLD, variants=2, model=model)
    content = model.seen[0][-1].content.split("What to say (content):")[1].split("How and to whom")[0]
    assert "- Topic: the new trail-running range" in content and "Gold" not in content


def test_the_prompt_gives_tone_audience_and_length_as_instructions() -> None:
    model = ScriptedChat(replies=[GOOD_SMS])
    draft_copy("sms", GOLD, variants=2, model=model)
    steer = model.seen[0][-1].content.split("How and to whom (instructions, not content):")[1]
    assert ["- Tone: upbeat" in steer, "never name them in a subject line or headline): our Gold members" in steer,
            "- Length: short" in steer] == [True, True, True]


def test_fitter_fixes_what_repair_rounds_did_not() -> None:
    model = ScriptedChat(replies=[BAD_SMS])  # never learns
    result = draft_copy("sms", "Autumn sale: 20% off tents until 30 November", variants=2,
                        model=model, repair_rounds=2)
    assert result.usage["calls"] == 3
    assert any("repair round" in w for w in result.warnings)
    for variant in result.variants:
        checks = {c["name"]: c["passed"] for c in variant["checks"]}
        assert all(checks[name] for name in HARD)
        assert checks["banned_words"] and checks["disclaimers"]
        assert variant["text"].endswith("Reply STOP to opt out")


@pytest.mark.parametrize("channel,reply", [
    ("email", {"variants": [{"subject": "A very long subject line that goes on and on and on about the sale",
                             "preheader": "x " * 80, "body": "Dear Valued Customer, best in the world!!!"}]}),
    ("push", {"variants": [{"title": "T" * 80, "body": "Completely safe gear " * 20}]}),
    ("google_rsa", {"variants": [{"headlines": ["This headline is far too long for an RSA ad"],
                                  "descriptions": ["d " * 100]}]}),
    ("meta_ad", {"variants": [{"primary_text": "p " * 100, "headline": "h " * 40}]}),
    ("social", {"variants": [{"text": "Unbreakable " * 40}]}),
])
def test_every_channel_hard_limits_after_bad_model(channel: str, reply: dict) -> None:
    model = ScriptedChat(replies=[json.dumps(reply)])
    result = draft_copy(channel, "Autumn sale on tents until 30 November", variants=2, model=model,
                        repair_rounds=1)
    assert len(result.variants) == 2  # the missing one is an offline draft
    for variant in result.variants:
        checks = {c["name"]: c["passed"] for c in variant["checks"]}
        assert all(checks[name] for name in HARD if name in checks), variant
        assert checks["banned_words"], variant


def test_non_json_reply_falls_back_to_offline_drafts() -> None:
    model = ScriptedChat(replies=["Sorry, I can't help with that."])
    result = draft_copy("push", "New Ridgeline tent", variants=2, model=model, repair_rounds=1)
    assert len(result.variants) == 2 and result.usage["calls"] == 2
    assert any("offline drafts" in w for w in result.warnings)


def test_unknown_channel_lists_accepted() -> None:
    with pytest.raises(ToolInputError) as err:
        draft_copy("fax", "Autumn sale")
    assert "fax" in str(err.value) and "sms" in str(err.value) and "google_rsa" in str(err.value)


@pytest.mark.parametrize("brief", ["", "   "])
def test_empty_brief(brief: str) -> None:
    with pytest.raises(ToolInputError, match="brief is empty"):
        draft_copy("sms", brief)


def test_unknown_merge_field_in_brief() -> None:
    with pytest.raises(ToolInputError, match="shoe_size"):
        draft_copy("sms", "Hi {{shoe_size}}, new boots", merge_fields=["first_name"])


def test_variant_count_range() -> None:
    with pytest.raises(ToolInputError, match="variants"):
        draft_copy("sms", "Autumn sale", variants=0)


def test_brief_in_another_language_warns() -> None:
    result = draft_copy("sms", "Herbstverkauf: 20% auf Jacken und Zelte bis zum 30. November für unsere Kunden")
    assert any("German" in w for w in result.warnings)
    assert result.to_dict()["usage"]["warnings"] == result.warnings
    result = draft_copy("sms", "Autumn sale", language="it")
    assert any("Offline mode drafts only in en, de, fr, es" in w for w in result.warnings)
    assert result.usage["language"] == "en"
    result = draft_copy("sms", "Autumn sale", language="de")
    assert result.usage["language"] == "de"
    assert not any("Offline mode drafts only" in w for w in result.warnings)


def test_cli_json_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from assistant.cli_copy import copy_app

    monkeypatch.setenv("MARA_HOME", str(tmp_path))
    monkeypatch.setenv("MARA_MODE", "offline")
    from foundation.settings import get_settings

    if hasattr(get_settings, "cache_clear"):
        get_settings.cache_clear()
    res = CliRunner().invoke(copy_app, ["--channel", "sms", "--brief", "Autumn sale until 30 November",
                                        "--segment", "At Risk", "--variants", "2", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert set(doc) == {"variants", "usage"} and len(doc["variants"]) == 2
    assert set(doc["variants"][0]) == {"text", "checks"}
    bad = CliRunner().invoke(copy_app, ["--channel", "fax", "--brief", "x", "--json"])
    assert isinstance(bad.exception, MaraError)


def test_tool_returns_tool_output(settings: Any) -> None:
    from tools.context import ToolContext
    from tools.copywriting.tool import copy_tools

    (tool,) = copy_tools(ToolContext(settings))
    assert tool.__name__ == "draft_copy"
    out = tool(channel="email", brief="Autumn sale: 20% off jackets until 30 November", segment="Champions")
    assert set(out.data) == {"variants", "usage"}
    assert "offline" in out.text.lower() and "Variant 1" in out.text
    assert out.citations == []  # no knowledge base in this workspace


def test_unknown_merge_fields_from_model_are_replaced_by_fallbacks() -> None:
    reply = sms_json("Alder & Peak: Hi {{nickname|friend}} {{shoe}}, new boots. Reply STOP to opt out")
    model = ScriptedChat(replies=[reply])
    result = draft_copy("sms", "New boots", variants=1, model=model, repair_rounds=0,
                        merge_fields=["first_name"])
    text = result.variants[0]["text"]
    assert "{{" not in text and "Hi friend" in text
    assert all(c["passed"] for c in result.variants[0]["checks"] if c["name"] == "merge_fields")


def test_tool_wraps_for_langchain(settings: Any) -> None:
    from tools.context import ToolContext
    from tools.copywriting.tool import copy_tools
    from tools.registry import wrap_tool

    tool = wrap_tool(copy_tools(ToolContext(settings))[0], token_budget=1500)
    assert tool.name == "draft_copy" and {"channel", "brief", "segment"} <= set(tool.args)
    message = tool.invoke({"type": "tool_call", "id": "1", "name": "draft_copy",
                           "args": {"channel": "sms", "brief": "Autumn sale until 30 November"}})
    assert "Variant 1" in message.content and message.artifact["data"]["variants"]
