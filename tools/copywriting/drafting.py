"""``draft_copy``: drafts for a channel, with a chat model (validate, repair, fit) or offline.

With a LangChain chat model the prompt ``prompts/copy_draft.yaml`` asks for JSON drafts;
every variant is checked and failures go back to the model for up to ``repair_rounds``
rounds; then the deterministic fitter enforces hard limits and disclaimers. Missing
variants are filled by the offline generator (with a warning). Without a model the
offline generator writes every variant. Tokens are counted with tiktoken; cost comes
from ``prompts/copy_prices.yaml``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from foundation.errors import ToolInputError
from tools.copywriting.brand import BrandRules, sample_brand
from tools.copywriting.channels import ChannelSpec, get_channel, is_gsm7, merge_fields_in
from tools.copywriting.checks import (
    ALWAYS_AVAILABLE,
    DEFAULT_MERGE_FIELDS,
    check_variant,
    claims_check,
)
from tools.copywriting.fitter import fit_variant, unfixable
from tools.copywriting.gsm7 import to_gsm7
from tools.copywriting.llm import llm_drafts
from tools.copywriting.offline import (
    SUPPORTED_LANGUAGES,
    BriefParts,
    CatalogItem,
    as_catalog,
    brief_phrases_to_drop,
    detect_language,
    must_phrases,
    offline_variants,
    parse_brief,
    phrases,
    resolve_language,
)
from tools.copywriting.profile import AudienceProfile, as_profile

MAX_VARIANTS = 10
# "headline" and "cta" asked of a channel: the field that plays that part there
FIELD_ALIASES = {
    "email": {"headline": "subject", "title": "subject", "cta": "body", "description": "preheader"},
    "push": {"headline": "title", "subject": "title", "description": "body"},
    "meta_ad": {"title": "headline", "subject": "headline", "body": "primary_text", "cta": "description"},
    "google_rsa": {"headline": "headlines", "title": "headlines", "subject": "headlines", "description": "descriptions"},
    "sms": {}, "social": {},
}
OFFLINE_NOTE = "Offline draft: written by Mara's template generator, not a language model."


@dataclass(slots=True)
class CopyResult:
    """Drafted variants (channel fields + checks) and usage; ``to_dict`` is the JSON contract."""

    variants: list[dict[str, Any]]
    usage: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"variants": self.variants, "usage": {**self.usage, "warnings": self.warnings}}


def field_spec(spec: ChannelSpec, fields: Sequence[str] | None) -> ChannelSpec:
    """``spec`` narrowed to the requested ``fields`` ("subject", "headline"...); the whole spec
    when none are asked. An email subject request also gets preheaders (they travel together).
    Raises :class:`ToolInputError` naming the channel's fields for an unknown one."""
    if not fields:
        return spec
    names = {f.name for f in spec.fields}
    aliases = FIELD_ALIASES.get(spec.name, {})
    wanted: list[str] = []
    for raw in fields:
        key = str(raw).strip().lower().replace(" ", "_").replace("-", "_")
        key = {"subject_line": "subject", "subject_lines": "subject", "headlines": "headlines"
               if spec.name == "google_rsa" else "headline"}.get(key, key)
        key = key if key in names else aliases.get(key, key.rstrip("s") if key.rstrip("s") in names else key)
        if key not in names:
            raise ToolInputError(f"{spec.name} has no field {raw!r}.",
                                 hint=f"{spec.name} fields: {', '.join(f.name for f in spec.fields)}.")
        wanted.append(key)
    if spec.name == "email" and wanted == ["subject"]:
        wanted.append("preheader")
    if set(wanted) == names:
        return spec
    kept = [f for f in spec.fields if f.name in wanted]
    return spec.model_copy(update={
        "fields": kept, "disclaimer_field": spec.disclaimer_field if spec.disclaimer_field in wanted else None,
        # an SMS text without its frame is still an SMS text
    })


def brief_summary(parts: BriefParts) -> dict[str, Any]:
    """What the brief was read as: content (may appear in copy) and instructions (steer only)."""
    content = {k: getattr(parts, k) for k in ("topic", "offer", "condition", "code", "end_date", "when", "link",
                                              "product", "category", "proof") if getattr(parts, k)}
    steer = {k: getattr(parts, k) for k in ("purpose", "tone", "audience", "length", "language", "fields")
             if getattr(parts, k)}
    steer.update({k: True for k in ("no_discount", "soft_sell") if getattr(parts, k)})
    return {"content": content, "instructions": {**steer, "phrases": parts.instructions},
            "must_know": parts.must_know}


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


