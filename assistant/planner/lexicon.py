"""The parser's vocabulary: the live schema's names, values and metrics, plus the marketing lexicon.

Every phrase is a tuple of normalised words (lower case, singular), so matching respects word
boundaries and word forms by construction: ``customers`` = ``customer``, ``orderValueUsd`` =
``order value usd``. A :class:`Lexicon` is built once per schema profile and tags a question's
words longest-match-first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from prompts import load_data
from tools.schema_profile import (
    PII_NAME,
    ColumnProfile,
    MetricDefinition,
    SchemaProfile,
    TableProfile,
)

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[A-Za-z][A-Za-z0-9]*(?:['’][A-Za-z]+)?|[%$€£#<>=]")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
# Words of a column name that do not name it on their own ("line number", "total usd").
GENERIC = frozenset({"id", "key", "date", "ts", "at", "on", "in", "flag", "number", "num", "no", "nr", "name", "type", "code",
                     "value", "total", "count", "amount", "amt", "usd", "eur", "gbp", "is", "has", "yn", "ind", "dt", "time",
                     "timestamp", "datetime", "tbl", "table", "fact", "dim", "the", "of", "per", "by", "status", "opt", "out", "sum"})
_UNIT_SUFFIX = frozenset({"usd", "eur", "gbp", "cad", "aud", "amt", "num", "cnt", "yn", "flag", "ind", "pct", "dt", "ts"})
_DATE_SUFFIX = frozenset({"date", "at", "ts", "time", "on", "dt", "timestamp", "datetime", "day"})


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # as written
    low: str
    norm: str  # lower case, singular
    start: int  # character offsets in the question
    end: int


def singular(word: str) -> str:
    """A plural's singular by the regular rules; short words and ``-ss``/``-us``/``-is`` stay."""
    w = word.lower()
    if w.endswith(("'s", "’s")):
        w = w[:-2]
    if len(w) <= 3 or w.endswith(("ss", "us", "is", "ous")):
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("sses", "xes", "ches", "shes", "zes")):
        return w[:-2]
    return w[:-1] if w.endswith("s") else w


def past_forms(word: str) -> list[str]:
    """A verb's base and past participle for the other one of them: ``created`` ↔ ``create``,
    ``opened`` ↔ ``open``, ``shipped`` ↔ ``ship`` (regular verbs only)."""
    w = word.lower()
    if w.endswith("ed") and len(w) >= 5:
        stem = w[:-2]
        out = [w[:-1], stem]  # created → create, opened → open
        if len(stem) >= 3 and stem[-1] == stem[-2]:
            out.append(stem[:-1])  # shipped → ship
        return out
    if w.endswith("e"):
        return [w + "d"]
    return [w + "ed", w + w[-1] + "ed"] if w[-1] not in "aeiouy" else [w + "ed"]


