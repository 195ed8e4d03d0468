"""Reading a copy brief: what to say, apart from how and to whom.

A brief mixes the message ("the new trail-running range", "15% off, code COMEBACK15, ends
Sunday") with instructions to the writer ("to our Gold members", "upbeat", "keep it brief",
"no discount"). :func:`read_brief` separates them into a :class:`BriefParts`: the content
fields (topic, offer, code, deadline, condition, event date, proof points, link, product,
category) and the steering fields (purpose, tone, audience, length, no-discount, soft-sell,
language, requested fields). Instructions never reach a content field, so they never reach
the copy; the audience phrase steers framing and tone, never a subject line.

The reading is by word classes and patterns, not by example briefs: tone adjectives, length
and constraint phrases, audience nouns (customers, members, campers...) after a preposition
or a verb of address, offer shapes (``N% off``, ``£N off``, ``free <service>``, points, buy one
get one), condition shapes (thresholds, "within N days", "for members", "while stocks last"),
date shapes (weekday, "30 November", "tonight", "this weekend") and purpose cue words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from prompts import load_data

# --- word classes ---------------------------------------------------------------------------

TONE_WORDS: dict[str, str | None] = {
    **dict.fromkeys(("upbeat", "playful", "fun", "witty", "cheeky", "light-hearted", "lighthearted",
                     "energetic", "enthusiastic", "excited", "exciting", "lively", "punchy", "cheerful",
                     "joyful", "bright", "bubbly", "quirky", "humorous", "funny"), "playful"),
    **dict.fromkeys(("friendly", "casual", "relaxed", "conversational", "chatty", "informal",
                     "approachable", "easygoing", "laid-back", "laidback"), "friendly"),
    **dict.fromkeys(("warm", "heartfelt", "personal", "caring", "empathetic", "kind", "gentle",
                     "sincere", "grateful", "thankful", "genuine"), "warm"),
    **dict.fromkeys(("formal", "professional", "serious", "polished", "elegant", "sophisticated",
                     "refined", "respectful", "businesslike"), "formal"),
    **dict.fromkeys(("calm", "understated", "unhurried", "soft", "low-key", "reassuring", "confident",
                     "inspiring", "inspirational", "adventurous", "bold", "direct", "clear", "simple",
                     "premium", "luxurious", "classy", "factual", "informative", "helpful", "honest",
                     "urgent", "positive", "optimistic"), None),
}
_TONE_ALT = "|".join(sorted((re.escape(w) for w in TONE_WORDS), key=len, reverse=True))
AUDIENCE_NOUNS = (
    "customers", "members", "buyers", "shoppers", "subscribers", "clients", "fans", "users",
    "followers", "readers", "campers", "hikers", "runners", "climbers", "families", "parents",
    "people", "audience", "segment", "list", "vips", "regulars", "newcomers", "owners", "guests",
    "visitors", "walkers", "trekkers", "cyclists", "skiers", "athletes", "beginners", "students",
    "champions", "loyalists", "signups", "sign-ups", "leads", "prospects", "everyone", "anyone",
    "adventurers", "explorers", "backpackers", "mountaineers", "commuters", "kids",
)
_AUD_NOUN = "(?:" + "|".join(re.escape(n) for n in AUDIENCE_NOUNS) + ")"
_DET = r"(?:(?:all\s+)?(?:our|the|those|these|your|my|existing|current|all|any)\s+)?"
_MODS = r"(?:[\w'’&-]+\s+){0,4}?"
_REL = r"(?:\s+(?:who|that|which|whose)\s+[^,.;:!?—–]*|\s+(?:with|in|from)\s+(?:an?\s+|the\s+)?(?:open|abandoned|expired|unused|pending)\s+[^,.;:!?—–]*)?"
_AUDIENCE_PP = re.compile(
    rf"\b(?:to|for|at|among|targeting|targeted at|aimed at|geared to(?:wards)?|towards|for the segment)\s+"
    rf"{_DET}{_MODS}{_AUD_NOUN}\b{_REL}", re.IGNORECASE)
_ADDRESS_VERBS = (r"remind|tell|invite|thank|welcome|let|email|e-mail|text|notify|show|encourage|ask|"
                  r"inform|nudge|reach|target|win back|bring back|re-?engage|reactivate|update|greet|"
                  r"congratulate|wish|surprise|reward|treat|give|get|send|offer|help|alert|teach|"
                  r"introduce|announce")
_ADDRESSEE = re.compile(rf"\b({_ADDRESS_VERBS})\s+({_DET}{_MODS}{_AUD_NOUN}\b{_REL})(\s+know\b)?",
                        re.IGNORECASE)
_AUDIENCE_SUBJECT = re.compile(
    rf"^((?:our\s+|all\s+|the\s+)?{_MODS}{_AUD_NOUN})\s+(?=(?:get|gets|can|will|now|receive|enjoy|have|earn|save|"
    rf"qualify|are invited|pay)\b)", re.IGNORECASE)
_AUDIENCE_LABEL = re.compile(r"\b(?:audience|segment|target(?:ing)?|for whom|recipients?)\s*[:=]\s*[^.;\n]+",
                             re.IGNORECASE)
_LANGUAGES = {
    "german": "de", "deutsch": "de", "french": "fr", "français": "fr", "francais": "fr",
    "spanish": "es", "español": "es", "espanol": "es", "english": "en",
    "italian": "it", "dutch": "nl", "swedish": "sv", "portuguese": "pt",
}
_LANG_INSTR = re.compile(r"\b(?:write\s+)?(?:it\s+)?(?:in|into|auf)\s+(" + "|".join(_LANGUAGES) + r")\b",
                         re.IGNORECASE)
_LENGTH_INSTR = re.compile(
    r"\b(?:(?:keep|make)\s+(?:it|them|this|the copy)\s+(?:short|brief|concise|snappy|tight|simple|punchy|light|"
    r"crisp|quick)(?:\s+and\s+\w+)?|short and sweet|(?:be\s+)?(?:very\s+)?(?:brief|concise|succinct)|"
    r"short|shorter|(?:under|max(?:imum)?|at most|no more than)\s+\d+\s+(?:words?|characters?|chars?)|"
    r"one[- ](?:line|liner|sentence)|(?:a|one)\s+short\s+(?:paragraph|message|note)|long[- ]form|detailed)\b",
    re.IGNORECASE)
_SHORT_WORDS = re.compile(r"short|brief|concise|snappy|tight|succinct|one[- ]line|one[- ]liner|one[- ]sentence|"
                          r"under|max|at most|no more than|quick|crisp", re.IGNORECASE)
_NO_DISCOUNT = re.compile(
    r"\b(?:no|without(?:\s+an?)?|skip the|avoid|not an?)\s+(?:discounts?|offers?|promos?|promotions?|coupons?|codes?|"
    r"price(?:s|\s+cuts?)?|pricing|deals?|sale talk|money off)\b(?!\s+(?:needed|required|necessary))"
    r"|\b(?:don['’]t|do not|never)\s+(?:mention|offer|include|push|talk about)\s+(?:an?\s+|the\s+|any\s+)?"
    r"(?:discounts?|offers?|price|prices|pricing|sale|deals?|codes?|coupons?)\b"
    r"|\bnot about (?:the )?(?:price|discount|sale)s?\b|\bfull[- ]price only\b", re.IGNORECASE)
_SOFT_SELL = re.compile(
    r"\b(?:no\s+hard[- ]sell(?:ing)?|soft[- ]sell|not\s+(?:too\s+)?(?:salesy|pushy|sales-y|aggressive|hard[- ]sell(?:ing)?|"
    r"promotional)|no\s+(?:pressure|urgency|hype|fomo|sales\s+pitch)|low[- ]pressure|(?:don['’]t|do not|never)\s+"
    r"(?:pressure|push|oversell|rush)(?:\s+(?:them|people|customers|anyone))?|avoid\s+(?:urgency|pressure|hype|being\s+"
    r"(?:pushy|salesy))|gentle\s+(?:nudge|reminder)|no\s+fake\s+urgency)\b", re.IGNORECASE)
_STYLE_INSTR = re.compile(
    r"\b(?:no|without|avoid|skip)\s+(?:emojis?|exclamation(?:\s+marks?|\s+points?)?|jargon|caps|hashtags?|slang|"
    r"clich[eé]s?|puns?)\b|\b(?:use|add|with|include)\s+(?:an?\s+)?(?:emojis?|hashtags?)\b"
    r"|\b(?:on[- ]brand|in\s+(?:our|the)\s+(?:brand(?:['’]s)?\s+)?(?:voice|tone|style)|brand voice)\b"
    r"|\b(?:sound|feel|be|make\s+(?:it|them))\s+(?:like\s+)?(?:a\s+friend|human|personal|natural|exclusive|special)\b"
    r"|\b(?:(?:keep|make)\s+(?:it|them)\s+)?(?:light|positive|human)\b(?=\s*(?:[,.;]|$))",
    re.IGNORECASE)
_TONE_INSTR = re.compile(
    rf"\b(?:(?:in|with|use|using|adopt|strike|take)\s+an?\s+)?(?:(?:very|more|a\s+bit|slightly|really|quite|super|"
    rf"extra)\s+)?(?:(?:{_TONE_ALT})(?:\s*(?:,|and|&|/|but|yet|-)\s*|\s+))*(?:{_TONE_ALT})\s+(?:tone|voice|register|"
    rf"style|way|feel|vibe|mood|copy)(?:\s+of\s+voice)?\b"
    rf"|\b(?:tone|voice|vibe|mood|style)\s*(?::|=|should be|is)?\s*(?:(?:{_TONE_ALT})(?:\s*(?:,|and|&|/)\s*|\s+))*"
    rf"(?:{_TONE_ALT})\b"
    rf"|\b(?:keep\s+it|make\s+it|be|sound|feel|stay)\s+(?:(?:very|more|a\s+bit|slightly|really|quite|super)\s+)?"
    rf"(?:(?:{_TONE_ALT})(?:\s*(?:,|and|&|/|but)\s*|\s+))*(?:{_TONE_ALT})\b", re.IGNORECASE)
_FIELD_NAMES = {
    "subject line": "subject", "subject": "subject", "preheader": "preheader", "pre-header": "preheader",
    "preview text": "preheader", "headline": "headline", "title": "title", "description": "description",
    "primary text": "primary_text", "tagline": "headline", "body": "body", "call to action": "cta",
    "cta": "cta",
    "objet": "subject", "objets": "subject", "objets d'e-mail": "subject", "objet d'e-mail": "subject",
    "betreffzeile": "subject", "betreffzeilen": "subject", "betreff": "subject", "asunto": "subject",
    "asuntos": "subject", "líneas de asunto": "subject", "titular": "headline", "titulares": "headline",
    "titre": "headline", "titres": "headline", "überschrift": "headline", "überschriften": "headline",
    "sms-text": "text", "sms-texte": "text", "textes sms": "text", "textos sms": "text", "beschreibung": "description",
    "beschreibungen": "description", "descripción": "description", "descripciones": "description",
    "vorschautext": "preheader", "pré-en-tête": "preheader", "preencabezado": "preheader",
}
_NUMBER_WORDS_INTL = {"zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6, "zehn": 10, "deux": 2, "trois": 3,
                      "quatre": 4, "cinq": 5, "six": 6, "dix": 10, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
                      "seis": 6, "diez": 10}
_NUMBER_WORDS = {**_NUMBER_WORDS_INTL, "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "a few": 3, "some": 3, "several": 3, "a couple of": 2}
_COUNT = (r"(\d{1,2}|an?|one|two|three|four|five|six|seven|eight|nine|ten|a few|some|several|a couple of|"
          + "|".join(_NUMBER_WORDS_INTL) + ")")
_FIELD_ALT = "|".join(sorted((re.escape(k) for k in _FIELD_NAMES), key=len, reverse=True))
_FIELD_REQUEST = re.compile(
    rf"\b(?:(?:give|get|write|draft|suggest|create|come up with|brainstorm|need|want)\s+(?:me|us)?\s*)?"
    rf"(?:{_COUNT}\s+)?(?:(?:new|fresh|alternative|different|short|catchy|punchy|better|good|strong)\s+)*"
    rf"(?:(?:search|google|meta|facebook|instagram|push|e-?mail|ad)\s+){{0,3}}"
    rf"((?:{_FIELD_ALT})s?(?:\s*(?:,|and|&|\+|plus|with)\s*(?:(?:{_FIELD_ALT})s?))*)\s*(?:ideas?|options?|variants?)?"
    rf"(?:\s+(?:for|about|on|to go with|to announce|announcing|für|zu[rm]?|pour|sur|para|sobre|de)\b|\s*:|$)",
    re.IGNORECASE)
_ASKED_CHANNEL = re.compile(
    r"\s*(?:(?:el|la|los|las|le|les|l['’]|die|der|das|den|dem|the|our|this|an?)\s*)?"
    r"(?:anuncios?\s+de\s+(?:meta|facebook|instagram|google)|(?:meta|facebook|instagram|google)[- ]?(?:anzeigen?|werbung)|"
    r"annonces?\s+(?:meta|facebook|instagram|google)|[\w-]*-?(?:e-?mail|mail|newsletter)|correo|courriel)\b\s*:?",
    re.IGNORECASE)
_CHANNEL_WORDS = re.compile(
    r"\b(?:(?:an?|the|our|this|that|my)\s+)?(?:(?:promo(?:tional)?|marketing|campaign|launch|follow-up|reminder)\s+)?"
    r"(?:e-?mails?|newsletters?|sms|text messages?|push(?:\s+notifications?)?|notifications?|"
    r"(?:google|search|facebook|instagram|meta|social(?:\s+media)?|display|linkedin)\s+(?:ads?|posts?|campaigns?)|"
    r"ads?|posts?|tweets?|campaign|message|copy|blast|send|mailing)\b", re.IGNORECASE)
_LEAD_VERBS = (
    r"please|kindly|can you|could you|i need|we need|help me|draft|write|create|compose|make|prepare|generate|"
    r"give me|give us|come up with|put together|produce|craft|do|need|want")

# --- content shapes ----------------------------------------------------------------------------

_MONTHS = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
           r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_WEEKDAYS = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
_TIME = r"(?:\s+(?:at\s+)?(?:midnight|noon|\d{1,2}(?::\d{2})?\s?(?:am|pm)|\d{1,2}:\d{2})(?:\s+[A-Z]{2,4})?)?"
_DAY = (rf"(?:\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS}(?:\s+\d{{4}})?|{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|"
        rf"(?:this\s+|next\s+|on\s+)?{_WEEKDAYS}(?:\s+\d{{1,2}}(?:st|nd|rd|th)?(?![:.\d])(?:\s+{_MONTHS})?)?|"
        rf"\d{{1,2}}[./]\d{{1,2}}(?:[./]\d{{2,4}})?|tonight|today|tomorrow|midnight(?:\s+{_WEEKDAYS})?|"
        rf"(?:the\s+)?end\s+of\s+(?:the\s+)?(?:day|week|weekend|month|year|season)|"
        rf"this\s+(?:weekend|week|month)|the\s+weekend|new\s+year['’]?s?(?:\s+eve)?|christmas(?:\s+eve)?)")
_DEADLINE = re.compile(
    rf"\b(until|till|til|through|thru|by|ends?|ending|expires?|expiring|closes?|valid\s+(?:until|till|through)|"
    rf"runs\s+(?:until|till|through)|before|no later than|last day(?:\s+is)?)\s+({_DAY}){_TIME}"
    rf"|\b(this\s+weekend|today|tonight|this\s+week|24\s+hours|48\s+hours|72\s+hours)\s+only\b"
    rf"|\b(?:(valid|available|good)\s+(?:for\s+)?(\d+\s+(?:hours?|days?|weeks?)))\b"
    rf"|\b(?:only\s+)?(\d+\s+days?)\s+left\b"
    rf"|\b(?:from\s+)?{_WEEKDAYS}\s+(?:to|-|–)\s+({_WEEKDAYS})(?:\s+only)?\b", re.IGNORECASE)  # "Friday to Monday only"
_DEADLINE_INTL = re.compile(
    r"\b(bis(?:\s+zum)?|endet\s+am|jusqu['’]au|jusqu['’]à|se termine le|hasta\s+el|termina\s+el)\s+"
    r"(\d{1,2}\.?\s+(?:de\s+)?[A-Za-zÄÖÜäöüéû]{3,10}|(?:montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|"
    r"lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|lunes|martes|miércoles|jueves|viernes|sábado|domingo))"
    r"|\b(gültig|valable|válid[oa]|valid)\s+(?:für\s+|pendant\s+|durante\s+)?(\d+\s+(?:Tage|Wochen|Stunden|jours|semaines|"
    r"heures|días|semanas|horas))\b",
    re.IGNORECASE)
_INTL_MONTHS = (r"(?:januar|jänner|februar|märz|april|mai|juni|juli|august|september|oktober|november|dezember|"
                r"janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre|enero|febrero|"
                r"marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre)")
_INTL_WEEKDAYS = (r"(?:montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|lundi|mardi|mercredi|jeudi|vendredi|"
                  r"samedi|dimanche|lunes|martes|miércoles|jueves|viernes|sábado|domingo)")
_INTL_WHEN = re.compile(
    rf"\b(?:am|le|el|ce|este)\s+((?:{_INTL_WEEKDAYS},?\s+)?(?:(?:den|le|el)\s+)?\d{{1,2}}\.?\s+(?:de\s+)?{_INTL_MONTHS}"
    rf"(?:,?\s+(?:um|à|a\s+las)?\s*\d{{1,2}}(?:[:.h]\d{{2}})?\s*(?:Uhr|h)\b)?)", re.IGNORECASE)
_ANY_DAY = re.compile(
    rf"\b((?:{_WEEKDAYS},?\s+)?(?:\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS}|{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?)"
    rf"(?:,?\s+(?:at\s+)?(?:\d{{1,2}}[:.]\d{{2}}|\d{{1,2}}\s?(?:am|pm)))?)\b", re.IGNORECASE)
_WHEN = re.compile(
    rf"\b(?:on|this|next|starts?|starting|from|opens?|launch(?:es|ing)?\s+(?:on)?|kicks? off)\s+"
    rf"((?:the\s+)?{_DAY}){_TIME}", re.IGNORECASE)
_URGENT = re.compile(
    r"\b(last (?:weekend|days?|week|hours|call)|final (?:days?|weekend|hours|week|call)|ends? (?:today|tomorrow|"
    r"tonight|this|soon|sunday|saturday|monday|friday)|closing soon|only \d+ days? left|\d+ hours? only|"
    r"letzte[n]? tage|derniers jours|últimos días|ultimos dias)\b", re.IGNORECASE)
_STOP = (r"(?=\s*(?:[,.;:!?()—–]|\s-\s|$)|\s+(?:until|till|through|ends?|ending|expires?|with|using|use|when|from|for|"
         r"if|by|code|plus|and\s+(?:free|get|a)|valid|on\s+orders?|over|above|while|within|this|today|tonight|only|"
         r"before|at)\b)")
_NOT_SCOPE = (r"(?!(?:code|ends?|ending|until|till|through|valid|with|using|use|while|for|on|only|this|today|tonight|"
              r"when|from|if|by|before|plus|expires?)\b)")
_LIST_ITEM = rf"{_NOT_SCOPE}[\w'’&-]+(?:\s+{_NOT_SCOPE}[\w'’&-]+)?"
_SCOPE = rf"(?:\s+(?!{_STOP})(?:[\w'’&-]+\s*?){{1,6}}?(?:(?:,\s*{_LIST_ITEM})*,?\s+(?:and|or|&)\s+{_LIST_ITEM})?)?"
_OFFER_PATTERNS = [
    re.compile(rf"(?:(?:up to|save|take|get|enjoy|extra|an extra)\s+)*\d{{1,3}}\s?%\s*(?:off|discount){_SCOPE}{_STOP}",
               re.IGNORECASE),
    re.compile(rf"(?:(?:save|take|get|enjoy|extra)\s+)?(?:[$£€]\s?\d[\d,.]*|\d[\d,.]*\s?(?:€|eur|usd|gbp|kr|sek|chf))"
               rf"\s+(?:off|discount){_SCOPE}{_STOP}", re.IGNORECASE),
    re.compile(r"\bsave\s+(?:up to\s+)?\d{1,3}\s?%", re.IGNORECASE),
    re.compile(r"\b(?:buy one,? get one(?: free| half price| 50% off)?|bogo|(?:2|two) for (?:1|one)|"
               r"(?:3|three) for (?:2|two))\b", re.IGNORECASE),
    re.compile(r"\bfree\s+(?:standard\s+|express\s+|next[- ]day\s+|same[- ]day\s+|uk\s+|us\s+|eu\s+)?"
               r"(?!(?:[\w-]+\s+)?(?:guides?|tips|advice|resources?|content|workshops?|classes?|webinars?)\b)"
               r"(?:shipping|delivery|returns?|exchanges?|repair labou?r|repairs?(?:\s+checks?)?|gift[- ]wrap(?:ping)?|"
               r"engraving|hemming|alterations?|fitting|samples?|gifts?|gift card|trial|consultation|"
               r"(?:boot|ski|bike)\s+(?:fitting|service)|tote|water bottle|socks)\b"
               r"(?:\s+on\s+(?:any|all|every|your)\s+[\w&'’ -]{2,30}?(?=\s*(?:[,.;:!?]|$)|\s+(?:for|until|with|when)\b))?",
               re.IGNORECASE),
    re.compile(r"\b(?:double|triple|\d+x|\d+\s?×)\s+points\b|\b\d+\s+(?:bonus\s+)?points\b", re.IGNORECASE),
    re.compile(r"\b(?:a\s+)?\d+\s+bonus\s+(?:card|gift card|voucher)\b", re.IGNORECASE),
    re.compile(r"\bearly access(?:\s+to\s+(?:the\s+)?[\w' -]{2,30}?)?(?=\s*(?:[,.;:!?]|$)|\s+(?:for|until|from|starts?))",
               re.IGNORECASE),
]
_OFFER_INTL = re.compile(
    r"(-?\d{1,3}\s?%\s*(?:Rabatt|Nachlass|de réduction|de remise|de descuento|dto\.?)"
    r"(?:\s+(?:auf|sur|en)\s+(?:(?:les|la|le|los|las|el|alle|die)\s+)?[^\s.,;:!?]+)?"
    r"|-\d{1,3}\s?%\s*(?:sur|auf|en)\s+(?:(?:les|la|le|los|las|el|die)\s+)?[^\s.,;:!?]+"
    r"|(?:livraison|envío|envio|Versand)\s+(?:gratuite?|gratis|kostenlos)[^.,;:!?]{0,30})",
    re.IGNORECASE)
_MONEY = r"(?:[$£€]\s?\d(?:[\d,.]*\d)?|\d(?:[\d,.]*\d)?\s?(?:€|eur|usd|gbp|kr|sek|chf|dollars|euros|pounds))"
_CONDITION = re.compile(
    rf"\b(?:on\s+(?:all\s+|every\s+|your\s+)?orders?\s+(?:over|above|of|from)\s+{_MONEY}\+?(?:\s+or\s+more)?"
    rf"|(?:when you spend|if you spend|spend|with a minimum (?:spend|order)(?: of)?|minimum (?:spend|order)(?: of)?|min\.?\s+spend)"
    rf"\s+{_MONEY}(?:\s+or\s+more)?"
    rf"|(?:over|above|orders over|orders above)\s+{_MONEY}\+?"
    rf"|within\s+\d+\s+(?:days?|weeks?|months?)(?:\s+of\s+(?:purchase|delivery))?"
    rf"|for\s+(?:(?:all|our)\s+)?(?:(?:trail club|loyalty|rewards?|club|vip|gold|silver|bronze|platinum|premium|plus)"
    rf"(?:\s+(?:and|or|&)\s+|\s+|,\s*)){{1,4}}members?"
    rf"|(?:in|across)\s+(?:the\s+)?(?:UK|US|USA|EU|Europe|Germany|France|Spain|Italy|Sweden|Canada|Australia|Netherlands|"
    rf"United States|United Kingdom)|(?:UK|US|EU)[- ]only"
    rf"|while stocks? lasts?|while supplies lasts?"
    rf"|on\s+(?:selected|select|full[- ]price|all|every|your\s+first|one\s+full[- ]price|your\s+next)\s+"
    rf"(?:styles?|items?|products?|orders?|purchases?|lines?)"
    rf"|on\s+(?:every|all)\s+orders?|one use per customer|one per customer|first order only"
    rf"|(?:in[- ]store|online|in the app)\s+only"
    rf"|(?:excluding|excludes|not valid on|not valid with|cannot be combined with)\s+[^.,;]+)",
    re.IGNORECASE)
_CLAUSE_END = re.compile(r"[.;!?](?:\s|$)|,?\s+(?:plus|and also|as well as|sowie|ainsi que|además de)\s+", re.IGNORECASE)
_CODE = re.compile(r"\b(?:(?i:promo\s+|discount\s+|coupon\s+|voucher\s+)?(?i:code|código|Gutscheincode)\s*:?\s*"
                   r"([A-Z0-9][A-Z0-9_-]{2,19})\b"
                   r"|([A-Z]{3,}[0-9]{1,4}[A-Z]*))\b")
_CODE_PHRASE = re.compile(r"\b(?:with|using|use|enter|apply|redeem|at checkout with|mit|avec|con)?\s*(?:the\s+|dem\s+|le\s+|el\s+)?"
                          r"(?:promo\s+|discount\s+|coupon\s+|voucher\s+)?(?:code|código)\s*:?\s*[A-Z0-9][A-Z0-9_-]{2,19}"
                          r"(?:\s+at checkout)?", re.IGNORECASE)
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"')]+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|co|io|net|org|shop|store|"
                  r"de|fr|es|uk|eu|co\.uk)/[^\s<>\"')]*", re.IGNORECASE)
_CTA = re.compile(r"\b(?:cta|call to action|button)\s*[:=]\s*[\"“']?([^\"”'.;\n]{2,30})", re.IGNORECASE)
_ACTION_OBJECT = r"(?:them|people|everyone|customers|buyers|readers|shoppers|members|him|her|folks)"
_POINT_TO = re.compile(
    rf"(?:\s*\b(?:and|then|&)\s+|\b)(?:point|direct|send|refer|steer|link)\s+{_ACTION_OBJECT}\s+(?:to|towards)\s+"
    r"(?P<what>[^.;,!?]{3,60}?)(?=\s*(?:[.;,!?]|$|\s+(?:and|but)\b))", re.IGNORECASE)
_ASK_TO = re.compile(
    rf"(?:\s*\b(?:and|then|&)\s+|\b)ask\s+(?:{_ACTION_OBJECT}\s+)?(?:"
    r"to\s+(?P<verb>(?:leave|write|share|post|rate|review|send|tell|tag|join|reply|answer|fill in|take|complete|vote|"
    r"upload)\b[^.;,!?]{0,40}?)|for\s+(?:an?\s+|their\s+|your\s+|some\s+)?(?:honest\s+|quick\s+|short\s+)?"
    r"(?P<noun>review|rating|feedback|photo|picture|story|testimonial|opinion|thoughts)s?\b)"
    r"(?=\s*(?:[.;,!?]|$|\s+(?:and|but)\b))", re.IGNORECASE)
_ASK_NOUNS = {"review": "Leave a review", "rating": "Rate your purchase", "feedback": "Share your feedback",
              "photo": "Share a photo", "picture": "Share a photo", "story": "Share your story",
              "testimonial": "Share your story", "opinion": "Tell us what you think", "thoughts": "Tell us what you think"}


def brief_action(text: str) -> tuple[str | None, str]:
    """What the brief asks the customer to do, as a call to action, and the brief without it:
    "point them to our free repair guides" → "See our free repair guides", "ask for a review" →
    "Leave a review". The customer must be told it, so it is a must-know line, not a writing note."""
    m = _ASK_TO.search(text) or _POINT_TO.search(text)
    if m is None:
        return None, text
    if m.re is _POINT_TO:
        what = re.sub(r"\s+(?:at|on|via|in|from|under)$", "", m.group("what").strip(), flags=re.I)  # its link was taken out
        action = "See " + re.sub(r"\b(?:their|his|her)\b", "your", what, flags=re.I)
    elif m.group("verb"):
        verb = re.sub(r"\b(?:their|his|her)\b", "your", m.group("verb").strip(), flags=re.I)
        action = verb[:1].upper() + verb[1:]
    else:
        action = _ASK_NOUNS[m.group("noun").lower()]
    return action, _clean_space(text[: m.start()] + text[m.end():])


_MEASURE = re.compile(r"-?\d[\d,.]*\s?(?:kg|g|mm|cm|m|l|ml|litres?|liters?|°\s?c|°\s?f|hours?|mins?|minutes?|days?|"
                      r"years?|seasons?|oz|lbs?|km|miles?)\b|\bIPX\d\b", re.IGNORECASE)

PURPOSES = ("announce", "sale", "winback", "welcome", "back_in_stock", "abandoned_cart", "thanks", "event",
            "referral", "education")
_PURPOSE_CUES: list[tuple[str, re.Pattern[str]]] = [
    ("abandoned_cart", re.compile(r"\b(?:abandon\w*|left\s+(?:\w+\s+){0,4}?in\s+(?:their|your|the|a)\s+(?:cart|basket|bag)|"
                                  r"(?:cart|basket)\s+(?:abandon\w*|reminder|recovery)|still in (?:their|your|the) (?:cart|basket)|"
                                  r"forgot (?:something|their|your)|warenkorb\w*|panier|carrito|cesta)", re.I)),
    ("back_in_stock", re.compile(r"\b(?:back in stock|restock\w*|back on (?:the )?shelves|available again|in stock again|"
                                 r"is back|are back|returns? to stock|wieder (?:da|verfügbar|lieferbar)|de retour|de nuevo disponible|réassort|"
                                 r"vuelve a estar disponible)\b",
                                 re.I)),
    ("referral", re.compile(r"\b(?:refer\w*|invite (?:a|your) friends?|bring a friend|tell a friend|friends? get|"
                            r"give \S+,? get \S+|freunde werben|empfehl\w*|parrain\w*|recomendaci\w*|recomienda\w*)\b", re.I)),
    ("winback", re.compile(r"\b(?:win[- ]?back|we miss you|miss you|come back|bring (?:them|customers|people) back|"
                           r"lapsed|re-?engag\w*|reactivat\w*|haven['’]t (?:ordered|shopped|visited)|been a while|dormant|"
                           r"inactive|gone quiet|went quiet|drift(?:ed|ing)? away|relance\w*|inacti(?:fs?|ves?|vos?|vas?)|recuperar|"
                           r"rückgewinnung|lange nicht bestellt|reactiva\w*)\b", re.I)),
    ("welcome", re.compile(r"\b(?:welcome|first order|first purchase|just joined|new (?:subscribers?|members?|sign-?ups?)|"
                           r"signed up|onboard\w*|willkommen\w*|bienvenue|bienvenid[ao]s?)\b", re.I)),
    ("thanks", re.compile(r"\b(?:thank\w*|grateful|gratitude|appreciat\w*|anniversary|dank\w*|merci|remerci\w*|gracias|"
                          r"agradec\w*)\b", re.I)),
    ("event", re.compile(r"\b(?:event|workshop|meet-?up|trail day|clean-?up|webinar|class|clinic|festival|"
                         r"fitting days?|open day|demo day|talk|tour|race|launch party|in[- ]store|join us|"
                         r"rsvp|register|sign up for|invit\w*|einladung|abend|soirée|atelier|taller|evento|anmeldung|inscription|"
                         r"inscripción)\b", re.I)),
    ("education", re.compile(r"\b(?:tips?|how to|guide|care|caring for|packing list|checklist|learn|lesson|advice|"
                             r"explain\w*|what to pack|maintenance|layering|basics|101|faq|tutorial|leave no trace|conseils?|consejos?|"
                             r"cómo|comment|tipps?|pflege|entretien|guía|anleitung|ratgeber)\b",
                             re.I)),
    ("sale", re.compile(r"\b(?:sale|\d+\s?%|off\b|discount\w*|deal|deals|save|saving|clearance|black friday|"
                        r"cyber monday|promo\w*|offer|markdown|price drop|rabatt|soldes|rebajas|descuento|aktion|réduction|remise)\b",
                        re.I)),
    ("announce", re.compile(r"\b(?:new|introduc\w*|announc\w*|launch\w*|meet|now available|just landed|arriv\w*|"
                            r"collection|range|line-?up|preview|unveil\w*|reveal\w*|coming soon|debut|latest|"
                            r"neu\w*|nouveau\w*|nouvelle|nuevo|nueva)\b", re.I)),
]
_LEAD_IMPERATIVE = re.compile(
    rf"^(?:(?:{_LEAD_VERBS})\s+)*(?:(?:an?|the|some|\d+)\s+)?(?:[\w-]+\s+)?"
    rf"(?:e-?mails?|sms|texts?|push(?:\s+notifications?)?|notifications?|posts?|ads?|messages?|copy|campaign|"
    rf"newsletter)\s+(?:about|for|on|that|announcing|promoting|introducing|to)\s+", re.IGNORECASE)
_TOPIC_VERBS = re.compile(
    r"^(?:(?:please|kindly)\s+)?(?:let(?:['’]s)?\s+)?(?:introduce|announce|launch|promote|present|showcase|feature|"
    r"highlight|tease|preview|reveal|unveil|share|celebrate|push|drive(?:\s+sales\s+of)?|advertise|spotlight|"
    r"tell\s+(?:people|everyone|them|folks)?\s*about|talk about|remind(?:\s+(?:them|people|everyone))?\s*(?:about|of|that)?|"
    r"invite(?:\s+(?:them|people|everyone))?\s*(?:to)?|thank(?:\s+(?:them|people|everyone))?\s*(?:for)?|"
    r"welcome(?:\s+(?:them|people|everyone))?\s*(?:to|with)?|encourage(?:\s+(?:them|people))?\s*(?:to)?|"
    r"recommend|suggest|offer|give|get\s+(?:people|them)\s+(?:to|excited about)|win\s+back(?:\s+\w+)?\s*(?:with)?|"
    r"bring\s+back(?:\s+\w+)?\s*(?:with)?|re-?engage(?:\s+\w+)?\s*(?:with)?|nudge(?:\s+\w+)?\s*(?:to|about|towards)?|"
    r"let\s+(?:them|people|everyone)\s+know(?:\s+(?:about|that))?|mention|include|emphasi[sz]e|stress|call out|"
    r"focus on|lead with|point out|note that|make sure (?:to|they know)|explain|ask(?:\s+(?:them|people))?\s*(?:to|for)?|"
    r"einladung\s+zu[rm]?|invitation\s+(?:à|au)|invitación\s+a(?:l)?|(?:e-?mail|text|notify|alert|update)"
    r"(?:\s+(?:about|that|of))?)(?:\s+|$)", re.IGNORECASE)
_LEADING_JUNK = re.compile(r"^(?:(?:about|for|on|with|to|that|and|but|so|also|plus|re|regarding|:)\s+)+", re.IGNORECASE)
_CONNECTOR_END = re.compile(r"\s+(?:und|mit|für|am|an|den|dem|der|die|das|ein|eine|et|avec|pour|le|la|les|un|une|de|du|des|"
                            r"y|con|para|el|los|las|una|en|"
                            r"and|or|with|for|to|of|on|in|at|by|from|the|a|an|our|their|your|is|are|that|"
                            r"which|who|as|plus|using|use|via|incl\.?|including)$", re.IGNORECASE)


@dataclass(slots=True)
class BriefParts:
    """A brief read into what to say (content) and how/to whom (instructions).

    Content fields may appear in the copy; instruction fields only steer it. ``must_know``
    lists what every variant must carry (offer, code, deadline, condition, event date, link).
    """

    topic: str
    detail: str = ""                        # the proof points as one sentence ("" when none)
    offer: str | None = None
    code: str | None = None
    end_date: str | None = None             # the deadline's date part: "Sunday", "30 November", "48 hours"
    deadline: str | None = None             # the deadline as written: "ends Sunday", "until 30 November"
    condition: str | None = None            # "on orders over £50", "within 60 days", "for Gold members"
    when: str | None = None                 # an event's or start date: "12 October"
    proof: list[str] = field(default_factory=list)
    link: str | None = None
    cta: str | None = None
    product: str | None = None              # a catalog/brand product the brief names
    item: str | None = None                 # what the message is about in a few words ("boots")
    category: str | None = None
    categories: list[str] = field(default_factory=list)
    purpose: str = "announce"
    urgent: bool = False
    tone: str | None = None
    tone_words: list[str] = field(default_factory=list)
    audience: str | None = None
    length: str | None = None               # "short" when the brief asks for brevity
    no_discount: bool = False
    soft_sell: bool = False
    language: str | None = None             # a language the brief asks for ("in German" → "de")
    fields: list[str] = field(default_factory=list)   # requested fields ("5 subject lines" → ["subject"])
    count: int | None = None
    instructions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)   # content clauses carrying values ("get 500 points")
    named: str | None = None                # the product or programme the message is about, said in every variant
    action: str | None = None               # what the customer is asked to do ("Leave a review"), in every variant
    registration: bool = False              # the deadline is one to sign up by ("RSVP by 3 December")
    signup: str | None = None               # a sign-up the customer needs ("on registration", "sur inscription")

    @property
    def must_know(self) -> list[str]:
        """What the customer must be told, in every variant: the offer's value ("15% off", "free
        returns"), the condition's threshold ("$75", "60 days"), code, deadline, event date, link —
        the cores, so a draft that words them its own way ("tents are 20% off") still has them."""
        items = [offer_core(self.offer), condition_core(self.condition), self.code, self.end_date, self.when,
                 self.link, self.named, self.action, self.signup]
        have = " ".join(i for i in items if i).lower()
        items += [t for note in self.notes for t in must_tokens(note) if t.lower() not in have]
        return list(dict.fromkeys(i for i in items if i))


_OFFER_CORE = re.compile(
    r"(?:up to\s+)?\d{1,3}\s?%|[$£€]\s?\d[\d,.]*|\d[\d,.]*\s?(?:€|kr)|free\s+(?:standard\s+|express\s+|next[- ]day\s+)?"
    r"[\w-]+|buy one,? get one|bogo|(?:double|triple|\d+x)\s+points|\d+\s+(?:bonus\s+)?points|early access",
    re.IGNORECASE)


def offer_core(offer: str | None) -> str | None:
    """The value of an offer: "20% off selected tents" → "20%", "free express shipping" → "free express shipping"."""
    if not offer:
        return None
    m = _OFFER_CORE.search(offer)
    return m.group(0) if m else offer


def condition_core(condition: str | None) -> str | None:
    """The threshold of a condition: "on orders over $75" → "$75", "within 60 days" → "60 days"."""
    if not condition:
        return None
    m = re.search(r"[$£€]\s?\d[\d,.]*|\d[\d,.]*\s?(?:€|kr)|\d+\s+(?:days?|weeks?|months?|hours?)", condition, re.I)
    return m.group(0) if m else condition


def _clean_space(text: str) -> str:
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r"([,;:])\s*(?=[,;:.!?])", "", text)
    text = re.sub(r"\(\s*\)", "", text)
    return text.strip(" ,;:-–—")


def _cut(text: str, match: re.Match[str]) -> str:
    return _clean_space(text[: match.start()] + " " + text[match.end():])


def _number(word: str | None) -> int | None:
    if not word:
        return None
    low = word.lower()
    return int(low) if low.isdigit() else _NUMBER_WORDS.get(low)


def requested_fields(text: str) -> tuple[list[str], int | None, re.Match[str] | None]:
    """(field names, count, match) when ``text`` asks for parts of a message ("5 subject lines for ...")."""
    m = _FIELD_REQUEST.search(text)
    if m is None:
        return [], None, None
    names = re.findall(_FIELD_ALT, m.group(2), re.IGNORECASE)
    fields = list(dict.fromkeys(_FIELD_NAMES[n.lower()] for n in names))
    # "the subject" inside a sentence is not a request; a request has a count, a verb or leads the text
    lead = m.start() == 0 or bool(re.match(r"\s*(?:give|get|write|draft|suggest|create|come|brainstorm|need|want)",
                                           m.group(0), re.I))
    if not fields or not (m.group(1) or lead or re.search(r"s\b", m.group(2))):
        return [], None, None
    return fields, _number(m.group(1)), m


_SENTENCE_SPLIT = re.compile(r"(?<=[^\d][.!?])\s+|(?<=[.!?])\s+(?=[A-ZÄÖÜÀ-Ý¿¡\"“])(?!(?:Jan|Feb|Mär|Mar|Apr|Mai|May|Jun|"
                             r"Jul|Aug|Sep|Okt|Oct|Nov|Dez|Dec)\w*\b)|(?<=[^\d]):\s+|\s*;\s*|"
                             r"\s+[—–-]\s+|\s*[—–]\s*|\s*\n+\s*|\s*\(\s*|\s*\)\s*")


def _split_sentences(text: str) -> list[list[str]]:
    """Sentences (split on sentence ends, colons, semicolons, dashes, brackets), each as its
    comma clauses (commas inside numbers stay)."""
    out = []
    for sentence in _SENTENCE_SPLIT.split(text):
        clauses = [c.strip(" .") for c in re.split(r"(?<!\d),(?!\d)\s*", sentence or "") if c and c.strip(" .")]
        if clauses:
            out.append(clauses)
    return out


def _word_set(text: str) -> list[str]:
    return re.findall(r"[\w'’%$£€-]+", text.lower())


_FILLER_WORDS = {
    "and", "but", "yet", "also", "a", "an", "the", "it", "its", "them", "this", "that", "very", "bit", "more",
    "less", "too", "not", "no", "keep", "make", "be", "sound", "feel", "stay", "please", "tone", "voice", "style",
    "register", "way", "vibe", "mood", "in", "with", "of", "copy", "our", "brand", "overall", "just", "really",
    "quite", "super", "slightly", "extra", "nice", "and/or", "&", "/", "still", "should", "must", "is",
    "are", "use", "using", "go", "for", "stuff", "things", "write", "draft", "create", "compose", "prepare",
    "generate", "give", "me", "us", "craft", "need", "want", "can", "you", "could", "some", "email", "e-mail",
    "emails", "sms", "text", "push", "post", "posts", "ad", "ads", "message", "messages", "newsletter", "note",
    "variants", "versions", "options", "three", "two", "one", "four", "five",
}


# --- other languages and general instruction shapes ----------------------------------------------

_LEX: dict[str, Any] = load_data("copy_offline")["brief_reader"]
_INTL_TONE = {w.lower() for words in _LEX["tone_words"].values() for w in words}
_INTL_FILLER = {w.lower() for w in _LEX["fillers"]}
_INTL_INSTR = re.compile("|".join(f"(?:{p})" for p in _LEX["instruction_patterns"]), re.IGNORECASE)
_INTL_NOUN = "(?:" + "|".join(re.escape(n) for n in sorted({*_LEX["audience_nouns"], *AUDIENCE_NOUNS}, key=len,
                                                              reverse=True)) + ")"
_INTL_DET = (r"(?:(?:den|die|der|dem|unsere[nrms]?|allen?|alle|neue[nr]?|treue[nr]?|les|la|le|des|nos|vos|aux|"
             r"nouveaux|nouvelles|fidèles|los|las|el|nuestros|nuestras|sus|tus|nuevos|nuevas)\s+)")
_INTL_TAIL = (r"(?:\s+(?:auf|in|aus|von)\s+(?:der|dem|den)\s+\w+|\s+de\s+(?-i:[a-zñáéíóúü]+)"
              r"|(?:\s+(?!(?:le|la|les|el|los|las|un|une|una|du|des|del|den|dem|die|das|ein|eine|für|pour|para|con|"
              r"mit|avec|y|et|und|sur|en|auf|à|a|de|qui|que|die)\b)(?-i:[a-zäöüßéèêàçñíóúá-]{3,})){0,2})")
_INTL_AUDIENCE = re.compile(
    r"\b(?:para|pour|für|an)\s+(?:quienes|ceux\s+qui|celles\s+qui|alle,?\s+die|diejenigen,?\s+die)\b[^,.;:]*|"
    rf"\b(?:(?:{'|'.join(re.escape(p) for p in _LEX['audience_preps'])})\s+{_INTL_DET}*|{_INTL_DET}+)"
    rf"(?:\w+\s+)?{_INTL_NOUN}\b{_INTL_TAIL}",
    re.IGNORECASE)
_INTL_AUDIENCE_ALONE = re.compile(rf"^{_INTL_DET}?(?:\w+\s+)?{_INTL_NOUN}{_INTL_TAIL}$", re.IGNORECASE)
_RELATIVE = re.compile(r"^(?:die|der|welche|qui|que|quienes|who|that)\s+", re.IGNORECASE)
_LABEL_WORDS = sorted({w.lower() for w in _LEX["label_words"]} | {
    "win-back", "winback", "win back", "referral", "cart reminder", "reminder", "abandoned cart", "abandoned basket",
    "welcome email", "welcome e-mail", "welcome mail", "thank-you note", "thank you note", "thank-you email",
    "follow-up", "re-engagement", "reactivation", "announcement", "nudge"}, key=len, reverse=True)
_LABEL = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(w) for w in _LABEL_WORDS) + r")(?![\w-])", re.IGNORECASE)
_BARE_AUDIENCE = re.compile(rf"^\s*{_INTL_NOUN}(?:\s+(?:que|qui|die|who|that)\b.*|{_INTL_TAIL})\s*$", re.IGNORECASE)
"""After a label word, its audience without an article: "clientes inactivos", "clientes que no compran…"."""
_INTL_LEAD = re.compile(r"^(?:" + "|".join(_LEX["lead_verbs"]) + r")\s+", re.IGNORECASE)
_INTL_SEPARABLE = re.compile(r"\s+(?:vor|an|ein|auf)$", re.IGNORECASE)   # "Stell ... vor"
_OFFER_VERBS = re.compile(r"^(?:" + "|".join(re.escape(v) for v in _LEX["offer_verbs"]) + r"|get|gets|receive|"
                          r"receives|enjoy|enjoys)\s+", re.IGNORECASE)
STYLE_WORDS = {
    "proud", "humble", "festive", "understated", "exclusive", "snobby", "expert", "grounded", "practical",
    "personal", "gentle", "educational", "relaxed", "subtle", "modest", "celebratory", "welcoming", "supportive",
    "encouraging", "straightforward", "sober", "tasteful", "discreet", "pushy", "salesy", "hypey", "preachy",
    "smug", "cheesy", "corporate", "stuffy", "fluffy", "light", "touch", "only", "tone", "language", "but", "not",
    "no", "never", "without", "too", "over-the-top", "genuine", "calm", "sincere", "clear", "short", "brief",
}
_GENERAL_INSTR = re.compile(
    r"\b(?:light|soft|gentle)\s+touch\b|\b(?:one|a|single)\s+(?:clear\s+)?(?:call to action|cta)\b"
    r"|\bas\s+(?:the|a)\s+(?:nudge|hook|incentive|sweetener)\b|\b(?:no|without)\s+(?:an?\s+)?upsell(?:ing)?\b"
    r"|\b(?:no|without)\s+(?:guilt(?:[- ]trip(?:ping)?)?|countdown(?:\s+language)?|hype|selling|sales pitch|pitch)\b"
    r"|\b(?:education|educational|information|informational|info)(?:\s+only|\s+first)\b"
    r"|\bno\s+products?\s+pushed\b|\b(?:don['’]t|do not)\s+oversell(?:\s+it)?\b"
    r"|\bkeep\s+it\s+to\s+one\s+(?:line|sentence)\b", re.IGNORECASE)
_NEGATIVE_CLAUSE = re.compile(r"^(?:no|not|without|avoid|never|don['’]t|do not|nothing)\b", re.IGNORECASE)
_SIGNAL = re.compile(
    r"\d|(?-i:\b[A-Z]{3,}\d*\b)|\bfree\b|kostenlos\w*|gratuit\w*|\bgratis\b|offert\w*|\bcode\b|código"
    r"|\b(?:points?|Punkte|puntos)\b", re.IGNORECASE)


_MID_ADDRESS = re.compile(
    r"(?:^|\s+(?:and|then|&)\s+|^)(?:point|direct|send|refer|remind|ask|invite|encourage|tell|nudge|show)\s+"
    r"(?:them|people|everyone|customers|him|her|folks)\b(?:\s+(?:to|about|of|that|how))?", re.IGNORECASE)
_LABEL_LEAD = re.compile(r"^(?:" + "|".join(re.escape(w) for w in _LABEL_WORDS) + r")\s+(?:with|for|featuring)\s+",
                         re.IGNORECASE)


def _style_only(clause: str) -> bool:
    """"Proud but humble", "Exclusive but not snobby", "no guilt-tripping": a short clause made
    only of style words, or a short negative constraint, with nothing to tell the customer."""
    if _SIGNAL.search(clause) or re.search(r"(?<!^)\b[A-Z][a-z]+", clause.strip()):
        return False
    words = _word_set(clause)
    if not words or len(words) > 5:
        return False
    known = STYLE_WORDS | _FILLER_WORDS | set(TONE_WORDS) | _INTL_TONE | _INTL_FILLER
    if all(w in known for w in words):
        return True
    if re.search(r"\bbut\b|\bnot\b", clause, re.I) and len(words) <= 4:
        return True  # "X but Y", "helpful not pushy": two manners of writing
    return bool(_NEGATIVE_CLAUSE.match(clause.strip())) and len(words) <= 4


def _is_label(clause: str) -> bool:
    """"Rückgewinnung", "Win-back for lapsed customers", "Panier abandonné": the message type named."""
    if not _LABEL.search(clause) or _SIGNAL.search(clause):
        return False
    rest = _INTL_AUDIENCE.sub(" ", _AUDIENCE_PP.sub(" ", _LABEL.sub(" ", clause)))
    rest = _BARE_AUDIENCE.sub(" ", rest)  # "Recuperar clientes que no compran desde hace meses"
    words = [w for w in _word_set(rest) if w not in _FILLER_WORDS and w not in _INTL_FILLER]
    return not words


def _is_instruction(clause: str) -> bool:
    """True when a clause only steers the writing (tone, length, constraints, language, audience)."""
    rest = clause
    if _style_only(clause) or _is_label(clause):
        return True
    if re.search(r"\b(?:they|them|they['’]re|they['’]ve)\b", clause, re.I) and not must_tokens(clause) and not re.search(
            r"\b(?:friends?|[A-Z][a-z]+\s+[A-Z0-9])", clause):
        return True  # "Last try before they drift away": about the audience, not for it
    if re.match(rf"^(?:our|the|all|these|those|your|existing|current|many|most|some)\s+{_MODS}{_AUD_NOUN}\b", clause, re.I) and not _SIGNAL.search(clause) and not re.search(
            r"\b(?:get|gets|can|will|receive|enjoy|earn|save|qualify|pay)\b", clause, re.I):
        return True  # "Our best customers have gone quiet": about the audience, not for it
    for rx in (_TONE_INSTR, _LENGTH_INSTR, _NO_DISCOUNT, _SOFT_SELL, _STYLE_INSTR, _LANG_INSTR, _AUDIENCE_LABEL,
               _GENERAL_INSTR, _INTL_INSTR):
        rest = rx.sub(" ", rest)
    rest = _ADDRESSEE.sub(lambda m: " " if m.group(3) or _only_address(m) else m.group(0), rest)
    rest = _INTL_AUDIENCE.sub(" ", _AUDIENCE_PP.sub(" ", rest))
    words = [w for w in _word_set(rest) if w not in _FILLER_WORDS and w not in TONE_WORDS
             and w not in _INTL_TONE and w not in _INTL_FILLER]
    return not words or _style_only(rest)


def _only_address(m: re.Match[str]) -> bool:
    """"let lapsed customers know", "target Gold members": a verb of address with only its audience."""
    return m.group(1).lower() in ("let", "target", "reach")


def detect_purpose(text: str) -> str:
    """The message's purpose from cue words (first match in priority order; ``announce`` by default)."""
    hits = [(m.start(), i, name) for i, (name, rx) in enumerate(_PURPOSE_CUES) if (m := rx.search(text))]
    strong = [h for h in hits if h[2] not in ("sale", "announce")]
    # the earliest specific cue wins ("Thank customers for their first order"); sale/announce only alone
    if strong:
        return min(strong)[2]
    return min(hits)[2] if hits else "announce"


