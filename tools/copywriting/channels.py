"""Channel specs (loaded from ``prompts/channels.yaml``) and SMS encoding arithmetic.

GSM-7 counts basic-alphabet characters as one septet and extension characters
(``^{}\\[~]|€`` and form feed) as two; anything else forces UCS-2, where each UTF-16
code unit counts. A single SMS holds 160 GSM-7 septets or 70 UCS-2 units; a concatenated
message holds 153 / 67 per segment.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import BaseModel, Field

from foundation.errors import ToolInputError
from prompts import load_data

MERGE_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|([^}]*))?\}\}")

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")


class FieldSpec(BaseModel):
    """One field of a channel: a string, or a list of strings when ``max_items`` is set."""

    name: str
    max_chars: int
    min_items: int | None = None
    max_items: int | None = None

    @property
    def is_list(self) -> bool:
        return self.max_items is not None


class SmsSpec(BaseModel):
    gsm7_segment: int = 160
    ucs2_segment: int = 70
    gsm7_multipart: int = 153
    ucs2_multipart: int = 67
    max_segments: int = 1


class ChannelSpec(BaseModel):
    """A channel's fields and limits; ``disclaimer_field`` receives required disclaimers."""

    name: str
    label: str
    fields: list[FieldSpec]
    disclaimer_field: str | None = None
    sms: SmsSpec | None = None
    merge_field_width: int = Field(default=12)

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


@lru_cache(maxsize=1)
def load_channels() -> dict[str, ChannelSpec]:
    """Every channel spec, by name."""
    raw = load_data("channels")
    width = int(raw.get("merge_field_width", 12))
    return {
        name: ChannelSpec.model_validate({"name": name, "merge_field_width": width, **spec})
        for name, spec in raw["channels"].items()
    }


def get_channel(name: str) -> ChannelSpec:
    """The spec of ``name`` (case-insensitive); a :class:`ToolInputError` lists accepted names."""
    channels = load_channels()
    key = (name or "").strip().lower().replace("-", "_").replace(" ", "_")
    if key not in channels:
        raise ToolInputError(
            f"Unknown channel {name!r}.", hint=f"Accepted channels: {', '.join(channels)}."
        )
    return channels[key]


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM 03.38 basic or extension table."""
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def sms_units(text: str) -> tuple[str, int]:
    """(encoding, length in that encoding's units) of ``text``."""
    if is_gsm7(text):
        return "GSM-7", sum(2 if c in GSM7_EXTENSION else 1 for c in text)
    return "UCS-2", len(text.encode("utf-16-le")) // 2


def sms_segments(text: str, spec: SmsSpec | None = None) -> tuple[str, int, int]:
    """(encoding, units, segments) for ``text``."""
    spec = spec or SmsSpec()
    enc, units = sms_units(text)
    single, multi = (
        (spec.gsm7_segment, spec.gsm7_multipart) if enc == "GSM-7"
        else (spec.ucs2_segment, spec.ucs2_multipart)
    )
    if units <= single:
        return enc, units, 1 if units else 0
    return enc, units, -(-units // multi)


def sms_limit(text: str, spec: SmsSpec) -> int:
    """Units allowed for ``text`` in ``spec.max_segments`` segments, given its encoding."""
    enc, _ = sms_units(text)
    if spec.max_segments <= 1:
        return spec.gsm7_segment if enc == "GSM-7" else spec.ucs2_segment
    per = spec.gsm7_multipart if enc == "GSM-7" else spec.ucs2_multipart
    return per * spec.max_segments


def measured(text: str, width: int) -> str:
    """``text`` with each merge field replaced by ``width`` placeholder characters (for limits)."""
    return MERGE_RE.sub("x" * width, text)


def merge_fields_in(text: str) -> list[str]:
    """Merge-field names used in ``text``."""
    return [m.group(1) for m in MERGE_RE.finditer(text)]
