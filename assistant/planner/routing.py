"""Which capability a message asks for: sentence-embedding similarity to examples, plus rules and evidence.

A tool's examples live in its ``@mara_tool(examples=[...])`` declaration; greetings and help
in ``prompts/tool_examples.yaml``. Adding phrasings there improves routing. Rules catch what similarity alone gets wrong
(literal SQL, greetings, strong data or brand keywords).

Similarity alone sends a data question it half-understands to whichever tool's examples sound
closest (a question about order *value* to lifetime value, one about *reviews* to sentiment
analysis). So a non-data capability is only reached when the message carries that capability's own
vocabulary (:data:`_STRONG` / :data:`_WEAK` below) and that vocabulary is not the live schema's
own words read the parser's way (:mod:`assistant.planner.lexicon`: ``churn rate by region`` on a
table with a ``churn_date`` column asks about that column; ``reviews`` is a table in a shop with
reviews). Strong cues (a forecast, a text-analysis verb, a copy request) win; weak cues (a noun a
data question also uses: returns, offer, reviews, segment) lose to a data question's shape
(how many, average, by X); without any cue the message goes to the data path, which answers or
asks one clarifying question — never an unrelated tool.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from assistant.planner.lexicon import lexicon_for, phrase, static, tokenize
from foundation.settings import make_private, open_private, private_dir
from knowledge.embeddings import get_encoder
from prompts import load_data
from tools.registry import routing_examples

_SQL = re.compile(r"(?is)(?:```sql\s*(.+?)```|^\s*((?:select|with)\b.+)$|\b((?:select)\s+.+?\bfrom\b.+))")
_GREETING = re.compile(r"^\s*(hi|hello|hey|hiya|good (morning|afternoon|evening)|thanks|thank you|cheers|ok|okay|great)\b[\s!.,]*(mara)?[\s!.]*$", re.I)
_HELP = re.compile(
    r"^\s*(?:(?:hi|hey|hello|hiya|um+|uh+|erm|so|ok(?:ay)?|quick question)\b[\s!.,:-]*)*"  # "hi! what can you do", "um how do i ..."
    r"(help|\?|what (else )?can you (do|help( me| us)?( with)?)|what do you do|how (do|can|should) i use (you|this|mara)|"
    r"who are you|what (kinds?|sorts?|types?) of (things|questions|stuff|requests|tasks|work) (can|do|will|should) (i|we|you) "
    r"(ask|answer|do|handle|help( me| us)? with|take on)|"
    r"(show|give) me (some )?(examples?|example questions|sample questions)|"
    r"how does (this|it|mara) work|what are you (able|good) (to|at)|what can (i|we) ask)\b",
    re.I,
)
_DATA_WORDS = re.compile(
    r"\b(how many|number of|count|revenue|sales|spend|spent|average|avg|total|orders?|customers?|"
    r"products?|per (month|week|day|country)|by (country|city|channel|month|tier|category)|top \d+|"
    r"aov|trend|monthly|weekly|opted in|opt-in|signups?|churn\w*)\b",
    re.I,
)
_BRAND_WORDS = re.compile(
    r"\b(brand|voice|tone|style guide|guideline|policy|policies|disclaimer|banned|compliance|offer|offers|"
    r"promotion|promo|warranty|return|returns|shipping|faq|persona|personas|claims?|sustainab\w*|"
    r"emoji|wording|tagline|values|repair|guarantee)\b",
    re.I,
)
_WRITE = re.compile(
    r"^\s*(please\s+)?(drop|delete|truncate|update|insert|alter|remove|erase|wipe|modify|change|rename|create)\b"
    r"(?!.*\b(audience|segment|draft|copy|campaign|message|sms|email)\b)",
    re.I,
)
_MUTATING_SQL = re.compile(
    r"\b(delete\s+from|drop\s+(table|view|schema|database|index)|truncate\s+(table\s+)?[\w.\"]+|"
    r"update\s+[\w.\"]+\s+set|insert\s+(into|overwrite)|alter\s+(table|view|schema|database)|"
    r"create\s+(or\s+replace\s+)?(table|view|schema|database|index)|merge\s+into|grant\s+\w+|revoke\s+\w+|"
    r"attach\s+(database\s+)?'|copy\s+[\w.\"]+\s+(from|to)\b)",
    re.I,
)
_DESTROY_DATA = re.compile(
    r"\b(delete|drop|truncate|wipe|erase|destroy)\b[^.?!]{0,40}\b(tables?|rows?|records?|customers|orders|"
    r"database|warehouse|data)\b",
    re.I,
)
_SECRETS = re.compile(
    r"(\b(show|print|reveal|tell|give|display|dump|leak|output|repeat|list|share|what(?:'s| is| are))\b[^.?!]{0,40}"
    r"\b(system prompt|(your|the) (instructions|prompt|configuration|config)|api[ _-]?keys?|secret( key)?s?|"
    r"access tokens?|bearer tokens?|passwords?|credentials|env(ironment)? var(iable)?s?|\.env\b|"
    r"openai_api_key|mara_llm_api_key|connection string|database url))|"
    r"\bignore (all |any )?(the |your )?(previous|prior|above|earlier) (instructions|rules|prompts?)\b",
    re.I,
)
_PERSONAL_WORDS = re.compile(
    r"\b(e-?mails?|phone( numbers?)?|addresses|home address|names?|contact details|personal data|pii)\b", re.I
)


def refusal_kind(message: str) -> str | None:
    """``"secrets"`` (system prompt, keys, credentials), ``"write"`` (mutating SQL, destroying data) or ``None``."""
    if _SECRETS.search(message):
        return "secrets"
    if _SQL.search(message):
        return None  # literal SQL goes to run_sql, whose parser refuses anything but one read-only SELECT
    if _MUTATING_SQL.search(message) or _DESTROY_DATA.search(message):
        return "write"
    return None


def asks_for_customer_data(message: str) -> bool:
    """Whether a message asks about customer data (counts, revenue, personal details), not for copy."""
    if _COPY.search(message):
        return False
    return bool(_DATA_WORDS.search(message) or _SCHEMA_WORDS.search(message)
                or (_PERSONAL_WORDS.search(message) and re.search(r"\b(customers?|clients?|users?|people)\b", message, re.I)))


_MODEL_WORDS = {
    "rfm_segments": re.compile(r"\b(rfm|champions?|at[- ]risk|can'?t lose|hibernating|about to sleep|"
                               r"need attention|potential loyalists?|best customers|loyal customers|segments?|segmentation|"
                               r"churned|lapsed|lost customers)\b", re.I),
    "cluster_customers": re.compile(r"\b(cluster\w*|k-?means|personas? from (the )?data|behaviou?ral groups?)\b", re.I),
    "predict_churn": re.compile(r"\b(churn(?!ed)\w*|propensity|likely to (buy|purchase|order|churn|stop|leave|lapse)|"
                                r"(will|going to) (buy|purchase|order|churn|stop|leave|lapse))\b", re.I),
    "customer_lifetime_value": re.compile(r"\b(lifetime value|clv|ltv|p\(alive\)|probability (of being )?alive|"
                                          r"still alive|future (revenue|value))\b", re.I),
    "recommend_products": re.compile(r"\b(recommend\w*|next best|also (bought|buy|purchased?)|cross-?sell\w*|"
                                     r"buy next|buyers buy|products? to feature|"
                                     r"likely to (buy|purchase|order) (an?|the|our) \w)", re.I),
}
_COPY = re.compile(
    r"\b(draft|write|create|compose|come up with|generate|suggest)\b.*\b(sms|text messages?|texts?|e-?mails?|push|"
    r"notifications?|ads?|headlines?|posts?|tweets?|copy|subject lines?|newsletters?)\b",
    re.I,
)
_SCHEMA_WORDS = re.compile(r"\b(tables?|columns?|fields?|schema|what data|which data|data do (we|you) have)\b", re.I)


def _words(*patterns: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")\b", re.I)


_PEOPLE = r"(?:customers?|shoppers?|buyers?|clients?|users?|people|members?|subscribers?|accounts?|reviewers?|they)"
_COPY_THING = (r"(?:sms|text messages?|texts|e-?mails?|newsletters?|push( notifications?)?|notifications?|ads?|headlines?|"
               r"taglines?|posts?|tweets?|captions?|subject lines?|preheaders?|ctas?|copy|slogans?|blurbs?|banners?)")
#: A capability's own words that settle what is asked, whatever the schema holds.
_STRONG: dict[str, re.Pattern[str]] = {
    "rfm_segments": _words(r"rfm", r"recency", r"champions?", r"hibernating", r"can'?t (?:afford to )?lose( them)?",
                           r"about to (?:sleep|lose)", r"going to lose", r"needs? attention", r"potential loyalists?",
                           r"at[- ]risk(?! of (?:churn|leav|cancel|stop))", r"best customers", r"loyal (?:customers|shoppers|buyers)", r"lapsed",
                           r"lost customers", r"(?:rfm|customer) segments?", r"segment (?:our|the|my) customers", r"churned",
                           r"dormant", r"inactive (?:customers|shoppers|buyers)", r"slipping away",
                           r"(?:haven'?t|have not|hasn'?t|has not|did ?n[o']t) (?:bought|ordered|purchased|shopped|(?:been|come) back)",
                           r"used to (?:buy|order|shop|purchase|spend)",
                           r"(?:gone|went|going|fallen|fell) (?:quiet|cold|dark|silent|missing|off)", r"stopped (?:buying|ordering|shopping|purchasing)"),
    "cluster_customers": _words(r"cluster\w*", r"k-?means", r"(?:into|based on|by) (?:\w+ )?personas?",
                                r"personas? (?:from|based on|by)", r"(?:types|kinds|sorts) of (?:customers|shoppers|buyers|users|clients)",
                                r"natural (?:customer )?groups", r"behaviou?ral (?:groups|segments)",
                                r"group (?:our |the |my )?customers", r"customer types", r"similar customers",
                                r"segments? (?:automatically|from (?:the |our )?data)"),
    "predict_churn": _words(r"churn(?!ed)\w*", r"propensity", r"predict\w*", r"likely", r"likelihood",
                            r"(?:will|going to|about to) (?:\w+ )?(?:buy|purchase|order|churn|stop|leave|lapse|cancel|come back|return)",
                            r"at risk of (?:churn\w*|leaving|cancel\w*|stopping)", r"stop (?:buying|ordering|purchasing)",
                            r"attrition", r"drop off", r"(?:won'?t|will not|never) (?:come back|return|buy|order)",
                            r"(?:purchase|buying|repeat) probabilit\w*", r"odds",
                            r"(?:chance|probabilit\w*|likelihood) (?:of|that|to) (?:\w+ ){0,3}?(?:buy\w*|purchas\w*|order\w*|"
                            r"return\w*|churn\w*|leav\w*|com\w* back|repeat\w*|renew\w*|cancel\w*|stop\w*)"),
    "customer_lifetime_value": _words(r"lifetime value", r"clv", r"ltv", r"worth", r"future (?:revenue|value|spend)",
                                      r"going forward", r"still (?:alive|active|around)", r"p\(alive\)",
                                      r"probability (?:of being |that \w+ is |each \w+ is )?(?:alive|active)",
                                      r"expected (?:\w+ )?(?:value|revenue|spend)", r"most valuable",
                                      r"long[- ]term value", r"future (?:purchases|orders)",
                                      r"(?:will|would) (?:\w+ )?spend (?:in|over) the (?:next|coming)"),
    "recommend_products": _words(r"recommend\w*", r"next best", r"buy next", r"bought (?:together|with)",
                                 r"(?:also|frequently|often) (?:bought|buy|purchased?)", r"cross-?sell\w*", r"up-?sell\w*",
                                 r"(?:would|might) (?:want|like|buy|be interested)", r"likely buyers",
                                 r"suggest (?:to|for) " + _PEOPLE, r"(?:suggest|offer|show) (?:to )?customer \w+",
                                 r"what else (?:would|might|should|could|do|did)", r"(?:pairs?|goes|go|works?) (?:well |nicely |best )?with",
                                 r"next (?:product|item)s?", r"suggest\w* (?:\w+ ){0,2}(?:products?|items?)",
                                 r"(?:products?|items?) (?:for|to) (?:customer|user|client|shopper|member) #?\w*\d"),
    "analyze_feedback": _words(r"sentiment", r"complain\w*", r"complaints?", r"themes?", r"quotes?", r"verbatims?",
                               r"summari[sz]e (?:the |our |all )?(?:\w+ )?(?:reviews|feedback|comments|survey|tickets|responses)",
                               r"(?:what|how) (?:do|are|did|does) (?:\w+ ){0,3}(?:say|saying|said|think|feel|mention)",
                               _PEOPLE + r" (?:\w+ )?(?:say|says|said|saying|think|feel|mention\w*|raise[sd]?|raising|bring up|brought up|report\w*)",
                               r"(?:issues|problems|topics|things|concerns) (?:\w+ ){0,3}(?:raise[sd]?|mention\w*|bring up|report\w*)",
                               r"feedback", r"survey (?:answers|responses)", r"support tickets",
                               r"(?:negative|positive|bad|good|angry|happy|unhappy) (?:reviews|feedback|comments)",
                               r"opinions?", r"pain points", r"praise\w*", r"what(?:'s| is) the mood"),
    "search_knowledge": _words(r"polic(?:y|ies)", r"guidelines?", r"brand (?:voice|book|guide|values|story)",
                               r"tone(?: of voice)?", r"voice", r"style guide", r"disclaimers?", r"banned", r"allowed",
                               r"(?:can|may|should) we (?:say|use|claim|make|mention|promise)", r"claims?", r"warrant(?:y|ies)",
                               r"guarantee", r"promo(?:tion)? codes?", r"(?:target|buyer|brand|our) personas?", r"faq",
                               r"how (?:do|should|can) we (?:describe|talk|position|say|write|refer|present)",
                               r"threshold", r"minimum order", r"mandatory", r"required", r"legal(?:ly)?", r"regulat\w*",
                               r"gdpr", r"tcpa", r"can-?spam", r"opt-?out (?:text|wording|language|message|line)",
                               r"(?:must|need to|needs to|have to|has to) (?:\w+ ){0,3}(?:include|contain|say|mention|state|show)", r"dos and don'?ts", r"do'?s and don'?ts", r"messaging",
                               r"positioning", r"mission",
                               r"how (?:\w+ ){0,3}should (?:\w+ ){0,3}(?:sound|read|feel|come across)",
                               r"(?:can|may|could) (?:customers|shoppers|buyers|guests|members|subscribers|people|they) "
                               r"(?:still )?(?!see|view)\w+", r"(?:are|is) (?:customers|shoppers|buyers|guests|members|we|they) allowed", r"(?:what(?:'s| is)|whats) our (?:stance|position|line)",
                               r"do (?:we|you) (?:ship|deliver|offer|accept|allow|take|price[- ]match)",
                               r"(?:refund|return|returns|exchange|cancellation|delivery) (?:window|period|policy|terms|rules|conditions)", r"how long do (?:customers|people|i|we) have"),
    "draft_copy": re.compile(
        r"\b(?:draft|write|create|compose|come up with|give me|suggest|generate|prepare|need|rewrite|reword|punch up)\b"
        r"(?:(?!\b(?:count|number|total|sum|average|avg|share|list|how many)\b)[^.?!])*?\b" + _COPY_THING + r"\b"
        r"|\b(?:e-?mail|sms|push|ad|social) copy\b|\b(?:subject lines?|captions?|headlines?|taglines?|preheaders?) (?:for|about)\b"
        r"|\brewrite this\b|\bpunchier\b|\b(?:email|text|sms) blast\b|\bad copy\b|\bone-liners?\b"
        # a deliverable named without a verb: "a short reminder text for ...", "three ad headlines for ..."
        r"|^\s*(?:a|an|one|two|three|four|five|six|\d+|some|a few|a couple of)\s+(?:[\w-]+\s+){0,3}?(?:" + _COPY_THING
        + r"|text)\s+(?:for|about|to|announcing|reminding|promoting|inviting|thanking|on|that)\b",
        re.I,
    ),
    "describe_data": _words(r"(?<!as a )(?<!in a )(?<!into a )tables?", r"columns?(?! charts?)", r"fields?", r"schema", r"what data", r"which data",
                            r"data (?:do|did|can) (?:we|you|i) (?:have|see|upload\w*|load\w*)", r"overview of (?:the |our |my )?data",
                            r"(?:i|we) (?:uploaded|loaded|imported)", r"what'?s in (?:the |our |my )?\w+ (?:table|data|file|export|sheet|spreadsheet|csv|dataset|upload)",
                            r"data dictionary", r"overview of (?:the |our |my |this )?(?:\w+ )?(?:file|dataset|export|sheet|spreadsheet|csv|upload|table)", r"describe (?:the |our |my |this )?(?:\w+ )?(?:data|dataset|tables?|schema|files?|exports?)", r"what(?:'s| is) available", r"what can (?:i|we) ask about (?:the |our |my )?data"),
    "save_audience": re.compile(r"\baudiences?\b|\b(?:save|export|download)\b[^.?!]*\b(?:list|csv|segment|audience|them|these|"
                                r"those|customers)\b|\b(?:make|create|build)\b[^.?!]*\b(?:list|segment)\b[^.?!]*\bsave\b", re.I),
}
#: A forecast asked about people: its horizon ("in the next 30 days") or a generic forecasting word. What is forecast
#: decides the tool: money (spend, revenue, worth) is lifetime value, anything else (buying again, leaving) propensity.
_HORIZON = _words(r"(?:in|within|over|during|for) the (?:next|coming|following) (?:\d+ |few |two |three |six |twelve )?"
                  r"(?:days?|weeks?|months?|quarters?|years?)", r"(?:next|coming) (?:month|quarter|year)(?:'s)?")
_BEHAVIOUR = _words(r"buy\w*", r"bought", r"purchas\w*", r"order\w*", r"shop\w*", r"return\w*", r"come back", r"churn\w*",
                    r"leav\w*", r"renew\w*", r"cancel\w*", r"repeat\w*", r"stop\w*", r"lapse\w*")
_ABOUT_PEOPLE = _words(r"each", r"every", r"who(?:'s| is| are| will)?", r"which " + _PEOPLE, _PEOPLE)
_GENERIC_FORECAST = _words(r"predict\w*", r"forecast\w*", r"likely", r"likelihood", r"odds", r"score\w*", r"estimate\w*")
_FORECAST_MONEY = _words(r"spend\w*", r"spent", r"revenue", r"worth", r"value", r"money", r"sales", r"dollars?", r"euros?")
#: "What's our tagline?": a lookup of something of ours. When no word of it is the live schema's or the data lexicon's
#: (revenue, customers, AOV...) and it has no data question's shape, it is a thing the brand's knowledge holds.
_LOOKUP = re.compile(r"^\s*(?:(?:so|and|ok|okay|remind me),?\s+)?(?:what(?:'s| is| are| was| were)|whats|what do we have as|"
                     r"tell me|remind me (?:of|what))\s+(?:our|the brand'?s?|the company'?s|your)\s+(?P<thing>[^?.!]+?)\s*[?.!]*\s*$",
                     re.I)
#: Feedback's nouns: counted ("how many tickets were complaints", "number of negative reviews") they are rows to count,
#: not texts to read — only the feedback tool's verbs (summarise, what do people say) ask for the texts then.
_COUNTING = _words(r"how many", r"number of", r"count(?: of)?", r"total number", r"share of", r"percentage of")
_TEXT_NOUNS = re.compile(r"(?:complain\w*|complaints?|themes?|quotes?|verbatims?|feedback|opinions?|praise\w*|support tickets|"
                         r"pain points|survey (?:answers|responses)|(?:negative|positive|bad|good|angry|happy|unhappy) "
                         r"(?:reviews|feedback|comments))", re.I)
#: A capability's words that a counting question uses as a condition on rows: "how many customers haven't ordered
#: in 6 months", "how many subscriptions churned last month" (with a period), "how many refunds, and what were they
#: worth" — counted, they are a data question's filter or measure, not a request for segments or a model.
_COUNTED_CUES: dict[str, re.Pattern[str]] = {
    "rfm_segments": re.compile(r"churned|lapsed|dormant|(?:haven'?t|have not|hasn'?t|has not|did ?n[o']t) \w+(?: \w+)?|"
                               r"stopped \w+|used to \w+|(?:gone|went|going|fallen|fell) \w+", re.I),
    "customer_lifetime_value": re.compile(r"worth", re.I),
}
_PERIOD = _words(r"(?:in|within|for|over|during) (?:the )?(?:last |past )?\d+ (?:days?|weeks?|months?|years?)", r"since \w+",
                 r"(?:last|this|previous|past) (?:day|week|month|quarter|year)", r"in \d{4}", r"ytd", r"year to date",
                 r"(?:january|february|march|april|may|june|july|august|september|october|november|december)")
#: Verbs that make an audience the thing asked for (not just who some copy is for).
_SAVING = re.compile(r"\b(?:save|export|download|create|make|build)\b", re.I)
#: Nouns a capability shares with data questions: they count only when the message is not a data question's shape.
_WEAK: dict[str, re.Pattern[str]] = {
    "rfm_segments": _words(r"segments?", r"segmentation", r"vips?", r"loyal"),
    "predict_churn": _words(r"repeat purchases?", r"retention"),
    "customer_lifetime_value": _words(r"valuable", r"value"),
    "analyze_feedback": _words(r"reviews?", r"comments?", r"ratings?", r"love", r"hate", r"negative", r"positive"),
    "search_knowledge": re.compile(_BRAND_WORDS.pattern + r"|\b(?:ship|deliver|delivery|cost|tell me about|materials?|"
                                   r"specs?|terms)\b", re.I),
    "recommend_products": _words(r"suggest\w*", r"next purchase"),
}
#: The shape of a data question: an aggregation, a breakdown, a ranking, a period.
_DATA_SHAPE = re.compile(
    r"\b(how many|number of|count|total|sum|average|avg|mean|median|share|percent(?:age)?|rate|ratio|per|by|top \d+|"
    r"most|least|highest|lowest|best|worst|biggest|largest|smallest|fewest|trend|monthly|weekly|daily|last (?:month|week|year|quarter)|this (?:month|week|year|quarter)|"
    r"in \d{4}|vs\.?|versus|compared?)\b",
    re.I,
)
#: Words too common in requests to tell one capability from another.
_COMMON = frozenset({"what", "which", "when", "where", "show", "tell", "give", "many", "much", "with", "that", "this",
                     "these", "those", "they", "them", "have", "from", "your", "their", "last", "next", "month", "year",
                     "week", "quarter", "data", "customers", "customer", "products", "product", "orders", "order",
                     "revenue", "sales", "most", "more", "than", "each", "every", "there", "about", "into", "over",
                     "does", "were", "been", "would", "could", "should", "please", "like", "make", "made", "some",
                     "january", "february", "march", "april", "june", "july", "august", "september", "october",
                     "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
                     "today", "yesterday", "since", "between", "versus"})
#: How close to one of a capability's examples a message without any of its words must be to reach it.
_TRUST_SIMILARITY = 0.7
_NON_DATA = ("rfm_segments", "cluster_customers", "predict_churn", "customer_lifetime_value", "recommend_products",
             "analyze_feedback", "search_knowledge", "draft_copy", "save_audience")
_AUDIENCE_PHRASE = re.compile(
    r"\b(?:for|to|at|reminding|inviting|thanking|telling|asking|welcoming|nudging|encouraging|targeting|aimed at)\s+"
    r"(?:our|the|all|those|these|my)?\s*(?:[\w'-]+\s+){0,3}?"
    r"(?:customers?|buyers?|shoppers?|members?|clients?|subscribers?|segment|audience|people|ones)\b"
    r"(?:\s+(?:who|that)\s+[^.?!]*)?", re.I)


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a message's own words support: per capability, its strong and weak cues (words the live
    schema does not explain), and whether it has a data question's shape."""

    strong: dict[str, list[str]] = field(default_factory=dict)
    weak: dict[str, list[str]] = field(default_factory=dict)
    data_shape: bool = False
    schema_words: tuple[str, ...] = ()

    def supports(self, intent: str) -> bool:
        return intent in self.strong or intent in self.weak