def _strip_audience(text: str, found: list[str]) -> str:
    """``text`` without audience phrases ("to our Gold members", "remind shoppers who ..."); they go to ``found``."""
    def addressee(m: re.Match[str]) -> str:
        found.append(re.sub(r"^(?:for|to|at)\s+", "", m.group(2).strip(), flags=re.I))
        verb = m.group(1)
        if m.group(3) or _only_address(m):
            return " "
        return f" {verb} "

    text = _ADDRESSEE.sub(addressee, text)
    subj = _AUDIENCE_SUBJECT.match(text)
    if subj is not None:
        found.append(subj.group(1).strip())
        text = text[subj.end(1):].strip()

    def pp(m: re.Match[str]) -> str:
        phrase = m.group(0)
        # "free shipping for Trail Club members" is the offer's condition, not the audience
        if _CONDITION.fullmatch(phrase.strip()) or (
                re.search(r"members?$", phrase.strip(), re.I) and _first(_OFFER_PATTERNS, m.string[: m.start()])):
            return phrase
        found.append(re.sub(r"^\w+(?:\s+at)?\s+", "", phrase).strip())
        return " "

    text = _AUDIENCE_PP.sub(pp, text)
    m = _AUDIENCE_LABEL.search(text)
    if m:
        found.append(m.group(0).split(":", 1)[-1].split("=", 1)[-1].strip())
        text = _cut(text, m)
    return _clean_space(text)


