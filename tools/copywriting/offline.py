"""Offline drafts: distinct angles built from templates and rules, no model needed.

The brief is read by :func:`tools.copywriting.brief.read_brief` into what to say (topic,
offer, code, deadline, condition, event date, proof points, product, category) and how and to
whom (purpose, tone, audience, length, no-discount, soft-sell); only the first kind reaches
the copy. What the customer must know (offer with its condition, code, deadline, event date,
link) is one sentence in every variant of every channel, and the fitter keeps it whole.
Supporting facts come from the brief's proof points, the brand's approved product claims
and the catalog (newest products of the category). The purpose (announce, sale, win-back,
welcome, back in stock, abandoned cart, thank-you, event, referral, education) picks the
first angles; the audience profile
(:class:`~tools.copywriting.profile.AudienceProfile`) picks the lifecycle framing
(win-back, appreciation, welcome, nudge) and the angle plan: a lapsed high-value audience
leads with "what's new in <their top category>", low-value audiences get an essentials
angle, new customers a getting-started one; urgency moves the dated angle first. Phrases
come from ``prompts/copy_offline.yaml`` in English, German, French and Spanish; the fitter
then enforces limits and disclaimers.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from prompts import load_data
from tools.copywriting.brand import BrandRules
from tools.copywriting.brief import BriefParts, condition_core, must_tokens, offer_core, read_brief
from tools.copywriting.channels import ChannelSpec
from tools.copywriting.checks import (
    CAPS_ALLOWED,
    Fields,
    _unconditioned,
    brand_patterns,
    claims_check,
    phrase_pattern,
)
from tools.copywriting.fitter import SENTENCE_END, compact, fit_variant, gsm7_safe, remove_phrases
from tools.copywriting.profile import AudienceProfile, framing_for

SUPPORTED_LANGUAGES = ("en", "de", "fr", "es")
LANGUAGE_NAMES = {
    "en": ("en", "english"), "de": ("de", "german", "deutsch"), "fr": ("fr", "french", "français", "francais"),
    "es": ("es", "spanish", "español", "espanol", "castellano"),
}
NAME = "{{first_name|there}}"
__all__ = ["SUPPORTED_LANGUAGES", "BriefFacts", "BriefParts", "CatalogItem", "detect_language", "framing_for",
           "must_line", "offline_variants", "parse_brief", "resolve_language"]
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

_TONE_MAP = {"casual": "friendly", "professional": "formal"}
_CATEGORY_WORDS = {
    "boot": "Footwear", "shoe": "Footwear", "sneaker": "Footwear", "jacket": "Jackets",
    "shell": "Jackets", "hoody": "Jackets", "coat": "Jackets", "tent": "Tents",
    "sleeping bag": "Sleeping Bags", "backpack": "Backpacks", "daypack": "Backpacks",
    "rucksack": "Backpacks", "stove": "Camp Kitchen", "cook": "Camp Kitchen", "pot": "Camp Kitchen",
    "headlamp": "Accessories", "pole": "Accessories", "rope": "Climbing", "harness": "Climbing",
    "merino": "Apparel", "base layer": "Apparel", "tee": "Apparel", "pants": "Apparel",
    "trousers": "Apparel", "shorts": "Apparel", "running": "Footwear", "runner": "Footwear",
}
# the same in German, French and Spanish, as stems: German compounds carry them inside a word
# ("Kletterabend", "Daunenjacken"), French and Spanish as words ("escalade", "mochilas"; not "tentez")
_CATEGORY_STEMS_INTL = {
    "zelt": "Tents", "schlafsack": "Sleeping Bags", "schlafsäck": "Sleeping Bags", "rucksack": "Backpacks",
    "rucksäck": "Backpacks", "wanderschuh": "Footwear", "stiefel": "Footwear", "jacke": "Jackets",
    "kletter": "Climbing", "seil": "Climbing", "kocher": "Camp Kitchen", "stirnlampe": "Accessories",
    "tente": "Tents", "sac de couchage": "Sleeping Bags", "sac à dos": "Backpacks", "sacs à dos": "Backpacks",
    "chaussure": "Footwear", "veste": "Jackets", "doudoune": "Jackets", "escalade": "Climbing",
    "baudrier": "Climbing", "réchaud": "Camp Kitchen", "lampe frontale": "Accessories",
    "tienda de campaña": "Tents", "saco de dormir": "Sleeping Bags", "sacos de dormir": "Sleeping Bags",
    "mochila": "Backpacks", "zapatilla": "Footwear", "bota": "Footwear", "chaqueta": "Jackets",
    "plumífero": "Jackets", "escalada": "Climbing", "arnés": "Climbing", "hornillo": "Camp Kitchen",
    "linterna frontal": "Accessories",
}
_GERMAN_STEMS = {"zelt", "schlafsack", "schlafsäck", "rucksack", "rucksäck", "wanderschuh", "stiefel", "jacke",
                 "kletter", "seil", "kocher", "stirnlampe"}




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


def detect_categories(text: str, brand: BrandRules, catalog: Sequence[CatalogItem] = ()) -> list[str]:
    """Brand product categories ``text`` mentions (category names, product names, common words), in order."""
    low = text.lower()
    categories = list(dict.fromkeys([*brand_categories(brand), *(c.category for c in catalog if c.category)]))
    hits: list[tuple[int, str]] = []
    for cat in categories:
        m = re.search(rf"\b{re.escape(cat.lower().rstrip('s'))}s?\b", low)
        if m:
            hits.append((m.start(), cat))
    for name, category in [*((p.name, p.category) for p in brand.products), *((c.name, c.category) for c in catalog)]:
        first = name.split()[0] if name.split() else ""
        m = re.search(rf"\b{re.escape(first)}\b", text) if len(first) >= 4 and first[:1].isupper() else None
        if m and category:
            hits.append((m.start(), category))
    for word, cat in _CATEGORY_WORDS.items():
        m = re.search(rf"\b{re.escape(word)}(?:s|es)?\b", low)
        if m and (not categories or cat in categories):
            hits.append((m.start(), cat))
    for stem, cat in _CATEGORY_STEMS_INTL.items():
        pattern = rf"\b\w*{re.escape(stem)}\w*" if stem in _GERMAN_STEMS else rf"\b{re.escape(stem)}s?\b"
        m = re.search(pattern, low)
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


BriefFacts = BriefParts  # the name earlier releases used

PURPOSE_ANGLES: dict[str, list[str]] = {
    "announce": ["news", "category", "benefit", "product"],
    "sale": ["offer", "sale_on", "picks", "category", "timely", "benefit"],
    "winback": ["loyalty_back", "offer", "returning"],
    "welcome": ["welcome", "offer", "benefit"],
    "back_in_stock": ["restock", "product", "benefit"],
    "abandoned_cart": ["cart", "offer", "product"],
    "thanks": ["thanks", "loyalty_thanks", "category", "premium"],
    "event": ["invite", "event_date", "benefit"],
    "referral": ["referral", "offer", "benefit"],
    "education": ["tip", "product", "benefit"],
}
_DURATION = re.compile(r"^\d+\s+(?:hours?|days?|weeks?|Tage|Stunden|Wochen|jours|heures|semaines|días|horas|semanas)$",
                       re.IGNORECASE)
VALID_FOR = {"en": ", valid for {date}", "de": ", gültig für {date}", "fr": ", valable {date}", "es": ", válido {date}"}


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """A product of the workspace catalog: name, category and launch date (ISO, may be empty)."""

    name: str
    category: str | None = None
    launched: str | None = None


def as_catalog(rows: Sequence[Any] | None) -> list[CatalogItem]:
    """Catalog items from dicts (``name``, ``category``, ``launched_date``) or items."""
    out: list[CatalogItem] = []
    for row in rows or []:
        if isinstance(row, CatalogItem):
            out.append(row)
        elif isinstance(row, dict) and row.get("name"):
            launched = row.get("launched_date") or row.get("launched")
            out.append(CatalogItem(str(row["name"]), str(row["category"]) if row.get("category") else None,
                                   str(launched) if launched else None))
    return out


def parse_brief(
    brief: str, offer: str | None = None, brand: BrandRules | None = None, our_gear: str = "our gear",
    catalog: Sequence[CatalogItem] = (),
) -> BriefParts:
    """The brief read into content and instructions (:class:`BriefParts`), with the brand's
    banned and unconditioned phrases left out and a topic to point at when the brief has none."""
    text = re.sub(r"\s+", " ", brief).strip()
    # shouting is the brief's, not the brand's: "HURRY!!! LAST CHANCE" → "Hurry. Last chance"
    text = re.sub(r"\s*[!?]{2,}", ".", text)
    text = re.sub(r"\b[A-Z]{3,}\b", lambda m: m.group(0) if m.group(0) in CAPS_ALLOWED or
                  re.search(r"code\s*:?\s*$", text[max(0, m.start() - 7): m.start()], re.I) else m.group(0).lower(),
                  text)
    if brand is not None:  # banned or unconditioned phrases never reach the copy ("hurry", "last chance")
        text = _sentence_case(remove_phrases(text, brand_patterns(brand)[0])) or text
        unconditioned = brief_phrases_to_drop(text, brand)[1]
        if unconditioned:
            text = _sentence_case(remove_phrases(text, phrase_pattern(unconditioned))) or text
    products = [p.name for p in brand.products] if brand is not None else []
    products += [c.name for c in catalog]
    parts = read_brief(
        text, products=products, offer=offer,
        categories_of=(lambda t: detect_categories(t, brand, catalog)) if brand is not None else None,
    )
    if not parts.topic:
        parts.topic = parts.product or our_gear
        parts.item = parts.item or parts.product
        if parts.offer and parts.purpose == "announce":
            parts.purpose = "sale"  # a brief that is only an offer leads with the offer
    # "the Black Friday" → "Black Friday": a named thing needs no article
    parts.topic = re.sub(r"^the\s+(?=[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+$)", "", parts.topic)
    return parts


@dataclass(slots=True)
class Angle:
    name: str
    headline: str
    hook: str
    detail: str
    cta: str
    extra_headlines: list[str]
    short: str = ""


def angle_plan(facts: BriefParts, profile: AudienceProfile | None, framing: str, category: str | None) -> list[str]:  # noqa: C901
    """Angle keys, best first, for this brief and audience (each key is a distinct angle).

    The audience's lifecycle leads (win-back, welcome, appreciation) with its value-tier angle
    next; then the purpose's own angles; then the rest. A true, near deadline moves the dated
    angle first unless the brief asks for no pressure."""
    tier = profile.value_tier if profile else None
    if framing == "winback":
        base = (["returning", "offer", "premium", "loyalty_back", "timely", "product", "benefit"]
                if tier == "high" else ["offer", "loyalty_back", "returning", "benefit", "timely", "product"])
    elif framing == "appreciation":
        base = ["loyalty_thanks", "premium" if tier == "high" else "category", "offer", "benefit",
                "product", "timely"]
    elif framing == "welcome":
        base = ["welcome", "benefit", "category", "offer", "product", "timely"]
    elif framing == "nudge":
        base = ["benefit", "category", "offer", "timely", "product", "loyalty_thanks"]
    else:
        base = ["benefit", "offer", "timely", "product", "category", "loyalty_thanks"]
    tier_angle = {"low": "value", "high": "premium"}.get(tier or "")
    lead = [base[0]] if framing in ("winback", "welcome", "appreciation") and profile is not None else []
    plan = [*lead, *([tier_angle] if tier_angle else []), *PURPOSE_ANGLES.get(facts.purpose, []), *base]
    if facts.urgent and not facts.soft_sell:
        plan.insert(0, "timely")
    if not facts.offer:  # an offer angle without an offer is just "news"
        plan = [p for p in plan if p != "offer"] + ["news"]
    if not category:
        plan = [p for p in plan if p != "category"]
    if not facts.when:
        plan = [p for p in plan if p != "event_date"]
    if facts.offer and not facts.item and not facts.product:
        # the brief is only an offer: angles about a named topic have nothing to name
        plan = [p for p in plan if p not in ("news", "sale_on", "picks", "product")]
    if facts.soft_sell or not facts.end_date:
        plan = [p for p in plan if p != "timely"] + (["timely"] if not facts.soft_sell else [])
    return list(dict.fromkeys(plan))


def _template_key(name: str, facts: BriefParts, category: str | None) -> str:
    if name == "timely":
        return "urgent" if facts.urgent and not facts.soft_sell else "timely" if facts.end_date else "seasonal"
    if name in ("returning", "welcome") and not category:
        return f"{name}_nocat"
    if name == "premium" and category:
        return "premium_cat"
    if name == "cart" and not facts.item:
        return "cart_nocat"
    return name


def _echoes(template: str, topic: str) -> bool:
    """True when the template's own words (placeholders aside) repeat a content word of ``topic``."""
    fixed = set(re.findall(r"[^\W\d_]{4,}", re.sub(r"\{[^}]*\}", " ", template).lower()))
    return bool(fixed & set(re.findall(r"[^\W\d_]{4,}", topic.lower())))


