"""Requests to draft copy: “write 3 win-back SMS for at-risk customers with 20% off jackets”."""

from __future__ import annotations

import re
from typing import Any

_VERB = re.compile(r"\b(draft|write|rewrite|reword|create|compose|come up with|give me|suggest|generate|prepare|need)\b", re.I)
_CHANNELS = [
    (r"google (search )?ads?|responsive search ads?|\brsa\b", "google_rsa"),
    (r"(facebook|instagram|meta) ads?", "meta_ad"),
    (r"\bsms\b|text messages?|\btexts?\b", "sms"),
    (r"push( notifications?)?|app notifications?", "push"),
    (r"e-?mails?|newsletters?|subject lines?", "email"),
    (r"social( media)? posts?|tweets?|linkedin posts?|\bposts?\b|captions?", "social"),
]
_SEGMENTS = ["Champions", "Loyal", "Potential Loyalist", "New", "Promising", "Need Attention", "About to Sleep",
             "At Risk", "Can't Lose Them", "Hibernating", "Lost"]
_SEGMENT_HINTS = [
    (r"win[- ]?back|lapsed|churn\w*|inactive|re-?engage|at[- ]risk", "At Risk"),
    (r"\bvip|best customers|top customers", "Champions"),
    (r"new customers|first[- ]time|welcome", "New"),
]
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
# What a message is for; the brand's offer for it is looked up in its knowledge base.
_PURPOSES = [
    (r"win[- ]?back|we miss you|lapsed|come back|re-?engag\w*|reactivat\w*", "win-back"),
    (r"welcome|first[- ]time|first order|new (?:customers?|subscribers?)", "welcome"),
    (r"birthday", "birthday"),
    (r"abandoned (?:cart|basket)|cart abandon\w*|left (?:\w+ ){0,2}in (?:their|your|the) (?:cart|basket)",
     "abandoned cart"),
    (r"\bvip\b|loyalty|loyal customers", "loyalty"),
]
_PURPOSE_PATTERNS = {name: pattern for pattern, name in _PURPOSES}
_SAVED_AUDIENCE = re.compile(r"\bsaved audience\s+[“\"']([^”\"']{1,100})[”\"']", re.I)
_OFFER_LINE = re.compile(r"\boffer\b\W{0,4}:\W*(.+)", re.I)
_CODE = re.compile(r"\b[A-Z][A-Z0-9]{3,}\d+\b")


_AUDIENCE_WORDS = "|".join([re.escape(x.lower()) for x in _SEGMENTS] + [
    r"at[- ]risk", "lapsed", r"churn\w*", "inactive", "vip", "best", "top", "new", "first[- ]time", "loyal", "high[- ]value"])
_AUDIENCE = (rf"\b(?:for|to)\s+(?:our|the|all|those|these)?\s*(?:{_AUDIENCE_WORDS})\s+"
             r"(?:customers?|buyers?|shoppers?|members?|clients?|subscribers?|segment|audience)\b"
             rf"|\b(?:{_AUDIENCE_WORDS})\s+(?:customers?|buyers?|shoppers?|segment)\b")
_INSTRUCTION = [
    _VERB.pattern,
    _AUDIENCE,
    r"\b(a|an|the|some|few|couple of|\d+(?!\s?%)|one|two|three|four|five|six)\b",
    r"\b(variants?|versions?|options?|ideas?|drafts?|messages?|copy)\b",
    r"\b(headlines?|taglines?|preheaders?|pre-headers?|titles?|ctas?|calls? to action|descriptions?)\b",
    r"\bfor (them|these|those|these customers|those customers|this audience|that audience|the segment|us)\b",
    r"\bin (our|the) (brand(’s|'s)? )?(voice|tone|style)\b|\bon[- ]brand\b",
    r"\bwin[- ]?back\b|\bre-?engagement\b",
    *[pattern for pattern, _ in _CHANNELS],
]
# Topics (noun phrases the templates build sentences around), not slogans.
_DEFAULT_BRIEF = {
    "At Risk": "new gear for the season",
    "Can't Lose Them": "new gear for the season",
    "Hibernating": "this season's new gear",
    "Lost": "this season's new gear",
    "Champions": "early access to new gear",
    "New": "everything for your first trip",
}


def _topic(text: str) -> str:
    """What the message is about, once the instruction words are taken out."""
    topic = text
    for pattern in _INSTRUCTION:
        topic = re.sub(pattern, " ", topic, flags=re.I)
    topic = re.sub(r"\s+", " ", topic).strip(" ,.;:!?-")
    topic = re.sub(r"^(for|about|on|with|to)\s+", "", topic, flags=re.I)
    return topic if len(re.findall(r"[A-Za-z]{3,}", topic)) >= 2 else ""


def copy_purpose(text: str) -> str | None:
    """What a copy request is for (``"win-back"``, ``"welcome"``, ...), or None."""
    return next((name for pattern, name in _PURPOSES if re.search(pattern, text, re.I)), None)


def offer_from_passages(passages: list[dict[str, Any]], purpose: str) -> tuple[str, str] | None:
    """The offer for ``purpose`` stated in brand-knowledge ``passages`` and where:
    ``("15% off ... COMEBACK15", "offers.md › Win-back offer")``; None when none states one.

    Only passages about the purpose count (a win-back code is no welcome offer). A line
    "Offer: ..." wins; otherwise the first sentence that has both a discount and a code.
    """
    about = _PURPOSE_PATTERNS.get(purpose, re.escape(purpose))
    for passage in passages[:3]:
        text = re.sub(r"[*_`]", "", str(passage.get("text", "")))
        if not re.search(about, f"{passage.get('heading', '')}\n{text}", re.I):
            continue
        match = _OFFER_LINE.search(text)
        sentence = match.group(1).split("\n")[0].strip().rstrip(".") if match else None
        if sentence is None:
            sentence = next((s.strip().rstrip(".") for s in re.split(r"(?<=[.!?])\s+|\n", text)
                             if _CODE.search(s) and re.search(r"\d+\s?%|free shipping", s, re.I)), None)
        if sentence and len(sentence) <= 120:
            where = " › ".join(x for x in (str(passage.get("source", "")), str(passage.get("heading", "")).split(" > ")[-1]) if x)
            return sentence, where
    return None