def _first(patterns: Iterable[re.Pattern[str]], text: str) -> re.Match[str] | None:
    hits = [m for rx in patterns if (m := rx.search(text))]
    return min(hits, key=lambda m: (m.start(), -len(m.group(0)))) if hits else None


def _tidy_offer(text: str) -> str:
    text = re.sub(r"^(?:get|take|enjoy|an?)\s+", "", text.strip(" ,;:."), flags=re.I)
    text = re.sub(r"\b(their|his|her)\b", "your", text, flags=re.I)
    return _CONNECTOR_END.sub("", text).strip(" ,;:.")


def _tidy_topic(text: str) -> str:
    text = _LEADING_JUNK.sub("", _clean_space(text))
    prev = None
    while prev != text:
        prev = text
        text = _CONNECTOR_END.sub("", text).strip(" ,;:.-–—&?!")
        text = re.sub(r"\s+(?:is|are)\s+(?:here|back|in|now|out|live|available)$", "", text, flags=re.I)
    text = re.sub(r"^(?:about|on|of|die|der|das|den|les|le|la|el|los|las)\s+", "", text, flags=re.I)
    text = re.sub(r"^(?:neue[nrs]?|nouvel(?:le)?s?|nouveaux?|nuev[oa]s?)\s+(?=\S)", "", text)  # the templates say "new"
    text = re.sub(rf"\s+(?:am|le|el|on|this|next)\s+(?:{_INTL_WEEKDAYS}|{_WEEKDAYS})$", "", text, flags=re.I)
    text = re.sub(r"\s+(?:e-?mails?|newsletters?|sms|push(?:\s+notifications?)?|posts?|ads?|campaigns?|messages?|"
                  r"copy|send|blast)$", "", text, flags=re.I)
    return text.strip(" ?!")


