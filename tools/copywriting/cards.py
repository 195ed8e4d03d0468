"""Draft cards: what a front end shows for each drafted variant (the ``draft`` event's payload).

The counts are computed here, once, with the same arithmetic the checks use (characters with
merge fields at their channel width; SMS encoding and segments from :mod:`channels`), so the
web chat, Slack and any API client show the same numbers and never re-implement them.

Merge fields are previewed with :data:`SAMPLE_CUSTOMER`, a made-up customer: the copy tool
needs only the ``copy`` scope, so a real customer's name must not appear in its result.
"""

from __future__ import annotations

from typing import Any

from tools.copywriting.channels import (
    MERGE_RE,
    ChannelSpec,
    get_channel,
    measured,
    merge_fields_in,
    sms_segments,
)

#: A fictional customer whose values fill merge fields in the preview (never a real row).
SAMPLE_CUSTOMER: dict[str, str] = {
    "first_name": "Maya",
    "last_name": "Jensen",
    "name": "Maya Jensen",
    "city": "Portland",
    "country": "United States",
    "recommended_product": "Trailhead 30L Pack",
    "loyalty_tier": "Gold",
}

_LABELS = {"text": "Message", "subject": "Subject line", "preheader": "Preheader", "body": "Body",
           "title": "Title", "headline": "Headline", "headlines": "Headlines",
           "descriptions": "Descriptions", "description": "Description", "primary_text": "Primary text",
           "cta": "Call to action", "caption": "Caption", "hashtags": "Hashtags"}


def field_label(name: str) -> str:
    """A field's name as a marketer reads it ("subject" → "Subject line")."""
    return _LABELS.get(name, name.replace("_", " ").capitalize())


def preview(text: str, customer: dict[str, str] | None = None) -> str:
    """``text`` with each ``{{field|fallback}}`` filled from ``customer`` (the sample by default),
    else its fallback, else the field's name in brackets."""
    values = SAMPLE_CUSTOMER if customer is None else customer

    def fill(match: Any) -> str:
        name, fallback = match.group(1), match.group(2)
        value = values.get(name)
        if value:
            return value
        return fallback if fallback is not None else f"[{name}]"

    return MERGE_RE.sub(fill, text)


def _field(spec: ChannelSpec, name: str, value: Any) -> dict[str, Any]:
    items = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    try:
        limit: int | None = spec.field(name).max_chars
    except Exception:  # noqa: BLE001 - a field the spec does not list (a disclaimer line): no limit
        limit = None
    width = spec.merge_field_width
    parts = []
    for text in items:
        part: dict[str, Any] = {"text": text, "preview": preview(text), "chars": len(measured(text, width))}
        if spec.sms is not None:
            # as the checks measure it: each merge field at its full channel width
            encoding, units, segments = sms_segments(measured(text, width), spec.sms)
            part["sms"] = {"encoding": encoding, "units": units, "segments": segments}
        parts.append(part)
    return {"name": name, "label": field_label(name), "limit": limit, "is_list": isinstance(value, list),
            "items": parts, "merge_fields": sorted({f for t in items for f in merge_fields_in(t)})}


def draft_cards(channel: str, variants: list[dict[str, Any]], *, brief: str = "",
                mode: str | None = None, note: str | None = None) -> list[dict[str, Any]]:
    """One ``draft`` artifact per variant: labelled fields with counts and a preview, and checks."""
    try:
        spec = get_channel(channel)
    except Exception:  # noqa: BLE001 - an unknown channel was already refused by drafting
        return []
    cards = []
    for number, variant in enumerate(variants, 1):
        fields = [_field(spec, k, v) for k, v in variant.items() if k != "checks" and v not in (None, "", [])]
        checks = [{"name": str(c.get("name")), "passed": bool(c.get("passed")), "detail": str(c.get("detail") or "")}
                  for c in variant.get("checks", [])]
        card: dict[str, Any] = {
            "kind": "draft", "channel": spec.name, "channel_label": spec.label, "variant": number,
            "of": len(variants), "brief": brief, "fields": fields, "checks": checks,
            "sample_customer": {k: v for k, v in SAMPLE_CUSTOMER.items()
                                if any(k in f["merge_fields"] for f in fields)},
        }
        if mode:
            card["mode"] = mode
        if note:
            card["note"] = note
        cards.append(card)
    return cards
