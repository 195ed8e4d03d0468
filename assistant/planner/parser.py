"""One semantic parser: a marketer's question → a :class:`~tools.query_spec.QuerySpec` over the live schema.

The question's words are tagged longest-match-first against the schema's vocabulary and the
marketing lexicon (:mod:`assistant.planner.lexicon`), then read as a measure, groupings, filters,
a period, an order and a limit. Every content word must be explained by a tag or be a known
filler word; a word the reading did not use makes the parse ask (``clarify``) instead of answering
a different question. Follow-ups (“and last month?”, “only in Germany”, “by channel instead”)
change one part of the previous reading.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, field, replace

from assistant.planner.lexicon import (
    GENERIC,
    Entry,
    Tag,
    Token,
    lexicon_for,
    phrase,
    static,
    tokenize,
)
from assistant.planner.timeframes import Timeframe, find_timeframes, relative_to
from tools.query_spec import Filter, Metric, QuerySpec, TimeRange
from tools.schema_profile import ColumnProfile, MetricDefinition, SchemaProfile, TableProfile

_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                 "nine": 9, "ten": 10, "fifteen": 15, "twenty": 20, "fifty": 50, "hundred": 100}
_PURCHASE = frozenset({"bought", "buy", "buys", "buying", "purchased", "ordered", "spent", "spend", "spending", "shopped",
                       "paid", "contain", "contains", "contained", "containing", "include", "includes", "included"})
_REVENUE_NAMES = ("revenue", "sales", "net_sales", "gross_sales", "total_sales", "total", "order_total", "net_total",
                  "grand_total", "amount", "order_value", "value", "total_amount", "line_total", "sale", "subtotal", "gmv")
_NOT_REVENUE = frozenset({"price", "cost", "tax", "fee", "shipping", "discount", "refund", "refunded", "mrr", "arr", "budget",
                          "balance", "margin", "dispute", "disputed", "spend", "rate", "unitprice"})
_LABEL_NAMES = ("name", "title", "label", "description", "product", "product_name", "item", "item_name", "sku")


@dataclass(slots=True)
class Condition:
    table: TableProfile
    column: ColumnProfile
    op: str
    value: object
    words: str  # how the question said it: "country is Germany"


@dataclass(slots=True)
class Measure:
    """What is computed: one metric, or a ratio of two (computed from the two columns of the result)."""

    table: TableProfile
    metrics: list[Metric]
    label: str  # "revenue (sum of orders.total)"
    kind: str = "value"  # count | value | percent | ratio
    entity: TableProfile | None = None  # the table whose rows a count counts ("customers")
    definition: MetricDefinition | None = None


@dataclass(slots=True)
class Reading:
    """The parts of a question, before they become a spec (kept so follow-ups can change one)."""

    measure: Measure | None = None
    dims: list[tuple[TableProfile, ColumnProfile]] = field(default_factory=list)
    filters: list[Condition] = field(default_factory=list)
    frames: list[Timeframe] = field(default_factory=list)
    grain: str | None = None
    order: str | None = None
    limit: int | None = None
    top_group: bool = False  # "which X has the most ...": name the first group
    ranking: bool = False
    purchase: bool = False
    compare: bool = False
    replace_dims: bool = False
    unmatched: list[str] = field(default_factory=list)  # "by X" phrases no column matched
    per: str | None = None  # "per customer" / "per order": a ratio to that count
    per_column: tuple[TableProfile, ColumnProfile] | None = None  # "per session": a ratio to distinct ids
    per_row: TableProfile | None = None  # "per campaign" on a table of campaigns: each row is one
    positive: tuple[TableProfile | None, ColumnProfile | None] | None = None  # "payments that got disputed": amount > 0


@dataclass(slots=True)
class DataQuestion:
    """A parsed question: the spec plus how to say what it computed (or why it will not)."""

    spec: QuerySpec
    subject: str  # the measure in words
    qualifiers: list[str] = field(default_factory=list)  # filters and period in words
    timeframe: Timeframe | None = None
    unmatched: list[str] = field(default_factory=list)  # "by X" phrases no column matched
    share_of: tuple[str, object] | None = None
    sql: str | None = None
    grouping: list[str] = field(default_factory=list)
    clarify: str | None = None  # a question back to the user instead of an answer
    notes: list[str] = field(default_factory=list)  # what was answered instead of what was asked
    compare: list[str] = field(default_factory=list)  # labels of compared periods (rows of the result)
    kind: str = "value"
    rows_alias: str | None = None  # an extra count metric: how many rows the answer covers
    rows_label: str = "rows"
    data_end: str | None = None  # the last date in the data, for a period with no rows
    top_group: bool = False
    grounded: bool = False  # the parse used the schema's own columns, values or metrics
    reading: Reading | None = None


# --- reading the words -------------------------------------------------------------------------


@dataclass(slots=True)
class _Words:
    tokens: list[Token]
    tags: list[Tag]
    used: set[int]  # token indices explained
    text: str
    unknown_at: dict[str, int] = field(default_factory=dict)

    def tag_at(self, i: int) -> Tag | None:
        return next((t for t in self.tags if t.start <= i < t.end), None)

    def next_tag(self, after: int, max_gap: int = 3, skip: tuple[str, ...] = ()) -> Tag | None:
        """The next tag after token ``after`` with only filler words (or tags of the ``skip`` kinds) between."""
        fillers = static()["fillers_set"]
        i, gap = after, 0
        while i < len(self.tokens) and gap <= max_gap:
            tag = self.tag_at(i)
            if tag is not None and skip and all(e.kind in skip for e in tag.entries):
                i, gap = tag.end, gap + 1
                continue
            if tag is not None:
                return tag
            if (self.tokens[i].norm,) not in fillers and not self.tokens[i].low.isdigit():
                return None
            i, gap = i + 1, gap + 1
        return None

    def use(self, tag: Tag) -> None:
        self.used.update(range(tag.start, tag.end))

    def words(self, tag: Tag) -> str:
        return " ".join(t.low for t in self.tokens[tag.start:tag.end])

    def has(self, kind: str, value: str | None = None) -> list[Tag]:
        return [t for t in self.tags if any(e.kind == kind and (value is None or e.value == value) for e in t.entries)]


def _read_words(text: str, profile: SchemaProfile, today: dt.date) -> tuple[_Words, list[Timeframe]]:
    tokens = tokenize(text)
    frames = find_timeframes(text, today)
    in_frames = {i for i, t in enumerate(tokens) for f in frames if f.span[0] <= t.start and t.end <= f.span[1]}
    tags = lexicon_for(profile).tag(tokens, in_frames)
    tags = _join_owned_columns(tags)
    words = _Words(tokens, tags, set(in_frames), text)
    for tag in tags:  # ordinary words as values only with context ("in" is not Indiana)
        keep = [e for e in tag.entries if e.kind != "value" or not e.needs_context or _has_context(words, tag, e)]
        tag.entries = keep
    words.tags = [t for t in tags if t.entries]
    return words, frames


def _join_owned_columns(tags: list[Tag]) -> list[Tag]:
    """“product category”, “customer country”: a table's name then one of its columns is that column."""
    out: list[Tag] = []
    for tag in tags:
        if out and out[-1].end == tag.start:
            tables = {id(e.table) for e in out[-1].entries if e.kind == "table"}
            owned = [replace(e, strength=3) for e in tag.entries if e.kind == "column" and id(e.table) in tables]
            if owned:
                out[-1] = Tag(out[-1].start, tag.end, owned)
                continue
        out.append(tag)
    return out


def _has_context(words: _Words, tag: Tag, entry: Entry) -> bool:
    said = " ".join(t.text for t in words.tokens[tag.start:tag.end])
    if said.isupper() and len(said) <= 3 and not words.text.isupper():
        return True
    for other in words.tags:  # after its column: "region OR", "state of IN" (not "in region")
        if other is not tag and 0 <= tag.start - other.end <= 2 and any(
                e.kind == "column" and e.column is entry.column for e in other.entries):
            return True
    return False


