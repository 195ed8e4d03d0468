"""The model half of drafting: prompt, JSON parsing, check-driven repair rounds, usage."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from foundation.tokens import count_message_tokens, count_tokens
from prompts import load_data
from tools.copywriting.brand import BrandRules
from tools.copywriting.brief import BriefParts
from tools.copywriting.channels import ChannelSpec
from tools.copywriting.checks import Check, Fields, check_variant


def _fill(template: str, values: dict[str, Any]) -> str:
    for key, value in values.items():
        template = template.replace(f"<<{key}>>", str(value))
    return template


def build_messages(
    spec: ChannelSpec, brief: str, brand: BrandRules, *, variants: int, segment: str | None,
    offer: str | None, tone: str | None, language: str, merge_fields: Sequence[str],
    facts: Sequence[str], has_offer: bool, parts: BriefParts | None = None,
) -> list[Any]:
    """System and user messages for the first drafting call.

    With ``parts`` (the brief read by :func:`~tools.copywriting.brief.read_brief`), the model gets
    what to say (topic, offer, code, deadline, condition, proof points) apart from how and to whom
    (tone, audience, length, constraints), the latter as instructions it must not quote.
    """
    # lazy: langchain_core, pydantic load slowly; only this path needs them
    from langchain_core.messages import HumanMessage, SystemMessage

    prompt = load_data("copy_draft")
    fields = "\n".join(
        f"- {f.name}: " + (f"list of {f.min_items}–{f.max_items} strings, each ≤ {f.max_chars}"
                           if f.is_list else f"≤ {f.max_chars}")
        for f in spec.fields
    )
    if spec.sms is not None:
        fields += "\n- use GSM-7 characters only (straight quotes, no emoji, a temperature as -1C) to stay in one SMS"
    required = brand.required_for(spec.name, has_offer=has_offer)
    prefix = brand.sender_prefix.get(spec.name)
    notes = []
    if prefix:
        notes.append(f'Start {spec.disclaimer_field} with "{prefix}".')
    if required:
        notes.append(f"End {spec.disclaimer_field} with, in order: " + " | ".join(required))
    values = {
        "brand": brand.name, "voice": "\n".join(f"- {v}" for v in brand.voice) or "- clear, warm",
        "banned": ", ".join(brand.banned) or "(none)", "conditional": ", ".join(brand.conditional) or "(none)",
        "claims": "\n".join(
            [f"- {p.name}: {', '.join(p.claims)}" for p in brand.products if p.claims]
            + [f"- (any): {c}" for c in brand.allowed_claims]) or "- (none listed)",
        "claim_terms": ", ".join(f'"{t}"' for t in brand.claim_terms[:12]) or "(none)",
        "merge_fields": ", ".join(merge_fields), "channel": spec.name, "label": spec.label,
        "merge_width": spec.merge_field_width, "fields": fields, "disclaimers": "\n".join(notes),
        "brief": brief.strip(), "offer": offer or "(none)", "segment": segment or "(all customers)",
        "tone": tone or "brand voice", "language": language, "variants": variants,
        "facts": "\n".join(f"- {f}" for f in facts) or "- (none retrieved)",
        "example": ", ".join(f'"{f.name}": ' + ('["..."]' if f.is_list else '"..."') for f in spec.fields),
        **_brief_values(parts, tone, segment),
    }
    return [SystemMessage(_fill(prompt["system"], values)), HumanMessage(_fill(prompt["user"], values))]


def _brief_values(parts: BriefParts | None, tone: str | None, segment: str | None) -> dict[str, str]:
    """Prompt values for the brief's content and its instructions (kept apart)."""
    if parts is None:
        return {"content": "- (see the brief)", "instructions": "- (none beyond the brief)", "must_know": "(none)"}
    content = [
        ("Topic", parts.topic), ("Purpose", parts.purpose.replace("_", " ")), ("Offer", parts.offer),
        ("Condition of the offer", parts.condition), ("Code", parts.code), ("Deadline", parts.deadline),
        ("Event date", parts.when), ("Product", parts.product), ("Link", parts.link), ("Call to action", parts.cta),
        ("Proof points", "; ".join(parts.proof)),
    ]
    steer = [
        ("Tone", ", ".join([*(parts.tone_words or []), *([tone] if tone else [])])),
        ("Written for (shape the angle; never name them in a subject line or headline)",
         ", ".join(x for x in (parts.audience, segment) if x)),
        ("Length", "short: about half the channel's limits" if parts.length == "short" else None),
        ("No discount", "do not mention any discount, price or code" if parts.no_discount else None),
        ("No hard sell", "no urgency, no pressure; state facts and dates plainly" if parts.soft_sell else None),
        ("Fields asked for", ", ".join(parts.fields)),
        ("Other instructions", "; ".join(parts.instructions)),
    ]
    return {
        "content": "\n".join(f"- {k}: {v}" for k, v in content if v) or "- (see the brief)",
        "instructions": "\n".join(f"- {k}: {v}" for k, v in steer if v) or "- (none beyond the brief)",
        "must_know": "; ".join(parts.must_know) or "(none)",
    }