_SHAPE_KINDS = frozenset({"agg", "group_by", "top", "bottom", "most", "least", "compare", "grain"})


def _schema_spans(message: str, profile: Any) -> tuple[list[tuple[int, int, str | None]], bool]:
    """Character spans of the message the live schema explains (table, column and metric names, category
    values — a value only when its table is also named: "lapsed" is a campaign segment only in a question
    about campaigns), with the table each belongs to; and whether the parser's lexicon reads a data
    question's shape in it (an aggregation, a breakdown, a superlative, a comparison, a grain)."""
    if profile is None or not getattr(profile, "tables", None):
        return [], False
    tokens = tokenize(message)
    if not tokens:
        return [], False
    tags = lexicon_for(profile).tag(tokens, set())
    shape = any(e.kind in _SHAPE_KINDS for tag in tags for e in tag.entries)
    named = {id(e.table) for tag in tags for e in tag.entries if e.kind in ("table", "column") and e.strength >= 2}
    spans: list[tuple[int, int, str | None]] = []
    for tag in tags:
        for entry in tag.entries:
            if entry.needs_context:
                continue
            if entry.kind in ("table", "column", "metric") or (entry.kind == "value" and id(entry.table) in named):
                table = getattr(entry.table, "name", None)
                spans.append((tokens[tag.start].start, tokens[tag.end - 1].end, table))
                break
    names = {w for table in profile.tables for column in [*table.columns, table]
             for w in re.findall(r"[a-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", column.name).lower()) if len(w) >= 5}
    for token in tokens:  # another form of a name's word: "churn" for is_churned, "returns" for returned
        if len(token.low) >= 5 and any(n[:5] == token.low[:5] for n in names):
            spans.append((token.start, token.end, None))
    return spans, shape


