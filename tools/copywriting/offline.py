"""Offline drafts: distinct angles built from templates and rules, no model needed.

The whole brief is read: its topic (first clause, imperatives such as "draft an SMS about"
and tone directives removed), the offer (``20% off ...``, ``free shipping over ...``,
``20 % Rabatt``, a code like ``COMEBACK15``), the end date ("until 30 November", "bis 30.
November", "jusqu'au 30 novembre"), urgency ("last weekend", "final days" with a date), a
product category (from the brand's product list) and a tone directive ("in a playful
tone"); the full brief is kept as the detail sentence. The audience profile
(:class:`~tools.copywriting.profile.AudienceProfile`) picks the lifecycle framing
(win-back, appreciation, welcome, nudge) and the angle plan: a lapsed high-value audience
leads with "what's new in <their top category>", low-value audiences get an essentials
angle, new customers a getting-started one; urgency moves the dated angle first. Phrases
come from ``prompts/copy_offline.yaml`` in English, German, French and Spanish; the fitter
then enforces limits and disclaimers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from prompts import load_data
from tools.copywriting.brand import BrandRules
from tools.copywriting.channels import ChannelSpec
from tools.copywriting.checks import (
    CAPS_ALLOWED,
    Fields,
    _unconditioned,
    brand_patterns,
    phrase_pattern,
)
from tools.copywriting.fitter import fit_variant, gsm7_safe, remove_phrases
from tools.copywriting.profile import AudienceProfile, framing_for

SUPPORTED_LANGUAGES = ("en", "de", "fr", "es")
LANGUAGE_NAMES = {
    "en": ("en", "english"), "de": ("de", "german", "deutsch"), "fr": ("fr", "french", "français", "francais"),
    "es": ("es", "spanish", "español", "espanol", "castellano"),
}
NAME = "{{first_name|there}}"
__all__ = ["SUPPORTED_LANGUAGES", "BriefFacts", "detect_language", "framing_for", "offline_variants",
           "parse_brief", "resolve_language"]
_IMPERATIVE = re.compile(
    r"^(please\s+)?((draft|write|create|make|send|promote|announce|tell|remind|invite|give|"
    r"share|let|get)\b\s*)+((me|us|people|customers|them)\s+)?"
    r"((an?|the|some|\d+)\s+)?((sms|email|e-mail|push|social|meta|google|rsa|ad|ads|post|posts|"
    r"message|messages|notification|notifications|copy|variants?|texts?)\s+)*"
    r"((about|for|on|that|to|announcing|promoting)\s+)?",
    re.IGNORECASE,
)
_META = [
    re.compile(r"^(?:an?\s+)?(?:meta|google|facebook|instagram|search|social|sms|email|e-mail|push)"
               r"(?:\s+(?:ad|ads|post|posts|message|notification|campaign))?\s*(?:for|about|on|:)\s+",
               re.IGNORECASE),
    re.compile(r"^(?:win|bring)\s+back\s+(?:\w+\s+){0,2}?(?:customers|members|buyers)\s*"
               r"(?:with|using|via|:)?\s*", re.IGNORECASE),
    re.compile(r"^(?:push notification|notification)\s*:\s*", re.IGNORECASE),
    re.compile(r"\s+(?:aimed at|targeted at|targeting|for the segment)\s+[^.,;:]*", re.IGNORECASE),
]
_OFFER = re.compile(
    r"((?:up to\s+)?\d{1,3}\s?%\s*off(?:\s+(?:selected\s+)?[a-z][a-z ,&-]{0,50}?)?(?=[.;:!?]|"
    r"\s+(?:until|till|through|ends?|with|on|for|when|from)\b|$)"
    r"|free (?:standard |express )?(?:shipping|delivery|returns|repairs?)(?: (?:over|above|on orders over) [^\s,.;]+"
    r"| on (?:every|all) orders?| for [A-Z][A-Za-z ]{0,30}? members)?"
    r"|\d+\s?(?:points|x points))",
    re.IGNORECASE,
)
_CODE = re.compile(r"\b(?:code\s+)?([A-Z]{3,}[0-9]{1,4})\b")
_DATE = re.compile(
    r"\b(?:until|till|through|ends?|ending|by)\s+((?:\d{1,2}(?:st|nd|rd|th)?\s+[A-Z][a-z]{2,8})"
    r"|(?:[A-Z][a-z]{2,8}\s+\d{1,2}(?:st|nd|rd|th)?))",
)
_STOPWORDS = {
    "German": {"und", "der", "die", "das", "für", "mit", "nicht", "ist", "unsere", "eine", "bis",
               "auf", "zum", "zur", "im", "den", "dem", "von", "jetzt", "alle", "neue", "rabatt"},
    "French": {"et", "le", "la", "les", "pour", "avec", "est", "nos", "une", "des", "jusqu'au",
               "sur", "au", "du", "vos", "votre", "nouveau", "nouvelle", "réduction"},
    "Spanish": {"y", "el", "la", "los", "para", "con", "es", "nuestros", "una", "hasta", "del",
                "por", "tu", "tus", "al", "nuevo", "nueva", "descuento"},
    "Italian": {"e", "il", "la", "per", "con", "è", "nostri", "una", "fino", "gli", "della"},
    "Dutch": {"en", "de", "het", "voor", "met", "is", "onze", "een", "tot", "van", "niet"},
    "Swedish": {"och", "för", "med", "är", "våra", "en", "till", "på", "inte", "att"},
}
_ENGLISH = {"the", "and", "for", "with", "our", "your", "to", "of", "on", "is", "a", "until"}


_OFFER_INTL = re.compile(
    r"(-?\d{1,3}\s?%\s*(?:Rabatt|Nachlass|de réduction|de remise|de descuento|dto\.?)"
    r"(?:\s+(?:auf|sur|en)\s+(?:(?:les|la|le|los|las|el|alle|die)\s+)?[^\s.,;:!?]+)?"
    r"|-\d{1,3}\s?%\s*(?:sur|auf|en)\s+(?:(?:les|la|le|los|las|el|die)\s+)?[^\s.,;:!?]+"
    r"|(?:livraison|envío|envio|Versand)\s+(?:gratuite?|gratis|kostenlos)[^.,;:!?]{0,30})",
    re.IGNORECASE,
)
_DATE_INTL = re.compile(
    r"\b(?:bis(?:\s+zum)?|jusqu'au|jusqu’au|hasta\s+el)\s+(\d{1,2}\.?\s+(?:de\s+)?[A-Za-zÄÖÜäöüéû]{3,10})"
)
_URGENT = re.compile(
    r"\b(last (?:weekend|days?|week|hours)|final (?:days?|weekend|hours|week)|ends? (?:today|tomorrow|"
    r"tonight|this|soon|sunday|saturday|monday|friday)|closing soon|only \d+ days? left|"
    r"letzte[n]? tage|derniers jours|últimos días|ultimos dias)\b",
    re.IGNORECASE,
)
_TONE = re.compile(
    r"[,;]?\s*\(?\b(?:in an?\s+|with an?\s+|use an?\s+|keep it\s+|tone:\s*)?"
    r"(formal|friendly|playful|warm|casual|professional)(?:\s+(?:tone|voice|register))?\)?(?=[\s.,;:]|$)",
    re.IGNORECASE,
)
_TONE_MAP = {"casual": "friendly", "professional": "formal"}
_CATEGORY_WORDS = {
    "boot": "Footwear", "shoe": "Footwear", "sneaker": "Footwear", "jacket": "Jackets",
    "shell": "Jackets", "hoody": "Jackets", "coat": "Jackets", "tent": "Tents",
    "sleeping bag": "Sleeping Bags", "backpack": "Backpacks", "daypack": "Backpacks",
    "rucksack": "Backpacks", "stove": "Camp Kitchen", "cook": "Camp Kitchen", "pot": "Camp Kitchen",
    "headlamp": "Accessories", "pole": "Accessories", "rope": "Climbing", "harness": "Climbing",
    "merino": "Apparel", "base layer": "Apparel", "tee": "Apparel", "pants": "Apparel",
    "trousers": "Apparel", "shorts": "Apparel",
}


@dataclass(slots=True)
class BriefFacts:
    """What the generator reads from a brief."""

    topic: str
    detail: str
    offer: str | None = None
    code: str | None = None
    end_date: str | None = None
    category: str | None = None
    categories: list[str] = field(default_factory=list)
    urgent: bool = False
    tone: str | None = None
    warnings: list[str] = field(default_factory=list)


def detect_language(text: str) -> str | None:
    """A non-English language name when ``text`` clearly reads as one, else ``None``."""
    words = re.findall(r"[\wäöüßéèàçåø']+", text.lower())
    if len(words) < 3:
        return None
    english = sum(w in _ENGLISH for w in words)
    best, score = None, 0
    for lang, stops in _STOPWORDS.items():
        s = sum(w in stops for w in words)
        if s > score:
            best, score = lang, s
    return best if score >= 2 and score > english else None


def resolve_language(language: str | None) -> str | None:
    """The supported offline language code for ``language`` ("de", "de-AT", "German"), else ``None``."""
    low = (language or "en").strip().lower().replace("_", "-")
    for code, names in LANGUAGE_NAMES.items():
        if low in names or low.split("-")[0] == code:
            return code
    return None


@lru_cache(maxsize=8)
def phrases(language: str) -> dict[str, Any]:
    """The phrase table of ``language`` (a supported code)."""
    return dict(load_data("copy_offline")["languages"][language])


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _inline(topic: str) -> str:
    """``topic`` for mid-sentence use: first letter lowered when the rest is lower case."""
    rest = topic.split()[1:]
    if topic[:1].isupper() and topic[1:2].islower() and all(w.islower() for w in rest):
        return topic[:1].lower() + topic[1:]
    return topic


def brand_categories(brand: BrandRules) -> list[str]:
    return list(dict.fromkeys(p.category for p in brand.products if p.category))


def detect_categories(text: str, brand: BrandRules) -> list[str]:
    """Brand product categories ``text`` mentions (category names, product names, common words), in order."""
    low = text.lower()
    categories = brand_categories(brand)
    hits: list[tuple[int, str]] = []
    for cat in categories:
        m = re.search(rf"\b{re.escape(cat.lower().rstrip('s'))}s?\b", low)
        if m:
            hits.append((m.start(), cat))
    for product in brand.products:
        first = product.name.split()[0]
        m = re.search(rf"\b{re.escape(first)}\b", text) if len(first) >= 4 else None
        if m and product.category:
            hits.append((m.start(), product.category))
    for word, cat in _CATEGORY_WORDS.items():
        m = re.search(rf"\b{re.escape(word)}(?:s|es)?\b", low)
        if m and (not categories or cat in categories):
            hits.append((m.start(), cat))
    return list(dict.fromkeys(c for _, c in sorted(hits)))


def detect_category(text: str, brand: BrandRules) -> str | None:
    """The first brand product category ``text`` mentions."""
    found = detect_categories(text, brand)
    return found[0] if found else None


def brief_phrases_to_drop(text: str, brand: BrandRules) -> tuple[list[str], list[str]]:
    """(banned phrases, conditional phrases without their condition) found in ``text``."""
    banned_re, cond_re, _ = brand_patterns(brand)
    banned = sorted({m.group(0).lower() for m in banned_re.finditer(text)}) if banned_re else []
    return banned, _unconditioned(cond_re, [text]) if cond_re else []


def parse_brief(
    brief: str, offer: str | None = None, brand: BrandRules | None = None, our_gear: str = "our gear"
) -> BriefFacts:
    """Topic, detail sentence, offer, code, end date, category, urgency and tone of ``brief``."""
    text = re.sub(r"\s+", " ", brief).strip()
    # shouting is the brief's, not the brand's: "HURRY!!! LAST CHANCE" → "Hurry. Last chance"
    text = re.sub(r"\s*[!?]{2,}", ".", text)
    text = re.sub(r"\b[A-Z]{3,}\b", lambda m: m.group(0) if m.group(0) in CAPS_ALLOWED else m.group(0).lower(),
                  text)
    if brand is not None:  # banned or unconditioned phrases never reach the copy ("hurry", "last chance")
        text = _sentence_case(remove_phrases(text, brand_patterns(brand)[0])) or text
        unconditioned = brief_phrases_to_drop(text, brand)[1]
        if unconditioned:
            text = _sentence_case(remove_phrases(text, phrase_pattern(unconditioned))) or text
    tone_m = _TONE.search(text)
    tone = None
    if tone_m and re.search(r"tone|voice|register|keep it|\bin an?\b", tone_m.group(0), re.I):
        tone = _TONE_MAP.get(tone_m.group(1).lower(), tone_m.group(1).lower())
        text = (text[: tone_m.start()] + text[tone_m.end():]).strip(" ,;") or text
    cleaned = _IMPERATIVE.sub("", text).strip() or text
    for rx in _META:
        cleaned = rx.sub("", cleaned).strip() or cleaned
    cleaned = _sentence_case(cleaned)
    first = re.split(r"(?<=[.!?])\s|[:;—–]|\s-\s", cleaned)[0].strip(" .,")
    topic = re.split(r",|\s+(?:with|until|till|through|ending|for customers|for our)\s+", first)[0]
    topic = topic.strip(" .,") or first
    words = topic.split()
    if len(words) > 7:
        topic = " ".join(words[:7]).rstrip(",;:")
    offer_text = offer.strip() if offer and offer.strip() else None
    if offer_text is None:
        m = _OFFER.search(text) or _OFFER_INTL.search(text)
        offer_text = m.group(1).strip(" ,") if m else None
    code_m = _CODE.search(text) or (_CODE.search(offer_text) if offer_text else None)
    date_m = (_DATE.search(text) or _DATE_INTL.search(text)
              or (_DATE.search(offer_text) if offer_text else None))
    if offer_text and _covered(topic, f"{offer_text} {code_m.group(0) if code_m else ''} code"):
        topic = our_gear  # the brief is only an offer: give the hooks something to point at
    detail = _sentence_case(cleaned.rstrip(" ."))
    if not detail.endswith((".", "!", "?")):
        detail += "."
    end_date = date_m.group(1) if date_m else None
    categories = detect_categories(text, brand) if brand is not None else []
    return BriefFacts(
        topic=topic,
        detail=detail,
        offer=offer_text,
        code=code_m.group(1) if code_m else None,
        end_date=end_date,
        category=categories[0] if categories else None,
        categories=categories,
        urgent=bool(end_date and _URGENT.search(text)),
        tone=tone,
    )


@dataclass(slots=True)
class Angle:
    name: str
    headline: str
    hook: str
    detail: str
    cta: str
    extra_headlines: list[str]
    short: str = ""


def angle_plan(facts: BriefFacts, profile: AudienceProfile | None, framing: str, category: str | None) -> list[str]:
    """Angle keys, best first, for this brief and audience (each key is a distinct angle)."""
    tier = profile.value_tier if profile else None
    if framing == "winback":
        plan = (["returning", "offer", "premium", "loyalty_back", "timely", "product", "benefit"]
                if tier == "high" else ["offer", "loyalty_back", "returning", "benefit", "timely", "product"])
    elif framing == "appreciation":
        plan = ["loyalty_thanks", "premium" if tier == "high" else "category", "offer", "benefit",
                "product", "timely"]
    elif framing == "welcome":
        plan = ["welcome", "benefit", "category", "offer", "product", "timely"]
    elif framing == "nudge":
        plan = ["benefit", "category", "offer", "timely", "product", "loyalty_thanks"]
    else:
        plan = ["benefit", "offer", "timely", "product", "category", "loyalty_thanks"]
    if tier == "low" and "value" not in plan:
        plan.insert(1, "value")
    if tier == "high" and "premium" not in plan:
        plan.insert(2, "premium")
    if facts.urgent:
        plan.remove("timely")
        plan.insert(0, "timely")
    if not facts.offer:  # an offer angle without an offer is just "news": put it last
        plan.remove("offer")
        plan.append("news")
    if not category:
        plan = [p for p in plan if p != "category"]
    return list(dict.fromkeys(plan))


def _template_key(name: str, facts: BriefFacts, category: str | None) -> str:
    if name == "timely":
        return "urgent" if facts.urgent else "timely" if facts.end_date else "seasonal"
    if name in ("returning", "welcome") and not category:
        return f"{name}_nocat"
    if name == "premium" and category:
        return "premium_cat"
    return name


def _echoes(template: str, topic: str) -> bool:
    """True when the template's own words (placeholders aside) repeat a content word of ``topic``."""
    fixed = set(re.findall(r"[^\W\d_]{4,}", re.sub(r"\{[^}]*\}", " ", template).lower()))
    return bool(fixed & set(re.findall(r"[^\W\d_]{4,}", topic.lower())))


