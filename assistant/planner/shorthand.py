"""Slack shorthand and typos, read as the words they stand for before anything else reads the message.

Marketers type "rev last wk?", "top 5 prods ytd pls", "how many ordres in octobr". Every later reader
(the router's cues, the parser's lexicon, the timeframe patterns) matches whole words, so one
abbreviation or slip of the keyboard made the message unreadable and the planner asked back or
described the data instead. :func:`normalise` rewrites such words once, at the door:

- shorthand (``prompts/lexicon.yaml`` ``shorthand:``) is replaced wherever it is a whole word;
- a word that is nobody's word — not in the marketing lexicon, the capability vocabulary, or the live
  schema's names and values — is corrected to the one known word it is a single keystroke away from
  (Damerau–Levenshtein distance 1: a letter missing, extra, swapped with its neighbour, or — in longer
  words of nine letters or more — wrong). The first letter must agree and the word must be long enough that one edit rarely
  turns one real word into another ("late" is never read as "rate"); two equally close candidates
  leave the word alone.

Text inside quotes and literal SQL is left as written (a copy brief's quoted line, a product name).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from assistant.planner.lexicon import singular, static

_WORD = re.compile(r"[A-Za-z][A-Za-z']*")
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|`[^`]*`|(?<!\w)'[^']*'(?!\w)")
_DOUBLE = re.compile(r"(\w)\1")
_IDENTIFIER = re.compile(r"[_0-9]|\.\w")  # right after a word: it is part of a name ("amt_paid", "orders.cust_id")
_IDENTIFIER_BEFORE = re.compile(r"(?:[_0-9]|\w\.)$")
_SQL = re.compile(r"(?is)^\s*(select|with)\b|```")
#: Real words one keystroke from a vocabulary word that are meant as written.
_REAL = frozenset({"police", "writer", "wrote", "trail", "chat", "form", "later", "rates", "dates", "tables", "sells",
                   "order", "orders", "older", "brands", "chant", "crash", "lately", "voices", "tones", "drafts",
                   "theme", "there", "these", "those", "where", "whose", "while", "white", "other", "otter",
                   "comment", "commit", "market", "marked", "marker", "mark", "reviewer", "reviewers", "customs",
                   # a letter away from stats, contact, spending, persona, reply, supporter, schedule(d), larger
                   "status", "starts", "contract", "sending", "personal", "replay", "supported", "scheduler",
                   "recommender", "large"})


@lru_cache(maxsize=1)
def _static_words() -> frozenset[str]:
    """Every single word of the marketing lexicon, singular, plus the capability vocabulary."""
    lex = static()
    words: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(key)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, str):
            words.update(w.lower() for w in _WORD.findall(node))

    for key in ("synonyms", "concepts", "aggregations", "price", "size", "group_by", "which", "top", "bottom", "most",
                "least", "compare", "instead", "chart", "comparisons", "negations", "grains", "fillers", "status_words"):
        walk(lex.get(key))
    walk(lex.get("capability_words"))  # segments, models, feedback, copy, brand, help: typos must reach them too
    return frozenset(singular(w) for w in words) | frozenset(words)


@lru_cache(maxsize=1)
def _content_words() -> frozenset[str]:
    """The words a typo is corrected to: the lexicon's without its fillers ("keep it short" is no typo of "sort")."""
    fillers = {w for words in static()["fillers_set"] for w in words}
    return frozenset(w for w in _static_words() if w not in fillers)


def _schema_words(profile: Any) -> frozenset[str]:
    """The live schema's words: table and column names, category values."""
    if profile is None or not getattr(profile, "tables", None):
        return frozenset()
    found = _SCHEMA_CACHE.get(id(profile))
    if found is not None and found[0] is profile:
        return found[1]
    words: set[str] = set()
    for table in profile.tables:
        texts = [table.name, *(getattr(table, "synonyms", None) or [])]
        for column in table.columns:
            texts.append(column.name)
            texts.extend(getattr(column, "synonyms", None) or [])
            if column.role == "category":
                texts.extend(str(v) for v in column.values)
        for text in texts:
            spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", text.replace("_", " ").replace("-", " "))
            words.update(w.lower() for w in _WORD.findall(spaced))
    result = frozenset(words) | frozenset(singular(w) for w in words)
    if len(_SCHEMA_CACHE) >= 8:
        _SCHEMA_CACHE.pop(next(iter(_SCHEMA_CACHE)))
    _SCHEMA_CACHE[id(profile)] = (profile, result)
    return result