def evidence(message: str, profile: Any = None, extra: dict[str, re.Pattern[str]] | None = None) -> Evidence:
    """The cues of ``message`` for each capability, leaving out words the schema explains (see the module docstring).
    ``extra``: strong cues of tools :data:`_STRONG` does not know (derived from their examples by the router)."""
    spans, shape = _schema_spans(message, profile)
    copy_asked = bool(_STRONG["draft_copy"].search(message))
    audience = [m.span() for m in _AUDIENCE_PHRASE.finditer(message)] if copy_asked else []

    def own(pattern: re.Pattern[str], intent: str) -> list[str]:
        found = []
        for match in pattern.finditer(message):
            start, end = match.span()
            if intent != "draft_copy" and any(a <= start and end <= b for a, b, _ in spans):
                continue  # the schema's own word: a column, a table, a value of a table the question names
            if intent in _MODEL_WORDS and any(a <= start and end <= b for a, b in audience):
                continue  # "draft a push for at-risk customers": who the copy is for, not a second request
            found.append(match.group(0).lower())
        return found

    strong = {i: w for i, p in {**(extra or {}), **_STRONG}.items() if (w := own(p, i))}
    weak_counted: dict[str, list[str]] = {}
    _read_forecast(message, strong)
    if _COUNTING.search(message):  # "how many customers haven't ordered in 6 months": rows to count, not a model's output
        timed = bool(_PERIOD.search(message))
        for intent, pattern in _COUNTED_CUES.items():
            found = strong.get(intent, [])
            if found and (timed or intent == "customer_lifetime_value") and all(pattern.fullmatch(w) for w in found):
                weak_counted[intent] = strong.pop(intent)
    counted = strong.get("analyze_feedback", [])
    demoted = ({"analyze_feedback": strong.pop("analyze_feedback")}
               if counted and _COUNTING.search(message) and all(_TEXT_NOUNS.fullmatch(w) for w in counted) else {})
    demoted.update(weak_counted)
    weak = {**demoted, **{i: w for i, p in _WEAK.items() if i not in strong and i not in demoted and (w := own(p, i))}}
    words = tuple(message[a:b] for a, b, _ in spans)
    data_shape = shape or bool(_DATA_SHAPE.search(message)) or bool(words and _DATA_WORDS.search(message))
    if not strong and not data_shape and (lookup := _LOOKUP.match(message)) is not None:
        start, end = lookup.span("thing")
        thing = lookup.group("thing")
        if (not any(a < end and start < b for a, b, _ in spans) and not _DATA_WORDS.search(thing)
                and not _lexicon_words(thing)):
            strong["search_knowledge"] = [lookup.group(0).lower().strip()]
    return Evidence(strong, weak, data_shape, words)