def build_angle(
    name: str, facts: BriefParts, brand: BrandRules, framing: str, ph: dict[str, Any], category: str | None
) -> Angle:
    """Headline, hook, call to action and a short SMS lead for one angle (the facts come later)."""
    key = _template_key(name, facts, category)
    cat = ph.get("categories", {}).get(category, category) if category else ""
    code = ph["with_code"].format(code=facts.code) if facts.code and facts.code not in (facts.offer or "") else ""
    topic = facts.item if key == "cart" and facts.item else facts.topic
    values = {
        "t": topic if ph.get("keep_case") else _inline(topic), "T": _sentence_case(topic), "brand": brand.name,
        "offer": facts.offer or "", "Offer": _sentence_case(facts.offer or ""),
        "date": facts.end_date or "", "code": code, "when": facts.when or "",
        "until": _until(facts, ph),
        "cat": cat.lower() if ph is phrases("en") else cat, "Cat": cat[:1].upper() + cat[1:],
        "name": ph["name"],
    }
    templates = [str(s) for s in ph["angles"][key]]
    # "{T} for your next trip" with the topic "everything for your first trip" would say "trip"
    # twice: a headline or hook whose fixed words repeat the topic's is just the topic.
    if _echoes(templates[0], topic):
        templates[0] = "{T}"
    if _echoes(templates[1], topic):
        templates[1] = str(ph.get("plain_hook", "{T}."))
    head, hook, cta, extra1, extra2 = (s.format(**values) for s in templates)
    if facts.cta:
        cta = facts.cta
    lead_key = {"loyalty_back": "loyalty", "loyalty_thanks": "loyalty"}.get(name, name)
    short = ph["short_lead"].get(lead_key, "")
    if name == "benefit" and framing == "welcome":
        short = ph["short_lead"].get("welcome", "")
    if name == "timely" and not facts.end_date:
        short = ""
    return Angle(name, head, hook, "", cta, [extra1, extra2], str(short).format(name=ph["name"]))


_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
                "november", "december")
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _lang_of(ph: dict[str, Any]) -> str:
    return next((code for code in SUPPORTED_LANGUAGES if phrases(code) is ph), "en")


def localize_date(text: str, ph: dict[str, Any]) -> str:
    """English month and weekday names in ``text`` in the draft's language ("31 December" →
    "31 décembre"), so an English brief drafted in French does not say "jusqu'au 31 December"."""
    names = ph.get("date_names")
    if not names or not text:
        return text
    table = dict(zip(_MONTH_NAMES + _DAY_NAMES, list(names["months"]) + list(names["days"]), strict=True))

    def swap(m: re.Match[str]) -> str:
        return str(table[m.group(0).lower()])

    return re.sub(r"\b(?:" + "|".join(_MONTH_NAMES + _DAY_NAMES) + r")\b", swap, text, flags=re.IGNORECASE)