def _number(token: Token) -> float | None:
    if token.low in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[token.low])
    try:
        return float(token.low.replace(",", ""))
    except ValueError:
        return None


# --- from tags to a reading --------------------------------------------------------------------

_MEASURE_CONCEPTS = ("aov", "repeat_rate", "new_customers", "revenue", "units")
_ENTITY_CONCEPTS = ("customer", "order", "product", "campaign")


def read_question(text: str, profile: SchemaProfile, today: dt.date) -> tuple[Reading, _Words]:
    """The parts a question names, resolved against the schema (measure resolution comes later)."""
    words, frames = _read_words(text, profile, today)
    reading = Reading(frames=list(frames))
    reading.purchase = any(t.low in _PURCHASE for t in words.tokens)
    reading.compare = bool(words.has("compare")) and len(frames) >= 2
    for tag in words.has("compare"):
        words.use(tag)
    reading.replace_dims = bool(words.has("instead"))
    for tag in words.has("instead"):
        words.use(tag)
    for tag in words.has("grain"):
        reading.grain = next(e.value for e in tag.entries if e.kind == "grain")
        words.use(tag)
    _read_groupings(words, reading, profile)
    return reading, words


def _entity_of(tag: Tag, profile: SchemaProfile) -> tuple[TableProfile, ColumnProfile] | None:
    """The column a group-by target names: a column, or the label column of a table or concept."""
    named = [e for e in tag.entries if (e.kind == "column" and e.column is not None and e.column.role != "money") or e.kind == "table"]
    if named:
        best = max(named, key=lambda e: (e.strength, e.kind == "column", e.column is not None and e.column.role in ("category", "text", "date", "flag"),
                                         e.table.rows if e.table else 0))
        if best.kind == "column":
            return best.table, best.column  # type: ignore[return-value]
        label = _label_column(best.table) if best.table is not None else None
        if label is not None:
            return best.table, label  # type: ignore[return-value]
    for entry in tag.entries:
        if entry.kind == "concept" and entry.value in _ENTITY_CONCEPTS:
            found = _concept_column(profile, entry.value)
            if found is not None:
                return found
    return None


def _read_groupings(words: _Words, reading: Reading, profile: SchemaProfile) -> None:
    """“by X”, “per X”, “which X”, “top 10 X”: dimensions, ranking and limits."""
    unmatched: list[str] = []
    for tag in list(words.tags):
        kinds = {e.kind for e in tag.entries}
        if "group_by" in kinds or "which" in kinds:
            target = words.next_tag(tag.end)
            if target is None:
                if "group_by" in kinds and tag.end < len(words.tokens):
                    unknown = _unknown_run(words, tag.end)
                    if unknown:
                        unmatched.append(unknown)
                        words.use(tag)
                continue
            if target.of("concept") and any(e.value in _MEASURE_CONCEPTS for e in target.of("concept")) and not target.of("column", "table"):
                reading.ranking = "group_by" in kinds
                words.use(tag)
                continue
            if target.of("agg", "metric") or any(e.column is not None and e.column.role == "money" for e in target.of("column")) and not target.of("table"):
                if "group_by" in kinds:
                    reading.ranking = True
                    words.use(tag)
                continue
            said = words.words(tag)
            if "group_by" in kinds and tag.end < len(words.tokens) and words.tokens[tag.end].low in ("all", "every"):
                words.use(tag)  # "across all campaigns": the total, not a breakdown
                continue
            per_word = said in ("per", "each", "for each", "for every") and reading_has_measure_before(words, tag)
            if per_word and (per := next((e.value for e in target.of("concept") if e.value in ("customer", "order")), None)):
                reading.per = per  # "revenue per customer": a ratio to the count of customers
                words.use(tag)
                words.use(target)
                continue
            if "group_by" in kinds and (reading.dims or reading.limit) and not target.of("column") and (
                    target.of("table") or any(e.value in _ENTITY_CONCEPTS for e in target.of("concept"))):
                reading.ranking = True  # "top 3 countries by users": ranked by the count of users
                words.use(tag)
                continue
            if "group_by" in kinds and (reading.dims or reading.limit or words.has("top") or words.has("most")) and any(
                    e.column is not None and e.column.role == "number" for e in target.of("column")):
                reading.ranking = True  # "top 5 products by quantity": ranked by it
                words.use(tag)
                continue
            entity = _entity_of(target, profile)
            if entity is None:
                continue
            if per_word and entity[1].role == "id":
                reading.per_column = entity  # "page views per session": a ratio to distinct sessions
                words.use(tag)
                words.use(target)
                continue
            if per_word and target.of("table") and not target.of("column"):
                reading.per_row = next(e.table for e in target.of("table"))
                words.use(tag)
                words.use(target)
                continue
            if "which" in kinds and not target.of("column", "table", "concept"):
                continue
            if entity not in reading.dims:
                reading.dims.append(entity)
            words.use(tag)
            words.use(target)
            if "which" in kinds:
                reading.top_group = True
        if kinds & {"which", "top", "bottom", "most"}:
            after = words.tokens[tag.end] if tag.end < len(words.tokens) else None
            if after is not None and after.norm in ("month", "week", "day", "quarter", "year") and words.tag_at(tag.end) is None:
                reading.grain, reading.top_group = after.norm, True  # "which month had the most orders"
                reading.order = "asc" if "bottom" in kinds else "desc"
                words.use(tag)
                words.used.add(tag.end)
                continue
        if kinds & {"top", "bottom"}:
            i = tag.end
            n = None
            if i < len(words.tokens) and (n := _number(words.tokens[i])) is not None:
                words.used.add(i)
                i += 1
            target = words.next_tag(i, max_gap=3, skip=("value", "neg"))
            if target is None or not (target.of("table", "column") or any(e.value in _ENTITY_CONCEPTS for e in target.of("concept"))):
                if n is not None:
                    reading.limit = int(n)
                reading.order = "asc" if "bottom" in kinds and "top" not in kinds else "desc"
                words.use(tag)
                continue
            entity = _entity_of(target, profile)
            if entity is None:
                continue
            if entity not in reading.dims:
                reading.dims.append(entity)
            reading.order = "asc" if "bottom" in kinds and "top" not in kinds else "desc"
            reading.limit = int(n) if n else 10
            words.use(tag)
            words.use(target)
    reading.unmatched = unmatched


def reading_has_measure_before(words: _Words, tag: Tag) -> bool:
    return any(t.start < tag.start and (t.of("metric") or any(e.value in _MEASURE_CONCEPTS for e in t.of("concept"))
                                        or any(e.column is not None and e.column.role in ("money", "number") for e in t.of("column")))
               for t in words.tags)


def _unknown_run(words: _Words, start: int) -> str:
    """The words after “by” that nothing explained: “favourite colour”."""
    out: list[str] = []
    fillers = static()["fillers_set"]
    for token in words.tokens[start:start + 4]:
        if words.tag_at(words.tokens.index(token)) is not None:
            break
        if (token.norm,) in fillers and out:
            break
        if (token.norm,) not in fillers:
            out.append(token.low)
            words.used.add(words.tokens.index(token))
    return " ".join(out)


# --- the schema's things ----------------------------------------------------------------------


def _label_column(table: TableProfile) -> ColumnProfile | None:
    """What names a row of ``table``: its name/title column (not personal data), else its key."""
    singular = phrase(table.name)[-1] if phrase(table.name) else ""
    for column in table.columns:
        words = phrase(column.name)
        if column.pii or column.role not in ("text", "category", "id"):
            continue
        if words and words[-1] in ("name", "title", "label", "description") and (len(words) == 1 or words[0] == singular):
            return column
    key = table.key or table.customer_key
    return table.column(key) if key else None