def build_angle(
    name: str, facts: BriefFacts, brand: BrandRules, framing: str, ph: dict[str, Any], category: str | None
) -> Angle:
    """Headline, hook, detail, call to action and a short SMS lead for one angle."""
    key = _template_key(name, facts, category)
    cat = ph.get("categories", {}).get(category, category) if category else ""
    code = ph["with_code"].format(code=facts.code) if facts.code and facts.code not in (facts.offer or "") else ""
    values = {
        "t": facts.topic if ph.get("keep_case") else _inline(facts.topic), "T": _sentence_case(facts.topic), "brand": brand.name,
        "offer": facts.offer or "", "Offer": _sentence_case(facts.offer or ""),
        "date": facts.end_date or "", "code": code,
        "until": ph["until"].format(date=facts.end_date) if facts.end_date else "",
        "cat": cat.lower() if ph is phrases("en") else cat, "Cat": cat[:1].upper() + cat[1:],
        "name": ph["name"],
    }
    templates = [str(s) for s in ph["angles"][key]]
    # "{T} for your next trip" with the topic "everything for your first trip" would say "trip"
    # twice: a headline or hook whose fixed words repeat the topic's is just the topic.
    if _echoes(templates[0], facts.topic):
        templates[0] = "{T}"
    if _echoes(templates[1], facts.topic):
        templates[1] = str(ph.get("plain_hook", "{T}."))
    head, hook, cta, extra1, extra2 = (s.format(**values) for s in templates)
    lead_key = {"loyalty_back": "loyalty", "loyalty_thanks": "loyalty"}.get(name, name)
    short = ph["short_lead"].get(lead_key, "")
    if name == "benefit" and framing == "welcome":
        short = ph["short_lead"].get("welcome", "")
    if name == "timely" and not facts.end_date:
        short = ""
    return Angle(name, head, hook, facts.detail, cta, [extra1, extra2], str(short).format(name=ph["name"]))


