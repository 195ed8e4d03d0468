"""Checks of one copy variant: hard limits, SMS encoding, brand rules, merge fields, style.

``HARD_CHECKS`` are the ones the fitter guarantees; the rest are reported for review.
Phrase matching is case-insensitive on word boundaries, with patterns compiled once per
brand, so a variant checks in well under 2 ms.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from tools.copywriting.brand import BrandRules
from tools.copywriting.channels import (
    ChannelSpec,
    measured,
    merge_fields_in,
    sms_limit,
    sms_segments,
)
from tools.copywriting.gsm7 import to_gsm7

HARD_CHECKS = ("length", "items", "sms_segments")
SPAM_TRIGGERS = (
    "100% free", "act immediately", "buy now!", "cash bonus", "click here", "double your",
    "earn money", "guaranteed", "no obligation", "once in a lifetime", "order now!",
    "risk free", "winner", "you have been selected", "urgent", "why pay more", "f r e e",
)
CAPS_ALLOWED = {"GTX", "SMS", "STOP", "FAQ", "EU", "UK", "US", "USA", "PFC", "IPX4", "AP", "OK", "RSVP", "ISO"}
DEFAULT_MERGE_FIELDS = ("first_name", "last_name", "city", "country", "loyalty_tier")
ALWAYS_AVAILABLE = ("unsubscribe_link",)

Fields = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Check:
    """One check's outcome; ``detail`` says what failed and how to fix it."""

    name: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """A case-insensitive pattern matching any phrase as a whole word sequence."""
    parts = sorted({p.strip() for p in phrases if p.strip()}, key=len, reverse=True)
    if not parts:
        return None
    alts = []
    for p in parts:
        esc = re.escape(p).replace("'", "['’]")
        left = r"(?<![\w#])" if p[0].isalnum() or p[0] == "#" else ""
        right = r"(?!\w)" if p[-1].isalnum() else ""
        alts.append(f"{left}{esc}{right}")
    return re.compile("|".join(alts), re.IGNORECASE)


@lru_cache(maxsize=32)
def _patterns(banned: tuple[str, ...], conditional: tuple[str, ...]) -> tuple[Any, Any, Any]:
    return phrase_pattern(banned), phrase_pattern(conditional), phrase_pattern(SPAM_TRIGGERS)


@lru_cache(maxsize=512)
def _subset_pattern(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    return phrase_pattern(phrases)


def present(phrases: Sequence[str], text: str) -> re.Pattern[str] | None:
    """A pattern for the ``phrases`` that occur in ``text`` as substrings (``None`` if none).

    A plain substring test per phrase is far faster than one big alternation with
    look-arounds scanned at every position; the exact (word-boundary) pattern is then
    compiled only for the few candidates, and cached.
    """
    low = text.lower().replace("’", "'")
    found = tuple(p for p in phrases if p and p.lower() in low)
    return _subset_pattern(found) if found else None


def brand_patterns(brand: BrandRules) -> tuple[Any, Any, Any]:
    """(banned, conditional, spam) compiled patterns for ``brand`` (cached)."""
    return _patterns(tuple(brand.banned), tuple(brand.conditional))


def field_texts(fields: Fields) -> list[str]:
    """Every string in a variant's fields (list fields flattened)."""
    out: list[str] = []
    for value in fields.values():
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list):
            out.extend(str(v) for v in value)
    return out


def limit_problems(spec: ChannelSpec, fields: Fields) -> tuple[list[str], list[str]]:
    """(length problems, item-count problems) of ``fields`` against the channel's hard limits."""
    length: list[str] = []
    items: list[str] = []
    width = spec.merge_field_width
    for f in spec.fields:
        value = fields.get(f.name)
        if f.is_list:
            values = value if isinstance(value, list) else ([] if value is None else [value])
            lo, hi = f.min_items or 0, f.max_items or len(values)
            if not lo <= len(values) <= hi:
                items.append(f"{f.name}: {len(values)} items, need {lo}–{hi}")
            for i, v in enumerate(values):
                n = len(measured(str(v), width))
                if n > f.max_chars:
                    length.append(f"{f.name}[{i}]: {n} chars > {f.max_chars}")
        else:
            if not isinstance(value, str) or not value.strip():
                items.append(f"{f.name}: missing")
                continue
            n = len(measured(value, width))
            if n > f.max_chars:
                length.append(f"{f.name}: {n} chars > {f.max_chars}")
    return length, items