def llm_drafts(
    model: Any, spec: ChannelSpec, brief: str, brand: BrandRules, *, variants: int,
    segment: str | None, offer: str | None, tone: str | None, language: str,
    merge_fields: Sequence[str], facts: Sequence[str], repair_rounds: int, has_offer: bool,
    parts: BriefParts | None = None,
) -> tuple[list[Fields], dict[str, Any], list[str]]:
    """(drafts before fitting, usage, warnings) after up to ``repair_rounds`` repair rounds."""
    # lazy: langchain_core, pydantic load slowly; only this path needs them
    from langchain_core.messages import AIMessage, HumanMessage

    messages = build_messages(
        spec, brief, brand, variants=variants, segment=segment, offer=offer, tone=tone,
        language=language, merge_fields=merge_fields, facts=facts, has_offer=has_offer, parts=parts,
    )
    prompt_tokens = completion_tokens = calls = rounds = 0
    drafts: list[Fields] = []
    warnings: list[str] = []
    repair_template = str(load_data("copy_draft")["repair"])
    for round_no in range(repair_rounds + 1):
        prompt_tokens += count_message_tokens(messages)
        reply = model.invoke(messages)
        calls += 1
        content = reply.content if isinstance(reply.content, str) else str(reply.content)
        completion_tokens += count_tokens(content)
        problems: list[str] = []
        try:
            parsed = parse_variants(content, spec)
            drafts = parsed or drafts
            for i, d in enumerate(parsed[:variants], 1):
                bad = failed(check_variant(spec, d, brand, merge_fields, has_offer=has_offer))
                problems.extend(f"variant {i}: {c.name}: {c.detail}" for c in bad)
            if len(parsed) < variants:
                problems.append(f"only {len(parsed)} variants; write {variants}")
        except (ValueError, TypeError) as exc:
            problems.append(f"the reply could not be used: {exc}")
        if not problems:
            break
        if round_no == repair_rounds:
            warnings.append(
                f"After {repair_rounds} repair round(s) some checks still failed; "
                "the fitter enforced the hard limits and disclaimers."
            )
            break
        rounds += 1
        messages = [*messages, AIMessage(content), HumanMessage(
            repair_template.replace("<<variants>>", str(variants)).replace(
                "<<problems>>", "\n".join(f"- {p}" for p in problems)))]
    name = getattr(model, "model_name", None) or getattr(model, "model", None)
    name = str(name) if name else type(model).__name__
    price = price_of(name)
    cost = 0.0 if price is None else (prompt_tokens * price[0] + completion_tokens * price[1]) / 1000
    usage = {
        "mode": "llm", "model": name, "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens,
        "cost": round(cost, 6), "price_known": price is not None, "calls": calls,
        "repair_rounds": rounds,
    }
    return drafts[:variants], usage, warnings


def parse_variants(content: str, spec: ChannelSpec) -> list[Fields]:
    """Variants from a model reply (JSON, possibly fenced); raises ``ValueError`` when unusable."""
    text = content.strip()
    fence = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    if fence:
        text = fence.group(1)
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise ValueError("no JSON object in the reply")
    data = json.loads(text[start : end + 1])
    items = data.get("variants") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise ValueError('the JSON object needs a non-empty "variants" list')
    out: list[Fields] = []
    for item in items:
        if not isinstance(item, dict):
            raise ValueError("each variant must be a JSON object")
        fields: Fields = {}
        for f in spec.fields:
            value = item.get(f.name)
            if f.is_list:
                fields[f.name] = [str(v) for v in value] if isinstance(value, list) else []
            else:
                fields[f.name] = str(value) if value is not None else ""
        out.append(fields)
    return out


def failed(checks: Sequence[Check]) -> list[Check]:
    return [c for c in checks if not c.passed]


def price_of(model_name: str | None) -> tuple[float, float] | None:
    """(prompt, completion) USD per 1k tokens for ``model_name`` from the price table."""
    if not model_name:
        return None
    table: dict[str, Any] = load_data("copy_prices").get("models", {})
    for name in sorted(table, key=len, reverse=True):
        if model_name.startswith(name):
            p = table[name]
            return float(p.get("prompt", 0)), float(p.get("completion", 0))
    return None