def assemble(
    spec: ChannelSpec, angle: Angle, all_angles: list[Angle], greeting: str, facts: BriefFacts,
    ph: dict[str, Any] | None = None,
) -> Fields:
    """Channel fields from one angle (before fitting)."""
    ph = ph or phrases("en")
    offer_line = ""
    if facts.offer and angle.name != "offer" and facts.offer.lower() not in angle.hook.lower():
        offer_line = " " + offer_line_of(facts, ph)
    lead = f"{angle.hook}{offer_line}".lower()
    detail = "" if _covered(angle.detail, lead) else angle.detail
    angle = Angle(angle.name, angle.headline, angle.hook, detail, angle.cta, angle.extra_headlines,
                  angle.short)
    name = spec.name
    head_field = {"email": "subject", "push": "title", "meta_ad": "headline"}.get(name)
    if head_field:  # a headline that fits whole beats one cut mid-phrase
        limit = spec.field(head_field).max_chars
        options = [angle.headline, _sentence_case(facts.topic), angle.extra_headlines[0]]
        headline = next((o for o in options if len(o) <= limit), angle.headline)
        angle = Angle(angle.name, headline, angle.hook, angle.detail, angle.cta,
                      angle.extra_headlines, angle.short)
    if name == "email":
        middle = f"\n\n{angle.detail}" if angle.detail else ""
        body = f"{greeting}\n\n{angle.hook}{offer_line}{middle}\n\n{angle.cta}."
        return {"subject": angle.headline, "preheader": f"{angle.hook}{offer_line}".strip(), "body": body}
    if name == "sms":  # short lead, then the offer or hook: the fitter drops trailing sentences
        core = (angle.hook if angle.name == "offer" else f"{angle.hook} {offer_line.strip()}") \
            if facts.offer else angle.hook
        return {"text": f"{angle.short} {core} {angle.cta}."}
    if name == "push":
        return {"title": angle.headline, "body": f"{angle.hook}{offer_line}".strip()}
    if name == "google_rsa":
        others = [a for a in all_angles if a is not angle]
        heads = [angle.headline, *angle.extra_headlines, *(a.headline for a in others),
                 *(h for a in others for h in a.extra_headlines), facts.topic]
        descs = [f"{angle.hook}{offer_line}".strip(), *([angle.detail] if angle.detail else []), *(a.hook for a in others)]
        return {"headlines": heads, "descriptions": descs}
    if name == "meta_ad":
        return {"primary_text": f"{angle.hook}{offer_line}".strip(), "headline": angle.headline,
                "description": f"{angle.cta}."}
    return {"text": " ".join(p for p in (f"{angle.hook}{offer_line}", angle.detail, f"{angle.cta}.") if p)}