@lru_cache(maxsize=4096)
def _product_patterns(name: str) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None, re.Pattern[str] | None]:
    """The patterns :func:`_match_product` tries for one catalog name, compiled once (a catalog
    has more names than Python's regex cache holds: rebuilding them cost ~0.4 s per brief)."""
    words = name.split()
    two = " ".join(words[:2]).lower()
    first_two = re.compile(rf"\b{re.escape(two)}\b") if len(words) >= 2 else None
    first_last = re.compile(
        rf"\b{re.escape(words[0].lower())}\s+(?:[\w.-]+\s+)?{re.escape(words[-1].lower())}s?\b"
    ) if len(words) >= 3 and len(words[0]) >= 4 else None
    distinctive = re.compile(
        rf"\b{re.escape(words[0])}\b(?!\s+(?:[A-Z0-9]|-\d))"
    ) if len(words) >= 2 and len(words[0]) >= 6 and words[0][:1].isupper() else None
    return first_two, first_last, distinctive


def _match_product(text: str, names: Sequence[str]) -> str | None:
    """The catalog name ``text`` mentions: its first two words, or its distinctive first word."""
    low = text.lower()
    best: tuple[int, str] | None = None
    for name in names:
        words = name.split()
        if not words:
            continue
        first_two, first_last, distinctive = _product_patterns(name)
        score = 0
        if name.lower() in low:
            score = 3
        elif first_two is not None and first_two.search(low):
            score = 2
        elif first_last is not None and first_last.search(low):
            score = 1
        elif distinctive is not None and distinctive.search(text) and sum(
                n.split()[:1] == words[:1] for n in names) == 1:
            score = 1  # "the Emberline": a distinctive first word only one product has
        if score and (best is None or score > best[0] or (score == best[0] and len(name) > len(best[1]))):
            best = (score, name)
    return best[1] if best else None


