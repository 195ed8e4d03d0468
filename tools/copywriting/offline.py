"""Offline drafts: distinct angles built from templates and rules, no model needed.

The brief is read for its topic (first clause, imperatives such as "draft an SMS about"
removed), an offer (``20% off ...``, ``free shipping over ...``, a code like ``COMEBACK15``)
and an end date ("until 30 November"). The segment picks the framing (win-back for
"At Risk", "Lost"...; appreciation for "Champions", "Loyal"; welcome for "New"...), which
also orders the angles. Each angle yields a headline, a hook, a detail and a call to
action that the channel assembler turns into fields; the fitter then enforces limits
and disclaimers. Drafts are English only and say so through a warning otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tools.copywriting.brand import BrandRules
from tools.copywriting.channels import ChannelSpec
from tools.copywriting.checks import Fields
from tools.copywriting.fitter import fit_variant, gsm7_safe

NAME = "{{first_name|there}}"
ANGLES = ("benefit", "offer", "timely", "loyalty", "product")
FRAMING = {
    "winback": ("At Risk", "Can't Lose Them", "Hibernating", "Lost", "About to Sleep"),
    "appreciation": ("Champions", "Loyal"),
    "welcome": ("New", "Promising", "Potential Loyalist"),
    "nudge": ("Need Attention",),
}
ANGLE_ORDER = {
    "winback": ("offer", "loyalty", "benefit", "timely", "product"),
    "appreciation": ("loyalty", "benefit", "offer", "product", "timely"),
    "welcome": ("benefit", "product", "offer", "loyalty", "timely"),
    "nudge": ("benefit", "offer", "timely", "product", "loyalty"),
    "default": ("benefit", "offer", "timely", "product", "loyalty"),
}
GREETING = {
    "winback": f"It's been a while, {NAME}.",
    "appreciation": f"Thanks for being with us, {NAME}.",
    "welcome": f"Welcome, {NAME}.",
    "nudge": f"Hi {NAME}, something for your next trip.",
    "default": f"Hi {NAME},",
}
TONE_GREETING = {"formal": f"Hello {NAME},", "friendly": f"Hey {NAME},", "playful": f"Hey {NAME}!"}
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
    "German": {"und", "der", "die", "das", "für", "mit", "nicht", "ist", "unsere", "eine", "bis"},
    "French": {"et", "le", "la", "les", "pour", "avec", "est", "nos", "une", "des", "jusqu'au"},
    "Spanish": {"y", "el", "la", "los", "para", "con", "es", "nuestros", "una", "hasta", "del"},
    "Italian": {"e", "il", "la", "per", "con", "è", "nostri", "una", "fino", "gli", "della"},
    "Dutch": {"en", "de", "het", "voor", "met", "is", "onze", "een", "tot", "van", "niet"},
    "Swedish": {"och", "för", "med", "är", "våra", "en", "till", "på", "inte", "att"},
}
_ENGLISH = {"the", "and", "for", "with", "our", "your", "to", "of", "on", "is", "a", "until"}


@dataclass(slots=True)
class BriefFacts:
    """What the generator reads from a brief."""

    topic: str
    detail: str
    offer: str | None = None
    code: str | None = None
    end_date: str | None = None
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


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _inline(topic: str) -> str:
    """``topic`` for mid-sentence use: first letter lowered when the rest is lower case."""
    rest = topic.split()[1:]
    if topic[:1].isupper() and topic[1:2].islower() and all(w.islower() for w in rest):
        return topic[:1].lower() + topic[1:]
    return topic


def parse_brief(brief: str, offer: str | None = None) -> BriefFacts:
    """Topic, detail sentence, offer, code and end date of ``brief``."""
    text = re.sub(r"\s+", " ", brief).strip()
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
        m = _OFFER.search(text)
        offer_text = m.group(1).strip(" ,") if m else None
    code_m = _CODE.search(text) or (_CODE.search(offer_text) if offer_text else None)
    date_m = _DATE.search(text) or (_DATE.search(offer_text) if offer_text else None)
    if offer_text and _covered(topic, f"{offer_text} {code_m.group(0) if code_m else ''} code"):
        topic = "our gear"  # the brief is only an offer: give the hooks something to point at
    detail = _sentence_case(cleaned.rstrip(" ."))
    if not detail.endswith((".", "!", "?")):
        detail += "."
    return BriefFacts(
        topic=topic,
        detail=detail,
        offer=offer_text,
        code=code_m.group(1) if code_m else None,
        end_date=date_m.group(1) if date_m else None,
    )


def framing_for(segment: str | None) -> str:
    """The framing key for an RFM/cluster segment name (``default`` when unknown)."""
    if not segment:
        return "default"
    low = segment.strip().lower()
    for key, names in FRAMING.items():
        if any(low == n.lower() for n in names):
            return key
    if any(w in low for w in ("lapsed", "churn", "dormant", "inactive", "win")):
        return "winback"
    if any(w in low for w in ("vip", "gold", "loyal", "champion", "top")):
        return "appreciation"
    if "new" in low or "first" in low:
        return "welcome"
    return "default"


@dataclass(slots=True)
class Angle:
    name: str
    headline: str
    hook: str
    detail: str
    cta: str
    extra_headlines: list[str]
    short: str = ""


def build_angle(name: str, facts: BriefFacts, brand: BrandRules, framing: str) -> Angle:
    """Headline, hook, detail, call to action and a short SMS lead for one angle."""
    angle = _angle(name, facts, brand, framing)
    angle.short = _short_lead(name, facts, framing)
    return angle


SHORT_LEADS = {
    "offer": f"{NAME}, good news:",
    "timely": "A quick reminder:",
    "loyalty": f"Hi {NAME}.",
    "product": "",
    "benefit": "",
}


def _short_lead(name: str, facts: BriefFacts, framing: str) -> str:
    if name == "benefit" and framing == "welcome":
        return f"Welcome, {NAME}."
    if name == "timely" and not facts.end_date:
        return ""
    return SHORT_LEADS.get(name, "")


def _angle(name: str, facts: BriefFacts, brand: BrandRules, framing: str) -> Angle:
    t, T = _inline(facts.topic), _sentence_case(facts.topic)
    offer = facts.offer
    until = f" until {facts.end_date}" if facts.end_date else ""
    code = f" with code {facts.code}" if facts.code and facts.code not in (offer or "") else ""
    if name == "offer" and offer:
        return Angle(name, _sentence_case(offer), f"{_sentence_case(offer)}{code}{until}.",
                     facts.detail, "See the offer", [f"{_sentence_case(offer)}{until}", "See the offer"])
    if name == "offer":
        return Angle(name, f"New: {t}", f"Now at {brand.name}: {t}.", facts.detail,
                     "See what's new", [f"New at {brand.name}", "See what's new"])
    if name == "timely" and facts.end_date:
        return Angle(name, f"{T} ends {facts.end_date}", f"{T} runs until {facts.end_date}.",
                     facts.detail, "Plan your trip", [f"Ends {facts.end_date}", "Plan your next trip"])
    if name == "timely":
        return Angle(name, f"{T}, in time for the season", f"Planning your next trip? Take a look: {t}.",
                     facts.detail, "Plan your trip", ["Ready for the season", "Plan your next trip"])
    if name == "loyalty":
        lead = "We'd love to see you back" if framing == "winback" else "Thank you for being with us"
        return Angle(name, lead, f"{lead}. Something for you: {t}.", facts.detail,
                     "Take a look", [lead, f"Thanks from {brand.name}"])
    if name == "product":
        return Angle(name, f"{T}: the details", f"Worth a look: {t}.", facts.detail,
                     "Read the details", [f"About {t}", "Read the details"])
    return Angle(name, f"{T} for your next trip", f"Good for your next trip: {t}.",
                 facts.detail, "Take a look", ["Gear for your next trip", f"Shop {brand.name}"])


def assemble(spec: ChannelSpec, angle: Angle, all_angles: list[Angle], greeting: str, facts: BriefFacts) -> Fields:
    """Channel fields from one angle (before fitting)."""
    offer_line = ""
    if facts.offer and angle.name != "offer" and facts.offer.lower() not in angle.hook.lower():
        offer_line = f" {_sentence_case(facts.offer)}" + (f" until {facts.end_date}." if facts.end_date else ".")
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


def offer_line_of(facts: BriefFacts) -> str:
    """The offer as one sentence, with its end date."""
    if not facts.offer:
        return ""
    return _sentence_case(facts.offer) + (f" until {facts.end_date}." if facts.end_date else ".")


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
) -> tuple[list[Fields], BriefFacts, list[str]]:
    """(drafts, brief facts, angle names): ``variants`` fitted drafts, one angle each (angles repeat with a new CTA beyond five)."""
    facts = parse_brief(brief, offer)
    framing = framing_for(segment)
    greeting = TONE_GREETING.get((tone or "").lower(), GREETING[framing])
    order = ANGLE_ORDER[framing]
    angles = [build_angle(a, facts, brand, framing) for a in order]
    if not facts.offer:  # an offer angle without an offer is just "news": put it last
        angles = [a for a in angles if a.name != "offer"] + [a for a in angles if a.name == "offer"]
    out: list[Fields] = []
    has_offer = facts.offer is not None
    alt_ctas = ("Find out more", "Have a look", "Explore the range", "See the details")
    for i in range(variants):
        angle = angles[i % len(angles)]
        if i >= len(angles):
            angle = Angle(angle.name, angle.headline, angle.hook, angle.detail,
                          alt_ctas[(i // len(angles) - 1) % len(alt_ctas)], angle.extra_headlines)
        raw = assemble(spec, angle, angles, greeting, facts)
        candidates = [raw]
        if spec.name == "sms":
            text = str(raw["text"])
            no_cta = text[: -len(f" {angle.cta}.")] if text.endswith(f" {angle.cta}.") else text
            candidates += [{"text": no_cta}, {"text": no_cta.replace(angle.short, "", 1)}]
            if facts.offer and angle.name != "offer":
                candidates.append({"text": f"{angle.short} {offer_line_of(facts)}"})
                candidates.append({"text": f"{angle.cta}: {_inline(offer_line_of(facts))}"})
                candidates.append({"text": offer_line_of(facts)})
        defaults: dict[str, Any] = {}
        if spec.name == "google_rsa":
            defaults = {"headlines": [f"Shop {brand.name}", "Gear for your next trip", "Take a look"],
                        "descriptions": [f"Gear for your next trip from {brand.name}.", f"{angle.cta}."]}
        options = [(c, fit_variant(spec, c, brand, has_offer=has_offer, defaults=defaults))
                   for c in candidates]
        whole = [f for c, f in options if _kept_whole(c, f)]
        fresh = [f for f in whole if f not in out] or [f for _, f in options if f not in out]
        out.append(fresh[0] if fresh else (whole or [options[0][1]])[0])
    return out, facts, [angles[i % len(angles)].name for i in range(variants)]
