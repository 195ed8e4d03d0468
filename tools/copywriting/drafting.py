"""``draft_copy``: drafts for a channel, with a chat model (validate, repair, fit) or offline.

With a LangChain chat model the prompt ``prompts/copy_draft.yaml`` asks for JSON drafts;
every variant is checked and failures go back to the model for up to ``repair_rounds``
rounds; then the deterministic fitter enforces hard limits and disclaimers. Missing
variants are filled by the offline generator (with a warning). Without a model the
offline generator writes every variant. Tokens are counted with tiktoken; cost comes
from ``prompts/copy_prices.yaml``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.errors import ToolInputError
from prompts import load_data
from tools.copywriting.brand import BrandRules, sample_brand
from tools.copywriting.channels import ChannelSpec, get_channel, merge_fields_in
from tools.copywriting.checks import (
    ALWAYS_AVAILABLE,
    DEFAULT_MERGE_FIELDS,
    Check,
    Fields,
    check_variant,
)
from tools.copywriting.fitter import fit_variant
from tools.copywriting.offline import detect_language, offline_variants

MAX_VARIANTS = 10
OFFLINE_NOTE = "Offline draft: written by Mara's template generator, not a language model."


@dataclass(slots=True)
class CopyResult:
    """Drafted variants (channel fields + checks) and usage; ``to_dict`` is the JSON contract."""

    variants: list[dict[str, Any]]
    usage: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"variants": self.variants, "usage": {**self.usage, "warnings": self.warnings}}


def _validate_inputs(
    spec: ChannelSpec, brief: str, variants: int, merge_fields: Sequence[str]
) -> None:
    if not brief or not brief.strip():
        raise ToolInputError(
            "The brief is empty.",
            hint="Describe the message, e.g. 'Autumn sale: 20% off jackets until 30 November'.",
        )
    if not 1 <= variants <= MAX_VARIANTS:
        raise ToolInputError(f"variants must be 1–{MAX_VARIANTS}, got {variants}.")
    unknown = sorted(set(merge_fields_in(brief)) - set(merge_fields) - set(ALWAYS_AVAILABLE))
    if unknown:
        raise ToolInputError(
            f"Unknown merge field(s) in the brief: {', '.join(unknown)}.",
            hint=f"Available: {', '.join(sorted(set(merge_fields) | set(ALWAYS_AVAILABLE)))}.",
        )


def _warnings(brief: str, language: str, model: Any) -> list[str]:
    out: list[str] = []
    detected = detect_language(brief)
    if detected:
        out.append(
            f"The brief looks {detected}; "
            + ("offline drafts are written in English only, check the wording."
               if model is None else f"drafts were requested in language '{language}'.")
        )
    if model is None and language.lower() not in ("en", "english") and not language.lower().startswith("en-"):
        out.append(f"Language '{language}' requested, but offline drafts are English only.")
    return out


def draft_copy(
    channel: str,
    brief: str,
    *,
    variants: int = 3,
    segment: str | None = None,
    offer: str | None = None,
    tone: str | None = None,
    language: str = "en",
    brand: BrandRules | None = None,
    model: Any = None,
    merge_fields: Sequence[str] | None = None,
    facts: Sequence[str] = (),
    repair_rounds: int = 2,
) -> CopyResult:
    """Draft ``variants`` distinct variants for ``channel`` from ``brief``.

    ``model`` is an optional LangChain chat model; ``merge_fields`` are the audience columns
    usable as ``{{field}}`` (default: common customer columns); ``facts`` are brand passages
    given to the model. Raises :class:`ToolInputError` for an unknown channel, an empty brief,
    an unknown merge field or an out-of-range variant count.
    """
    spec = get_channel(channel)
    brand = brand or sample_brand()
    available = list(merge_fields or DEFAULT_MERGE_FIELDS)
    _validate_inputs(spec, brief, variants, available)
    warnings = _warnings(brief, language, model)
    offline, parsed, angles = offline_variants(
        spec, brief, brand, variants=variants, segment=segment, offer=offer, tone=tone
    )
    has_offer = parsed.offer is not None
    if model is None:
        drafts = offline
        usage: dict[str, Any] = {
            "mode": "offline", "model": None, "prompt_tokens": 0, "completion_tokens": 0,
            "total_tokens": 0, "cost": 0.0, "calls": 0, "repair_rounds": 0, "angles": angles,
            "note": OFFLINE_NOTE,
        }
    else:
        from tools.copywriting.llm import llm_drafts

        drafts, usage, llm_warnings = llm_drafts(
            model, spec, brief, brand, variants=variants, segment=segment, offer=offer or parsed.offer,
            tone=tone, language=language, merge_fields=available, facts=facts,
            repair_rounds=repair_rounds, has_offer=has_offer,
        )
        warnings.extend(llm_warnings)
        drafts = [
            fit_variant(spec, d, brand, has_offer=has_offer, defaults=offline[i % len(offline)],
                        merge_fields=available)
            for i, d in enumerate(drafts)
        ]
        if len(drafts) < variants:
            warnings.append(
                f"The model returned {len(drafts)} of {variants} variants; "
                "the rest are offline drafts."
            )
            drafts.extend(offline[len(drafts):variants])
    out = []
    for d in drafts[:variants]:
        checks = check_variant(spec, d, brand, available, has_offer=has_offer)
        out.append({**{f.name: d.get(f.name) for f in spec.fields}, "checks": [c.to_dict() for c in checks]})
    return CopyResult(variants=out, usage=usage, warnings=warnings)


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