def read_brief(
    brief: str,
    *,
    products: Sequence[str] = (),
    categories_of: Any = None,
    offer: str | None = None,
) -> BriefParts:
    """Read ``brief`` into a :class:`BriefParts`.

    ``products`` are catalog product names (brand profile and warehouse) a brief may name;
    ``categories_of`` (a callable: text → categories) finds product categories; ``offer``
    is an offer given apart from the brief (API/CLI ``offer``), read for its code, deadline
    and condition like the brief's own.
    """
    text = re.sub(r"\s+", " ", brief).strip()
    instructions: list[str] = []
    tone_words: list[str] = []
    parts = BriefParts(topic="")

    m = _URL.search(text)
    if m:
        parts.link = m.group(0).rstrip(".,;")
        # "… at alderandpeak.com/events", "… unter alderandpeak.com/kurs": the preposition goes with the link
        before = re.sub(r"\s+(?:at|on|via|under|unter|auf|bei|sur|sous|à|en|in|a)\s*:?\s*$", "", text[: m.start()], flags=re.I)
        text = _clean_space(before + " " + text[m.start() + len(parts.link):])
    m = _CTA.search(text)
    if m:
        parts.cta = m.group(1).strip()
        text = _cut(text, m)
    parts.action, text = brief_action(text)
    fields, count, m = requested_fields(text)
    if m is not None:
        parts.fields, parts.count = fields, count
        instructions.append(m.group(0).strip())
        text = _clean_space(text[: m.start()] + " " + text[m.end():])
        # "… para el anuncio de Meta: 15 % …", "… für die Rückgewinnungs-Mail mit …": the channel asked for, not content
        lead = _ASKED_CHANNEL.match(text[m.start():]) if m.start() < len(text) else None
        if lead is not None and lead.group(0).strip():
            instructions.append(lead.group(0).strip(" :"))
            text = _clean_space(text[: m.start()] + " " + text[m.start() + lead.end():])
    m = _LANG_INSTR.search(text)
    if m and not re.search(r"\b(?:in|into)\s+\w+\s+(?:style|fashion)", m.group(0), re.I):
        parts.language = _LANGUAGES[m.group(1).lower()]
    # steering flags are read from the whole brief
    parts.no_discount = bool(_NO_DISCOUNT.search(text))
    parts.soft_sell = bool(_SOFT_SELL.search(text))
    length_m = _LENGTH_INSTR.search(text)
    if length_m and _SHORT_WORDS.search(length_m.group(0)):
        parts.length = "short"

    content: list[str] = []
    dropped: list[str] = []
    audience: list[str] = []
    # "a playful, punchy email": tone adjectives before a channel word are instructions
    adj = re.compile(rf"\b((?:(?:{_TONE_ALT})\s*(?:,|and|&)?\s+)+)(?=(?:[\w-]+\s+)?(?:e-?mail|sms|text|push|post|ad|message|"
                     rf"note|newsletter|copy|subject line|headline|campaign)s?\b)", re.IGNORECASE)
    for m in list(adj.finditer(text))[::-1]:
        instructions.append(m.group(1).strip(" ,"))
        tone_words += [w for w in _word_set(m.group(1)) if w in TONE_WORDS]
        text = text[: m.start()] + text[m.end():]
    after_audience = False
    sentence_of: list[int] = []
    for sid, clause in ((sid, c) for sid, sentence in enumerate(_split_sentences(text)) for c in sentence):
        if _is_instruction(clause) or (after_audience and _RELATIVE.match(clause)) or _INTL_AUDIENCE_ALONE.match(clause):
            instructions.append(clause)
            tone_words += [w for w in _word_set(clause) if w in TONE_WORDS]
            heard = len(audience)
            _strip_audience(clause, audience)
            if _INTL_AUDIENCE_ALONE.match(clause) or (after_audience and _RELATIVE.match(clause)):
                audience.append(clause)
            after_audience = len(audience) > heard
            dropped.append(clause)
            continue
        after_audience = False
        kept = _MID_ADDRESS.sub(" ¦ ", clause)
        kept = _LABEL_LEAD.sub("", kept)
        for rx in (_TONE_INSTR, _NO_DISCOUNT, _SOFT_SELL, _STYLE_INSTR, _LANG_INSTR, _LENGTH_INSTR, _GENERAL_INSTR,
                   _INTL_INSTR):
            while (m := rx.search(kept)) is not None and not _OFFER_PATTERNS[0].search(m.group(0)):
                instructions.append(m.group(0))
                tone_words += [w for w in _word_set(m.group(0)) if w in TONE_WORDS]
                kept = _cut(kept, m)
        heard = len(audience)
        kept = _strip_audience(kept, audience)
        for m in list(_INTL_AUDIENCE.finditer(kept))[::-1]:
            audience.append(m.group(0).strip())
            kept = kept[: m.start()] + " " + kept[m.end():]
        instructions += audience[heard:]
        kept = _LEAD_IMPERATIVE.sub("", kept)
        if _INTL_LEAD.match(kept):
            kept = _INTL_SEPARABLE.sub("", _INTL_LEAD.sub("", kept))
        kept = _CHANNEL_WORDS.sub(" ", kept) if re.match(rf"(?:{_LEAD_VERBS})\b", kept, re.I) or re.search(
            r"\b(?:for|about)\s+(?:the|our|this|an?)\s+[\w' -]*?(?:e-?mail|newsletter|sms|push|post|ad)s?\b",
            kept, re.I) else kept
        for piece in kept.split("¦"):
            piece = _clean_space(_LABEL_LEAD.sub("", _clean_space(piece)))
            if piece and _word_set(piece) and not _is_instruction(piece):
                content.append(piece)
                sentence_of.append(sid)
    tone_keys = [TONE_WORDS[w] for w in tone_words if TONE_WORDS.get(w)]
    parts.tone = tone_keys[0] if tone_keys else None
    parts.tone_words = list(dict.fromkeys(tone_words))
    parts.audience = ", ".join(dict.fromkeys(a for a in audience if a)) or None
    parts.instructions = [i for i in dict.fromkeys(instructions) if i]

    body = text
    for gone in [*dropped, *audience]:
        at = body.find(gone)
        if at >= 0:
            body = body[:at] + " " + body[at + len(gone):]
    body = _clean_space(body)
    source = f"{body} ; {offer}" if offer else body
    # offer, code, deadline, condition, event date
    offer_m = None if parts.no_discount else _first(_OFFER_PATTERNS, source) or _OFFER_INTL.search(source)
    if offer and offer.strip() and not parts.no_discount:
        given = offer.strip()
        found = _first(_OFFER_PATTERNS, given) or _OFFER_INTL.search(given)
        parts.offer = _tidy_offer(found.group(0)) if found else _tidy_offer(given)
    elif offer_m is not None:
        parts.offer = _tidy_offer(offer_m.group(0))
    code_m = _CODE.search(source)
    if code_m and not parts.no_discount:
        parts.code = code_m.group(1) or code_m.group(2)
        if parts.code.isdigit() or parts.code.lower() in ("stop",):
            parts.code = None
    dl = _DEADLINE.search(source) or _DEADLINE_INTL.search(source)
    if dl is not None:
        if dl.re is _DEADLINE_INTL:
            parts.end_date, parts.deadline = dl.group(2) or dl.group(4), dl.group(0)
        elif dl.group(1):
            parts.end_date, parts.deadline = dl.group(2).strip(), dl.group(0).strip()
        elif dl.group(3):
            parts.end_date, parts.deadline = dl.group(3), dl.group(0)
        elif dl.group(5):
            parts.end_date, parts.deadline = dl.group(5), dl.group(0)
        elif dl.group(7):
            parts.end_date, parts.deadline = dl.group(7), dl.group(0)
        else:
            parts.end_date, parts.deadline = dl.group(6), dl.group(0)
        parts.end_date = re.sub(r"^(?:on|this)\s+(?=\w+day)", "", parts.end_date, flags=re.I)
        verb = _REGISTRATION.search(source[: dl.start()])
        if verb is not None:  # "Register by 8 December", "Anmeldung bis 24. November": a deadline to sign up by
            parts.deadline = _clean_space(source[verb.start(): dl.end()])
            parts.registration = True
    signup = _SIGNUP.search(source)
    if signup is not None and not parts.registration:  # "entrée libre sur inscription": free, but only signed up
        parts.signup = signup.group(0)
    found_conds = list(_CONDITION.finditer(source))
    if offer_m is not None and not offer:
        # two offers, two conditions ("free returns within 60 days, plus free shipping over $75"):
        # the offer's own are those of its clause, not the next offer's threshold
        clause_end = _CLAUSE_END.search(source, offer_m.end())
        in_clause = [c for c in found_conds
                     if c.start() >= offer_m.start() and (clause_end is None or c.start() < clause_end.start())]
        found_conds = in_clause or found_conds
    conds = [_clean_space(c.group(0)) for c in found_conds]
    if conds and (parts.offer or re.search(r"\bfree\b", source, re.I)):
        parts.condition = " ".join(dict.fromkeys(conds))
    if parts.offer and not parts.condition and re.search(r"\bfree\b", parts.offer, re.I) and audience:
        # "remind Gold members about free repair labour": who gets it is the offer's condition
        member = next((a for a in audience if re.search(r"\bmembers?$", a, re.I)), None)
        if member and not re.search(r"\bfriends?\b|\brefer", source, re.I):  # a referral's perk is the friend's
            parts.condition = "for " + re.sub(r"^(?:our|the|all|those|these)\s+", "", member, flags=re.I)
    when_m = _WHEN.search(body) or _INTL_WHEN.search(body)
    if when_m is not None and (dl is None or when_m.group(1) not in (parts.end_date or "")):
        parts.when = re.sub(r"^(?:on|the)\s+", "", when_m.group(1).strip(), flags=re.I)
        time_m = re.match(_TIME, body[when_m.end(1):])
        if time_m and time_m.group(0).strip() and when_m.re is _WHEN:
            parts.when += time_m.group(0).rstrip()
    if parts.when is None and detect_purpose(f"{text} {offer or ''}") == "event":
        # "Repair workshop, Thursday 20 November 18:00": an event's date needs no "on"
        for day in _ANY_DAY.finditer(body):
            if day.group(1) not in (parts.end_date or "") and (parts.end_date or "~") not in day.group(1):
                parts.when = day.group(1)
                break
    parts.urgent = bool(parts.end_date and _URGENT.search(text))

    # the topic: the first content clause once offer, code, dates and imperatives are out
    purpose_text = f"{text} {offer or ''}"
    parts.purpose = detect_purpose(purpose_text)
    if parts.purpose == "sale" and parts.no_discount and not re.search(r"\bsale\b", body, re.I):
        parts.purpose = "announce"
    cart_item = re.search(r"\bleft\s+(?:(?:the|their|your|some|a|an)\s+)?([\w' -]{2,30}?)\s+in\s+(?:their|your|the|a)\s+"
                          r"(?:cart|basket|bag)", brief, re.I)
    item = cart_item.group(1) if cart_item else None
    if item and re.fullmatch(r"items?|things?|something|stuff|products?|it|them", item, re.I):
        item = None
    proof: list[str] = []
    topic = ""
    notes: list[str] = []
    for sid in dict.fromkeys(sentence_of):
        # a sentence's content clauses, instructions and audience left out, as one note
        joined = ", ".join(c for c, s in zip(content, sentence_of, strict=True) if s == sid)
        note = _tidy_note(joined)
        tokens = must_tokens(note)
        known = f"{parts.end_date or ''} {parts.when or ''}".lower()
        dates_only = all(t.lower() in known for t in tokens)
        if tokens and (_OFFERISH.search(note) or len(note.split()) > len(" ".join(tokens).split()) + 2
                       or not dates_only):
            notes.append(note)
    for clause in content:
        stripped = clause
        for rx in (_CODE_PHRASE, *_OFFER_PATTERNS, _OFFER_INTL, _CONDITION, _DEADLINE, _DEADLINE_INTL, _WHEN, _INTL_WHEN):
            stripped = rx.sub(" ", stripped)
        stripped = _TOPIC_VERBS.sub("", _LEAD_IMPERATIVE.sub("", _clean_space(stripped)))
        stripped = _INTL_SEPARABLE.sub("", _INTL_LEAD.sub("", stripped)) if _INTL_LEAD.match(stripped) else stripped
        if re.search(r"\d\s?%|[$£€]\s?\d|\d\s?€|\b(?:code|código)\b", stripped, re.I):
            continue
        if must_tokens(stripped) and len(stripped.split()) <= len(" ".join(must_tokens(stripped)).split()) + 1:
            continue  # "30 days", "ends Sunday": a value, not a topic  # "15 % avec le code ...", "kostenloser Versand ab 60 €": the message, not a topic
        stripped = _tidy_topic(re.sub(r"\b(?:is|are)\s+back in stock\b|\bback in stock\b|\brestocked\b", " ",
                                      stripped, flags=re.I))
        stripped = re.sub(r"^(?:(?:with|using|and|plus)\s+)+", "", stripped, flags=re.I).strip()
        if stripped.lower() in _FILLER_WORDS or stripped.lower() in ("with", "using", "get", "gets", "plus", "mit", "für",
                                                                      "avec", "pour", "con", "para", "sur", "en") or \
                re.fullmatch(r"(?:(?:this|next)\s+(?:week|weekend|month)|today|tonight|tomorrow)(?:\s+only)?", stripped, re.I):
            stripped = ""
        if not re.search(r"[^\W\d_]{3,}", stripped):
            continue
        if not topic:
            topic = stripped
            # "Announce the new Ridgeline tent: 1.9 kg, three seasons" — what follows the colon is proof
            continue
        if len(proof) < 4 and not _is_instruction(stripped) and _factual(stripped, categories_of):
            proof.append(stripped)
    names = list(products)
    parts.product = _match_product(brief, names)
    if parts.product and parts.purpose not in ("education",) and topic != parts.product and not (
            topic and parts.product.lower().startswith(topic.lower())):
        # "Wieder da: der Cirrus Trail Runner GTX": the product the brief names is what it is about
        rest = re.sub(rf"(?i)\b(?:the|der|die|das|den|le|la|el)?\s*{re.escape(parts.product)}\b", " ", topic)
        rest = _tidy_topic(re.sub(r"(?i)\b" + re.escape(parts.product.split()[0]) + r"\b.*", " ", rest))
        if rest and _factual(rest, categories_of) and not _is_instruction(rest):
            proof.insert(0, rest)
        topic = parts.product
    if parts.product and len(topic.split()) > 4 and parts.purpose != "education":
        # "The Stormfront 3L Shell Jacket in all sizes": the product is the topic, the rest a proof point
        own = {w.lower() for w in parts.product.split()}
        words = topic.split()
        start = next((i for i, w in enumerate(words) if w.lower() == parts.product.split()[0].lower()), None)
        rest = ""
        if start is not None:
            end = start
            while end < len(words) and (words[end].lower().rstrip("s") in own or words[end].lower() in own):
                end += 1
            rest = _tidy_topic(" ".join(words[end:]))
        topic = parts.product
        if rest and re.search(r"[^\W\d_]{3,}", rest):
            proof.insert(0, rest)
    if parts.purpose == "abandoned_cart":
        topic = item or parts.product or ""
        item = item or parts.product
    program = re.search(r"\b((?:[A-Z][\w&-]+\s+)+(?:Club|Program(?:me)?|Rewards|Circle|Society|Crew|Collective))\b",
                        parts.audience or "")
    if not topic and program and parts.purpose in ("welcome", "thanks"):
        topic = program.group(1).strip()  # "Welcome new Trail Club members" → Trail Club
    if not topic and parts.action and parts.action.startswith("See "):
        topic = _tidy_topic(re.sub(r"^See\s+(?:our|your|the)\s+", "", parts.action))  # "point them to our checklists"
    topic = re.sub(r"[,\s]+(?:rsvp|register|sign up|book|anmeldung|anmelden|inscription|inscrivez-vous|inscripción|"
                   r"inscríbete|reserva)$", "", topic, flags=re.I)  # "…, RSVP by 3 December": the deadline went, not the verb
    if len(topic.split()) > 9:
        words = topic.split()
        cut = next((i for i in range(3, min(len(words), 9)) if words[i].lower() in
                    ("that", "which", "with", "for", "so", "because", "to", "and", "who", "in")), 8)
        proof.insert(0, topic)
        topic = " ".join(words[:cut])
        topic = _tidy_topic(topic)
    if parts.purpose == "thanks":
        topic = re.sub(r"^(?:danke|merci|gracias|thanks?)\s+(?:für|pour|por|for)\s+", "", topic, flags=re.I)
    topic = _possessive_to_you(topic)
    parts.topic = topic
    parts.item = item or (topic if topic and len(topic.split()) <= 4 else None)
    parts.named = parts.product if parts.product and topic == parts.product else (
        topic if program and topic == program.group(1).strip() else None)
    measures = [m.group(0) for c in content for m in _MEASURE.finditer(c)]
    if not proof and measures and topic and not any(x in topic for x in measures):
        proof = measures[:3]
    proof = [p for p in proof if not any(p in n for n in notes)]
    parts.proof = proof
    parts.notes = notes
    parts.detail = _proof_sentence(proof)
    if categories_of is not None:
        parts.categories = list(categories_of(f"{topic} {' '.join(proof)} {item or ''} {brief}"))
        parts.category = parts.categories[0] if parts.categories else None
    return parts