def _concept_column(profile: SchemaProfile, concept: str | None) -> tuple[TableProfile, ColumnProfile] | None:
    """A column standing for an entity when there is no table of it: the customer key of a
    transaction log, an order id on line items, a product name on a sales export."""
    words = {phrase(str(w)) for w in static()["concepts"].get(concept or "", [])}
    if concept == "customer":
        for table in sorted(profile.tables, key=lambda t: -t.rows):
            if table.customer_key and (column := table.column(table.customer_key)) is not None:
                return table, column
    best: tuple[int, TableProfile, ColumnProfile] | None = None
    for table in profile.tables:
        for column in table.columns:
            name = phrase(column.name)
            said = bool(name) and ((name[0],) in words or (name[-1],) in words or name in words)
            if not said or column.role not in ("id", "text", "category"):
                continue
            label = name[-1] in ("name", "title", "description")
            score = (2 if label and concept == "product" else 1 if column.role == "id" else 0) * 10 + (1 if not column.pii else 0)
            if best is None or score > best[0]:
                best = (score, table, column)
    return (best[1], best[2]) if best else None


def _reachable(profile: SchemaProfile, base: TableProfile) -> list[TableProfile]:
    """Tables reachable many-to-one from ``base`` (base first), computed once per profile."""
    cache = lexicon_for(profile).reach
    found = cache.get(id(base))
    if found is None:
        found = cache[id(base)] = _walk(profile, base)
    return found


def _parents(profile: SchemaProfile, table: TableProfile) -> list[tuple[TableProfile, str, str]]:
    """``profile.parents(table)``, computed once per profile (inferring links scans every column)."""
    cache = lexicon_for(profile).parents
    found = cache.get(id(table))
    if found is None:
        found = cache[id(table)] = profile.parents(table)
    return found


def _link(profile: SchemaProfile, table: TableProfile, parent: TableProfile) -> str | None:
    return next((fk for other, fk, _ in _parents(profile, table) if other is parent), None)


def _walk(profile: SchemaProfile, base: TableProfile) -> list[TableProfile]:
    out = [base]
    frontier = [base]
    while frontier:
        current = frontier.pop()
        for other, _, _ in _parents(profile, current):
            if other not in out:
                out.append(other)
                frontier.append(other)
    return out


def _revenue_rank(column: ColumnProfile) -> float | None:
    """How revenue-like a money column's name is (lower is better); None for other money (cost, tax)."""
    name = "_".join(phrase(column.name))
    core = name
    for suffix in ("_usd", "_eur", "_gbp", "_amt", "_amount"):
        core = core.removesuffix(suffix)
    rank = next((i for i, n in enumerate(_REVENUE_NAMES) if core == n or core.endswith("_" + n) or core.startswith(n + "_")), None)
    if rank is None:
        return None
    return rank - (0.5 if name.endswith(("_usd", "_eur", "_gbp")) else 0)  # a reporting-currency total adds up across countries


def _revenue_columns(table: TableProfile, words: _Words | None = None) -> tuple[list[ColumnProfile], bool]:
    """The money columns that can be “revenue” on ``table``, best first (one the question names wins),
    and whether the best two are a tie (then the parser asks which)."""
    money = table.by_role("money")
    if words is not None:
        named = [e.column for tag in words.tags for e in tag.of("column") if e.column in money and e.strength >= 2 and not tag.of("agg")]
        if named:
            return [c for c in named if c is not None][:1], False
    ranked = sorted(((r, c) for c in money if (r := _revenue_rank(c)) is not None), key=lambda rc: rc[0])
    if ranked:
        return [c for _, c in ranked], len(ranked) > 1 and ranked[0][0] == ranked[1][0]
    # a unit price, cost or tax is never revenue by itself (revenue there is quantity x price: a metric)
    plain = [c for c in money if not set(phrase(c.name)) & _NOT_REVENUE]
    return plain, len(plain) > 1


def _metric_on(profile: SchemaProfile, name: str) -> MetricDefinition | None:
    found = profile.metric(name)
    return found if found is not None and profile.table(found.table) is not None else None


def _where_note(metric: MetricDefinition | None, rows: str) -> str:
    """``", excluding cancelled and returned orders"`` for a metric's ``where``, else ``""``."""
    if metric is None or not metric.where:
        return ""
    notes = []
    for item in metric.where:
        values = [str(v) for v in item.value] if isinstance(item.value, tuple) else [str(item.value)]
        listed = values[0] if len(values) == 1 else f"{', '.join(values[:-1])} and {values[-1]}"
        notes.append(f"excluding {listed} {rows}" if item.op in ("!=", "not in") else f"{item.column} {item.op} {listed}")
    return ", " + "; ".join(notes)


def _plural(table: TableProfile) -> str:
    return " ".join(phrase(table.name)[:-1] + (phrase(table.name)[-1] + "s",)) if phrase(table.name) else table.name


# --- the measure --------------------------------------------------------------------------------


def _flag_forms(column: ColumnProfile) -> list[set[tuple[str, ...]]]:
    """Each distinctive word of a flag's name with its forms (“churned” also “churn”); all must be said."""
    fillers = static()["fillers_set"]
    out: list[set[tuple[str, ...]]] = []
    for word in phrase(column.name):
        if word in GENERIC or word in ("opt", "flag") or (word,) in fillers:
            continue
        forms: set[tuple[str, ...]] = {(word,)}
        if word.endswith("ed") and len(word) > 5:
            forms |= {(word[:-2],), (word[:-1],)}
        out.append(forms)
    return out


_CONSENT = ("opt", "subscri", "consent", "agreed", "permission", "reachable", "marketable", "contactable")


def _flag_tags(words: _Words, profile: SchemaProfile) -> list[tuple[int, TableProfile, ColumnProfile]]:
    """Flag columns the question names: by a tag, or (consent flags) every distinctive word of the name
    anywhere with a consent word (“opted in to SMS” → sms_opt_in)."""
    out: list[tuple[int, TableProfile, ColumnProfile]] = []
    norms = [t.norm for t in words.tokens]
    for table in profile.tables:
        for column in table.by_role("flag"):
            forms = _flag_forms(column)
            per_word = [[i for i, n in enumerate(norms) if (n,) in f and i not in words.used] for f in forms]
            if not forms or not all(per_word):
                continue
            hits = [i for found in per_word for i in found]
            consent = any(w in ("opt", "consent", "subscribed", "subscription", "optin", "permission") for w in phrase(column.name))
            if consent:
                said = [i for i, t in enumerate(words.tokens) if t.low.startswith(_CONSENT)
                        or (t.low in ("email", "text", "sms", "message", "contact", "call", "mail")
                            and any(w.low in ("can", "may", "allowed") for w in words.tokens[max(0, i - 2):i]))]
                said += [i + 1 for i in said if i + 1 < len(words.tokens) and words.tokens[i + 1].low in ("in", "into")]
                if not said:
                    continue
                hits += said
            for i in hits:
                words.used.add(i)
                if (t := words.tag_at(i)) is not None:
                    t.entries = [e for e in t.entries if e.kind != "value"]
                    words.use(t)
            out.append((min(hits), table, column))
    return out


def _metric_measure(profile: SchemaProfile, definition: MetricDefinition, label: str | None = None) -> Measure | None:
    table = profile.table(definition.table)
    if table is None:
        return None
    rows = _plural(table)
    text = label or (definition.description or definition.name.replace("_", " "))
    if label is None and definition.agg == "sum" and definition.column:
        text = f"{definition.name.replace('_', ' ')} (sum of {table.name}.{definition.column}{_where_note(definition, rows)})"
    elif label is None:
        text = f"{definition.name.replace('_', ' ')}" + (f" ({definition.description})" if definition.description else "")
    kind = "percent" if definition.unit == "percent" else "count" if definition.unit == "count" else "value"
    return Measure(table, [Metric(name=definition.name)], text, kind, definition=definition)