_LANGUAGE_CODES = {"German": "de", "French": "fr", "Spanish": "es", "Italian": "it", "Dutch": "nl",
                   "Swedish": "sv"}


def _gsm7_notes(brief: str) -> list[str]:
    """Say how the SMS drafts write the brief's symbols that GSM-7 lacks ("-1 °C" → "-1C"), so the
    marketer can check that the message still reads right."""
    symbols = sorted({c for c in brief if not is_gsm7(c) and to_gsm7(c) != c
                      and unicodedata.category(c) in ("So", "Sm", "No")})
    if not symbols:
        return []
    found = re.search(rf"[^\s,;:.!?()]*\s?[{re.escape(''.join(symbols))}][^\s,;:.!?()]*", brief)
    example = f" (e.g. '{found.group(0)}' as '{to_gsm7(found.group(0))}')" if found else ""
    return [f"The SMS alphabet (GSM-7) has no {' '.join(symbols)}; the SMS drafts write "
            f"{'it' if len(symbols) == 1 else 'them'} in GSM-7{example}: check that the message still reads right."]


def _warnings(brief: str, language: str, model: Any) -> tuple[list[str], str]:
    """(warnings, language code the drafts are written in) for the brief and requested language."""
    out: list[str] = []
    code = resolve_language(language)
    if model is None and code is None:
        out.append(
            f"Offline mode drafts only in {', '.join(SUPPORTED_LANGUAGES)}; language '{language}' was "
            "requested, so these drafts are in English. Configure a language model for other languages."
        )
    written = (code or "en") if model is None else language
    detected = detect_language(brief)
    if detected and _LANGUAGE_CODES.get(detected) != (code or written):
        out.append(
            f"The brief looks {detected} but the drafts are in '{written}'; the topic and offer are quoted "
            f"from the brief as written. Pass language='{_LANGUAGE_CODES.get(detected, detected)}' "
            "to draft in the brief's language."
        )
    elif model is None and code not in (None, "en") and not detected:
        out.append(f"Offline drafts are in '{code}'; the topic and offer are quoted from the brief as written.")
    return out, written


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
    profile: AudienceProfile | dict[str, Any] | None = None,
    length: str = "standard",
    skip: int = 0,
    fields: Sequence[str] | None = None,
    catalog: Sequence[CatalogItem | dict[str, Any]] | None = None,
    quotes: Sequence[str] = (),
) -> CopyResult:
    """Draft ``variants`` distinct variants for ``channel`` from ``brief``.

    ``model`` is an optional LangChain chat model; ``merge_fields`` are the audience columns
    usable as ``{{field}}`` (default: common customer columns); ``facts`` are brand passages
    given to the model; ``profile`` (an :class:`AudienceProfile` or its dict) shapes framing and
    angles (size, top categories, order value, recency, traits); ``length="short"`` asks for
    concise drafts and ``skip`` for angles after the first ``skip`` (“more variants”).
    ``fields`` narrows the drafts to some fields ("subject" → subject lines and preheaders);
    a brief that asks for them ("5 subject lines for ...") does the same. ``catalog`` (product
    ``name``, ``category``, ``launched_date``) gives the drafts facts to be specific about;
    ``quotes`` are customers' words, signed (``“…” — Maya K.``), that the drafts quote.
    Raises :class:`ToolInputError` for an unknown channel or field, an empty brief, an unknown
    merge field or an out-of-range variant count.
    """
    full_spec = get_channel(channel)
    spec = full_spec
    brand = brand or sample_brand()
    available = list(merge_fields or DEFAULT_MERGE_FIELDS)
    _validate_inputs(spec, brief, variants, available)
    audience = as_profile(profile)
    if audience is not None and segment and not audience.name:
        audience = audience.model_copy(update={"name": segment})
    segment = segment or (audience.name if audience else None)
    items = as_catalog(catalog)
    parts = parse_brief(brief, offer, brand, "", items)
    if parts.language and language == "en" and parts.language != "en":
        language = parts.language  # "... in German": the brief's own language instruction
    spec = field_spec(full_spec, fields or parts.fields)
    list_count = None
    if len(spec.fields) == 1 and spec.fields[0].is_list and parts.count and not fields:
        # "10 headlines for a search ad": ten items of one list, not ten ads
        list_count = max(spec.fields[0].min_items or 1, min(parts.count, spec.fields[0].max_items or parts.count))
        variants = 1
    elif parts.fields and not fields and parts.count and variants == 3:
        variants = max(1, min(parts.count, MAX_VARIANTS))  # "5 subject lines" → five
    warnings, written = _warnings(brief, language, model)
    banned, unconditioned = brief_phrases_to_drop(brief, brand)
    if banned or unconditioned:
        warnings.append("The brief uses phrases the brand profile does not allow ("
                        + "; ".join(filter(None, [", ".join(banned), ", ".join(f"{u} (no condition stated)"
                                                                               for u in unconditioned)]))
                        + "); they were left out of the drafts.")
    if spec.sms is not None:
        warnings += _gsm7_notes(brief)
    claims = claims_check([brief, offer or ""], brand)
    if not claims.passed:
        warnings.append(f"The brief makes claims the brand profile does not allow ({claims.detail}); "
                        "drafts that repeat them fail the claims check.")
    draft_lang = written if model is None else "en"
    parsed = parse_brief(brief, offer, brand, str(phrases(resolve_language(draft_lang) or "en")["our_gear"]), items)
    offline, parsed, angles = offline_variants(
        spec, brief, brand, variants=variants, segment=segment, offer=offer, tone=tone,
        profile=audience, language=draft_lang, skip=skip, short=length == "short", catalog=items, parts=parsed,
        quotes=quotes,
    )
    if length == "short":
        tone = f"{tone}; very concise, about half the channel's limits" if tone else "very concise, about half the channel's limits"
    has_offer = parsed.offer is not None
    if model is None:
        drafts = offline
        usage: dict[str, Any] = {
            "mode": "offline", "model": None, "prompt_tokens": 0, "completion_tokens": 0,
            "total_tokens": 0, "cost": 0.0, "calls": 0, "repair_rounds": 0, "angles": angles,
            "note": OFFLINE_NOTE, "language": written,
        }
        if parsed.no_discount and offer:
            warnings.append("The brief asks for no discount, so the offer given was left out.")
    else:
        audience_text = segment
        if audience is not None:
            audience_text = audience.summary()
        drafts, usage, llm_warnings = llm_drafts(
            model, spec, brief, brand, variants=variants, segment=audience_text,
            offer=offer or parsed.offer,
            tone=tone, language=language, merge_fields=available,
            facts=[*(f"Customer quote to use word for word, with its signature: {q}" for q in quotes), *facts],
            repair_rounds=repair_rounds, has_offer=has_offer, parts=parsed,
        )
        warnings.extend(llm_warnings)
        drafts = [
            fit_variant(spec, d, brand, has_offer=has_offer, defaults=offline[i % len(offline)],
                        merge_fields=available, keep=must_phrases(parsed))
            for i, d in enumerate(drafts)
        ]
        if len(drafts) < variants:
            warnings.append(
                f"The model returned {len(drafts)} of {variants} variants; "
                "the rest are offline drafts."
            )
            drafts.extend(offline[len(drafts):variants])
    if audience is not None:
        usage["audience"] = audience.summary()
    usage["brief"] = brief_summary(parsed)
    if spec is not full_spec:
        usage["fields"] = [f.name for f in spec.fields]
    out = []
    must = [m for m in parsed.must_know if m != parsed.link or spec.name != "sms"]
    for n, d in enumerate(drafts[:variants], 1):
        if list_count is not None:
            name = spec.fields[0].name
            d = {**d, name: list(d.get(name) or [])[:list_count]}
        checks = check_variant(spec, d, brand, available, has_offer=has_offer,
                               must_know=must if _carries_message(spec) else [])
        for c in (c for c in unfixable(checks) if c.name != "must_know"):
            warnings.append(f"Variant {n}: the {c.name} check still fails ({c.detail}); the fitter cannot fix "
                            "this by itself — edit the brief or the brand profile.")
        if any(c.name == "must_know" and not c.passed for c in checks):
            warnings.append(f"Variant {n}: not everything the customer must know fits the {spec.label} limits "
                            f"({next(c.detail for c in checks if c.name == 'must_know')}).")
        out.append({**{f.name: d.get(f.name) for f in spec.fields}, "checks": [c.to_dict() for c in checks]})
    return CopyResult(variants=out, usage=usage, warnings=warnings)


def _carries_message(spec: ChannelSpec) -> bool:
    """True when the fields drafted carry the message body (not only subject lines or headlines)."""
    return any(f.name in ("body", "text", "primary_text", "descriptions", "preheader") for f in spec.fields)