_SIGNUP = re.compile(
    r"\b(?:on|upon|with|by|sur|nach|con|previa|bajo)\s+(?:prior\s+)?(?:registration|inscription|réservation|Anmeldung|"
    r"inscripción|reserva)\b|\b(?:registration|rsvp|booking|Anmeldung|inscription|inscripción|réservation|reserva)\s+"
    r"(?:required|needed|essential|obligatoire|requise|erforderlich|nötig|obligatoria|necesaria)\b", re.IGNORECASE)
_REGISTRATION = re.compile(
    r"\b(?:rsvp|register|registration|sign[- ]?up|book\s+(?:your|a)\s+(?:place|spot|seat)|enrol+|anmeldung|anmelden|"
    r"inscriptions?|inscrivez-vous|inscripción|inscríbete|reserva(?:\s+tu\s+plaza)?)\s*(?:(?:is|closes|ist|required)\s+)?$",
    re.IGNORECASE)
_OFFERISH = re.compile(
    r"\d\s?%|[$£€]\s?\d|\d\s?€|\bfree\b|kostenlos\w*|gratuit\w*|\bgratis\b|\boffert\w*|\b(?:code|código)\b"
    r"|\b(?:points?|Punkte|puntos)\b", re.IGNORECASE)
_TOKENS = [
    re.compile(r"-?\d{1,3}\s?%"),
    re.compile(r"[$£€]\s?\d(?:[\d,.]*\d)?|\d(?:[\d,.]*\d)?\s?€"),
    re.compile(r"\b\d{1,3}(?:[,.]\d{3})+\b"),
    re.compile(r"(?<![\w-])(?=[A-Z0-9]*[A-Z])(?=[A-Z0-9]*\d)[A-Z0-9]{4,20}(?![\w-])"),
    re.compile(r"\b\d+(?:\s+|-)(?:hours?|days?|weeks?|Tage|Stunden|Wochen|jours|heures|semaines|días|horas|semanas)\b", re.I),
    re.compile(r"\b(?:19|20)\d\d\b"),
    re.compile(r"\b\d[\d,.]*(?=\s+(?:[\w-]+\s+){0,2}(?:points|Punkte|puntos)\b)", re.I),
    re.compile(rf"(?<!Black )(?<!Cyber )(?<!Good )\b(?:{_WEEKDAYS}|{_INTL_WEEKDAYS})\b(?!\s+[A-Z])", re.I),
    re.compile(rf"\b\d{{1,2}}\.?\s+(?:de\s+)?{_INTL_MONTHS}\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS}\b|"
               rf"\b{_MONTHS}\s+\d{{1,2}}\b", re.I),
]