def _revenue_measure(profile: SchemaProfile, words: _Words, required: list[TableProfile]) -> Measure | str | None:
    """Revenue: the semantic model's metric, else the sum of the revenue column of the fact table."""
    metric = _metric_on(profile, "revenue")
    named = [e for tag in words.tags for e in tag.of("column") if e.column is not None and e.column.role == "money"
             and e.strength >= 2 and not tag.of("agg")]
    if metric is not None and not (named and named[0].column and named[0].column.name != metric.column):
        table = profile.table(metric.table)
        if table is not None and all(r in _reachable(profile, table) for r in required):
            return _metric_measure(profile, metric)
    candidates = []
    for table in profile.tables:
        columns, tie = _revenue_columns(table, words)
        if columns and all(r in _reachable(profile, table) for r in required):
            rank = _revenue_rank(columns[0])
            candidates.append(((rank if rank is not None else 50, 0 if table.by_role("date") else 1, table.key is None, table.rows),
                               table, columns, tie))
    if not candidates:
        return None
    candidates.sort(key=lambda c: c[0])
    _, table, columns, tie = candidates[0]
    if tie:
        names = ", ".join(c.name for c in columns[:4])
        return f"Your {table.name} table has several money columns ({names}). Which one is the revenue you mean?"
    column = columns[0]
    return Measure(table, [Metric(agg="sum", column=f"{table.name}.{column.name}", alias="revenue")],
                   f"revenue (sum of {table.name}.{column.name})")


def _count_measure(profile: SchemaProfile, entity: Entry) -> Measure | None:
    """Count what a table or concept names: the table's rows, else distinct keys of the concept."""
    if entity.kind == "table" and entity.table is not None:
        for name in ("orders", "customers"):  # a line-item table named "orders": its orders metric counts distinct orders
            metric = _metric_on(profile, name)
            words = {phrase(str(w)) for w in static()["concepts"][name[:-1]]}
            if metric is not None and metric.table.lower() == entity.table.name.lower() and phrase(entity.table.name)[-1:] in words:
                return _metric_measure(profile, metric, name)
        return Measure(entity.table, [Metric(agg="count", alias=entity.table.name)], _plural(entity.table), "count", entity=entity.table)
    concept = entity.value
    if concept == "customer" and (metric := _metric_on(profile, "customers")) is not None:
        return _metric_measure(profile, metric, "customers")
    if concept == "order" and (metric := _metric_on(profile, "orders")) is not None:
        table = profile.table(metric.table)
        return _metric_measure(profile, metric, f"orders{_where_note(metric, _plural(table) if table else 'orders')}")
    found = _concept_column(profile, concept)
    if found is None:
        return None
    table, column = found
    noun = f"{concept}s"
    if table.key and table.key.lower() == column.name.lower():
        return Measure(table, [Metric(agg="count", alias=noun)], noun, "count", entity=table)
    return Measure(table, [Metric(agg="count_distinct", column=f"{table.name}.{column.name}", alias=noun)],
                   f"{noun} (distinct {column.name})", "count")


def _table_of_concept(profile: SchemaProfile, concept: str) -> TableProfile | None:
    """The table a concept names (“customers” → a customers/clients/users table), if there is one."""
    words = {phrase(str(w)) for w in static()["concepts"].get(concept, [])}
    found = [t for t in profile.tables if phrase(t.name) and phrase(t.name)[-1:] in words]
    return min(found, key=lambda t: len(t.name)) if found else None


def _unit_column(table: TableProfile) -> ColumnProfile | None:
    words = {phrase(str(w)) for w in static()["concepts"]["units"]}
    for column in table.columns:
        name = phrase(column.name)
        if column.role == "number" and any((w,) in words for w in name):
            return column
    return None


def resolve_measure(words: _Words, reading: Reading, profile: SchemaProfile, required: list[TableProfile]) -> Measure | str | None:
    """What the question computes; a string is a clarifying question (two equally good columns)."""
    aggs = [(t, e.value) for t in words.tags for e in t.of("agg") if t.start not in words.used]
    said = [a for _, a in aggs if a != "distinct"]
    agg = "avg" if said and said[0] == "sum" and "avg" in said else next(iter(said), None)  # "how much ... on average"
    concepts = {e.value: t for t in words.tags for e in t.of("concept") if t.start not in words.used}
    metric_tags = [(t, e.metric) for t in words.tags for e in t.of("metric") if e.metric is not None and t.start not in words.used]

    def done(*tags: Tag | None) -> None:
        for tag in tags:
            if tag is not None:
                words.use(tag)
        for tag, _ in aggs:
            words.use(tag)

    if "aov" in concepts:
        done(concepts["aov"])
        metric = _metric_on(profile, "aov") or _metric_on(profile, "average_order_value")
        if metric is not None:
            table = profile.table(metric.table)
            part = profile.metric(metric.ratio[0]) if metric.ratio else None
            rows = _plural(table) if table else "orders"
            return _metric_measure(profile, metric, f"average order value ({rows}: revenue / count, metric '{metric.name}'{_where_note(part, rows)})")
        return _aov_from_columns(profile, words, required)
    for name in ("repeat_rate", "new_customers"):
        if name in concepts:
            done(concepts[name])
            metric = _metric_on(profile, name)
            if metric is not None and metric.min_orders and (table := profile.table(metric.table)) is not None:
                rows = _plural(table)
                return _metric_measure(profile, metric, f"repeat rate (% of customers with {metric.min_orders} or more {rows}"
                                       f"{_where_note(metric, rows)})")
            if metric is not None:
                return _metric_measure(profile, metric)
            customers = _table_of_concept(profile, "customer") if name == "new_customers" else None
            if customers is not None and profile.main_date(customers) is not None:  # signups: customers by their own date
                return Measure(customers, [Metric(agg="count", alias=customers.name)], f"new {_plural(customers)} (by {profile.main_date(customers).name})",  # type: ignore[union-attr]
                               "count", entity=customers)
            return None
    concept_names = {"revenue", "orders", "customers", "units", "aov"}
    for tag, metric in metric_tags:
        if metric.name.lower() not in concept_names:
            done(tag)
            return _metric_measure(profile, metric)
    money = [(t, e) for t in words.tags for e in t.of("column") if t.start not in words.used
             and e.column is not None and e.column.role in ("money", "number")
             and not (e.strength < 3 and any(v.strength >= 2 for v in t.of("value")))]  # "refunded" is a status first
    named = [m for m in money if m[1].strength >= 2] or (money if not concepts.keys() & {"revenue", "units"} else [])
    if concepts.keys() & {"revenue", "units"} or len(named) > 1:  # "total sales": "total" is the sum, not a column
        named = [m for m in named if not m[0].of("agg")]
    if "units" in concepts and not named:
        done(concepts["units"])
        if (metric := _metric_on(profile, "units")) is not None:
            return _metric_measure(profile, metric, "units sold")
        for table in sorted(profile.tables, key=lambda t: t.rows, reverse=True):
            column = _unit_column(table)
            if column is not None and all(r in _reachable(profile, table) for r in required):
                return Measure(table, [Metric(agg="sum", column=f"{table.name}.{column.name}", alias="units")], f"units sold (sum of {column.name})")
        return None
    flags = _flag_tags(words, profile) if agg == "share" else []
    if agg == "share" and flags:
        _, table, column = flags[0]
        done()
        rate = _metric_on(profile, f"{column.name}_rate")
        if rate is not None:
            return _metric_measure(profile, rate, f"share with {column.name.replace('_', ' ')} (of all {_plural(table)})")
        return Measure(table, [Metric(agg="avg", column=f"{table.name}.{column.name}", alias=f"{column.name}_share")],
                       f"share of {_plural(table)} with {column.name.replace('_', ' ')}", "share")
    entity_said = [(t, e) for t in words.tags if t.start not in words.used for e in t.entries
                   if e.kind == "table" or (e.kind == "concept" and e.value in _ENTITY_CONCEPTS)]
    if named and agg == "count" and entity_said:
        tag, entry = named[0]
        reading.positive = (entry.table, entry.column)  # "how many payments got disputed": Disputed Amount > 0
        words.use(tag)
        named = []
    if named and agg == "count" and not entity_said and named[0][1].column is not None and _additive(named[0][1].column):
        agg = "sum"  # "how many abuse complaints": the sum of a count column
    if agg == "sum" and not named and "revenue" not in concepts and any(
            t.low == "much" for t in words.tokens) and _metric_on(profile, "revenue") is not None:
        concepts["revenue"] = next(t for t, a in aggs if a == "sum")  # "how much did we charge": money
    if named and (agg in (None, "sum", "avg", "min", "max") or "revenue" not in concepts):
        tag = named[0][0]
        same = [e for t, e in named if t is tag]
        # one name on several tables: the header's column (orders.discount, not order_items.discount)
        entry = max(same, key=lambda e: (e.strength, e.table is not None and e.table.key is not None and (
            reading.per is None or reading.per in (e.table.key or "").lower()), -(e.table.rows if e.table else 0)))
        table, column = entry.table, entry.column
        assert table is not None and column is not None
        chosen = agg if agg in ("sum", "avg", "min", "max") else ("sum" if column.role == "money" or _additive(column) else "avg")
        done(tag, concepts.get("revenue"))
        label = {"sum": "total", "avg": "average", "min": "lowest", "max": "highest"}[chosen] + " " + column.name.replace("_", " ")
        if reading.per in ("customer", "order") and reading.per not in (table.key or "").lower():
            return _per_entity(profile, table, Metric(agg="sum", column=f"{table.name}.{column.name}", alias=column.name), label, reading.per)
        return Measure(table, [Metric(agg=chosen, column=f"{table.name}.{column.name}", alias=f"{chosen}_{column.name}")],  # type: ignore[arg-type]
                       label)
    if "revenue" in concepts and agg != "count":
        done(concepts["revenue"])
        found = _revenue_measure(profile, words, required)
        if isinstance(found, Measure) and reading.per in ("customer", "order"):
            return _per_entity(profile, found.table, found.metrics[0], found.label, reading.per)
        if isinstance(found, Measure) and agg == "avg":
            column_name = found.definition.column if found.definition else (found.metrics[0].column or "").rsplit(".", 1)[-1]
            if column_name:
                return Measure(found.table, [Metric(agg="avg", column=f"{found.table.name}.{column_name}", alias=f"avg_{column_name}")],
                               f"average {column_name.replace('_', ' ')} per {_plural(found.table).rstrip('s')}")
        return found
    entities = list(entity_said)
    if "revenue" in concepts and agg == "count":  # "how many sales": orders
        entities.append((concepts["revenue"], Entry("concept", value="order")))
    if entities:
        tag, entry = _best_entity(entities)
        done(tag)
        if agg in ("avg", "sum", "min", "max") and entry.kind == "table" and entry.table is not None:
            columns, tie = _revenue_columns(entry.table)  # "the average payment": of its amount
            if columns and not tie:
                column = columns[0]
                label = {"sum": "total", "avg": "average", "min": "lowest", "max": "highest"}[agg] + f" {column.name} per {_plural(entry.table).rstrip('s')}"
                return Measure(entry.table, [Metric(agg=agg, column=f"{entry.table.name}.{column.name}", alias=f"{agg}_{column.name}")], label)  # type: ignore[arg-type]
        counted = _count_measure(profile, entry)
        other = next((e.value for t, e in entities if t is not tag and e.kind == "concept" and e.value in ("customer", "order")
                      and e.value != entry.value), None)
        if agg == "avg" and counted is not None and other is not None:  # "how many orders does a customer place, on average"
            for t, _ in entities:
                words.use(t)
            return _per_entity(profile, counted.table, counted.metrics[0], counted.label, other) or counted
        return counted
    return None