_EN_PCT = re.compile(r"^(?:up to\s+)?(\d{1,3})\s?%\s*off\b\s*(.*)$", re.IGNORECASE)
_EN_AMOUNT = re.compile(r"^([$£€]\s?\d[\d,.]*|\d[\d,.]*\s?€)\s*off\b\s*(.*)$", re.IGNORECASE)
_EN_FREE = [(re.compile(r"^free\s+express\s+(?:shipping|delivery)\b\s*(.*)$", re.I), "free_express_shipping"),
            (re.compile(r"^free\s+(?:standard\s+)?(?:shipping|delivery)\b\s*(.*)$", re.I), "free_shipping"),
            (re.compile(r"^free\s+returns?\b\s*(.*)$", re.I), "free_returns")]


def _scope_words(scope: str, ph: dict[str, Any]) -> str:
    """"selected jackets" → "Jacken" (the category in the draft's language; the rest as written)."""
    scope = re.sub(r"\s*\b(?:until|till|ends?|ending|through|by|with|using|code)\b.*$", "", scope, flags=re.I)
    scope = re.sub(r"^(?:on\s+)?(?:selected|select|all|our|the|your)\s+", "", scope.strip(" ,.;"), flags=re.I)
    cats = {k.lower(): v for k, v in (ph.get("categories") or {}).items()}
    low = scope.lower()
    return str(cats.get(low) or cats.get(low + "s") or cats.get(low.rstrip("s") + "s") or scope)


def localize_offer(offer: str | None, ph: dict[str, Any]) -> str | None:
    """An English offer in the draft's language: "30% off jackets" → "-30 % sur vestes",
    "free standard shipping" → "kostenloser Versand"; ``offer`` unchanged when no pattern fits."""
    words = ph.get("offer_words")
    if not offer or not words:
        return offer
    m = _EN_PCT.match(offer.strip())
    if m:
        scope = _scope_words(m.group(2), ph) if m.group(2) else ""
        return str(words["pct_off"]).format(n=m.group(1)) + (f" {words['scope']} {scope}" if scope else "")
    m = _EN_AMOUNT.match(offer.strip())
    if m:
        scope = _scope_words(m.group(2), ph) if m.group(2) else ""
        return str(words["amount_off"]).format(amount=m.group(1)) + (f" {words['scope']} {scope}" if scope else "")
    for rx, key in _EN_FREE:
        m = rx.match(offer.strip())
        if m:
            return str(words[key]) + (f" {m.group(1)}" if m.group(1) else "")
    return offer


def localize_condition(condition: str | None, ph: dict[str, Any]) -> str | None:
    """"over $75" → "ab $75", "within 60 days" → "sous 60 jours" (else unchanged)."""
    words = ph.get("offer_words")
    if not condition or not words:
        return condition
    m = re.match(r"^(?:on\s+(?:all\s+)?orders?\s+)?(?:over|above|from)\s+(\S+)$", condition.strip(), re.I)
    if m:
        return f"{words['over']} {m.group(1)}"
    m = re.match(r"^within\s+(\d+)\s+days?$", condition.strip(), re.I)
    if m:
        return str(words["within_days"]).format(n=m.group(1))
    return condition


def localized(facts: BriefParts, ph: dict[str, Any]) -> BriefParts:
    """``facts`` with an English offer, condition and dates said in the draft's language (an
    English brief drafted in German, French or Spanish), so no variant mixes the two."""
    if not ph.get("offer_words"):
        return facts
    end_date = localize_date(facts.end_date, ph) if facts.end_date else facts.end_date
    deadline = facts.deadline
    if facts.deadline and facts.end_date and facts.deadline != end_date and re.search(
            r"\b(?:until|till|ends?|by|through|expires?)\b", facts.deadline, re.I):
        deadline = f"{ph['offer_words']['until']} {end_date}"
    english_notes = detect_language(" ".join(facts.notes)) is None and any(
        w in _ENGLISH for w in re.findall(r"[a-z]+", " ".join(facts.notes).lower()))
    return replace(facts, offer=localize_offer(facts.offer, ph), condition=localize_condition(facts.condition, ph),
                   notes=[] if english_notes else facts.notes,
                   end_date=end_date, deadline=deadline,
                   when=localize_date(facts.when, ph) if facts.when else facts.when)


def _until(facts: BriefParts, ph: dict[str, Any]) -> str:
    if not facts.end_date:
        return ""
    if _DURATION.match(facts.end_date):
        return VALID_FOR[_lang_of(ph)].format(date=localize_date(facts.end_date, ph))
    return str(ph["until"]).format(date=localize_date(facts.end_date, ph))


def must_line(facts: BriefParts, ph: dict[str, Any] | None = None) -> str:
    """What the customer must know, as sentences: the offer with its condition, code and
    deadline; the event date; the link. ``""`` when the brief has none of them."""
    ph = ph or phrases("en")
    return _placed(_must_line(facts, ph), facts)


def _registration_line(facts: BriefParts, said: str) -> str:
    """The sign-up deadline as the brief words it, with the link to sign up at when there is one
    not said yet: "Register by 8 December: alderandpeak.com/events."."""
    line = _sentence_case(str(facts.deadline).rstrip(" .,"))
    if facts.link and facts.link.lower() not in said:
        line += f": {facts.link}"
    return f"{line}."


def _placed(line: str, facts: BriefParts) -> str:
    """An event's must-know line led by the event itself when it does not say it ("Repair
    workshop at our Denver store, Thursday 20 November 18:00 ..."): where it is must be told."""
    if facts.purpose != "event" or not line or not facts.topic or facts.topic.lower() in line.lower():
        return line
    if _covered(facts.topic, line):
        return line
    return f"{_sentence_case(facts.topic)}, {line[:1].lower() + line[1:] if line[1:2].islower() else line}"


def _must_line(facts: BriefParts, ph: dict[str, Any]) -> str:
    out: list[str] = []
    english_notes = _lang_of(ph) != "en" and detect_language(" ".join(facts.notes)) is None and any(
        w in _ENGLISH for w in re.findall(r"[a-z]+", " ".join(facts.notes).lower()))
    if facts.notes and not english_notes:
        # the brief's own message sentences (instructions and audience left out) say it whole:
        # every offer, amount, code and date as the marketer wrote them
        out = [n if n.endswith((".", "!", "?")) else f"{n}." for n in facts.notes]
        said = " ".join(out).lower()
        core = offer_core(facts.offer)
        if facts.offer and core and core.lower() not in said:
            out.insert(0, f"{_sentence_case(facts.offer)}.")
        cond = condition_core(facts.condition)
        if facts.offer and cond and cond.lower() not in said:
            out.append(f"{_sentence_case(_join(facts.offer, facts.condition or ''))}.")
        if facts.code and facts.code.lower() not in said:
            out.append(ph["code_line"].format(code=facts.code) + ".")
        if facts.end_date and facts.end_date.lower() not in said and facts.registration and facts.deadline:
            out.append(_registration_line(facts, said))
            said += " " + out[-1].lower()
        elif facts.end_date and facts.end_date.lower() not in said:
            until = _until(facts, ph).strip(" ,")
            out.append(f"{_sentence_case(until)}." if _DURATION.match(facts.end_date)
                       else str(ph["valid_line"]).format(until=until))
        if facts.when and facts.when.lower() not in said:
            out.append(str(ph["when_line"]).format(when=localize_date(facts.when, ph)))
        if facts.link and facts.action and facts.action.startswith("See ") and facts.action.lower() not in said \
                and facts.link.lower() not in said:
            out.append(f"{facts.action}: {facts.link}.")  # "See our packing checklists: alderandpeak.com/checklists."
        else:
            if facts.link and facts.link.lower() not in said:
                out.append(_sentence(str(ph["link_line"]).format(link=facts.link)))
            if facts.action and facts.action.lower() not in said:
                out.append(f"{facts.action}.")
        if facts.signup and facts.signup.lower() not in said:
            out.append(f"{_sentence_case(facts.signup)}.")
        return _naming(" ".join(out), facts)
    if facts.offer:
        line = _sentence_case(facts.offer)
        if facts.condition and facts.condition.lower() not in line.lower():
            line = f"{line} {facts.condition}"
        if facts.code and facts.code not in line:
            line += ph["with_code"].format(code=facts.code)
        out.append(f"{line}{_until(facts, ph)}.")
    elif facts.code:
        out.append(ph["code_line"].format(code=facts.code) + _until(facts, ph) + ".")
    elif facts.end_date and not (facts.registration and facts.deadline):
        out.append(f"{_sentence_case(facts.topic)}{_until(facts, ph)}.")
    if facts.when:
        out.append(str(ph["when_line"]).format(when=localize_date(facts.when, ph)))
    if facts.end_date and facts.registration and facts.deadline and not facts.offer and not facts.code:
        out.append(_registration_line(facts, " ".join(out).lower()))
    if facts.signup and facts.signup.lower() not in " ".join(out).lower():
        out.append(f"{_sentence_case(facts.signup)}.")
    if not out and not facts.action and facts.detail and re.search(r"\d", facts.detail):
        # nothing to sell or date: the brief's own figures ("comfort -1 °C, limit -7 °C") are the message
        out.append(facts.detail)
    if facts.link and facts.action and facts.action.startswith("See "):
        out.append(f"{facts.action}: {facts.link}.")
    else:
        if facts.link and facts.link.lower() not in " ".join(out).lower():
            out.append(_sentence(str(ph["link_line"]).format(link=facts.link)))
        if facts.action:
            out.append(f"{facts.action}.")
    return _naming(" ".join(out), facts)