def must_tokens(text: str) -> list[str]:
    """The values in ``text`` a customer must be told: percentages, amounts, codes, durations,
    years, points, dates ("15 %", "$75", "COMEBACK15", "30 Tage", "2027", "500", "24 December")."""
    found = [m.group(0).strip() for rx in _TOKENS for m in rx.finditer(text)]
    return list(dict.fromkeys(t for t in found if t))


_POSSESSIVES = {"their": "your", "ihre": "deine", "ihren": "deinen", "ihrer": "deiner", "ihrem": "deinem",
                "leur": "votre", "leurs": "vos", "su": "tu", "sus": "tus"}


def _possessive_to_you(text: str) -> str:
    """"their first order" → "your first order", "ihre Treue" → "deine Treue": the audience addressed."""
    return re.sub(r"\b(?:" + "|".join(_POSSESSIVES) + r")\b", lambda m: _POSSESSIVES.get(m.group(0).lower(), m.group(0)),
                  text, flags=re.I)


def _tidy_note(clause: str) -> str:
    """A message clause as a sentence: its leading "get"/"bekommen" gone, "their" → "your"."""
    text = _LEAD_IMPERATIVE.sub("", _clean_space(clause))
    if not re.match(r"(?:give|get)\b", text, re.I):  # "give a friend $20 off" is already copy
        text = _TOPIC_VERBS.sub("", text)
    text = _LEADING_JUNK.sub("", _OFFER_VERBS.sub("", _clean_space(_LABEL.sub(" ", text))))
    text = re.sub(r"\s+(?:e-?mails?|newsletters?|sms|push|ads?|posts?)\b(?=\s*(?:,|with\b|$))", "", text, flags=re.I)
    if _INTL_LEAD.match(text):
        text = _INTL_SEPARABLE.sub("", _INTL_LEAD.sub("", text))
    text = re.sub(r"\b(?:the|each|every|our)\s+(?:members?|customers?|subscribers?|buyers?|referrers?)\s+gets?\b",
                  "you get", text, flags=re.I)
    if not re.search(r"\bfriends?\b", text, re.I):
        text = re.sub(r"\b(their|his|her)\b", "your", text, flags=re.I)
        text = re.sub(r"\bthey\b", "you", re.sub(r"\bthem\b", "you", text, flags=re.I), flags=re.I)
    text = re.sub(r"^(?:and|plus|und|et|y)\s+", "", text, flags=re.I)
    prev = None
    while prev != text:
        prev, text = text, _CONNECTOR_END.sub("", text).strip(" ,;:")
    return text[:1].upper() + text[1:]