_AVERAGED = frozenset({"age", "score", "rating", "rate", "tenure", "year", "duration", "day", "days", "percent", "pct", "ratio",
                       "price", "size", "latitude", "longitude", "lat", "lon", "rank", "position", "nps", "satisfaction", "month"})


def _additive(column: ColumnProfile) -> bool:
    """A number that adds up (quantities, counts, bounces), not one to average (age, rating, score, tenure)."""
    if getattr(column, "unit", None) == "count":
        return True
    return not set(phrase(column.name)) & _AVERAGED


def _best_entity(entities: list[tuple[Tag, Entry]]) -> tuple[Tag, Entry]:
    """The first entity said; on one phrase a table beats a concept, a stronger name a weaker."""
    first = min(t.start for t, _ in entities)
    here = [(t, e) for t, e in entities if t.start == first]
    return max(here, key=lambda te: (te[1].kind == "table", te[1].strength))


def _per_entity(profile: SchemaProfile, table: TableProfile, metric: Metric, label: str, per: str) -> Measure | None:
    """“revenue per customer”: the metric over distinct customers (or orders) of the same rows."""
    key: str | None = None
    if per == "customer":
        key = table.customer_key or next((fk for other, fk, _ in _parents(profile, table) if other.key and "customer" in other.key.lower()), None)
    else:
        key = table.key if table.key and "order" in table.key.lower() else next((c.name for c in table.by_role("id") if "order" in c.name.lower()), None)
    if key is None:
        found = _concept_column(profile, per)
        if found is None or found[0] is not table:
            return None
        key = found[1].name
    count = Metric(agg="count_distinct", column=f"{table.name}.{key}", alias=f"{per}s")
    return Measure(table, [metric, count], f"{label} per {per} ({label} / distinct {key})", "ratio")


def _aov_from_columns(profile: SchemaProfile, words: _Words, required: list[TableProfile]) -> Measure | str | None:
    found = _revenue_measure(profile, words, required)
    if not isinstance(found, Measure):
        return found
    table = found.table
    column = (found.metrics[0].column or "").rsplit(".", 1)[-1] or (found.definition.column if found.definition else None)
    if column is None:
        return None
    order_key = next((c.name for c in table.columns if c.role == "id" and "order" in c.name.lower()), None)
    if order_key is None or (table.key and table.key.lower() == order_key.lower()):
        return Measure(table, [Metric(agg="avg", column=f"{table.name}.{column}", alias="average_order_value")],
                       f"average order value (average of {table.name}.{column} per row)")
    return _per_entity(profile, table, Metric(agg="sum", column=f"{table.name}.{column}", alias="revenue"), "revenue", "order")


# --- filters --------------------------------------------------------------------------------------


def _negated(words: _Words, start: int) -> bool:
    """A negation word just before token ``start`` (only filler words between): “not in Germany”."""
    fillers = static()["fillers_set"]
    i = start - 1
    while i >= 0 and start - i <= 3:
        tag = words.tag_at(i)
        if tag is not None and tag.of("neg"):
            words.use(tag)
            return True
        if tag is not None or (words.tokens[i].norm,) not in fillers:
            return False
        i -= 1
    return False