def _lexicon_words(text: str) -> bool:
    """Whether ``text`` says a word of the data lexicon (a concept such as revenue or AOV, an aggregation)."""
    lex = static()
    known = lex["concept_words"] | {w for words in lex["aggregations"].values() for w in map(phrase, words)}
    tokens = [t.norm for t in tokenize(text)]
    return any(tuple(tokens[i:i + n]) in known for n in (1, 2, 3) for i in range(len(tokens) - n + 1))


def _read_forecast(message: str, strong: dict[str, list[str]]) -> None:
    """A forecast about people goes to the model of what it forecasts (module docstring of :data:`_HORIZON`):
    "predict next year's spend per customer" is lifetime value, "a score for buying again in the next month"
    propensity. Changes ``strong`` in place."""
    horizon = [m.group(0).lower() for m in _HORIZON.finditer(message)]
    generic = [m.group(0).lower() for m in _GENERIC_FORECAST.finditer(message)]
    if not (horizon or generic) or not _ABOUT_PEOPLE.search(message) or _STRONG["draft_copy"].search(message):
        return
    money = bool(_FORECAST_MONEY.search(message))
    churn_words = strong.get("predict_churn", [])
    only_generic = all(_GENERIC_FORECAST.fullmatch(w) for w in churn_words)
    if money and only_generic and (horizon or churn_words):
        strong.pop("predict_churn", None)
        strong.setdefault("customer_lifetime_value", []).extend(horizon or churn_words)
    elif not money and horizon and _BEHAVIOUR.search(message) and not (strong.keys() & {"customer_lifetime_value", "rfm_segments", "recommend_products"}):
        strong.setdefault("predict_churn", []).extend(horizon)