def check_variant(
    channel: ChannelSpec,
    fields: Fields,
    brand: BrandRules,
    merge_fields_available: Sequence[str] | None = None,
    *,
    has_offer: bool = False,
    must_know: Sequence[str] | None = None,
) -> list[Check]:
    """Run every check on one variant's ``fields``; merge fields default to common columns.

    With ``must_know`` (the brief's offer, code, deadline, condition...), a ``must_know`` check
    says which of them the variant leaves out.
    """
    checks: list[Check] = []
    length, items = limit_problems(channel, fields)
    checks.append(Check("length", not length, "; ".join(length) or "all fields within limits"))
    checks.append(Check("items", not items, "; ".join(items) or "all required fields present"))
    texts = field_texts(fields)
    joined = "\n".join(texts)
    if channel.sms is not None:
        text = measured(str(fields.get("text", "")), channel.merge_field_width)
        enc, units, segs = sms_segments(text, channel.sms)
        limit = sms_limit(text, channel.sms)
        ok = units <= limit and segs <= channel.sms.max_segments
        checks.append(Check("sms_segments", ok, f"{enc}, {units}/{limit} units, {segs} segment(s)"))
    banned_re, cond_re, spam_re = (present(brand.banned, joined), present(brand.conditional, joined),
                                   present(SPAM_TRIGGERS, joined))
    found = sorted({m.group(0).lower() for m in banned_re.finditer(joined)}) if banned_re else []
    checks.append(Check("banned_words", not found, f"remove: {', '.join(found)}" if found else "none"))
    cond = _unconditioned(cond_re, texts) if cond_re else []
    checks.append(Check(
        "conditional_claims", not cond,
        f"state the condition or remove: {', '.join(cond)}" if cond else "none",
    ))
    checks.append(claims_check(texts, brand))
    checks.append(_disclaimer_check(channel, fields, brand, has_offer))
    available = set(merge_fields_available or DEFAULT_MERGE_FIELDS) | set(ALWAYS_AVAILABLE)
    unknown = sorted({n for t in texts for n in merge_fields_in(t)} - available)
    checks.append(Check(
        "merge_fields", not unknown,
        f"unknown: {', '.join(unknown)}; available: {', '.join(sorted(available))}"
        if unknown else "all merge fields available",
    ))
    spam = sorted({m.group(0).lower() for m in spam_re.finditer(joined)}) if spam_re else []
    checks.append(Check("spam_triggers", not spam, f"found: {', '.join(spam)}" if spam else "none"))
    caps = sorted({w for w in _CAPS.findall(joined) if w not in CAPS_ALLOWED})
    checks.append(Check("all_caps", not caps, f"found: {', '.join(caps)}" if caps else "none"))
    punct = re.findall(r"[!?]{2,}|\.{4,}", joined)
    bangs = max((t.count("!") for t in texts), default=0)
    ok = not punct and bangs <= brand.max_exclamations
    detail = "ok" if ok else f"repeated: {' '.join(punct)}; '!' per field max {bangs}"
    checks.append(Check("punctuation", ok, detail))
    if must_know is not None:
        missing = missing_elements(must_know, joined)
        checks.append(Check("must_know", not missing,
                            f"missing: {', '.join(missing)}" if missing else
                            ("all present: " + ", ".join(must_know)) if must_know else "nothing required"))
    return checks


def _loose(text: str) -> str:
    """Lower case, in GSM-7's transliteration (:func:`tools.copywriting.gsm7.to_gsm7`), single
    spaces and no accents: an SMS writes "envío" as "envio" and "−1 °C" as "-1C", and still says it."""
    text = unicodedata.normalize("NFKD", to_gsm7(text).lower())
    return re.sub(r"\s+", " ", "".join(c for c in text if not unicodedata.combining(c))).strip()


_OFFER_MARK = re.compile(r"[%$€£]|\d{1,2}[./]\d{1,2}|\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{4,}\b")


def _named_in(name: str, have: str) -> bool:
    """A product or programme name counts when its first word and three in four of its words are
    there ("the Stormfront 3L Shell" names "Stormfront 3L Shell Jacket"); offers, codes and dates
    must appear whole."""
    words = re.findall(r"[\w'-]+", _loose(name))
    if len(words) < 3 or _OFFER_MARK.search(name):
        return False
    present = set(re.findall(r"[\w'-]+", have))
    return words[0] in present and sum(w in present for w in words) >= 0.75 * len(words)


def missing_elements(must_know: Sequence[str], text: str) -> list[str]:
    """The ``must_know`` phrases ``text`` does not contain (case and spacing aside)."""
    have = _loose(text)
    return [m for m in must_know if m and _loose(m) not in have and not _named_in(m, have)]


# a code after "code" ("code WELCOME") is not shouting
_CAPS = re.compile(r"(?<![Cc]ode )(?<![Cc]ode: )(?<!código )(?<!Code )\b[A-Z]{3,}\b")