def _value_conditions(words: _Words, reading: Reading, profile: SchemaProfile, measure: Measure | None) -> list[Condition]:
    """Category values named anywhere, as filters; several values of one column become ``in``."""
    entity = measure.entity if measure is not None else None
    reach = _reachable(profile, measure.table) if measure is not None else []
    picked: list[tuple[Tag, Entry]] = []
    for tag in words.tags:
        values = tag.of("value")
        if not values or tag.start in words.used:
            continue
        names_more = tag.of("table", "metric") or any(e.strength >= 2 for e in tag.of("column")) or any(
            e.value in _MEASURE_CONCEPTS for e in tag.of("concept"))
        if names_more and not any(e.strength >= 3 for e in values):
            continue  # the word names a table/column/measure better than a value

        near = {t.low[:4] for t in words.tokens[max(0, tag.start - 4):tag.end + 3] if len(t.low) >= 4}

        def preference(e: Entry, near: set[str] = near) -> tuple[int, int, int, int, int, int]:
            own = entity is not None and e.table is entity
            # "ship to Canada": Shipping Country rather than Billing Country
            hinted = 1 if e.column is not None and any(w[:4] in near for w in phrase(e.column.name) if len(w) >= 4 and w not in GENERIC) else 0
            attribute = phrase(e.column.name)[0] in ("preferred", "favourite", "favorite", "fav", "primary", "main", "usual") if e.column else False
            return (e.strength, 1 if own != reading.purchase else 0, 0 if attribute and reading.purchase else 1,
                    hinted, 1 if e.table in reach else 0, e.table.rows if e.table else 0)

        picked.append((tag, max(values, key=preference)))
    grouped: dict[int, list[tuple[Tag, Entry]]] = {}
    for tag, entry in picked:
        grouped.setdefault(id(entry.column), []).append((tag, entry))
    out = []
    for items in grouped.values():
        table, column = items[0][1].table, items[0][1].column
        assert table is not None and column is not None
        said = list(dict.fromkeys(str(e.value) for _, e in items))
        negative = any(_negated(words, tag.start) for tag, _ in items)
        for tag, _ in items:
            words.use(tag)
            for beside in (words.tag_at(tag.start - 1), words.tag_at(tag.end)):  # "gold tier", "country Germany"
                if beside is not None and any(e.column is column for e in beside.of("column")):
                    words.use(beside)
        op = ("!=" if negative else "=") if len(said) == 1 else ("not in" if negative else "in")
        shown = " or ".join(said)
        out.append(Condition(table, column, op, said[0] if len(said) == 1 else said,
                             f"{column.name.replace('_', ' ')} is {'not ' if negative else ''}{shown}"))
    return out


def _flag_conditions(words: _Words, profile: SchemaProfile) -> list[Condition]:
    out = []
    for start, table, column in _flag_tags(words, profile):
        own = set(phrase(column.name))
        negative = _negated(words, start) or any(t.low in ("unsubscribed", "out") and t.norm not in own
                                                 for t in words.tokens[max(0, start - 2):start + 3])
        out.append(Condition(table, column, "=", not negative, f"{column.name.replace('_', ' ')} is {'no' if negative else 'yes'}"))
    return out


def _number_conditions(words: _Words, profile: SchemaProfile, measure: Measure | None) -> list[Condition] | str:
    """“over $100”, “at least 3 items”: a comparison on the column named next to the number."""
    out: list[Condition] = []
    for tag in words.has("cmp"):
        op = next(e.value for e in tag.entries if e.kind == "cmp")
        i = tag.end
        while i < len(words.tokens) and words.tokens[i].low in ("$", "€", "£", "#"):
            words.used.add(i)
            i += 1
        if i >= len(words.tokens) or (number := _number(words.tokens[i])) is None:
            continue
        words.use(tag)
        words.used.add(i)
        after = words.tag_at(i + 1)
        before = next((t for t in words.tags if t.end == tag.start), None)
        column_entry = None
        for near in (after, before):
            if near is not None:
                column_entry = next((e for e in near.of("column") if e.column is not None and e.column.role in ("money", "number")), None)
                if column_entry is not None:
                    words.use(near)
                    break
                if near is after and (near.of("table") or near.of("concept")) and measure is not None and near.start not in words.used:
                    return (f"I can't filter on a count per {measure.label.split(' ')[0].rstrip('s')} yet "
                            f"(“{words.words(tag)} {words.tokens[i].text} {words.words(near)}”). "
                            "I can count rows over a value instead, e.g. orders over an amount.")
        if column_entry is not None:
            table, column = column_entry.table, column_entry.column
        elif measure is not None:
            column_name = (measure.metrics[0].column or "").rsplit(".", 1)[-1] or (measure.definition.column if measure.definition else None)
            column = measure.table.column(column_name) if column_name else None
            if column is None or column.role not in ("money", "number"):
                money, _ = _revenue_columns(measure.table)
                column = money[0] if money else None
            table = measure.table
        else:
            continue
        if column is None or table is None:
            continue
        out.append(Condition(table, column, str(op), number, f"{column.name.replace('_', ' ')} {op} {number:g}"))
    return out


# --- the spec -------------------------------------------------------------------------------------


def _date_table(profile: SchemaProfile, base: TableProfile, reach: list[TableProfile], entity: TableProfile | None) -> TableProfile | None:
    """Whose date a period applies to: the base's own, else the nearest transaction table's, else the entity's."""
    if profile.main_date(base) is not None:
        return base
    for table in reach:
        if table.by_role("date") and _parents(profile, table):
            return table
    if entity is not None and entity in reach and entity.by_role("date"):
        return entity
    return next((tb for tb in reach if tb.by_role("date")), None)


def _rebase(profile: SchemaProfile, measure: Measure, required: list[TableProfile], want_date: bool) -> Measure | None:
    """Count an entity through a fact table that reaches everything named (“customers who bought tents”)."""
    entity = measure.entity
    if entity is None or not entity.key:
        return None
    options = []
    for table in profile.tables:
        if table is entity:
            continue
        reach = _reachable(profile, table)
        holder = next((tb for tb in reach if _link(profile, tb, entity)), None)
        if holder is None or any(r not in reach for r in required if r is not entity):
            continue
        if want_date and not any(tb.by_role("date") for tb in reach if tb is not entity):
            continue
        options.append((table.rows, table, holder))
    if not options:
        return None
    _, table, holder = min(options, key=lambda o: o[0])
    link = _link(profile, holder, entity)
    noun = _plural(entity)
    return Measure(table, [Metric(agg="count_distinct", column=f"{holder.name}.{link}", alias=entity.name)],
                   f"{noun} (distinct {link} in {holder.name})", "count")


