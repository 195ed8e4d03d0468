"""The thin LangChain-facing tool: ``copy_tools(ctx)`` → ``[draft_copy]`` returning ToolOutput."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from tools.context import ToolContext
from tools.declare import bound_tools, mara_tool
from tools.results import ToolOutput

if TYPE_CHECKING:
    from tools.copywriting.drafting import CopyResult

log = logging.getLogger(__name__)


def summarize(result: CopyResult, channel: str) -> str:
    """A compact text rendering of the drafts and failed checks for the model."""
    lines = [f"{len(result.variants)} {channel} variant(s) ({result.usage.get('mode')} mode)."]
    if result.usage.get("mode") == "offline":
        lines.append(str(result.usage.get("note")))
    for i, v in enumerate(result.variants, 1):
        fields = {k: val for k, val in v.items() if k != "checks"}
        lines.append(f"Variant {i}: {fields}")
        bad = [c for c in v["checks"] if not c["passed"]]
        lines.append("  checks: " + ("all passed" if not bad else "; ".join(
            f"{c['name']} failed ({c['detail']})" for c in bad)))
    lines.extend(f"Warning: {w}" for w in result.warnings)
    return "\n".join(lines)


@mara_tool(
    scope="copy",
    examples=[
        "draft an SMS for our autumn sale",
        "write three email subject lines for the jacket launch",
        "create a push notification about free shipping",
        "write a win-back email for lapsed customers",
        "give me google ads headlines for our tents",
        "compose an instagram post about the new backpack",
    ],
)
def draft_copy(
    ctx: ToolContext,
    channel: str,
    brief: str,
    variants: int = 3,
    segment: str | None = None,
    offer: str | None = None,
    tone: str | None = None,
    language: str = "en",
    audience: str | None = None,
    length: Literal["standard", "short"] = "standard",
    skip: int = 0,
    fields: list[str] | None = None,
) -> ToolOutput:
    """Draft marketing copy variants for a channel, checked against its limits and brand rules.

    channel: email | sms | push | google_rsa | meta_ad | social. brief: what the message is
    about (offer, dates, products). segment: the audience segment (e.g. "At Risk",
    "Champions") whose profile (size, top categories, order value, recency) shapes the
    framing; audience: a saved audience name instead. variants: 1-10 distinct angles.
    language: en, de, fr, es offline. length: "short" for concise drafts ("make them
    shorter"); skip: how many variants were already shown, for new angles ("more variants"). fields: only
    these fields, e.g. ["subject"] for "5 subject lines" or ["headline"]. Returns each variant's fields with its checks
    (limits, banned words, claims, disclaimers, merge fields).
    """
    # lazy: the drafting stack (brand, checks, offline lexicons) loads slowly; every chat turn builds this tool
    from tools.copywriting.cards import draft_cards
    from tools.copywriting.drafting import CopyResult
    from tools.copywriting.service import CopyRequest, run_copy

    response = run_copy(CopyRequest(
        channel=channel, brief=brief, variants=variants, segment=segment, offer=offer, tone=tone,
        language=language, audience=audience, length=length, skip=skip, fields=fields,
    ), ctx.settings, ctx=ctx)
    result = CopyResult(variants=response.variants, usage=dict(response.usage),
                        warnings=list(response.usage.get("warnings", [])))
    cards = draft_cards(channel, response.variants, brief=brief, mode=response.usage.get("mode"),
                        note=response.usage.get("note"))
    return ToolOutput(
        text=summarize(result, channel), artifacts=cards, citations=response.citations, data=response.contract()
    )


def copy_tools(ctx: ToolContext) -> list[Callable[..., ToolOutput]]:
    """The copy tools bound to ``ctx`` (wrapped for LangChain by :mod:`tools.registry`)."""
    return bound_tools(ctx, __name__)