def tokenize(text: str) -> list[Token]:
    return [Token(m.group(0), m.group(0).lower(), singular(m.group(0)), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def phrase(text: str) -> tuple[str, ...]:
    """The normalised word tuple of a name or phrase: ``"Lineitem quantity"`` → ``("lineitem", "quantity")``."""
    return tuple(singular(m.group(0)) for m in _TOKEN.finditer(_CAMEL.sub(" ", text.replace("_", " "))))


@dataclass(frozen=True, slots=True, eq=False)
class Entry:
    """One meaning of a phrase. ``kind``: table, column, value, metric (schema) or a lexicon kind
    (concept, agg, group, which, top, bottom, most, least, compare, cmp, neg, grain, instead, filler)."""

    kind: str
    strength: int = 2  # 3: the exact name, 2: a word form or synonym, 1: one word of a longer name
    table: TableProfile | None = None
    column: ColumnProfile | None = None
    value: str | None = None  # a category value, or the lexicon payload (concept name, agg, op, grain)
    metric: MetricDefinition | None = None
    needs_context: bool = False  # an ordinary word that is also a value ("in" = Indiana)


@dataclass(slots=True)
class Tag:
    start: int  # token index
    end: int  # exclusive
    entries: list[Entry]

    def of(self, *kinds: str) -> list[Entry]:
        return [e for e in self.entries if e.kind in kinds]


@lru_cache(maxsize=1)
def static() -> dict[str, Any]:
    """The marketing lexicon (``prompts/lexicon.yaml``), with its word lists normalised."""
    raw = load_data("lexicon")
    _check_words(raw)
    out: dict[str, Any] = dict(raw)
    out["synonym_index"] = {}
    for group in raw["synonyms"]:
        forms = [phrase(str(w)) for w in group]
        for form in forms:
            out["synonym_index"].setdefault(form, set()).update(f for f in forms if f != form)
    out["fillers_set"] = {phrase(str(w)) for w in raw["fillers"]}
    for filler in list(out["fillers_set"]):  # "raise" is filler as "raised" is: a verb's other regular form
        if len(filler) == 1 and filler[0].isalpha() and len(filler[0]) >= 4:
            past = filler[0].endswith("ed")
            others = past_forms(filler[0])[:1] if past else past_forms(filler[0])
            out["fillers_set"].update((f,) for f in others if f.endswith("e") or not past)  # raised → raise, not open → ope
    out["ordinary"] = {str(w).lower() for w in raw["ordinary_words"]}
    out["ignored"] = {str(w).lower() for w in raw["ignored_values"]}
    out["status_words"] = {singular(str(k)): singular(str(v)) for k, v in (raw.get("status_words") or {}).items()}
    concept_words: set[tuple[str, ...]] = set()
    for words in raw["concepts"].values():
        concept_words.update(phrase(str(w)) for w in words)
    out["concept_words"] = concept_words
    out["size_words"] = {phrase(str(w)): agg for agg, words in raw["size"].items() for w in words}
    return out


def _check_words(node: Any, where: str = "lexicon") -> None:
    """Fail loudly on a YAML boolean among the words: unquoted ``on``, ``off``, ``no``, ``yes`` load as
    True/False, so the word silently stops being a filler, negation or alias (quote them)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, bool):
                raise ValueError(f"prompts/lexicon.yaml: key {key!r} under {where} is a YAML boolean; quote it (\"on\", \"no\").")
            _check_words(value, f"{where}.{key}")
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, bool):
                raise ValueError(f"prompts/lexicon.yaml: {item!r} in {where} is a YAML boolean; quote the word (\"on\", \"no\").")
            _check_words(item, where)


def _static_entries() -> dict[tuple[str, ...], list[Entry]]:
    lex = static()
    table: dict[tuple[str, ...], list[Entry]] = {}

    def add(words: list[Any], kind: str, value: str | None = None) -> None:
        for w in words:
            key = phrase(str(w)) or (str(w),)
            table.setdefault(key, []).append(Entry(kind, 2, value=value))

    for concept, words in lex["concepts"].items():
        add(words, "concept", concept)
    for agg, words in lex["aggregations"].items():
        add(words, "agg", agg)
    for kind in ("group_by", "which", "top", "bottom", "most", "least", "compare", "instead", "chart"):
        add(lex[kind], kind)
    for agg, words in lex["price"].items():
        add(words, "price", agg)
    for op, words in lex["comparisons"].items():
        add(words, "cmp", op)
    add(lex["negations"], "neg")
    add(lex.get("sorted_descending") or [], "sort")  # explains itself, changes nothing
    for grain, words in lex["grains"].items():
        add(words, "grain", grain)
    return table


def name_forms(name: str, role: str | None = None) -> dict[tuple[str, ...], int]:
    """The phrases a schema name answers to, with strength: the full name (3), without unit or
    date suffixes and flag prefixes (2), synonyms of its words (2), single distinctive words (1)."""
    lex = static()
    full = phrase(name)
    if not full:
        return {}
    forms: dict[tuple[str, ...], int] = {full: 3}
    core = list(full)
    while len(core) > 1 and core[-1] in _UNIT_SUFFIX:
        core.pop()
    if role == "date" and len(core) > 1 and core[-1] in _DATE_SUFFIX:
        core.pop()
    while len(core) > 1 and core[0] in {"is", "has", "tbl", "dim", "fact", "total", "num", "no", "nb"}:
        core.pop(0)
    if role == "flag":
        core = [w for w in core if w not in {"flag", "yn", "ind"}] or core
    forms.setdefault(tuple(core), 2)
    for form in list(forms):
        for i, word in enumerate(form):
            for other in lex["synonym_index"].get((word,), ()):
                forms.setdefault(form[:i] + other + form[i + 1:], 2)
        for size in (2, 3):  # multi-word synonyms: "unit price"
            for i in range(len(form) - size + 1):
                for other in lex["synonym_index"].get(form[i:i + size], ()):
                    forms.setdefault(form[:i] + other + form[i + size:], 2)
    if len(full) > 1:
        for word in full:
            if word not in GENERIC and (word,) not in lex["fillers_set"] and (word,) not in lex["concept_words"] and len(word) > 2:
                forms.setdefault((word,), 1)
    return forms


@dataclass(slots=True)
class Lexicon:
    """Phrase → meanings for one schema (plus the static lexicon), and the tagger."""

    phrases: dict[tuple[str, ...], list[Entry]] = field(default_factory=dict)
    max_len: int = 1
    reach: dict[int, list[TableProfile]] = field(default_factory=dict)  # tables reachable many-to-one, per table
    parents: dict[int, list[tuple[TableProfile, str, str]]] = field(default_factory=dict)  # profile.parents, per table
    stems: dict[str, list[Entry]] = field(default_factory=dict)  # first letters of one-word values: other forms of them

    def add(self, key: tuple[str, ...], entry: Entry) -> None:
        if not key:
            return
        self.phrases.setdefault(key, []).append(entry)
        self.max_len = max(self.max_len, len(key))

    def tag(self, tokens: list[Token], skip: set[int]) -> list[Tag]:
        """Longest match first, left to right; tokens in ``skip`` (periods, numbers used) are not tagged."""
        tags: list[Tag] = []
        i = 0
        while i < len(tokens):
            if i in skip:
                i += 1
                continue
            found = None
            for size in range(min(self.max_len, len(tokens) - i), 0, -1):
                if any(j in skip for j in range(i, i + size)):
                    continue
                key = tuple(t.norm for t in tokens[i:i + size])
                entries = self.phrases.get(key)
                if entries is None and size == 1:
                    entries = self.phrases.get((tokens[i].low,))
                if entries is None and size > 1 and (last := tokens[i + size - 1].low).endswith("s") and len(last) <= 4:
                    entries = self.phrases.get(key[:-1] + (last[:-1],))  # "check-ins": a short plural the rules keep
                if entries:
                    found = Tag(i, i + size, list(entries))
                    break
            if found is None and (entry := self.stem_value(tokens[i].low)) is not None:
                found = Tag(i, i + 1, [entry])
            if found is None and (family := self.family(tokens[i].low)):
                found = Tag(i, i + 1, family)
            if found is None:
                i += 1
                continue
            tags.append(found)
            i = found.end
        return tags


    def family(self, word: str) -> list[Entry]:
        """The schema's names said as another form of the same verb: “created” for a Create Date column,
        “open” for Opened At. Only the past participle and its base (``-ed``/``-d``), never ``-ing`` (“shipping”
        is a cost, not the Shipped flag). Weak entries (strength 1) of columns and values; a filler word stays one."""
        if len(word) < 4 or not word.isalpha() or (word,) in static()["fillers_set"]:
            return []  # "ordered" is filler, not the orders table
        for other in past_forms(word):
            entries = [replace(e, strength=1) for e in self.phrases.get((other,), []) if e.kind in ("column", "value")]
            if entries:
                return entries
        return []

    def stem_value(self, word: str) -> Entry | None:
        """Another form of exactly one one-word value: “refunds”/“refund” for Refunded, “successfully” for
        Succeeded, “cancellations” for Cancelled — the shared start is at least 5 letters and half the value.
        A weak value (strength 1); the restatement shows which value was used."""
        if len(word) < 5 or not word.isalpha():
            return None
        found = [e for e in self.stems.get(word[:5], []) if _shared(word, str(e.value).lower()) * 2 >= len(str(e.value))]
        values = {(id(e.column), str(e.value)) for e in found}
        return replace(found[0], strength=1) if len(values) == 1 else None


def _shared(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


# Words of a customer-key column that say where it comes from, not who the customer is ("Billing Email").
_NOT_WHO = frozenset({"email", "mail", "billing", "shipping", "primary", "contact", "customer", "client", "user", "account",
                      "uid", "guid", "uuid", "ref", "reference", "hash", "hashed", "address", "phone", "mobile"})

_CACHE: dict[int, tuple[SchemaProfile, Lexicon]] = {}  # by id; the profile is kept so the id stays its own


def lexicon_for(profile: SchemaProfile) -> Lexicon:
    """The lexicon of ``profile``, built once per profile object (a workspace's profile is cached)."""
    found = _CACHE.get(id(profile))
    if found is not None and found[0] is profile:
        return found[1]
    lex = build_lexicon(profile)
    if len(_CACHE) >= 8:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[id(profile)] = (profile, lex)
    return lex


def build_lexicon(profile: SchemaProfile) -> Lexicon:
    lex = Lexicon()
    for key, entries in _static_entries().items():
        for entry in entries:
            lex.add(key, entry)
    words = static()
    aliases = {str(target).lower(): [phrase(str(a)) for a in names] for target, names in words["value_aliases"].items()}
    states = {str(code).lower(): [phrase(str(a)) for a in names] for code, names in (words.get("state_codes") or {}).items()}
    for table in profile.tables:
        for key, strength in name_forms(table.name).items():
            lex.add(key, Entry("table", strength, table=table))
        for synonym in getattr(table, "synonyms", None) or []:
            lex.add(phrase(synonym), Entry("table", 3, table=table))
        if table.customer_key and (key_column := table.column(table.customer_key)) is not None:
            for word in phrase(key_column.name):  # "Guest Email" as the customer key: "guests" are the customers
                if word not in GENERIC and word not in _NOT_WHO and len(word) > 2 and (word,) not in words["fillers_set"]:
                    lex.add((word,), Entry("concept", 2, value="customer"))
        for column in table.columns:
            for key, strength in name_forms(column.name, column.role).items():
                lex.add(key, Entry("column", strength, table=table, column=column))
            for synonym in getattr(column, "synonyms", None) or []:
                lex.add(phrase(synonym), Entry("column", 3, table=table, column=column))
            if column.role != "category" or column.pii or PII_NAME.search(column.name):
                continue
            for value in column.values:
                low = value.strip().lower()
                if low in words["ignored"] or not low:
                    continue
                key = phrase(value)
                if not key:
                    continue
                ordinary = len(low) <= 2 or low in words["ordinary"] or key in words["fillers_set"] or low.isdigit()
                lex.add(key, Entry("value", 3, table=table, column=column, value=value, needs_context=ordinary))
                if (whole := tuple(singular(w) for w in low.split())) != key and " ".join(whole).isascii() and len(whole) == 1:
                    lex.add(whole, Entry("value", 3, table=table, column=column, value=value, needs_context=ordinary))  # "PayPal" said "paypal"
                if len(key) == 1 and len(low) >= 6 and low.isalpha() and not ordinary:
                    lex.stems.setdefault(low[:5], []).append(Entry("value", 3, table=table, column=column, value=value))
                if len(low) == 2 and set(phrase(column.name)) & {"state", "province", "region", "st"}:
                    for alias in states.get(low, []):  # "Indiana" is IN in a state column
                        lex.add(alias, Entry("value", 2, table=table, column=column, value=value))
                    continue
                code = len(low) <= 3  # "CA" is Canada only in a country column, "EUR" the euro only in a currency one
                if code and not set(phrase(column.name)) & {"country", "nation", "market", "currency", "curr", "ccy"}:
                    continue
                for alias in aliases.get(low, []):
                    short = len(" ".join(alias)) <= 2
                    lex.add(alias, Entry("value", 2, table=table, column=column, value=value, needs_context=short))
    for name, metric in profile.metrics.items():
        keys = {phrase(name): 3}
        keys.update({phrase(str(s)): 3 for s in getattr(metric, "synonyms", None) or []})
        for key, strength in keys.items():
            lex.add(key, Entry("metric", strength, metric=metric))
    return lex