def build(reading: Reading, profile: SchemaProfile, today: dt.date) -> DataQuestion:
    """The spec for a reading, with the words that say what it computes."""
    measure = reading.measure
    assert measure is not None
    required = list(dict.fromkeys([tb for tb, _ in reading.dims] + [c.table for c in reading.filters]))
    reach = _reachable(profile, measure.table)
    entity = measure.entity
    if measure.kind == "count" and entity is not None and (
            any(r not in reach for r in required) or (reading.purchase and reading.frames and measure.table is entity)):
        rebased = _rebase(profile, measure, required, want_date=bool(reading.frames))
        if rebased is not None:
            measure = rebased
            reach = _reachable(profile, measure.table)
    missing = [r for r in required if r not in reach]
    if missing:
        names = ", ".join(sorted({c.column.name for c in reading.filters if c.table in missing} | {c.name for tb, c in reading.dims if tb in missing}))
        return _refusal(reading, f"I can't combine {measure.label} with {names}: there is no link between "
                        f"`{measure.table.name}` and `{missing[0].name}` in your data.")
    base = measure.table
    notes: list[str] = []
    frames = list(reading.frames)
    compare: list[str] = []
    grain = reading.grain
    frame: Timeframe | None = frames[0] if frames else None
    if len(frames) >= 2:
        units = {f.unit for f in frames}
        if len(units) == 1 and None not in units and all(f.start for f in frames):
            start = min(f.start for f in frames if f.start)
            end = max(f.end for f in frames if f.end)
            label = " vs ".join(f.label for f in frames)
            frame = Timeframe(start, end, label, unit=frames[0].unit)
            grain = frames[0].unit
            compare = [f.label for f in frames]
        else:
            notes.append(f"I can't compare {frames[0].label} with {frames[1].label} in one answer yet, "
                         f"so this is {frames[0].label} only.")
    date_table = _date_table(profile, base, reach, entity)
    date_column = profile.main_date(date_table) if date_table is not None else None
    time_range = None
    qualifiers = [c.words for c in reading.filters]
    data_end = None
    if (frame is not None or grain) and date_column is None:
        said = frame.label if frame is not None else f"by {grain}"
        return _refusal(reading, f"Your {base.name} data has no date column, so I can't answer for {said}. "
                        f"I can answer it over all of {base.name} instead.")
    if date_column is not None and date_table is not None:
        data_end = date_column.max[:10] if date_column.max else None
        if frame is not None:
            low, high = (date_column.min or "")[:10], (date_column.max or "")[:10]
            if low and high and frame.start and frame.end and (str(frame.end) <= low or str(frame.start) > high):
                return _refusal(reading, f"Your {date_table.name} data runs from {low} to {high}, so there is nothing "
                                f"for {frame.label}. Ask about a period inside that range.")
            if high and frame.end and str(frame.end - dt.timedelta(days=1)) > high:
                notes.append(f"your {date_table.name} data ends on {high}")
            time_range = TimeRange(column=f"{date_table.name}.{date_column.name}", start=frame.start, end=frame.end)
            qualifiers.append(frame.label)
        elif grain:
            time_range = TimeRange(column=f"{date_table.name}.{date_column.name}")
    metrics = list(measure.metrics)
    dims = list(reading.dims)
    order = reading.order
    limit = reading.limit or 200
    most = reading.top_group or reading.ranking
    if dims and order is None and (most or reading.top_group):
        order = "desc"
    if reading.top_group and reading.limit is None:
        limit = 10
    if not dims and not grain and reading.order and measure.kind == "value" and metrics[0].agg in ("sum", "avg") and metrics[0].column:
        metrics = [Metric(agg="max" if reading.order == "desc" else "min", column=metrics[0].column, alias=metrics[0].alias)]
    rows_alias = None
    if not dims and not grain and measure.kind != "count":
        rows_alias = "rows"
        metrics.append(Metric(agg="count", alias=rows_alias))
    filters = [Filter(column=f"{c.table.name}.{c.column.name}", op=c.op, value=c.value) for c in reading.filters]  # type: ignore[arg-type]
    spec = QuerySpec(table=base.name, metrics=metrics, dimensions=[f"{tb.name}.{c.name}" for tb, c in dims],
                     filters=filters, time_range=time_range, time_grain=grain, order=order, limit=limit)  # type: ignore[arg-type]
    grouping = [c.name.replace("_", " ") for _, c in dims] + ([grain] if grain else [])
    return DataQuestion(spec=spec, subject=measure.label, qualifiers=qualifiers, timeframe=frame, unmatched=list(reading.unmatched),
                        grouping=grouping, notes=notes, compare=compare, kind=measure.kind, rows_alias=rows_alias,
                        rows_label=_plural(base), data_end=data_end, top_group=reading.top_group, reading=reading)


def _refusal(reading: Reading, message: str) -> DataQuestion:
    measure = reading.measure
    table = measure.table.name if measure is not None else "unknown"
    return DataQuestion(spec=QuerySpec(table=table), subject=measure.label if measure else "", clarify=message, reading=reading)


# --- the whole question ---------------------------------------------------------------------------

_FOLLOW_UP_START = ("and", "what about", "how about", "same for", "same but", "now", "only", "just", "also", "but", "then",
                    "ok and", "okay and", "instead")
_CONTENT_KINDS = ("table", "column", "value", "metric", "concept")


def parse_question(text: str, profile: SchemaProfile, today: dt.date, previous: DataQuestion | None = None) -> DataQuestion | None:
    """The query a question asks for (or a clarifying question), or None when it names nothing in the data.

    With ``previous`` (the conversation's last data question), a question that names no measure of
    its own, or starts like a follow-up (“and ...”, “only ...”), changes that question's parts.
    """
    if not profile.tables:
        return None
    reading, words = read_question(text, profile, today)
    before = previous.reading if previous is not None else None
    if before is not None and previous is not None and (shifted := relative_to(text, previous.timeframe)) is not None:
        reading.frames = [shifted]
        words.used.update(i for i, t in enumerate(words.tokens) if shifted.span[0] <= t.start and t.end <= shifted.span[1])
    guess = [tb for tb, _ in reading.dims] + [e.table for t in words.tags for e in t.of("value")[:1] if e.table is not None]
    measure = resolve_measure(words, reading, profile, guess)
    if isinstance(measure, str):
        return _refusal(reading, measure)
    measure = _per_parts(measure, reading)
    own = {measure.table, measure.entity} if measure is not None else set()
    # "active customers": a status value of the customers themselves if they have one, else "bought recently"
    active = [t for t in words.has("concept", "active") if not any(e.table in own for e in t.of("value"))]
    for tag in active:
        tag.entries = [e for e in tag.entries if e.kind != "value"]
        words.use(tag)
    follow = before is not None and (measure is None or text.strip().lower().startswith(_FOLLOW_UP_START))
    reading.measure = measure
    conditions = _flag_conditions(words, profile)
    conditions += _value_conditions(words, reading, profile, measure if measure is not None else (before.measure if follow and before else None))
    numbers = _number_conditions(words, profile, measure or (before.measure if follow and before else None))
    if isinstance(numbers, str):
        return _refusal(reading, numbers)
    conditions += numbers
    if reading.positive is not None:
        positive_table, positive_column = reading.positive
        if positive_table is not None and positive_column is not None:
            conditions.append(Condition(positive_table, positive_column, ">", 0, f"{positive_column.name.replace('_', ' ')} > 0"))
    reading.filters = conditions
    if active and measure is not None and measure.entity is not None:
        reading.purchase = True
        if not reading.frames:
            reading.frames = [Timeframe(today - dt.timedelta(days=364), today + dt.timedelta(days=1),
                                        f"the last 12 months ({today - dt.timedelta(days=364)} to {today})")]
    if follow and before is not None:
        reading = _merge(before, reading)
    if reading.measure is None and (words.has("agg") or words.has("concept")) and not (reading.dims or reading.filters):
        unknown = _unexplained(words, reading, profile)
        if unknown:  # a data question about something the data does not have
            return _refusal(reading, _clarify(unknown, profile, reading))
    if reading.measure is None:
        if reading.dims or reading.filters:
            table = (reading.dims[0][0] if reading.dims else reading.filters[0].table)
            reading.measure = Measure(table, [Metric(agg="count", alias=table.name)], _plural(table), "count", entity=table)
        else:
            return None
    never = _never(words, reading, profile)
    if never is not None:
        return never
    share = _share_of(words, reading)
    unknown = _unexplained(words, reading, profile)
    listed = _listed_with_values(words, reading, unknown)
    unknown = [u for u in unknown if u not in listed]
    if reading.unmatched and not unknown:
        question = DataQuestion(spec=QuerySpec(table=reading.measure.table.name), subject=reading.measure.label,
                                unmatched=list(reading.unmatched), reading=reading)
        return question
    content = sum(1 for t in words.tags if t.start in words.used and t.of(*_CONTENT_KINDS))
    if unknown and len(unknown) > max(1, content) and before is None:
        return None  # mostly words the data does not know: not a data question (copy, knowledge, chat)
    question = build(reading, profile, today)
    question.share_of = share
    question.grounded = any(t.start in words.used and t.of("column", "value", "metric") for t in words.tags) or bool(
        reading.measure is not None and reading.measure.kind != "count")
    for word, column_name in listed.items():
        question.notes.append(f"“{word}” is not a {column_name.replace('_', ' ')} in your data, so it is not included")
    if unknown and question.clarify is None:
        question.clarify = _clarify(unknown, profile, reading)
    return question