def _naming(line: str, facts: BriefParts) -> str:
    """``line`` led by the product or programme the message is about when it does not name it
    ("Trail Club: 1 point per $1, ..."), so no variant leaves out what the offer is for."""
    if not line or not facts.named or facts.named.lower() in line.lower():
        return line
    return f"{facts.named}: {line[:1].lower() + line[1:] if line[1:2].islower() else line}"


def must_phrases(facts: BriefParts) -> list[str]:
    """The phrases the fitter must never cut (each must-know element as written)."""
    return [p for p in (facts.offer and _sentence_case(facts.offer), facts.offer, facts.condition, facts.code,
                        facts.end_date, facts.when, facts.link, *facts.notes, facts.named, facts.action, facts.signup)
            if p]


offer_line_of = must_line  # the name earlier releases used


def fact_lines(facts: BriefParts, brand: BrandRules, ph: dict[str, Any], category: str | None,
               catalog: Sequence[CatalogItem] = ()) -> list[str]:
    """Supporting facts, each one sentence: the brief's proof points, the named product's
    approved claims, the newest catalog products of the category. Only facts that pass the
    brand's claim and style checks are offered."""
    out: list[str] = []
    if facts.detail and len(_words(facts.detail)) >= 2:  # one word ("Tente.") is a leftover, not a proof point
        out.append(facts.detail)
    product = next((p for p in brand.products if facts.product and p.name.lower() == facts.product.lower()), None)
    if product is not None and product.claims:
        claims = [c for c in product.claims if len(c) <= 40][:3]
        if claims:
            out.append(f"{product.name}: {', '.join(claims)}.")
    cat = category or facts.category
    if cat and catalog:
        items = sorted((c for c in catalog if c.category == cat and c.name != facts.product),
                       key=lambda c: c.launched or "", reverse=True)[:2]
        if items:
            label = ph.get("categories", {}).get(cat, cat)
            names = f" {ph['and']} ".join(c.name for c in items)
            out.append(str(ph["new_in"]).format(Cat=label[:1].upper() + label[1:], cat=label, names=names))
    ok = []
    for line in out:
        caps = [w for w in re.findall(r"\b[A-Z]{3,}\b", line) if w not in CAPS_ALLOWED]
        if not caps and claims_check([line], brand).passed and line not in ok:
            ok.append(line)
    return ok


_NEWS_PURPOSES = ("event", "thanks", "welcome", "announce")


def short_facts(facts: BriefParts, ph: dict[str, Any], category: str | None,
                catalog: Sequence[CatalogItem] = ()) -> list[str]:
    """One catalog product each ("New: Cascade Climbing Helmet."), newest first: the fact a
    short channel (SMS, push, ad) still has room for after the must-know line."""
    cat = category or facts.category
    if not catalog or "new_one" not in ph:
        return []
    if not cat and (facts.product or facts.offer or facts.soft_sell or facts.purpose not in _NEWS_PURPOSES):
        return []
    # no category named: an event, thank-you or welcome points at the newest arrivals overall
    items = sorted((c for c in catalog if (c.category == cat or not cat) and c.name != facts.product),
                   key=lambda c: c.launched or "", reverse=True)[:3]
    return [str(ph["new_one"]).format(names=c.name) for c in items if not re.search(r"\b[A-Z]{3,}\b", c.name)]


def _headline(options: Sequence[str], limit: int, brand: BrandRules, facts: BriefParts) -> str:
    """The first option that fits whole, states any conditional claim's condition and does not
    name the audience."""
    return _headlines(options, limit, brand, facts)[0]


def _headlines(options: Sequence[str], limit: int, brand: BrandRules, facts: BriefParts) -> list[str]:
    """The options that fit whole, state any conditional claim's condition and do not name the
    audience, best first (at least one: the first that fits, else the first)."""
    cond_re = brand_patterns(brand)[1]
    audience = {w for w in re.findall(r"[a-zäöüéèàñ-]{4,}", (facts.audience or "").lower())} - {"with", "from"}
    fine = []
    for o in options:
        if not o or len(o) > limit:
            continue
        if cond_re is not None and _unconditioned(cond_re, [o]):
            continue
        if audience & set(re.findall(r"[a-zäöüéèàñ-]{4,}", o.lower())) and not (
                audience & set(re.findall(r"[a-zäöüéèàñ-]{4,}", facts.topic.lower()))):
            continue
        if o not in fine:
            fine.append(o)
    return fine or [next((o for o in options if o and len(o) <= limit), options[0])]


def _pack(sentences: Sequence[str], limit: int) -> list[str]:
    """``sentences`` joined into as few pieces as fit ``limit`` each, in order."""
    out: list[str] = []
    for sentence in (s.strip() for s in sentences if s.strip()):
        if out and len(f"{out[-1]} {sentence}") <= limit:
            out[-1] = f"{out[-1]} {sentence}"
        else:
            out.append(sentence)
    return out


def _pieces(line: str, limit: int) -> list[str]:
    """``line`` in pieces of at most ``limit`` characters, split between sentences and, inside a
    sentence too long for one piece, between its comma clauses — each piece a sentence of its own."""
    units: list[str] = []
    for sentence in SENTENCE_END.split(line.strip()):
        if len(sentence) <= limit:
            units.append(sentence)
            continue
        clauses = re.split(r"(?<=[,;])\s+", sentence)
        units += [c.rstrip(",;") + ("." if not c.rstrip(",;").endswith((".", "!", "?")) else "") for c in clauses]
    return _pack([u[:1].upper() + u[1:] for u in units if u], limit)