def _covered(sentence: str, text: str) -> bool:
    """True when (nearly) every word of ``sentence`` already appears in ``text``."""
    words = re.findall(r"\w+", sentence.lower())
    have = set(re.findall(r"\w+", text.lower()))
    return not words or sum(w in have for w in words) >= 0.8 * len(words)


def offer_line_of(facts: BriefFacts, ph: dict[str, Any] | None = None) -> str:
    """The offer as one sentence, with its end date."""
    if not facts.offer:
        return ""
    ph = ph or phrases("en")
    until = ph["until"].format(date=facts.end_date) if facts.end_date else ""
    return f"{_sentence_case(facts.offer)}{until}."


def _kept_whole(raw: Fields, fitted: Fields) -> bool:
    """True when every raw string survived fitting (nothing was cut)."""
    for key, value in raw.items():
        got = fitted.get(key)
        if isinstance(value, str):
            core = gsm7_safe(re.sub(r"\s+", " ", value).strip())
            if core and core not in gsm7_safe(str(got or "")):
                return False
    return True


def offline_variants(
    spec: ChannelSpec,
    brief: str,
    brand: BrandRules,
    *,
    variants: int = 3,
    segment: str | None = None,
    offer: str | None = None,
    tone: str | None = None,
    profile: AudienceProfile | None = None,
    language: str = "en",
    skip: int = 0,
    short: bool = False,
) -> tuple[list[Fields], BriefFacts, list[str]]:
    """(drafts, brief facts, angle names): ``variants`` fitted drafts, one angle each.

    ``language`` must be a supported code (see :func:`resolve_language`); angles repeat with a
    new call to action when more variants than angles are asked for. ``skip`` starts after the
    first ``skip`` variants (“more variants” gives new ones); ``short`` drops the supporting
    detail and takes the shortest draft that keeps the message whole.
    """
    lang = resolve_language(language) or "en"
    ph = phrases(lang)
    facts = parse_brief(brief, offer, brand, str(ph["our_gear"]))
    if profile is None and segment:
        profile = AudienceProfile(name=segment)
    framing = profile.lifecycle if profile else framing_for(segment)
    # the audience's own top category, preferring one the brief is about
    tops = profile.top_categories if profile else []
    category = next((c for c in tops if c in facts.categories), None) or (tops[0] if tops else facts.category)
    tone_key = (tone or facts.tone or "").strip().lower()
    tone_key = _TONE_MAP.get(tone_key, tone_key)
    greeting = str(ph["tone_greeting"].get(tone_key) or ph["greeting"][framing]).format(name=ph["name"])
    plan = angle_plan(facts, profile, framing, category)
    angles = [build_angle(a, facts, brand, framing, ph, category) for a in plan]
    out: list[Fields] = []
    has_offer = facts.offer is not None
    alt_ctas = list(ph["alt_ctas"])
    for i in range(skip, skip + variants):
        angle = angles[i % len(angles)]
        if i >= len(angles):
            angle = Angle(angle.name, angle.headline, angle.hook, angle.detail,
                          alt_ctas[(i // len(angles) - 1) % len(alt_ctas)], angle.extra_headlines)
        if short:
            angle = Angle(angle.name, angle.headline, angle.hook, "", angle.cta, angle.extra_headlines, angle.short)
        raw = assemble(spec, angle, angles, greeting, facts, ph)
        candidates = [raw]
        if spec.name == "sms":
            text = str(raw["text"])
            no_cta = text[: -len(f" {angle.cta}.")] if text.endswith(f" {angle.cta}.") else text
            candidates += [{"text": no_cta}, {"text": no_cta.replace(angle.short, "", 1)}]
            if facts.offer and angle.name != "offer":
                line = offer_line_of(facts, ph)
                if angle.name not in ("benefit", "product", "news"):  # keep the angle's point
                    candidates.append({"text": f"{angle.headline}: {_inline(line)}"})
                candidates.append({"text": f"{angle.short} {line}"})
                candidates.append({"text": f"{angle.cta}: {_inline(line)}"})
                candidates.append({"text": line})
        defaults: dict[str, Any] = {}
        if spec.name == "google_rsa":
            benefit = ph["angles"]["benefit"]
            defaults = {"headlines": [benefit[4].format(brand=brand.name), benefit[3], angle.cta],
                        "descriptions": [f"{brand.name}.", f"{angle.cta}."]}
        options = [(c, fit_variant(spec, c, brand, has_offer=has_offer, defaults=defaults))
                   for c in candidates]
        whole = [f for c, f in options if _kept_whole(c, f)]
        fresh = [f for f in whole if f not in out] or [f for _, f in options if f not in out]
        if short and fresh:
            fresh.sort(key=lambda f: sum(len(str(v)) for v in f.values()))
        out.append(fresh[0] if fresh else (whole or [options[0][1]])[0])
    return out, facts, [angles[i % len(angles)].name for i in range(skip, skip + variants)]
