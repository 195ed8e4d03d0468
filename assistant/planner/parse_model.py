"""The parser's parts: a question's words and tags, its reading, its measure, its conditions and the parsed result."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.planner.lexicon import (
    Tag,
    Token,
    static,
)
from assistant.planner.timeframes import Timeframe
from tools.query_spec import Metric, QuerySpec
from tools.schema_profile import ColumnProfile, MetricDefinition, TableProfile

_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                 "nine": 9, "ten": 10, "fifteen": 15, "twenty": 20, "fifty": 50, "hundred": 100}


_PURCHASE = frozenset({"bought", "buy", "buys", "buying", "purchased", "ordered", "spent", "spend", "spending", "shopped",
                       "paid", "contain", "contains", "contained", "containing", "include", "includes", "included"})


@dataclass(slots=True)
class Condition:
    table: TableProfile
    column: ColumnProfile
    op: str
    value: object
    words: str  # how the question said it: "country is Germany"
    group: bool = False  # a threshold on each group's value of the measure (SQL HAVING), not on single rows


@dataclass(slots=True)
class Measure:
    """What is computed: one metric, or a ratio of two (computed from the two columns of the result)."""

    table: TableProfile
    metrics: list[Metric]
    label: str  # "revenue (sum of orders.total)"
    kind: str = "value"  # count | value | percent | ratio
    entity: TableProfile | None = None  # the table whose rows a count counts ("customers")
    definition: MetricDefinition | None = None
    where: list[Condition] = field(default_factory=list)  # rows it covers (a metric's exclusions), stated as filters


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
    notes: list[str] = field(default_factory=list)  # how words were read that the answer should say ("payment type" → Type)
    per_total: tuple[TableProfile, ColumnProfile] | None = None  # "cost per conversion": a ratio to the sum of a number column
    per_row: TableProfile | None = None  # "per campaign" on a table of campaigns: each row is one
    positive: tuple[TableProfile | None, ColumnProfile | None] | None = None  # "payments that got disputed": amount > 0
    said: list[str] = field(default_factory=list)  # the question's words (normalised), e.g. to pick the date of the event named
    price: str | None = None  # "most expensive" (max) / "cheapest" (min): a superlative over a price-like column
    versus: bool = False  # "A vs B", "compare A and B": two values of one column are compared, not pooled


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
    flag_columns: list[str] = field(default_factory=list)  # grouped-by yes/no columns: their groups read "yes"/"no", not 1/0
    grounded: bool = False  # the parse used the schema's own columns, values or metrics
    reading: Reading | None = None


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


def _number(token: Token) -> float | None:
    if token.low in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[token.low])
    try:
        return float(token.low.replace(",", ""))
    except ValueError:
        return None


_MEASURE_CONCEPTS = ("aov", "repeat_rate", "new_customers", "revenue", "units")


_ENTITY_CONCEPTS = ("customer", "order", "product", "campaign")