@dataclass(frozen=True, slots=True)
class Route:
    intent: str  # a tool name, "greeting" or "help"
    score: float
    sql: str | None = None
    supported: frozenset[str] = frozenset()  # capabilities the message's own words support (see evidence())
    strong: frozenset[str] = frozenset()  # those it asks for outright (a forecast, a copy request, a policy)
    data_shape: bool = False  # it has a data question's shape (an aggregation, a breakdown, a ranking, a period)


# The examples' embeddings by their text's digest, for this process: a server, an evaluation or a
# test run opens many assistants (each conversation, each workspace) over the same examples, and
# embedding them takes ~0.5 s of CPU each time while loading the workspace's cache file takes ~1 ms.
_EMBEDDED: dict[str, np.ndarray] = {}


class Router:
    """Scores a message against every intent's examples and applies the rules.

    Example embeddings are cached in ``cache_dir`` (keyed by the examples' text), so a
    one-shot ``mara chat`` only embeds the user's message.
    """

    def __init__(self, available_tools: set[str], cache_dir: Path | None = None) -> None:
        self.available = available_tools
        self.cache_dir = cache_dir

    @cached_property
    def _examples(self) -> tuple[list[str], np.ndarray]:

        raw = {**load_data("tool_examples")["intents"], **routing_examples()}
        labels: list[str] = []
        texts: list[str] = []
        for intent, examples in raw.items():
            if intent in self.available or intent in ("greeting", "help"):
                labels.extend([intent] * len(examples))
                texts.extend(examples)
        return labels, self._embed_examples(texts)

    def _embed_examples(self, texts: list[str]) -> np.ndarray:
        digest = hashlib.sha256("\x1f".join(texts).encode()).hexdigest()[:16]
        path = self.cache_dir / f"router-{digest}.npy" if self.cache_dir else None
        if path is not None and path.exists():
            try:
                cached = np.load(path)
                if cached.shape[0] == len(texts):
                    return cached
            except (OSError, ValueError):
                pass  # a damaged cache is recomputed
        matrix = _EMBEDDED.get(digest)
        if matrix is None:
            matrix = get_encoder().encode(texts)
            matrix.setflags(write=False)  # shared by every router of this process
            _EMBEDDED[digest] = matrix
        if path is not None:
            try:
                private_dir(path.parent)
                make_private(path.parent)  # an older workspace may have made it 0755
                tmp = path.with_suffix(".tmp.npy")
                with open_private(tmp, "wb") as handle:
                    np.save(handle, matrix)
                tmp.replace(path)
            except OSError:
                pass  # caching is an optimisation only
        return matrix

    def scores(self, message: str) -> dict[str, float]:
        """Best cosine similarity per intent."""
        labels, matrix = self._examples
        query = get_encoder().encode([message])[0]
        sims = matrix @ query
        best: dict[str, float] = {}
        for label, sim in zip(labels, sims.tolist(), strict=True):
            best[label] = max(best.get(label, -1.0), float(sim))
        return best

    def model_intent(self, message: str) -> str | None:
        """The segmentation/prediction tool a message also asks for (“who will churn … and draft …”)."""
        for intent, pattern in _MODEL_WORDS.items():
            if intent in self.available and pattern.search(message):
                return intent
        return None

    def route(self, message: str, profile: Any = None) -> Route:
        """The intent for ``message``; ``profile`` (the live schema) tells the schema's words from a capability's."""
        sql = _SQL.search(message)
        if sql and "run_sql" in self.available:
            statement = next(g for g in sql.groups() if g).strip().rstrip(";")
            return Route("run_sql", 1.0, sql=statement)
        refusal = refusal_kind(message)
        if refusal == "secrets":
            return Route("refuse_secret", 1.0)
        if _WRITE.search(message) or refusal == "write":
            return Route("refuse_write", 1.0)
        if _GREETING.match(message):
            return Route("greeting", 1.0)
        if _HELP.match(message):
            return Route("help", 1.0)
        scores = self.scores(message)
        if _SCHEMA_WORDS.search(message) and "describe_data" in self.available:
            scores["describe_data"] = scores.get("describe_data", 0) + 0.25
        if _DATA_WORDS.search(message) and "query_data" in self.available:
            scores["query_data"] = scores.get("query_data", 0) + 0.15
        if _BRAND_WORDS.search(message) and "search_knowledge" in self.available:
            scores["search_knowledge"] = scores.get("search_knowledge", 0) + 0.2
        if _COPY.search(message) and "draft_copy" in self.available:
            scores["draft_copy"] = scores.get("draft_copy", 0) + 0.4
        for intent, pattern in _MODEL_WORDS.items():
            if intent in self.available and pattern.search(message):
                scores[intent] = scores.get(intent, 0) + 0.35
        scores.pop("run_sql", None)  # only for literal SQL
        return self.decide(message, scores, evidence(message, profile, self._derived_cues))

    @cached_property
    def _derived_cues(self) -> dict[str, re.Pattern[str]]:
        """Strong cues for a routed tool that :data:`_STRONG` does not list (a tool added later): the words of
        its examples that no other capability's examples use, so it is reachable on its own vocabulary."""
        raw = {**load_data("tool_examples")["intents"], **routing_examples()}
        lexicon = {w for words in static()["concept_words"] for w in words}  # the parser's words are data words
        words = {intent: {w for e in examples for w in re.findall(r"[a-z][a-z'-]{3,}", e.lower())} - _COMMON - lexicon
                 for intent, examples in raw.items()}
        cues: dict[str, re.Pattern[str]] = {}
        for intent, own in words.items():
            if intent in _STRONG or intent not in self.available or intent in ("greeting", "help", "run_sql", "query_data"):
                continue
            others = set().union(*(w for i, w in words.items() if i != intent))
            distinct = sorted(own - others)
            if distinct:
                cues[intent] = _words(*(re.escape(w) + r"\w*" for w in distinct))
        return cues

    def decide(self, message: str, scores: dict[str, float], ev: Evidence) -> Route:
        """The intent given the similarity ``scores`` and the message's own evidence (module docstring)."""
        supported = frozenset(i for i in (*ev.strong, *ev.weak) if i in self.available)
        strong = [i for i in ev.strong if i in self.available]
        outright = frozenset(strong)
        if "save_audience" in strong and "draft_copy" in strong and not _SAVING.search(message):
            strong.remove("save_audience")  # "draft 3 e-mails for the saved audience X": copy for an audience
        if "save_audience" in strong:
            return Route("save_audience", 1.0, supported=supported, strong=outright)
        models = [i for i in strong if i in _MODEL_WORDS]
        if "draft_copy" in strong and models:
            strong = models  # "predict who will churn and draft a win-back SMS": the model first, then the copy
        if strong:
            intent = max(strong, key=lambda i: scores.get(i, 0.0))
            return Route(intent, scores.get(intent, 0.0), supported=supported, strong=outright, data_shape=ev.data_shape)
        data = "query_data" if "query_data" in self.available else None
        weak = [i for i in ev.weak if i in self.available]
        if weak and not ev.data_shape:
            pool = weak + ([data] if data is not None else [])  # describing the data needs its own words
            intent = max(pool, key=lambda i: scores.get(i, 0.0))
            return Route(intent, scores.get(intent, 0.0), supported=supported, data_shape=ev.data_shape)
        intent, score = max(scores.items(), key=lambda kv: kv[1])
        if intent in (*_NON_DATA, "help", "greeting") and data is not None and (score < _TRUST_SIMILARITY or ev.data_shape):
            intent, score = data, scores.get(data, 0.0)  # no word of its own: the data path answers or asks
        elif intent == "describe_data" and data is not None:
            intent, score = data, scores.get(data, 0.0)  # "what tables…" has its own words; this did not say them
        return Route(intent, score, supported=supported, data_shape=ev.data_shape)