def _join(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def assemble(
    spec: ChannelSpec, angle: Angle, all_angles: list[Angle], greeting: str, facts: BriefParts,
    ph: dict[str, Any] | None = None, *, must: str = "", fact: str = "", brand: BrandRules | None = None,
    framing: str = "default", order: int = 0, head: str | None = None,
) -> Fields:
    """Channel fields from one angle (before fitting): headline, hook, the must-know line, one
    supporting fact and the call to action. ``order`` picks which of hook, fact and must-know
    line opens the body (0: hook, 1: fact, 2: must-know line) and ``head`` the headline, so
    variants can open on different content."""
    ph = ph or phrases("en")
    brand = brand or BrandRules()
    hook = angle.hook
    if must and _covered(hook, must):
        hook = str(ph.get("framing_hook", {}).get(framing, "")).format(brand=brand.name)
    if fact and _covered(fact, f"{hook} {must}"):
        fact = ""
    name = spec.name
    offer_head = ""
    if facts.offer:
        offer_head = _sentence_case(_join(facts.offer, facts.condition or ""))
    head_field = {"email": "subject", "push": "title", "meta_ad": "headline"}.get(name)
    headline = angle.headline
    if head_field and _has(spec, head_field):  # a headline that fits whole beats one cut mid-phrase
        limit = spec.field(head_field).max_chars
        options = [angle.headline, angle.extra_headlines[0], _sentence_case(facts.topic), angle.extra_headlines[1]]
        if angle.name == "offer":
            options.insert(1, offer_head)
        headline = head or _headline(options, limit, brand, facts)
    body = [[hook, must, fact], [fact, hook, must], [must, hook, fact], [lead_in(angle, facts), hook, must, fact]][order % 4]
    if order % 4 == 1 and not fact:
        body = [hook, must, fact]
    lead = _join(*[p for p in body if p][:2]) if order else _join(hook, must)
    if name == "email":
        first = next((p for p in body if p), "")
        limit = spec.field("preheader").max_chars if _has(spec, "preheader") else 150
        preheader = lead if len(lead) <= limit else (must or first)
        paragraphs = [greeting, *body, f"{angle.cta}."]
        return {"subject": headline, "preheader": preheader,
                "body": "\n\n".join(p for p in paragraphs if p)}
    if name == "sms":
        return {"text": _join(angle.short, hook, must, f"{angle.cta}.")}
    if name == "push":
        return {"title": headline, "body": _join(*body)}
    if name == "google_rsa":
        others = [a for a in all_angles if a is not angle]
        deadline_head = _sentence_case(facts.deadline) if facts.deadline else ""
        code_head = ph["code_line"].format(code=facts.code) if facts.code else ""
        # the offer with its condition in a headline's 30 characters: "Free returns within 60 days"
        # ("on all orders" goes), and a product the fact names ("New: Sierra Climbing Shoe")
        offer_short = re.sub(r"\s+(?:on|for|across|auf|sur|en)\s+(?:all|every|any|alle[ns]?|tou(?:te)?s\s+les|todos\s+los)\s+\S+$",
                             "", offer_head)
        fact_head = re.sub(r"\.$", "", fact) if fact.count(".") <= 1 and len(fact) <= 31 else ""
        heads = [angle.headline, *angle.extra_headlines, offer_head, offer_short, code_head, deadline_head, fact_head,
                 *(a.headline for a in others), *(h for a in others for h in a.extra_headlines), facts.topic]
        descs = [_join(must, f"{angle.cta}.") if must else _join(hook, f"{angle.cta}."),
                 _join(hook, fact) if must else fact, *(a.hook for a in others)]
        limit = spec.field("descriptions").max_chars if _has(spec, "descriptions") else 90
        pieces: list[str] = []
        if must and len(descs[0]) > limit:
            # a must-know line longer than a description: one sentence each, so none is cut
            pieces = _pieces(must, limit)
            if len(pieces) > 1:
                pieces = [*pieces[:-1], _join(pieces[-1], f"{angle.cta}.") if len(_join(pieces[-1], f"{angle.cta}.")) <= limit
                          else pieces[-1]]
                descs = [*pieces, *descs[1:]]
            else:
                pieces = []
        if order % 4 and len(descs) > 1:  # another description opens
            descs = ([*descs[1:2], descs[0], *descs[2:]] if order % 4 == 1 else
                     [*descs[2:3], *descs[:2], *descs[3:]] if order % 4 == 2 else
                     [_join(lead_in(angle, facts), descs[0]), *descs[1:]])
        if must and pieces:  # every piece of the must-know line right after the opening one: none falls off the end
            descs = [descs[0], *(p for p in pieces if p != descs[0]),
                     *(d for d in descs[1:] if d not in pieces)]
        if must and not _has(spec, "headlines") and len(must) <= limit:
            # descriptions asked for on their own ("4 search ad descriptions about …"): each carries the message
            tails = [f"{angle.cta}.", *(f"{a.cta}." for a in others), hook, *(a.hook for a in others), ""]
            descs = list(dict.fromkeys(d for t in tails if len(d := _join(must, t)) <= limit))
        return {"headlines": [h for h in heads if h], "descriptions": [d for d in descs if d]}
    if name == "meta_ad":
        return {"primary_text": _join(*body), "headline": headline, "description": f"{angle.cta}."}
    return {"text": _join(*body, f"{angle.cta}.")}


_HEAD_FIELDS = ("subject", "title", "headline", "headlines")
_BODY_FIELDS = ("body", "text", "primary_text", "descriptions", "description")


def opening(fields: Fields) -> str:
    """How a draft opens: its headline and the first sentence of its body (greeting, merge
    fields and an SMS sender prefix aside)."""
    parts = []
    for group in (_HEAD_FIELDS, _BODY_FIELDS):
        for key in group:
            value = fields.get(key)
            text = value[0] if isinstance(value, list) and value else value
            if isinstance(text, str) and text.strip():
                text = re.sub(r"\{\{[^}]*\}\}", " ", text)
                text = re.sub(r"^\s*(?:hi|hello|hey|dear|hallo|guten tag|bonjour|salut|hola|estimado/a)\b[^\n.!?]{0,40}?[,!.:]?\s*\n",
                              "", text, flags=re.I)
                first = next((x for x in re.split(r"(?<=[.!?])\s+|\n+", text) if re.search(r"\w", x)), "")
                parts.append(first)
                break
    return " ".join(parts)


def _similarity(a: str, b: str) -> float:
    wa, wb = re.findall(r"\w+", a.lower()), re.findall(r"\w+", b.lower())
    if not wa and not wb:
        return 1.0
    return difflib.SequenceMatcher(a=wa, b=wb, autojunk=False).ratio()


DISTINCT = 0.45
"""Two openings at least this similar (word-sequence ratio) say the same thing the same way."""


def most_distinct(candidates: Sequence[Fields], earlier: Sequence[str]) -> list[Fields]:
    """``candidates`` reordered so that those whose opening differs from every ``earlier``
    opening come first (in their own order), then the rest by how much they differ."""
    def worst(c: Fields) -> float:
        o = opening(c)
        return max((_similarity(o, e) for e in earlier), default=0.0)

    scored = [(worst(c), i, c) for i, c in enumerate(candidates)]
    fine = [c for w, i, c in scored if w < DISTINCT]
    rest = [c for w, i, c in sorted(scored, key=lambda t: (t[0], t[1])) if w >= DISTINCT]
    return fine + rest


def _carrying(heads: Sequence[str | None], facts: BriefParts, ph: dict[str, Any], limit: int,
              brand_name: str = "") -> list[str | None]:
    """Headlines asked for on their own ("5 subject lines") each carry what the customer must
    see: the product named and the offer's value (with its condition), else the deadline —
    all of them when they fit, else as many as fit, the offer's value before the name."""
    core = offer_core(facts.offer)
    if core and facts.offer and re.search(re.escape(core) + r"\s+(?:off|de réduction|Rabatt)\b", facts.offer, re.I):
        core = " ".join(facts.offer[facts.offer.lower().find(core.lower()):].split(" ")[0:2])  # "25% off", not "25%"
    if core and facts.condition:
        core = _join(core, facts.condition)  # "free returns within 60 days": a conditional claim keeps its condition
    if not core:  # "-20 % jusqu'au 30 novembre" read as a message sentence: its first amount is the offer's value
        core = next((t for n in facts.notes for t in must_tokens(n) if re.search(r"%|[$£€]", t)), None)
    wanted = [e for e in (core, facts.named) if e] or ([facts.end_date] if facts.end_date else [])
    if not wanted:
        return list(heads)
    out: list[str | None] = []
    for h in heads:
        if not h:
            continue
        missing = [e for e in wanted if e.lower() not in h.lower()]
        if not missing:
            out.append(h)
            continue
        options: list[str] = []
        for n in range(len(missing), 0, -1):
            said = missing[:n]
            if said == [facts.end_date]:
                options.append(f"{h.rstrip('.!?:')}{_until(facts, ph)}")
                continue
            joined = f" {ph.get('and', 'and')} ".join(said) if len(said) > 1 and not core else ", ".join(said)
            options += [f"{h.rstrip('.!?:')}: {joined}", f"{joined}: {h}"]
        chosen = next((o for o in options if len(o) <= limit), None)
        if chosen:
            out.append(chosen)
    # when no headline of the angle has room for it, what must be seen is the headline itself
    lead = _sentence_case(wanted[0])
    leads = [str(v) for v in ph.get("short_lead", {}).values() if "{" not in str(v) and str(v).endswith(":")]
    out += [o for o in (lead, ", ".join(wanted) if len(wanted) > 1 else "", f"{lead} | {brand_name}" if brand_name else "",
                        *(f"{v} {lead[:1].lower() + lead[1:] if lead[1:2].islower() else lead}" for v in leads))
            if o and len(o) <= limit]
    return list(dict.fromkeys(out))


def _worst(fields: Fields, earlier: Sequence[str]) -> float:
    o = opening(fields)
    return max((_similarity(o, e) for e in earlier), default=0.0)


def _openers(angle: Angle, facts: BriefParts, fact: str, must: str, ph: dict[str, Any], brand: BrandRules,
             framing: str, headline: str = "") -> list[str]:
    """Short sentences of the angle's own that can open a variant: its hook, its lead-in, its
    headline as a sentence, the supporting fact, the audience framing, its other headlines."""
    framing_hook = str(ph.get("framing_hook", {}).get(framing, "")).format(brand=brand.name)
    options = [angle.hook if not (must and _covered(angle.hook, must)) else "", lead_in(angle, facts),
               "" if headline else _sentence(angle.headline), fact, framing_hook,
               *(_sentence(h) for h in angle.extra_headlines)]
    # a one-word sentence ("Tente.", what is left of a topic once its product is named) is no opening
    found = [o for o in dict.fromkeys(o.strip() for o in options if o and o.strip())
             if not (must and _covered(o, must)) and len(_words(o)) >= 2]
    if headline:  # the body does not open by repeating the headline ("Gear for your next trip. Gear for …")
        found = [o for o in found if _similarity(o, headline) < DISTINCT]
    # a sentence that names something of the brief opens before a generic one ("See the details.")
    return sorted(found, key=lambda o: not _specific(o, facts))


def _specific(sentence: str, facts: BriefParts) -> bool:
    """True when ``sentence`` names something of the brief (topic, product, offer, date, category) or a figure."""
    about = " ".join(x for x in (facts.topic, facts.product, facts.offer, facts.item, facts.category, facts.when,
                                 facts.end_date, facts.named, facts.detail) if x).lower()
    words = {w for w in re.findall(r"[^\W\d_]{4,}", about)}
    return bool(re.search(r"\d", sentence)) or bool(words & set(re.findall(r"[^\W\d_]{4,}", sentence.lower())))


def _sentence(text: str) -> str:
    text = (text or "").strip().rstrip(":")
    return text if not text or text.endswith((".", "!", "?")) else f"{text}."


def _with_opener(channel: str, fields: Fields, opener: str) -> Fields | None:
    """``fields`` with ``opener`` as the first sentence of the body (after an e-mail's greeting;
    a search ad's first description), or ``None`` when the channel has no such field."""
    out = dict(fields)
    if channel == "email" and isinstance(out.get("body"), str):
        paragraphs = str(out["body"]).split("\n\n")
        at = 1 if len(paragraphs) > 1 else 0
        out["body"] = "\n\n".join([*paragraphs[:at], opener, *paragraphs[at:]])
        return out
    if channel == "google_rsa" and isinstance(out.get("descriptions"), list):
        descs = list(out["descriptions"])  # the last (another angle's hook) makes room
        out["descriptions"] = [opener, *(descs[:-1] if len(descs) >= 4 else descs)]
        return out
    for key in ("body", "primary_text", "text"):
        if isinstance(out.get(key), str):
            out[key] = _join(opener, str(out[key]))
            return out
    return None


def lead_in(angle: Angle, facts: BriefParts) -> str:
    """A short opening sentence of the angle's own ("Back in stock.", "New at Alder & Peak."):
    its first extra headline that does not just repeat the topic."""
    topic = set(re.findall(r"\w+", facts.topic.lower()))
    for head in angle.extra_headlines:
        words = re.findall(r"\w+", head.lower())
        if words and sum(w in topic for w in words) <= len(words) / 2:
            return head.rstrip(".!?:") + "."
    return ""


def _has(spec: ChannelSpec, name: str) -> bool:
    """True when ``spec`` (possibly narrowed to requested fields) has the field ``name``."""
    return any(f.name == name for f in spec.fields)


def _covered(sentence: str, text: str) -> bool:
    """True when (nearly) every word of ``sentence`` already appears in ``text``."""
    words = re.findall(r"\w+", sentence.lower())
    have = set(re.findall(r"\w+", text.lower()))
    return not words or sum(w in have for w in words) >= 0.8 * len(words)


def _kept_whole(raw: Fields, fitted: Fields) -> bool:
    """True when every raw string survived fitting (nothing was cut)."""
    for key, value in raw.items():
        got = fitted.get(key)
        if isinstance(value, str) and key in fitted:
            core = gsm7_safe(re.sub(r"\s+", " ", value).strip())
            if core and core not in gsm7_safe(re.sub(r"\s+", " ", str(got or ""))):
                return False
    return True


def _keeps(fitted: Fields, keep: Sequence[str]) -> bool:
    """True when ``fitted`` still says every kept phrase — a long one (a whole message sentence)
    by its values (amounts, codes, dates), since the fitter may compact its other words."""
    text = gsm7_safe(" ".join(str(v) for v in fitted.values())).lower()
    needed = [t for k in keep for t in ([k] if len(k) <= 30 else must_tokens(k) or [k])]
    return all(gsm7_safe(k).lower() in text for k in needed)


def _body_opening(fields: Fields) -> str:
    """The first sentence of a draft's message field (greeting and merge fields aside)."""
    return opening({k: v for k, v in fields.items() if k in _BODY_FIELDS})


def _doubled(fields: Fields) -> bool:
    """True when a message field's first two sentences say nearly the same words ("Für deine nächste
    Tour. Gut für deine nächste Tour: …"): a doubled lead-in."""
    for key in _BODY_FIELDS:
        value = fields.get(key)
        text = value[0] if isinstance(value, list) and value else value
        if not isinstance(text, str):
            continue
        text = re.sub(r"^\s*(?:hi|hello|hey|dear|hallo|bonjour|salut|hola)\b[^\n]{0,40}\n+", "", text, flags=re.I)
        sentences = [x for x in re.split(r"(?<=[.!?:])\s+|\n+", text) if re.search(r"\w", x)]
        if len(sentences) >= 2 and _similarity(sentences[0], sentences[1]) >= 0.5:
            return True
    return False


def _missing(fitted: Fields, keep: Sequence[str]) -> int:
    """How many kept phrases ``fitted`` no longer says (a long one counted by its values)."""
    text = gsm7_safe(" ".join(" ".join(v) if isinstance(v, list) else str(v) for v in fitted.values())).lower()
    needed = [t for k in keep for t in ([k] if len(k) <= 30 else must_tokens(k) or [k])]
    return sum(gsm7_safe(k).lower() not in text for k in dict.fromkeys(needed))


def _says(fitted: Fields, phrase: str) -> bool:
    text = gsm7_safe(" ".join(" ".join(v) if isinstance(v, list) else str(v) for v in fitted.values())).lower()
    return gsm7_safe(phrase).lower() in text


def _rotations(must: str) -> list[str]:
    """The must-know line led by each of its other sentences ("Register by 8 December: … A free
    workshop …"): the same facts, a different one first, so short variants can open differently."""
    sentences = [x for x in SENTENCE_END.split(must.strip()) if x]
    return [" ".join([*sentences[k:], *sentences[:k]]) for k in range(1, len(sentences))]


def _rotated(fields: Fields, must: str) -> list[Fields]:
    """``fields`` with the must-know line, where a message field says it, led by another of its sentences."""
    out: list[Fields] = []
    for key in _BODY_FIELDS:
        value = fields.get(key)
        if isinstance(value, str) and must and must in value:
            out += [{**fields, key: value.replace(must, r, 1)} for r in _rotations(must)]
    return out


def _split_meta(raw: Fields, must: str, leads: Sequence[str], cta: str) -> list[Fields]:
    """Meta ads whose primary text opens with one of ``leads`` and one must-know sentence, the
    rest of the must-know line going to the description under the headline — room for an
    angle of its own when the whole line fills the primary text."""
    sentences = [x for x in SENTENCE_END.split(must.strip()) if x]
    if len(sentences) < 2:
        return []
    out: list[Fields] = []
    for k, first in enumerate(sentences):
        rest = _join(*(x for i, x in enumerate(sentences) if i != k), cta)
        out += [{**raw, "primary_text": _join(lead, first), "description": rest} for lead in leads if lead]
    return out


def _words(sentence: str) -> list[str]:
    return re.findall(r"\w+", sentence.lower())


_AMOUNT = re.compile(r"\d\s?%|[$£€]\s?\d|\d\s?(?:€|eur\b)", re.IGNORECASE)


def _concrete(fields: Fields, named: Sequence[str]) -> bool:
    """True when ``fields`` name a product, the code or the offer, or give an amount."""
    text = " ".join(" ".join(v) if isinstance(v, list) else str(v) for v in fields.values())
    low = gsm7_safe(text).lower()
    return bool(_AMOUNT.search(text)) or any(gsm7_safe(n).lower() in low for n in named)


def no_repeats(fields: Fields) -> Fields:
    """``fields`` with no sentence said twice in a message field: an exact repeat goes (the
    first stays, so the draft keeps the opening that sets its angle), and so does a sentence of four
    words or more whose every word another sentence of the field already says ("Am Freitag,
    12. Dezember. Kletterabend am Freitag, 12. Dezember …")."""
    out = dict(fields)
    for key in _BODY_FIELDS:
        value = out.get(key)
        if not isinstance(value, str):
            continue
        paragraphs = value.split("\n\n")
        units = [[x for x in SENTENCE_END.split(p) if x] for p in paragraphs]
        flat = [(i, j, _words(x)) for i, sent in enumerate(units) for j, x in enumerate(sent)]
        drop: set[tuple[int, int]] = set()
        for n, (i, j, words) in enumerate(flat):
            if not words or "{" in units[i][j]:
                continue
            for m, (i2, j2, other) in enumerate(flat):
                if m == n or (i2, j2) in drop:
                    continue
                if words == other and m < n:
                    drop.add((i, j))
                    break
                if len(words) >= 4 and len(other) > len(words) and all(w in other for w in words):
                    drop.add((i, j))
                    break
        if drop:
            kept = [" ".join(x for j, x in enumerate(sent) if (i, j) not in drop) for i, sent in enumerate(units)]
            out[key] = "\n\n".join(p for p in kept if p.strip())
    return out


def _must_only(spec: ChannelSpec, raw: Fields, angle: Angle, must: str, greeting: str,
               keep: Sequence[str]) -> list[Fields]:
    """Drafts whose message fields say only the must-know line (whole, then compacted to its
    values), with ``raw``'s headline: the last resort that keeps the code, dates and link."""
    out: list[Fields] = []
    # the short sentences (code, deadline, link) first: a cut at the end then takes words, not them
    shortest_first = " ".join(sorted(SENTENCE_END.split(must.strip()), key=len))
    for line in dict.fromkeys([must, compact(must, keep), shortest_first, *_rotations(must)]):
        if spec.name == "email":
            out.append({**raw, "preheader": line, "body": "\n\n".join(p for p in (greeting, line, f"{angle.cta}.") if p)})
            out.append({**raw, "preheader": line, "body": "\n\n".join(p for p in (greeting, line) if p)})
        elif spec.name == "sms":
            out += [{"text": _join(angle.short, line)}, {"text": line}]
        elif spec.name == "google_rsa":
            limit = spec.field("descriptions").max_chars if _has(spec, "descriptions") else 90
            pieces = _pieces(line, limit)
            rest = [d for d in raw.get("descriptions") or [] if d not in pieces]
            out.append({**raw, "descriptions": [*pieces, *rest]})
        else:
            key = next((k for k in ("body", "primary_text", "text") if k in raw), None)
            if key is not None:
                out.append({**raw, key: line})
                if spec.name == "social":
                    out.append({**raw, key: _join(line, f"{angle.cta}.")})
    return [{k: v for k, v in o.items() if _has(spec, k)} for o in out]


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
    catalog: Sequence[CatalogItem] = (),
    parts: BriefParts | None = None,
    quotes: Sequence[str] = (),
) -> tuple[list[Fields], BriefParts, list[str]]:
    """(drafts, brief parts, angle names): ``variants`` fitted drafts, one angle each.

    ``language`` must be a supported code (see :func:`resolve_language`); angles repeat with
    their other headlines and calls to action when more variants than angles are asked for.
    ``skip`` starts after the first ``skip`` variants (“more variants” gives new ones); ``short``
    drops the supporting fact and takes the shortest draft that keeps the message whole.
    ``catalog`` products give facts ("new in Footwear: ..."); ``parts`` is the brief already read;
    ``quotes`` (signed customer quotes) are each variant's supporting fact, one per variant.
    """
    lang = resolve_language(language) or "en"
    ph = phrases(lang)
    facts = parts or parse_brief(brief, offer, brand, str(ph["our_gear"]), catalog)
    if lang != "en":
        facts = localized(facts, ph)
    short = short or facts.length == "short"
    if profile is None and segment:
        profile = AudienceProfile(name=segment)
    framing = profile.lifecycle if profile else framing_for(segment or facts.audience)
    # the audience's own top category, preferring one the brief is about
    tops = profile.top_categories if profile else []
    category = next((c for c in tops if c in facts.categories), None) or (tops[0] if tops else facts.category)
    tone_key = (tone or facts.tone or "").strip().lower()
    tone_key = _TONE_MAP.get(tone_key, tone_key)
    greeting = str(ph["tone_greeting"].get(tone_key) or ph["greeting"][framing]).format(name=ph["name"])
    plan = angle_plan(facts, profile, framing, category)
    angles = [build_angle(a, facts, brand, framing, ph, category) for a in plan]
    must = must_line(facts, ph)
    # each must-know phrase as the must-know line writes it ("leave a review" after a product name)
    keep = list(dict.fromkeys(must[at: at + len(k)] for k in must_phrases(facts) if (at := must.lower().find(k.lower())) >= 0))
    if facts.named and facts.named not in keep:
        keep.append(facts.named)  # the product or programme it is about: in every variant, even a short one
    facts_pool = fact_lines(facts, brand, ph, category, catalog)
    small_facts = [f for f in short_facts(facts, ph, category, catalog) if claims_check([f], brand).passed]
    if not facts_pool and not (category or facts.category):
        facts_pool = small_facts  # nothing else specific to say: the newest products, one per variant
    named_things = [x for x in (*(p.name for p in brand.products), *(c.name for c in catalog), facts.product,
                                facts.code, offer_core(facts.offer)) if x]
    # an event's what-and-where ("Repair workshop at our Denver store") is as must-know as its date
    topic_keep = facts.topic if facts.purpose in ("event", "education") and facts.topic != str(ph["our_gear"]) and len(facts.topic) <= 40 else ""
    banned_re = brand_patterns(brand)[0]  # a quote that breaks a brand rule is not printed
    quoted = [q for q in quotes if claims_check([q], brand).passed and not (banned_re and banned_re.search(q))]
    out: list[Fields] = []
    has_offer = facts.offer is not None
    alt_ctas = list(ph["alt_ctas"])
    for i in range(skip, skip + variants):
        angle = angles[i % len(angles)]
        if i >= len(angles):  # a second round: the angle's other headline and call to action
            turn = i // len(angles) - 1
            extra = angle.extra_headlines[turn % 2]
            angle = Angle(angle.name, extra, angle.hook, "", alt_ctas[turn % len(alt_ctas)],
                          [angle.headline, angle.extra_headlines[(turn + 1) % 2]], angle.short)
        # short drafts drop the supporting fact when the must-know line already gives one
        fact = "" if (short and must) or not facts_pool else facts_pool[i % len(facts_pool)]
        if angle.name == "product" and len(facts_pool) > 1 and not short:
            fact = facts_pool[1] if facts.detail else facts_pool[0]
        if quoted:  # the customer's own words are the proof this draft was asked to give
            fact = quoted[i % len(quoted)]
        earlier = [opening(f) for f in out]
        head_field = {"email": "subject", "push": "title", "meta_ad": "headline"}.get(spec.name)
        heads: list[str | None] = [None]
        if head_field and _has(spec, head_field):
            first = assemble(spec, angle, angles, greeting, facts, ph, must=must, fact=fact, brand=brand,
                             framing=framing)
            alts = [angle.headline, angle.extra_headlines[0], angle.extra_headlines[1]]
            heads = [str(first[head_field]), *_headlines(alts, spec.field(head_field).max_chars, brand, facts)]
            heads = list(dict.fromkeys(heads))
            if not any(_has(spec, b) for b in ("body", "text", "primary_text", "descriptions")):
                heads = _carrying(heads, facts, ph, spec.field(head_field).max_chars, brand.name) or heads
        drafts = [assemble(spec, angle, angles, greeting, facts, ph, must=must, fact=fact, brand=brand,
                           framing=framing, order=order, head=h) for order in (0, 1, 2, 3) for h in heads]
        raw = most_distinct(drafts, earlier)[0]
        openers = _openers(angle, facts, fact, must, ph, brand, framing,
                           str(raw.get(head_field) or "") if head_field and head_field in raw else "")
        opened = {_body_opening(f) for f in out}  # a sentence that opened an earlier variant does not open this one
        openers = [o for o in openers if o not in opened]
        if earlier and spec.name != "sms" and _worst(raw, earlier) >= DISTINCT:
            # every arrangement opens like an earlier variant (a long must-know line first):
            # a short sentence of this angle's own opens it instead
            raw = next((c for o in openers if (c := _with_opener(spec.name, raw, o)) is not None
                        and _worst(c, earlier) < DISTINCT), raw)
        candidates = [raw]
        if not any(_has(spec, b) for b in ("body", "text", "primary_text", "descriptions")):
            candidates += [d for d in most_distinct(drafts, earlier) if d is not raw]  # headlines alone: any unused one
        if earlier and spec.name != "sms":
            # when a limit leaves no room for the opener, the supporting fact gives way first
            bare = assemble(spec, angle, angles, greeting, facts, ph, must=must, fact="", brand=brand,
                            framing=framing, head=str(raw[head_field]) if head_field and head_field in raw else None)
            candidates += [c for o in openers if (c := _with_opener(spec.name, bare, o)) is not None]
        small = small_facts[i % len(small_facts)] if small_facts and not quoted else ""
        if earlier and must:  # the same facts led by another of them (the brief's date, its link, its code)
            candidates += _rotated(raw, must)
            if spec.name == "meta_ad" and _has(spec, "description"):
                candidates += _split_meta(raw, must, [*openers[:2], fact, small], f"{angle.cta}.")
        key = next((k for k in ("text", "body", "primary_text") if isinstance(raw.get(k), str)), None)
        if must and small and key and spec.name in ("push", "meta_ad", "social"):
            # a short channel whose must-know line leaves no room for the full fact names one product
            candidates += [{**raw, key: _join(line, small)} for line in [must, *_rotations(must)]]
            candidates += [{**raw, key: _join(small, must)}]
        if spec.name == "sms":
            text = str(raw["text"])
            no_cta = text[: -len(f" {angle.cta}.")] if text.endswith(f" {angle.cta}.") else text
            framing_hook = str(ph.get("framing_hook", {}).get(framing, "")).format(brand=brand.name)
            if angle.name == "offer" and framing_hook and must:
                candidates.append({"text": _join(framing_hook, must)})
            candidates += [{"text": no_cta}, {"text": _join(angle.short, must) or no_cta},
                           {"text": _join(angle.headline + ":", _inline(must)) if must else no_cta},
                           {"text": must or no_cta}]
            lead = lead_in(angle, facts)
            candidates += [{"text": _join(lead, must or angle.hook, f"{angle.cta}.")}, {"text": _join(lead, must or angle.hook)},
                           {"text": _join(fact, must or angle.hook)}]
            candidates += [{"text": _join(o, must or angle.hook)} for o in openers]
            if must:  # the must-know line down to its values (and what it is about), whole
                tight = compact(must, [*keep, topic_keep])
                candidates += [{"text": _join(angle.short, tight)}, {"text": tight}]
                candidates += [{"text": r} for r in _rotations(must)] + [{"text": _join(r, fact)} for r in _rotations(must) if fact]
                candidates.append({"text": _join(must, fact)} if fact else {"text": ""})
                if small:
                    candidates += [{"text": _join(line, small)} for line in [must, *_rotations(must)]]
                    candidates += [{"text": _join(small, must)}]
            candidates = [c for c in most_distinct(candidates, earlier) if c["text"]]
        defaults: dict[str, Any] = {}
        if spec.name == "google_rsa":
            benefit = ph["angles"]["benefit"]
            defaults = {"headlines": [benefit[4].format(brand=brand.name), angle.cta],
                        "descriptions": [f"{brand.name}.", f"{angle.cta}."]}
        candidates = [no_repeats(c) for c in candidates]  # no sentence said twice ("Worth a look: X. Worth a look: X.")
        options = [(c, fit_variant(spec, c, brand, has_offer=has_offer, defaults=defaults, keep=keep))
                   for c in candidates]
        if must and not any(_missing(f, keep) == 0 and (not topic_keep or _says(f, topic_keep)) for _, f in options):
            # no arrangement of this angle keeps every must-know element within the limits: the
            # must-know line carries the variant on its own (then compacted), the angle's headline kept
            options += [(c, fit_variant(spec, c, brand, has_offer=has_offer, defaults=defaults, keep=keep))
                        for c in map(no_repeats, _must_only(spec, raw, angle, must, greeting, keep))]
        least = min(_missing(f, keep) for _, f in options)
        options = [(c, f) for c, f in options if _missing(f, keep) == least]
        if topic_keep:  # what it is about ("Denver", "checklists") too, when some option says it
            options = [(c, f) for c, f in options if _says(f, topic_keep)] or options
        whole = [f for c, f in options if _kept_whole(c, f)]
        fresh = [f for f in whole if f not in out] or [f for _, f in options if f not in out]
        if short and fresh:
            fresh.sort(key=lambda f: sum(len(str(v)) for v in f.values()))
        fresh = [f for f in fresh if not _doubled(f)] or fresh  # "For your next trip. Good for your next trip: …"
        fresh = most_distinct(fresh, earlier)  # as fitted: a cut can take the opening that set it apart
        # of the drafts that open differently, one that names something specific (a product, an
        # amount, a code) before one that does not
        fine = [f for f in fresh if _worst(f, earlier) < DISTINCT]
        if fine and not _concrete(fine[0], named_things):
            fresh = sorted(fine, key=lambda f: not _concrete(f, named_things)) + fresh[len(fine):]
        out.append(fresh[0] if fresh else (whole or [options[0][1]])[0])
    return out, facts, [angles[i % len(angles)].name for i in range(skip, skip + variants)]
