"""Deterministic fitter: whatever a model or template wrote, hard limits hold afterwards.

Per string: normalise whitespace, make SMS text GSM-7 safe (the transliteration of
:mod:`tools.copywriting.gsm7`: "−1 °C" → "-1C", smart quotes, dashes and ellipses to ASCII;
emoji dropped only when they would force UCS-2 past one segment), remove banned phrases, drop filler phrases while too long, then cut after the last whole
word (never inside a word or a ``{{merge_field}}``), preferring a sentence end, and trim
dangling connectors. Required disclaimers (and the SMS sender prefix) are taken out
before fitting and put back in place, so they always survive. Phrases in ``keep`` (what the
customer must know: the offer, its code, deadline and condition) are never cut: sentences
without them go first. Before limits, :func:`repair_text` fixes what a rule can fix by itself
(shouted words, repeated punctuation, extra exclamation marks, spam phrases, a conditional
claim left without its condition); :func:`unfixable` names the failed checks no edit of the
fitter can repair (an unapproved claim, a must-know element that cannot fit).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

from tools.copywriting.brand import BrandRules
from tools.copywriting.brief import must_tokens
from tools.copywriting.channels import (
    MERGE_RE,
    ChannelSpec,
    is_gsm7,
    measured,
    sms_limit,
    sms_units,
)
from tools.copywriting.checks import (
    ALWAYS_AVAILABLE,
    CAPS_ALLOWED,
    SPAM_TRIGGERS,
    Check,
    Fields,
    _unconditioned,
    brand_patterns,
    phrase_pattern,
)
from tools.copywriting.gsm7 import to_gsm7

FILLERS = (
    r"\breally ", r"\bvery ", r"\bjust ", r"\bactually ", r"\bsimply ", r"\bquite ",
    r"\btruly ", r"\bof course,? ", r"\bthat you (?=love|need)", r"\bright now\b",
    r"\bwe think ", r"\bin fact,? ",
)
_FILLER_RES = [re.compile(p, re.IGNORECASE) for p in FILLERS]
_TOKEN_RE = re.compile(r"\{\{[^}]*\}\}\S*|\S+")
DANGLING = {
    "and", "or", "the", "a", "an", "with", "to", "for", "of", "on", "in", "at", "your",
    "our", "by", "from", "&", "-", "but", "so", "is", "are", "up", "until", "till", "ends",
    "through", "when", "as", "than", "into",
}

LIST_PADDING = {
    "headlines": ["Shop now", "Learn more", "See what's new", "Take a look"],
    "descriptions": ["Find out more on our website.", "Take a look at the full range."],
}

Measure = Callable[[str], int]


SENTENCE_END = re.compile(r"(?<=[^\d\s][.!?])\s+|(?<=\d[.!?])\s+(?=[A-ZÄÖÜÀ-Ý¿¡\"“])(?!(?:Jan|Feb|Mär|Mar|Apr|Mai|May|Jun|"
                          r"Jul|Aug|Sep|Okt|Oct|Nov|Dez|Dec)\w*\b)")
"""Where a sentence ends: "Register by 8 December. Code X" is two, "am Samstag, 17. Januar" one."""


def gsm7_safe(text: str) -> str:
    """``text`` in the SMS alphabet, facts kept ("−1 °C" → "-1C", curly quotes straight): the
    documented transliteration of :mod:`tools.copywriting.gsm7`, which the checks and the rubric
    apply too."""
    return to_gsm7(text)


def drop_symbols(text: str) -> str:
    """``text`` without emoji and other symbol characters (and their variation selectors)."""
    kept = [c for c in text if unicodedata.category(c) not in ("So", "Sk", "Cs", "Mn", "Cf")
            or c in "^`"]
    return re.sub(r"\s{2,}", " ", "".join(kept)).strip()


def normalise(text: str) -> str:
    lines = [re.sub(r"[ \t]+", " ", ln).strip() for ln in str(text).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def remove_phrases(text: str, pattern: re.Pattern[str] | None) -> str:
    """Delete matches of ``pattern`` and tidy the spaces and punctuation left behind."""
    if pattern is None or not pattern.search(text):
        return text
    out = pattern.sub("", text)
    out = re.sub(r"[ \t]{2,}", " ", out)
    out = re.sub(r" +([,.;:!?])", r"\1", out)
    out = re.sub(r"([,;:])(?=[,.;:!?])", "", out)
    return re.sub(r"^[\s,;:.!-]+", "", out).strip()


def cut_words(text: str, limit: int, measure: Measure = len) -> str:
    """The longest whole-word prefix of ``text`` with ``measure`` ≤ ``limit`` (no mid-word cut)."""
    if measure(text) <= limit:
        return text
    best = ""
    sentence_end = ""
    for m in _TOKEN_RE.finditer(text):
        candidate = text[: m.end()]
        if measure(candidate) > limit:
            break
        best = candidate
        if candidate.endswith((".", "!", "?")):
            sentence_end = candidate
    if sentence_end and len(sentence_end) >= 0.6 * len(best):
        return sentence_end
    words = best.split(" ")
    while len(words) > 1 and (words[-1].lower().strip(",;:") in DANGLING or not words[-1].strip(",;:-")):
        words.pop()
    return " ".join(words).rstrip(",;:- ")


_SUBORDINATE = re.compile(r"\s+(?:when|once|if|after|as soon as|so that|because|wenn|sobald|quand|dès que|lorsque|"
                          r"cuando|en cuanto)\b.*$", re.IGNORECASE)


def compact(text: str, keep: Sequence[str] = ()) -> str:
    """``text`` with the words that carry no value taken out, sentence by sentence: a comma or
    "and" clause without a number, amount, code or date (and no short ``keep`` phrase) goes, and
    a clause's "when they buy" tail after its last value goes. "Give a friend $20 off their first
    order over $100, and get 500 points when they buy. Code FRIEND20." → "Give a friend $20 off
    their first order over $100, get 500 points. Code FRIEND20." — what the customer must know
    stays whole, so a hard cut is the last resort."""
    short_keep = [k for k in keep if k and len(k) <= 40]
    out = []
    for sentence in SENTENCE_END.split(text.strip()):
        end = sentence[-1] if sentence[-1:] in ".!?" else ""
        body = sentence[:-1] if end else sentence
        clauses = re.split(r",\s+(?:and\s+|und\s+|et\s+|y\s+)?|\s+and\s+(?=(?:get|gets|you|they|enjoy|earn|receive)\b)",
                           body)
        valued = [c for c in clauses if must_tokens(c) or any(k in c for k in short_keep)]
        if not valued:
            out.append(sentence if len(clauses) == 1 else "")
            continue
        trimmed = [_SUBORDINATE.sub("", c) if must_tokens(_SUBORDINATE.sub("", c)) else c for c in valued]
        out.append(", ".join(c.strip() for c in trimmed if c.strip()) + end)
    return " ".join(o for o in out if o)


def fit_text(text: str, limit: int, measure: Measure = len, keep: Sequence[str] = ()) -> str:
    """``text`` shortened to ``limit``: fillers first, then sentences without a ``keep`` phrase
    (last first), then a whole-word cut that stops before a kept phrase."""
    text = normalise(text)
    if measure(text) <= limit:
        return text
    for rx in _FILLER_RES:
        text = re.sub(r"[ \t]{2,}", " ", rx.sub("", text)).strip()
        if measure(text) <= limit:
            return text
    kept = [k for k in keep if k and k in text]
    if not kept:
        return cut_words(text, limit, measure)
    pieces = re.split(r"((?<=[.!?])\s+|\n+)", text)
    sentences, seps = pieces[0::2], pieces[1::2] + [""]
    protected = [any(k in s for k in kept) for s in sentences]

    def joined(parts: list[str]) -> str:
        return normalise("".join(p + sep for p, sep in zip(parts, seps, strict=True) if p))

    out = list(sentences)
    for i in reversed(range(len(out))):
        if measure(joined(out)) <= limit:
            break
        if not protected[i]:
            out[i] = ""
    result = joined(out)
    if measure(result) <= limit:
        return result
    shorter = compact(result, kept)
    if measure(shorter) <= limit:
        return shorter
    result = shorter if len(shorter) < len(result) else result
    # only kept sentences are left and still too long: words go from the ends of the longest
    # sentences, never a kept phrase or a value (code, amount, date); the hard limit wins last
    squeezed = squeeze(result, limit, measure, kept)
    if squeezed is not None:
        return squeezed
    return cut_words(result, limit, measure)


def _protected_words(sentence: list[str], keep: Sequence[str]) -> set[int]:
    """Indices of the words of ``sentence`` inside a kept phrase or a value (amount, code, date)."""
    text = " ".join(sentence)
    spans = [(m.start(), m.end()) for k in keep if k and len(k) <= 40 for m in re.finditer(re.escape(k), text)]
    spans += [(m.start(), m.end()) for t in must_tokens(text) for m in re.finditer(re.escape(t), text)]
    out, at = set(), 0
    for i, word in enumerate(sentence):
        start, end = at, at + len(word)
        if any(a < end and start < b for a, b in spans):
            out.add(i)
        at = end + 1
    return out


def squeeze(text: str, limit: int, measure: Measure = len, keep: Sequence[str] = ()) -> str | None:
    """``text`` within ``limit`` by dropping the words after the last value of its longest sentences
    (and the connectors left dangling) — never a word of a ``keep`` phrase or of a value; ``None`` when
    that cannot reach the limit. "…, and you earn 300 points Trail Club. Code AMI20." →
    "…, and you earn 300 points. Code AMI20." rather than losing the code at the end."""
    sentences = [s.split(" ") for s in SENTENCE_END.split(text.strip()) if s]

    def joined() -> str:
        return " ".join(" ".join(w) for w in sentences if w)

    for _ in range(400):
        current = joined()
        if measure(current) <= limit:
            return current
        order = sorted(range(len(sentences)), key=lambda i: -len(" ".join(sentences[i])))
        for i in order:
            words = sentences[i]
            guarded = _protected_words(words, keep)
            end = words[-1][-1:] if words and words[-1][-1:] in ".!?" else ""
            last_kept = max(guarded, default=-1)
            drop = len(words) - 1 if len(words) - 1 > max(last_kept, 0) else None  # only the tail after the last value
            if drop is None:
                continue
            del words[drop]
            while len(words) > 1 and len(words) - 1 not in _protected_words(words, keep) and (
                    words[-1].lower().strip(",;:") in DANGLING or not words[-1].strip(",;:-")):
                words.pop()
            if end and not words[-1].endswith(end):
                words[-1] = words[-1].rstrip(",;:") + end
            break
        else:
            return None
    return None


def repair_text(text: str, brand: BrandRules, keep: Sequence[str] = ()) -> str:
    """``text`` with the style and rule failures a rule can fix, fixed: shouted words in
    sentence case, repeated ``!?`` and ``....`` collapsed, exclamation marks beyond the brand's
    maximum made full stops, spam phrases and conditional claims without their condition removed
    (never inside a ``keep`` phrase)."""
    if not text:
        return text
    protected = [k for k in keep if k]

    def uncap(m: re.Match[str]) -> str:
        word = m.group(0)
        if word in CAPS_ALLOWED or any(word in k for k in protected):
            return word
        before = text[max(0, m.start() - 8): m.start()].lower()
        if re.search(r"(?:code|código)\s*:?\s*$", before):
            return word
        return word.capitalize() if m.start() == 0 or text[m.start() - 2: m.start()].strip() in ".!?" else word.lower()

    text = re.sub(r"\b[A-Z]{3,}\b", uncap, text)
    text = re.sub(r"([!?])[!?]+", r"\1", text)
    text = re.sub(r"\.{4,}", "...", text)
    allowed = max(brand.max_exclamations, 0)
    if text.count("!") > allowed:
        seen = 0

        def bang(m: re.Match[str]) -> str:
            nonlocal seen
            seen += 1
            return "!" if seen <= allowed else "."

        text = re.sub(r"!", bang, text)
    spam = phrase_pattern(SPAM_TRIGGERS)
    if spam is not None and spam.search(text):
        text = remove_phrases(text, spam)
    _, cond_re, _ = brand_patterns(brand)
    if cond_re is not None:
        loose = [p for p in _unconditioned(cond_re, [text]) if not any(p in k.lower() for k in protected)]
        if loose:
            text = remove_phrases(text, phrase_pattern(loose))
    return text


REPAIRABLE = ("all_caps", "punctuation", "spam_triggers", "conditional_claims", "banned_words", "length", "items",
              "sms_segments", "disclaimers", "merge_fields")


def unfixable(checks: Sequence[Check]) -> list[Check]:
    """Failed checks the fitter cannot repair by itself (an unapproved claim, a must-know
    element that does not fit); the others it fixes by construction."""
    return [c for c in checks if not c.passed and c.name not in REPAIRABLE]


def _strip_parts(text: str, parts: list[str]) -> str:
    for part in parts:
        text = text.replace(part, " ")
    return normalise(text).strip(" -–|")


def fit_variant(
    spec: ChannelSpec,
    fields: Fields,
    brand: BrandRules,
    *,
    has_offer: bool = False,
    defaults: Fields | None = None,
    merge_fields: Sequence[str] | None = None,
    keep: Sequence[str] = (),
) -> Fields:
    """A copy of ``fields`` that meets every hard limit of ``spec`` with disclaimers in place.

    ``defaults`` fill missing fields and pad lists below their minimum item count. With
    ``merge_fields``, any other ``{{field|fallback}}`` is replaced by its fallback (or dropped).
    ``keep`` phrases (offer, code, deadline, condition) survive every cut; fixable style and rule
    failures are repaired first (:func:`repair_text`).
    """
    if merge_fields is not None:
        allowed = set(merge_fields) | set(ALWAYS_AVAILABLE)
        fields = {k: _known_merge_only(v, allowed) for k, v in fields.items()}
    banned_re, _, _ = brand_patterns(brand)
    width = spec.merge_field_width
    defaults = defaults or {}
    out: Fields = {}

    def measure(s: str) -> int:
        return len(measured(s, width))

    for f in spec.fields:
        raw: Any = fields.get(f.name)
        if f.is_list:
            values = [raw] if isinstance(raw, str) else list(raw or [])
            fitted: list[str] = []
            cut_short: list[str] = []
            extra = [v for v in defaults.get(f.name, []) or [] if v not in values]
            for v in [*values, *extra]:
                whole = repair_text(remove_phrases(normalise(str(v)), banned_re), brand, keep)
                t = fit_text(whole, f.max_chars, measure)
                cond = _cond_re(brand)
                if t and cond is not None and _unconditioned(cond, [t]):
                    continue  # a list item ("Free returns") cut from its condition is dropped, not shown
                if t and t != normalise(whole) and not re.search(r"[.!?]$", t):
                    cut_short.append(t)  # "Rendez-vous le 5 décembre à 19": only if the list is short of items
                    continue
                if t and t.lower() not in {x.lower() for x in fitted}:
                    fitted.append(t)
                if len(fitted) >= (f.max_items or 0) or (v in extra and len(fitted) >= (f.min_items or 0)):
                    break
            for pad in [*cut_short, *LIST_PADDING.get(f.name, []), brand.name]:  # last resort for min_items
                if len(fitted) >= (f.min_items or 0):
                    break
                pad = fit_text(pad, f.max_chars, measure)
                if pad and pad.lower() not in {x.lower() for x in fitted}:
                    fitted.append(pad)
            out[f.name] = fitted
            continue
        text = normalise(str(raw)) if isinstance(raw, str) and raw.strip() else ""
        text = repair_text(text, brand, [*keep, *_frame_parts(spec, brand)])
        if not _strip_parts(remove_phrases(text, banned_re), _frame_parts(spec, brand)).strip(" .,"):
            text = normalise(str(defaults.get(f.name, "") or ""))  # nothing usable: take the default
        if f.name == spec.disclaimer_field or (spec.sms is not None and f.name == "text"):
            out[f.name] = _fit_with_disclaimers(spec, f.max_chars, text, brand, has_offer, banned_re, keep)
        else:
            text = remove_phrases(text, banned_re)
            fitted_text = fit_text(text, f.max_chars, measure, keep)
            if not fitted_text and defaults.get(f.name):
                fitted_text = fit_text(str(defaults[f.name]), f.max_chars, measure)
            out[f.name] = fitted_text
    return out


def _cond_re(brand: BrandRules) -> re.Pattern[str] | None:
    return brand_patterns(brand)[1]


def _known_merge_only(value: Any, allowed: set[str]) -> Any:
    if isinstance(value, list):
        return [_known_merge_only(v, allowed) for v in value]
    if not isinstance(value, str):
        return value
    return MERGE_RE.sub(lambda m: m.group(0) if m.group(1) in allowed else (m.group(2) or ""), value)


def _frame_parts(spec: ChannelSpec, brand: BrandRules) -> list[str]:
    prefix = brand.sender_prefix.get(spec.name)
    return [*brand.required_for(spec.name, has_offer=True), *([prefix] if prefix else [])]


def _fit_with_disclaimers(
    spec: ChannelSpec, max_chars: int, text: str, brand: BrandRules, has_offer: bool,
    banned_re: re.Pattern[str] | None, keep: Sequence[str] = (),
) -> str:
    required = brand.required_for(spec.name, has_offer=has_offer)
    prefix = brand.sender_prefix.get(spec.name, "")
    core = _strip_parts(text, [*required, *([prefix] if prefix else [])])
    core = remove_phrases(core, banned_re)
    sep = "\n\n" if spec.name == "email" else " "
    head = f"{prefix} " if prefix else ""
    tail = "".join(f"{sep if i == 0 or spec.name == 'email' else ' '}{d}" for i, d in enumerate(required))
    width = spec.merge_field_width
    if spec.sms is not None:
        sms = spec.sms
        whole = gsm7_safe(head + core + tail)
        if not is_gsm7(measured(whole, width)) and sms_units(measured(whole, width))[1] > sms.ucs2_segment:
            core = drop_symbols(gsm7_safe(core))
        core = gsm7_safe(core)
        frame = gsm7_safe(head + tail)

        def sms_measure(s: str) -> int:
            full = measured(gsm7_safe(head + s + tail), width)
            return sms_units(full)[1] - sms_limit(full, sms) + 10_000

        fitted = _end_sentence(fit_text(core, 10_000 - 1, sms_measure, [gsm7_safe(k) for k in keep]), bool(tail))
        if sms_measure(fitted) > 10_000:  # even the frame alone is too long: keep the frame
            fitted = ""
        return (gsm7_safe(head) + fitted + frame[len(gsm7_safe(head)):]).strip()
    budget = max_chars - len(measured(head + tail, width))
    fitted = fit_text(core, budget - 1, lambda s: len(measured(s, width)), keep) if budget > 1 else ""
    fitted = _end_sentence(fitted, bool(tail))
    return (head + fitted + tail).strip()


def _end_sentence(text: str, needed: bool) -> str:
    """Close ``text`` with a full stop before an appended disclaimer."""
    if needed and text and not text.rstrip().endswith((".", "!", "?", ")", '"', "'")):
        return text.rstrip() + "."
    return text