def _per_parts(measure: Measure | None, reading: Reading) -> Measure | None:
    """“page views per session”: a ratio to distinct ids; “recipients per campaign” on the campaigns
    table: each row is one campaign, so the average of the column."""
    if measure is None:
        return None
    if reading.per_column is not None and measure.kind != "ratio" and len(measure.metrics) == 1:
        table, column = reading.per_column
        if table is measure.table:
            count = Metric(agg="count_distinct", column=f"{table.name}.{column.name}", alias=f"distinct_{column.name}")
            return Measure(measure.table, [measure.metrics[0], count], f"{measure.label} per {column.name.replace('_', ' ')}",
                           "ratio", definition=measure.definition)
    if reading.per_row is not None and reading.per_row is measure.table and measure.metrics[0].agg == "sum" and measure.metrics[0].name is None:
        metric = measure.metrics[0]
        label = measure.label.replace("total ", "average ", 1)
        return Measure(measure.table, [Metric(agg="avg", column=metric.column, alias=metric.alias)], f"{label} per {_plural(measure.table).rstrip('s')}")
    return measure


def _merge(before: Reading, now: Reading) -> Reading:
    """The previous reading with what the follow-up changes: measure, period, values of a column, groupings."""
    out = replace(before, dims=list(before.dims), filters=list(before.filters), frames=list(before.frames), unmatched=[])
    if now.measure is not None:
        out.measure = now.measure
    if now.frames:
        out.frames = list(now.frames)
    for condition in now.filters:
        out.filters = [c for c in out.filters if c.column is not condition.column] + [condition]
    if now.dims:
        out.dims = list(now.dims)
        out.top_group = now.top_group
    if now.grain:
        out.grain = now.grain
    if now.order:
        out.order, out.limit = now.order, now.limit
    out.unmatched = list(now.unmatched)
    return out


def _share_of(words: _Words, reading: Reading) -> tuple[str, object] | None:
    """“what percentage of orders were returned”: the share of one value among all rows, by grouping on its column."""
    asks_share = any(e.value == "share" for t in words.tags for e in t.of("agg"))
    measure = reading.measure
    if not asks_share or reading.dims or not reading.filters or measure is None or measure.kind == "percent":
        return None
    if measure.metrics[0].agg not in ("count", "count_distinct", "sum") and measure.kind != "count":
        return None
    asked = reading.filters.pop(0)
    reading.dims = [(asked.table, asked.column)]
    return asked.column.name, asked.value


def _unexplained(words: _Words, reading: Reading, profile: SchemaProfile) -> list[str]:
    """Content words the reading did not use: no tag explained them and they are no known filler."""
    fillers = static()["fillers_set"]
    used_tables = set()
    if reading.measure is not None:
        used_tables.update(_reachable(profile, reading.measure.table))
        if reading.measure.entity is not None:
            used_tables.add(reading.measure.entity)
    out: list[str] = []
    words.unknown_at = {}
    i = 0
    while i < len(words.tokens):
        token = words.tokens[i]
        tag = words.tag_at(i)
        if i in words.used:
            i += 1
            continue
        if tag is not None and tag.start == i:
            if _tag_explained(tag, reading, used_tables):
                i = tag.end
                continue
            out.append(words.words(tag))
            i = tag.end
            continue
        if (token.norm,) in fillers or (token.low,) in fillers or token.low in ("$", "€", "£", "%", "#", "?", "s") or _number(token) is not None and len(token.low) <= 2:
            i += 1
            continue
        out.append(token.low)
        words.unknown_at[token.low] = i
        i += 1
    return out


def _listed_with_values(words: _Words, reading: Reading, unknown: list[str]) -> dict[str, str]:
    """Unknown words listed with known values (“Sweden or Norway”): another value of that column that
    the data does not have. The answer covers the known ones and says so."""
    out: dict[str, str] = {}
    for word in unknown:
        i = words.unknown_at.get(word)
        if i is None:
            continue
        for link, other in ((i - 1, i - 2), (i + 1, i + 2)):
            if not (0 <= other < len(words.tokens)) or words.tokens[link].low not in ("or", "and", "nor", ","):
                continue
            tag = words.tag_at(other)
            column = next((c.column.name for c in reading.filters for e in (tag.of("value") if tag else [])
                           if e.column is c.column), None)
            if column is not None:
                out[word] = column
    return out


def _never(words: _Words, reading: Reading, profile: SchemaProfile) -> DataQuestion | None:
    """“customers who never ordered”: an anti-join the structured spec cannot express, as read-only SQL."""
    measure = reading.measure
    if measure is None or measure.entity is None or measure.kind != "count" or not measure.entity.key:
        return None
    negations = [t for t in words.tags if t.of("neg")]
    hit = next((t for t in negations if any(w.low in _PURCHASE or w.low in ("order", "ordered", "purchase")
                                            for w in words.tokens[t.end:t.end + 3])), None)
    if hit is None:
        return None
    entity, key = measure.entity, measure.entity.key
    facts = [tb for tb in profile.tables if tb is not entity and _link(profile, tb, entity) and tb.by_role("date")]
    if not facts:
        return None
    fact = min(facts, key=lambda tb: (tb.key is None, tb.rows))
    link = _link(profile, fact, entity)
    words.use(hit)
    conditions = [f'NOT EXISTS (SELECT 1 FROM "{fact.name}" f WHERE f."{link}" = e."{key}")']
    qualifiers = [f"no row in {fact.name}"]
    for c in reading.filters:
        if c.table is entity and c.op in ("=", "in"):
            values = c.value if isinstance(c.value, list) else [c.value]
            listed = ", ".join("TRUE" if v is True else "FALSE" if v is False else "'" + str(v).replace("'", "''") + "'" for v in values)
            conditions.append(f'e."{c.column.name}" IN ({listed})')
            qualifiers.append(c.words)
    sql = f'SELECT count(*) AS "{entity.name}" FROM "{entity.name}" e WHERE ' + " AND ".join(conditions)
    return DataQuestion(spec=QuerySpec(table=entity.name), subject=f"{_plural(entity)} who never placed an order",
                        qualifiers=qualifiers, sql=sql, kind="count", reading=reading)


def _tag_explained(tag: Tag, reading: Reading, used_tables: set[TableProfile]) -> bool:
    if not tag.of(*_CONTENT_KINDS):
        return True  # lexicon words (most, top, by, not ...) explain themselves
    for entry in tag.entries:
        if entry.kind == "table" and entry.table in used_tables:
            return True
        if entry.kind == "concept" and entry.value in ("customer", "order", "product", "active"):
            return True
        if entry.kind == "concept" and reading.measure is not None and entry.value in ("revenue",) and reading.measure.kind != "count":
            return True
    return False


def _clarify(unknown: list[str], profile: SchemaProfile, reading: Reading) -> str:
    """One short question with 2–4 concrete options from the schema."""
    said = ", ".join(f"“{w}”" for w in dict.fromkeys(unknown))
    options: list[str] = []
    values = {v.lower(): (c, v) for t in profile.tables for c in t.by_role("category") if not c.pii for v in c.values}
    columns = {" ".join(phrase(c.name)): c.name for t in profile.tables for c in t.columns if not c.pii}
    for word in unknown:
        for close in difflib.get_close_matches(word, list(values), n=2, cutoff=0.75):
            column, value = values[close]
            options.append(f"{column.name} = {value}")
        for close in difflib.get_close_matches(word, list(columns), n=2, cutoff=0.75):
            options.append(f"the {columns[close]} column")
    if not options:
        base = reading.measure.table if reading.measure is not None else profile.tables[0]
        categories = [c for t in [base] + [t for t in profile.tables if t is not base] for c in t.by_role("category") if not c.pii]
        options = [f"{c.name} ({', '.join(c.values[:3])})" for c in categories[:3]]
    listed = "; ".join(dict.fromkeys(options[:4]))
    hint = f" Did you mean {listed}?" if listed else ""
    return (f"I couldn't match {said} to anything in your data, so I won't guess.{hint} "
            "Ask again with one of those, or without it.")