_NOT_A_CLAIM = re.compile(r"\bbest\s+(?:wishes|regards)\b|\ball the best\b|\bat (?:its|their|your) best\b",
                          re.IGNORECASE)


@lru_cache(maxsize=32)
def _claim_rules(
    terms: tuple[str, ...], allowed: tuple[str, ...], products: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]
) -> tuple[tuple[str, ...], list[tuple[re.Pattern[str], str, str, str, re.Pattern[str] | None]]]:
    """(claim terms not covered by brand-wide claims, per product: (mention pattern, name, claims text, not-allowed pattern))."""
    allowed_text = " | ".join(allowed).lower()
    # a term that a brand-wide allowed claim covers needs no product
    open_terms = tuple(t for t in terms if t.lower() not in allowed_text)
    rows = []
    for name, claims, not_allowed in products:
        words = name.split()
        alias = words[0] if words and len(words[0]) >= 4 and words[0][0].isupper() else name
        mention = re.compile(rf"(?<!\w){re.escape(alias)}(?!\w)")
        rows.append((mention, name, " | ".join(claims).lower(), alias, phrase_pattern(not_allowed)))
    return open_terms, rows


def claims_check(texts: Sequence[str], brand: BrandRules) -> Check:
    """Product claims ("waterproof", "lifetime warranty", "best"...) need an allowed claim.

    A claim term passes when a brand-wide allowed claim contains it, or when the copy names a
    product whose allowed claims contain it; a product's not-allowed claims fail when the copy
    names that product.
    """
    key = (
        tuple(brand.claim_terms), tuple(brand.allowed_claims),
        tuple((p.name, tuple(p.claims), tuple(p.not_allowed)) for p in brand.products),
    )
    open_terms, products = _claim_rules(*key)
    joined = _NOT_A_CLAIM.sub(" ", "\n".join(texts))
    term_re = present(open_terms, joined)
    problems: list[str] = []
    named = [(n, c, na) for m, n, c, alias, na in products if alias in joined and m.search(joined)]
    for n, _, na in named:
        for hit in sorted({h.group(0).lower() for h in na.finditer(joined)} if na else []):
            problems.append(f"'{hit}' is not an allowed claim for {n}")
    if term_re is not None:
        for term in sorted({h.group(0).lower() for h in term_re.finditer(joined)}):
            if any(term in c for _, c, _ in named) or any(p.startswith(f"'{term}'") for p in problems):
                continue
            who = [p.name for p in brand.products if any(term in c.lower() for c in p.claims)]
            hint = f"only allowed for {', '.join(who[:3])} (name the product)" if who else "no allowed claim covers it"
            problems.append(f"'{term}': {hint}")
    return Check("claims", not problems, "; ".join(problems) if problems else "no unapproved claims")


_CONDITION = re.compile(
    r"\d|\b(over|above|when|if|until|till|through|ends?|members?|minimum|with code|on every|"
    r"on all|on orders|conditions?|terms)\b", re.IGNORECASE)


def _unconditioned(pattern: re.Pattern[str], texts: Sequence[str]) -> list[str]:
    """Conditional phrases whose sentence states no condition (number, threshold, date...)."""
    found: set[str] = set()
    for text in texts:
        for m in pattern.finditer(text):
            start = max(text.rfind(".", 0, m.start()), text.rfind("!", 0, m.start())) + 1
            ends = [i for i in (text.find(".", m.end()), text.find("!", m.end())) if i >= 0]
            sentence = text[start : min(ends) if ends else len(text)]
            if not _CONDITION.search(sentence.replace(m.group(0), " ")):
                found.add(m.group(0).lower())
    return sorted(found)


def _disclaimer_check(
    channel: ChannelSpec, fields: Fields, brand: BrandRules, has_offer: bool
) -> Check:
    required = brand.required_for(channel.name, has_offer=has_offer)
    prefix = brand.sender_prefix.get(channel.name)
    target = str(fields.get(channel.disclaimer_field or "", "") or "")
    missing = [d for d in required if d not in target]
    if required and not missing and not target.rstrip().endswith(required[-1]):
        missing.append(f"end with '{required[-1]}'")
    if prefix and not target.startswith(prefix):
        missing.append(f"start with '{prefix}'")
    if (not required and not prefix) or channel.disclaimer_field is None:
        return Check("disclaimers", True, "none required")
    return Check("disclaimers", not missing, f"missing: {'; '.join(missing)}" if missing else "present")


def hard_failures(checks: Sequence[Check]) -> list[Check]:
    """The failed checks the fitter must fix (limits, item counts, SMS segments)."""
    return [c for c in checks if c.name in HARD_CHECKS and not c.passed]
