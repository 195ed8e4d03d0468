"""From a marketer's question to ``analyze_feedback`` arguments, over the live schema.

Used by the offline planner (an LLM fills the arguments itself): which table holds customer
text, which column, what to break it down by ("by category", "per month", "this quarter vs
last") and which rows to read ("1-star reviews", "the backpacks").
"""

from __future__ import annotations

import re
from typing import Any

from tools.schema_profile import ColumnProfile, SchemaProfile, TableProfile

_TABLE_WORDS = re.compile(r"review|feedback|survey|nps|ticket|comment|response|answer|complaint", re.I)
_TEXT_WORDS = re.compile(r"text|review|comment|body|feedback|answer|message|verbatim|content", re.I)
_BY = re.compile(r"\b(?:by|per|across|for each|split by|broken down by)\s+([a-z_]+)", re.I)
_OVER_TIME = re.compile(r"\b(over time|trend\w*|per month|monthly|by month|vs\.? last|versus last|compared to last|"
                        r"ris(e|ing)|spike\w*|increas\w*|this (month|quarter|year))\b", re.I)
_STARS = re.compile(r"\b([1-5])[- ]?stars?\b", re.I)
_LOW = re.compile(r"\b(bad|negative|low|poor|worst|angry)\s+(reviews?|ratings?|feedback)\b", re.I)
_HIGH = re.compile(r"\b(good|positive|high|great|best|glowing)\s+(reviews?|ratings?|feedback)\b", re.I)
# What customers feel about it: "who love the backpacks" reads only praise, "complaining about" only complaints.
_LOVE = re.compile(r"\b(lov(e|es|ed|ing)|like[sd]?|enjoy\w*|happy|delighted|satisfied|rav(e|es|ing)|prais\w*|"
                   r"favou?rite|recommend\w*|fans?)\b", re.I)
_HATE = re.compile(r"\b(complain\w*|complaints?|hat(e|es|ed|ing)|dislik\w*|unhappy|angry|annoy\w*|frustrat\w*|"
                   r"disappoint\w*|problems?|issues?|pain points?|gripes?|negative|moan\w*|bad)\b", re.I)
_QUOTES = re.compile(r"\b(?:quote|show|give me|find|pick)\s+(?:me\s+)?(\d{1,2}|one|two|three|four|five|six|seven|"
                     r"eight|nine|ten|a few|some)\b", re.I)
_COUNTS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
           "ten": 10, "a few": 3, "some": 3}


def feedback_mood(message: str) -> str | None:
    """``"positive"`` for "what customers love", ``"negative"`` for "what they complain about",
    ``None`` when the question asks about both (or neither)."""
    love, hate = bool(_LOVE.search(message)), bool(_HATE.search(message))
    return "positive" if love and not hate else "negative" if hate and not love else None


def quote_count(message: str) -> int | None:
    """How many quotes "quote three customers" asks for (``None`` when it asks for none)."""
    found = _QUOTES.search(message)
    if found is None:
        return 3 if re.search(r"\bquot\w*|testimonials?\b", message, re.I) else None
    word = found.group(1).lower()
    return max(1, min(int(word) if word.isdigit() else _COUNTS[word], 10))


def _text_column(table: TableProfile) -> ColumnProfile | None:
    texts = [c for c in table.columns if c.role == "text" and not c.pii]
    named = [c for c in table.columns if c.role in ("text", "category") and not c.pii and _TEXT_WORDS.search(c.name)]
    found = named or texts  # a small table's text may be profiled as a category
    return found[0] if found else None


def feedback_table(profile: SchemaProfile) -> tuple[TableProfile, ColumnProfile] | None:
    """The table of customer text and its text column (a reviews/feedback/tickets table first)."""
    found = [(t, c) for t in profile.tables if (c := _text_column(t)) is not None]
    found.sort(key=lambda tc: (not _TABLE_WORDS.search(tc[0].name), not _TEXT_WORDS.search(tc[1].name)))
    return found[0] if found else None


def _columns_reachable(profile: SchemaProfile, table: TableProfile) -> list[ColumnProfile]:
    return table.columns + [c for p, _, _ in profile.parents(table) for c in p.columns]


def _match_column(word: str, columns: list[ColumnProfile]) -> str | None:
    word = word.lower()
    for c in columns:
        name = c.name.lower()
        if word in (name, name + "s", name.rstrip("s")) or name.endswith("_" + word.rstrip("s")):
            return c.name
    return None


def feedback_args(message: str, profile: SchemaProfile) -> dict[str, Any]:
    """Arguments for ``analyze_feedback`` from ``message`` (``{}`` when no table has text)."""
    found = feedback_table(profile)
    if found is None:
        return {}
    table, text = found
    args: dict[str, Any] = {"table": table.name, "text_column": text.name}
    columns = _columns_reachable(profile, table)
    by = next((m for w in _BY.findall(message) if (m := _match_column(w, columns))), None)
    if by is None and _OVER_TIME.search(message):
        by = "month"
    if by:
        args["by"] = by
    where: dict[str, Any] = {}
    rating = next((c.name for c in table.columns if re.search(r"rating|stars|score", c.name, re.I)
                   and c.role in ("number", "category")), None)
    if rating:
        stars = [int(s) for s in _STARS.findall(message)]
        if stars:
            where[rating] = stars
        elif _LOW.search(message):
            where[rating] = [1, 2]
        elif _HIGH.search(message):
            where[rating] = [4, 5]
    matched: set[str] = set()  # a word names one thing: "tents" is the product category, not a preference
    for column in sorted(columns, key=lambda c: c.name.lower() not in ("category", "subcategory", "product")):
        if column.role != "category" or column.pii or column.name == by or column.name in where:
            continue
        for value in column.values:
            word = str(value).lower()
            forms = {word, word.rstrip("s"), word + "s"}
            if word not in matched and len(word) > 3 and any(
                    re.search(rf"\b{re.escape(f)}\b", message, re.I) for f in forms):
                where[column.name] = value
                matched.add(word)
                break
    if where:
        args["where"] = where
    mood = feedback_mood(message)
    if mood and not (rating and rating in where):  # "1-star reviews" already says which texts
        args["mood"] = mood
    count = quote_count(message)
    if count:
        args["quotes"] = count
    return args