_FACT_NOUNS = re.compile(
    r"\b(?:sizes?|colou?rs?|waterproof|breathable|recycled|lightweight|warranty|season|guide|guides|repairs?|"
    r"returns?|shipping|delivery|store|workshop|kg|grams?|litres?|liters?|minutes?|hours?|one|two|three|four|five|"
    r"six|seven|eight|nine|ten|dozen|hundred|thousand|Größen|tailles|tallas|imperméable|wasserdicht|impermeable)\b",
    re.IGNORECASE)


def _factual(text: str, categories_of: Any = None) -> bool:
    """True when ``text`` states something checkable: a number, a name, a product word, a category."""
    if re.search(r"\d", text) or _FACT_NOUNS.search(text) or re.search(r"(?<!^)(?<![.!?]\s)\b[A-Z][\w-]*[A-Z0-9]", text):
        return True
    if re.search(r"\s[A-Z][a-z]{2,}", text) and not re.search(r"\b(?:der|die|das|und|für)\b", text):
        return True  # a proper name inside the text ("shell (Stormfront)") — German nouns are capitalised
    return bool(categories_of is not None and list(categories_of(text)))


def _proof_sentence(proof: Sequence[str]) -> str:
    if not proof:
        return ""
    items = [p.strip(" .") for p in proof if p.strip(" .")]
    if not items:
        return ""
    text = ", ".join(items)
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