_SCHEMA_CACHE: dict[int, tuple[Any, frozenset[str]]] = {}


@lru_cache(maxsize=1)
def _shorthand() -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (static().get("shorthand") or {}).items()}


def one_edit(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ by exactly one insertion, deletion, substitution or swap of neighbours."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) < len(b):
        return a[i:] == b[i + 1:]
    if a[i + 1:] == b[i + 1:]:
        return True
    return i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2:] == b[i + 2:]


def _substitution(a: str, b: str) -> bool:
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1


def _long_enough(a: str, b: str) -> bool:
    """Whether a one-edit pair is long enough to be a typo rather than two words: a swap of neighbours from 5
    letters ("chrun"), a letter missing or extra from 6 ("octobr"; "scale" is no "sale"), a wrong letter from 9."""
    if _substitution(a, b):
        return len(a) >= 9
    if len(a) == len(b):
        return len(a) >= 5
    return min(len(a), len(b)) >= 5 and max(len(a), len(b)) >= 6


_ENDINGS = frozenset({"s", "es", "d", "ed", "ing", "er", "ers", "ly", "y", "n", "en"})


def correction(word: str, known: frozenset[str], targets: frozenset[str] | None = None) -> str | None:
    """The one word of ``targets`` (default: ``known``) that ``word`` is a keystroke away from (module docstring),
    or None when ``word`` is itself known."""
    low = word.lower()
    if len(low) < 5 or not low.isalpha() or low in known or singular(low) in known or low in _REAL:
        return None
    squeezed = _DOUBLE.sub(r"\1", low)  # "reccomend": a letter doubled in the wrong place
    found = {k for k in (known if targets is None else targets) if len(k) >= 4 and k[0] == low[0] and abs(len(k) - len(low)) <= 2
             and ((abs(len(k) - len(low)) <= 1 and one_edit(low, k) and _long_enough(low, k))
                  or (len(low) >= 7 and _DOUBLE.sub(r"\1", k) == squeezed))}
    if len(found) > 1:  # "orders"/"order" both one edit away: the same word in two forms
        found = {singular(k) for k in found}
    if len(found) != 1:
        return None
    fixed = next(iter(found))
    if singular(low) == singular(fixed) or _inflected(low, fixed):
        return None  # "named" is another form of "name", not a typo of it
    return fixed


def _inflected(a: str, b: str) -> bool:
    """Whether one word is the other plus a regular ending ("raise"/"raised", "name"/"named")."""
    short, long = sorted((a, b), key=len)
    return long.startswith(short) and long[len(short):] in _ENDINGS


def normalise(text: str, profile: Any = None) -> str:
    """``text`` with shorthand spelled out and typos of known words corrected (module docstring)."""
    if _SQL.search(text):
        return text
    shorthand = _shorthand()
    schema = _schema_words(profile)
    known = _static_words() | schema
    targets = _content_words() | schema
    protected = [m.span() for m in _QUOTED.finditer(text)]

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        if any(a <= match.start() < b for a, b in protected):
            return word
        if _IDENTIFIER.match(text, match.end()) or _IDENTIFIER_BEFORE.search(text[:match.start()]):
            return word  # part of a name as written ("amt_paid", "orders.cust_id") is the column, not shorthand
        low = word.lower()
        if low in schema:
            return word  # the data's own word ("rev" as a column) means what the data means
        if low in shorthand:
            return shorthand[low]
        if word[:1].isupper() and text[:match.start()].strip() and not re.search(r"[.!?:]\s*$", text[:match.start()]):
            return word  # a capitalised word mid-sentence is a name ("orders from Marta" is not the rep Martha)
        fixed = correction(word, known, targets)
        if fixed is None:
            return word
        return fixed.capitalize() if word[:1].isupper() else fixed

    return _WORD.sub(fix, text)