def copy_request(text: str, asked: bool = False) -> dict[str, Any] | None:
    """``draft_copy`` arguments for ``text``, or None when it does not ask for copy. ``asked``: the router
    already read it as a copy request (“email copy for the newsletter”), so no instruction verb is needed."""
    if not _VERB.search(text) and not asked:
        return None
    channel = next((name for pattern, name in _CHANNELS if re.search(pattern, text, re.I)), None)
    if channel is None:
        if not asked and not re.search(r"\b(copy|message|headline|tagline|campaign)\b", text, re.I):
            return None
        channel = "email"
    segment = next((s for s in _SEGMENTS if re.search(rf"\b{re.escape(s)}\b", text, re.I)), None)
    if segment is None:
        segment = next((name for pattern, name in _SEGMENT_HINTS if re.search(pattern, text, re.I)), None)
    count = re.search(r"\b(\d+|one|two|three|four|five|six|an?)\s+(?:[\w-]+\s+){0,3}?(variants?|versions?|options?|"
                      r"ideas?|drafts?|sms|texts?|emails?|messages?|ads?|posts?|headlines?|subject lines?)\b", text, re.I)
    variants = 3
    if count:
        word = count.group(1).lower()
        variants = int(word) if word.isdigit() else _NUMBERS.get(word, 3)
    offer = re.search(r"(\d+\s?%\s?off[\w ]*?|free (?:shipping|delivery)[\w ]*?|buy one get one[\w ]*?)(?=[,.;!?]|$| for | to | in | and )",
                      text, re.I)
    verb = _VERB.search(text)
    brief = _topic(text[verb.start():] if verb else text) or _DEFAULT_BRIEF.get(segment or "", "")
    if not brief:
        brief = text.strip()
    # lazy: the brief reader compiles dozens of regexes; only copy requests need it, not data questions
    from tools.copywriting.brief import requested_fields

    fields, asked_count, asked_at = requested_fields(text)  # "5 subject lines for ..." → subject lines, not whole e-mails
    if fields:
        # "a headline for …" is one headline, "5 subject lines" five; the whole message is the brief (the
        # copy brief reader takes the request words out and keeps the offer, code and dates as written)
        variants = asked_count or variants
        brief = text[asked_at.start():].strip() if asked_at is not None else text.strip()  # "Can you suggest …": from the ask on
    saved = _SAVED_AUDIENCE.search(text)  # the web chat's "Draft copy for these" names the audience it saved
    if saved:
        return {"channel": channel, "brief": _DEFAULT_BRIEF.get("At Risk", "new gear for the season")
                if "saved audience" in brief.lower() else brief,
                "variants": max(1, min(variants, 10)), "audience": saved.group(1).strip(), "fields": fields or None}
    return {
        "channel": channel,
        "brief": brief,
        "variants": max(1, min(variants, 10)),
        "segment": segment,
        "offer": offer.group(1).strip() if offer else None,
        "fields": fields or None,
    }


_MORE = re.compile(
    r"\b(more|another|other|additional|different|fresh|new)\s+(?:\d+\s+|one|two|three|four|five|six\s+)?"
    r"(?:[\w-]+\s+){0,2}?(variants?|versions?|options?|ideas?|drafts?|ones?|angles?)\b"
    r"|\b(\d+|one|two|three|four|five|six|a few|some)\s+more\b|^\s*(more|again|another)\b[^a-z]*$", re.I)
_SHORTER = re.compile(r"\b(shorter|shorten|more concise|too long|tighter|trim (?:it|them|these)|cut (?:it|them|these) down|"
                      r"briefer|punchier|less wordy)\b", re.I)
_SWITCH = re.compile(r"\b(now|also|same|instead|turn (?:it|them|this|these) into|make (?:it|them|this) an?|as(?: an?)?)\b"
                     r"|^\s*(?:and|what about|how about|then|ok(?:ay)?)\b(?:\s+(?:as|in|by|via)?\s*(?:an?\s+)?)?", re.I)


def copy_follow_up(text: str, previous: dict[str, Any]) -> dict[str, Any] | None:
    """``draft_copy`` arguments for a follow-up to the ``previous`` draft: “3 more variants”,
    “make them shorter”, “now as an SMS”; None when ``text`` is not one."""
    more = _MORE.search(text)
    shorter = _SHORTER.search(text)
    channel = next((name for pattern, name in _CHANNELS if re.search(pattern, text, re.I)), None)
    # “now as an SMS” switches channel; “draft 2 SMS for new customers” is a new request (it has its own topic)
    switch = (channel is not None and channel != previous.get("channel") and _SWITCH.search(text) is not None
              and not _topic(_SWITCH.sub(" ", text)))
    if not (more or shorter or switch):
        return None
    args = dict(previous)
    if more:
        count = re.search(r"\b(\d+|one|two|three|four|five|six)\b", text, re.I)
        shown = int(previous.get("skip") or 0) + int(previous.get("variants") or 3)
        args["skip"] = shown
        if count:
            word = count.group(1).lower()
            args["variants"] = max(1, min(int(word) if word.isdigit() else _NUMBERS.get(word, 3), 10))
    if shorter:
        args["length"] = "short"
    if switch:
        args["channel"] = channel
        args["skip"] = 0
    return args
