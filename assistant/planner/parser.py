"""One semantic parser: a marketer's question → a :class:`~tools.query_spec.QuerySpec` over the live schema.

The question's words are tagged longest-match-first against the schema's vocabulary and the
marketing lexicon (:mod:`assistant.planner.lexicon`), then read as a measure, groupings, filters,
a period, an order and a limit. Every content word must be explained by a tag or be a known
filler word; a word the reading did not use makes the parse ask (``clarify``) instead of answering
a different question. Follow-ups (“and last month?”, “only in Germany”, “by channel instead”)
change one part of the previous reading.

The steps live in small modules: :mod:`.reading` (tagging and groupings), :mod:`.measure` (what is
computed), :mod:`.filters` (values, flags, comparisons), :mod:`.spec` (periods and the query spec),
with the shared parts in :mod:`.parse_model` and :mod:`.schema_terms`; this module ties them together
and decides whether to answer, ask or decline.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import replace

from assistant.planner.filters import (
    _flag_conditions,
    _lifecycle_condition,
    _number_conditions,
    _value_conditions,
)
from assistant.planner.lexicon import (
    Tag,
    phrase,
    static,
)
from assistant.planner.measure import _per_parts, _unit_column, _where_conditions, resolve_measure
from assistant.planner.parse_model import (
    _ENTITY_CONCEPTS,
    Condition,
    DataQuestion,
    Measure,
    Reading,
    _number,
    _Words,
)
from assistant.planner.reading import read_question
from assistant.planner.schema_terms import _metric_on, _plural, _reachable
from assistant.planner.spec import _never, _refusal, build
from assistant.planner.timeframes import Timeframe, relative_to
from foundation.errors import MaraError
from tools.query_spec import Filter, Metric, QuerySpec, compile_query
from tools.schema_profile import ColumnProfile, SchemaProfile, TableProfile

__all__ = ["DataQuestion", "Reading", "parse_question"]


_FOLLOW_UP_START = ("and", "what about", "how about", "same for", "same but", "now", "only", "just", "also", "but", "then",
                    "ok and", "okay and", "instead")


# "how many of those became customers": the previous question's rows, narrowed (its filters kept)
_OF_THOSE = re.compile(r"\b(?:of|among|from|out of)\s+(?:those|them|these)\b|\bthose\b", re.I)
# "what was their click rate?", "how much do they bring in?": a pronoun that points back at the previous rows
_REFERS_BACK = re.compile(r"\b(?:they|them|their|theirs|these|those)\b", re.I)

# "churn rate with and without a ticket": both sides of a flag, side by side
_WITH_AND_WITHOUT = re.compile(r"\bwith(?:out)?\s+(?:and|or|vs\.?|versus)\s+with(?:out)?\b|\bwith(?:out)?\s+\w+\s+(?:vs\.?|versus|compared to)\s+with(?:out)?\b", re.I)

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
    follow = before is not None and (measure is None or text.strip().lower().startswith(_FOLLOW_UP_START) or _OF_THOSE.search(text) is not None
                                    or _refers_back(words, text))
    reading.measure = measure
    conditions = _flag_conditions(words, profile) + (list(measure.where) if measure is not None else [])
    conditions += _entity_values(words, measure)
    conditions += _value_conditions(words, reading, profile, measure if measure is not None else (before.measure if follow and before else None))
    times = _times_per_entity(words, text)
    numbers = _number_conditions(words, profile, measure or (before.measure if follow and before else None), grouped=bool(reading.dims))
    if isinstance(numbers, str):
        return _refusal(reading, numbers)
    having = [c for c in numbers if c.group]  # "which channels had revenue over 10000": each group's total, not rows
    conditions += [c for c in numbers if not c.group]
    contradicted = _contradicted(conditions, measure)
    if measure is not None and (plain := _without_exclusion(measure, conditions)) is not None:
        measure, reading.measure = plain[0], plain[0]
        contradicted.append(plain[1])
    if reading.positive is not None:
        positive_table, positive_column = reading.positive
        if positive_table is not None and positive_column is not None:
            conditions.append(Condition(positive_table, positive_column, ">", 0, f"{positive_column.name.replace('_', ' ')} > 0"))
    # "customers" of an accounts table with a churned flag: the live ones (a churned account is no longer a customer)
    customers = measure is not None and any(t.norm in ("customer", "client") for t in words.tokens) and not any(
        w in ("customer", "client") for w in phrase((measure.entity or measure.table).name))
    lifecycle = _lifecycle_condition(measure, conditions, bool(active) or customers) if measure is not None else None
    if lifecycle is not None:
        conditions.append(lifecycle)
        active = []  # a lifecycle flag says who is active: no "bought recently" window
    reading.filters = conditions
    if _WITH_AND_WITHOUT.search(text):
        reading.versus = True
        _split_flags(reading, measure)
    _versus(reading)
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
            asked = [e.value for t in words.tags for e in t.of("agg") if e.value in ("sum", "avg", "min", "max")]
            if asked:  # "the average by region": of what? never a count of rows in its place
                return _refusal(reading, _which_measure(asked[0], table, profile))
            reading.measure = Measure(table, [Metric(agg="count", alias=table.name)], _plural(table), "count", entity=table)
        else:
            return None
    never = _never(words, reading, profile, today)
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
    if (negated := _negated_period(words, reading, question)) is not None:
        return negated
    if having and (question.sql is not None or question.clarify is not None or not question.spec.dimensions):
        return _refusal(reading, f"I can't apply “{having[0].words}” to each group here. Ask for the measure by group "
                        "and I'll list every group's value.")
    if having:
        question.spec = question.spec.model_copy(update={"having": [
            Filter(column=question.spec.metrics[0].alias, op=c.op, value=c.value) for c in having]})  # type: ignore[arg-type]
        question.qualifiers.extend(c.words for c in having)
    if times is not None:
        return _repeat_count(question, times, profile)
    if share is not None and share[0] == "group" and isinstance(share[1], Condition):
        return _group_share(question, share[1], profile)
    if share is None and (people := _share_of_people(question, words, profile)) is not None:
        return people
    if share is not None and isinstance(share[1], Condition):
        return _threshold_share(question, share[1], profile)
    question.share_of = share
    if (dropped := _dropped_aggregate(words, reading, question, profile)) is not None:
        return _refusal(reading, dropped)
    if (ungrouped := _which_without_group(words, question, profile)) is not None:
        return _refusal(reading, ungrouped)
    question.notes.extend(contradicted)
    question.grounded = any(t.start in words.used and t.of("column", "value", "metric") for t in words.tags) or bool(
        reading.measure is not None and reading.measure.kind != "count")
    for word, column_name in listed.items():
        question.notes.append(f"“{word}” is not a {column_name.replace('_', ' ')} in your data, so it is not included")
    if unknown and question.clarify is None:
        question.clarify = _clarify(unknown, profile, reading)
    return question


# a negated verb ("haven't visited", "did not open", "with no visits", "without a visit"): the words that turn a period into its complement
_VERB_NEGATIONS = frozenset({"not", "never", "no", "without", "haven't", "hasn't", "didn't", "don't", "doesn't", "wasn't", "weren't",
                             "havent", "hasnt", "didnt", "dont", "doesnt", "wasnt", "werent"})


def _negated_period(words: _Words, reading: Reading, question: DataQuestion) -> DataQuestion | None:
    """“members who haven't visited in the last 90 days”: a negated verb next to a period, the negation used by
    nothing else. Answering the period as read would count the opposite (those who did visit), so: on a table
    with one row per counted thing whose period reaches the data's end, the period flips to “before it” (said,
    rows with no date left out and said); anywhere else the planner says what it can't do — never the positive count."""
    if question.sql is not None or question.clarify is not None or question.timeframe is None:
        return None
    time_range = question.spec.time_range
    if time_range is None or time_range.start is None or question.compare:
        return None
    frame = question.timeframe
    negs = [t for t in words.tags if t.of("neg") and t.start not in words.used and words.tokens[t.start].low in _VERB_NEGATIONS]
    if not negs:
        return None
    neg = negs[0]
    words.use(neg)
    asked = {e.value for t in words.tags for e in t.of("agg")}
    dated = (time_range.column or "").split(".")[-1]
    if len(negs) > 1 or not _next_to(words, neg, frame, dated) or not asked <= {"count"}:
        # "haven't not visited", "visited not only in …", "…, not counting gold", "weren't active in …" (a filter
        # negated), "what share … haven't visited": not one verb's negation next to a counted period, so asked back
        return _refusal(reading, f"I couldn't tell what “{words.words(neg)}” negates in “{words.text}”, so I won't "
                        "guess. Could you say it without the negation, or split it into two questions?")
    measure = reading.measure
    column = (time_range.column or "").split(".")[-1]
    reaches_end = question.data_end is None or frame.end is None or str(frame.end - dt.timedelta(days=1)) >= question.data_end
    if (measure is not None and measure.kind == "count" and measure.entity is measure.table and reaches_end
            and not question.spec.dimensions and (time_range.column or "").split(".")[0] == question.spec.table):
        said = frame.label.split(" (")[0]
        question.spec = question.spec.model_copy(update={"time_range": time_range.model_copy(update={"start": None, "end": frame.start})})
        question.qualifiers = [q for q in question.qualifiers if not q.startswith(frame.label)]
        question.qualifiers.append(f"{column} before {frame.start} (not in {said}; rows with no {column} are not counted)")
        question.timeframe = None
        return question
    noun = measure.label if measure is not None else "rows"
    return _refusal(reading, f"You asked about {noun} that did *not* do something in {frame.label}. I can count the "
                    f"ones that did, or the ones whose {column or 'date'} is before {frame.start}, but not the "
                    "negation as asked here, so I won't guess. Which one do you want?")


_NOT_NEGATING = frozenset({"only", "just", "merely", "simply", "counting", "including", "incl", "excluding"})


def _next_to(words: _Words, neg: Tag, frame: Timeframe, dated: str) -> bool:
    """Whether a negation is a verb's next to the period it flips: before the period, at most four words between,
    none of them a filter's word or another column than the period's (“with no tier in …” is no visit), and not
    "not only" / "not counting" (which negate nothing, or a filter)."""
    after = words.tokens[neg.end].low if neg.end < len(words.tokens) else ""
    if after in _NOT_NEGATING:
        return False
    if frame.span == (0, 0):
        return True
    between = [i for i, t in enumerate(words.tokens) if i >= neg.end and t.start < frame.span[0]]
    negated = [tag for i in between if (tag := words.tag_at(i)) is not None and (tag.of("concept", "value", "flag", "neg") or any(
        e.column is not None and e.column.name != dated for e in tag.of("column")))]
    return words.tokens[neg.start].end <= frame.span[0] and len(between) <= 4 and not negated


_RATE_LABEL = re.compile(r"\b(?:rate|share|ratio|percent(?:age)?|pct|churn)\b|%", re.I)
_AVERAGE_LABEL = re.compile(r"\b(?:average|avg|mean|per|aov)\b|\brate\b", re.I)


_SUPERLATIVE_KINDS = ("most", "least", "top", "bottom", "price")


def _which_without_group(words: _Words, question: DataQuestion, profile: SchemaProfile) -> str | None:
    """“Which US state orders the most?” read with no grouping at all: a single total is not an answer to
    “which”, so ask which column to rank — never state the total as if it answered."""
    which = next((i for i, t in enumerate(words.tokens) if t.low == "which"), None)
    if which is None or question.spec.dimensions or question.spec.time_grain or question.sql is not None:
        return None
    if not any(t.of(*_SUPERLATIVE_KINDS) for t in words.tags):
        return None
    table = profile.table(question.spec.table)
    if table is None:
        return None
    said = {t.norm for t in words.tokens[which + 1:which + 4]}
    named = [c.name for tb in _reachable(profile, table) for c in tb.by_role("category") if not c.pii and set(phrase(c.name)) & said]
    others = [c.name for tb in _reachable(profile, table) for c in tb.by_role("category") if not c.pii and c.name not in named]
    options = list(dict.fromkeys(named + others))[:4]
    listed = ", ".join(options[:-1]) + f" or {options[-1]}" if len(options) > 1 else (options[0] if options else "a column")
    return (f"I couldn't tell what “which …” should rank here, so I won't give one total instead. "
            f"Did you mean by {listed}? Ask again with “by …”.")


def _refers_back(words: _Words, text: str) -> bool:
    """A pronoun with no rows named before it in the question (“what was their click rate?”) points back at the
    previous question's rows; “customers who made their first order” names its own."""
    found = _REFERS_BACK.search(text)
    if found is None:
        return False
    return not any(t.of("table") or any(e.value in _ENTITY_CONCEPTS for e in t.of("concept"))
                   for t in words.tags if words.tokens[t.start].end <= found.start())


def _dropped_aggregate(words: _Words, reading: Reading, question: DataQuestion, profile: SchemaProfile) -> str | None:
    """A rate, share, average or median the question asks for that the computed measure is not (“the highest
    churn rate” answered with a count of rows): one short question with options, never a different figure."""
    asked = {e.value: t for t in words.tags for e in t.of("agg")}
    medians = [t for t in words.tokens if t.norm == "median"]
    measure = reading.measure
    if measure is None or question.clarify is not None:
        return None
    table = measure.entity or measure.table
    numbers = [c.name for t in _reachable(profile, measure.table) for c in t.columns if c.role in ("money", "number") and not c.pii]
    if medians:
        listed = " or ".join(f"the average {n}" for n in numbers[:2]) or "an average"
        return (f"I can't compute a median here yet, so I won't give an average in its place. Did you mean {listed}? "
                "Ask again with “average” if that is close enough.")
    if question.sql is not None:
        return None  # the shapes built as SQL (thresholds, repeat counts, anti-joins) read their own words
    label = f"{question.subject} {measure.label}"
    metrics = question.spec.metrics
    how_much = any(a.low == "how" and b.low == "much" for a, b in zip(words.tokens, words.tokens[1:], strict=False))
    if how_much and all(m.agg in ("count", "count_distinct") and m.name is None for m in metrics[:1]):
        money = [c.name for t in _reachable(profile, measure.table) for c in t.by_role("money") if not c.pii]
        listed = ", ".join(f"the total {n}" for n in money[:3]) or "an amount column"
        return (f"“How much” asks for an amount, and the only thing I could compute is a count of {measure.label}, "
                f"so I won't answer with it. Did you mean {listed}, or the number of {_plural(table)}?")
    rated = question.kind in ("share", "percent", "ratio") or question.share_of is not None or bool(_RATE_LABEL.search(label)) or any(
        m.name and _RATE_LABEL.search(m.name.replace("_", " ")) for m in metrics)
    if "share" in asked and not rated:
        flags = [c.name for t in _reachable(profile, measure.table) for c in t.by_role("flag")]
        categories = [c for c in table.by_role("category") if not c.pii]
        options = [f"the share of {_plural(table)} with {f.replace('_', ' ')}" for f in flags[:2]]
        options += [f"the share of {_plural(table)} by {c.name}" for c in categories[:4 - len(options)]]
        listed = "; ".join(options) if options else f"the number of {_plural(table)}"
        return (f"I couldn't tell which rate or share “{words.words(asked['share'])}” means here, so I won't answer with "
                f"{measure.label} instead. Did you mean {listed}?")
    averaged = question.kind in ("ratio", "share", "percent") or any(m.agg == "avg" for m in metrics) or bool(
        reading.per or reading.per_column or reading.per_row) or bool(_AVERAGE_LABEL.search(label))
    if "aov" in {e.value for t in words.tags for e in t.of("concept")} and not averaged:
        asked.setdefault("avg", next(t for t in words.tags if any(e.value == "aov" for e in t.of("concept"))))
    if "avg" in asked and not averaged:
        listed = ", ".join(f"the average {n}" for n in numbers[:3]) or f"the number of {_plural(table)}"
        return (f"The average of what? “{words.words(asked['avg'])}” doesn't match {measure.label}, so I won't answer with it. "
                f"Did you mean {listed}?")
    return None


def _entity_values(words: _Words, measure: Measure | None) -> list[Condition]:
    """“How many customers” on a contacts table whose Lifecycle Stage has a Customer value: the word that named
    the counted rows is also one of their values, so it filters (stated) — unless it is the table's own name."""
    if measure is None or measure.kind != "count":
        return []
    table = measure.entity or measure.table
    out = []
    for tag in words.tags:
        said = {t.norm for t in words.tokens[tag.start:tag.end]}
        if tag.start not in words.used or not tag.of("table", "concept") or said & set(phrase(table.name)):
            continue
        values = [e for e in tag.of("value") if e.table is table and e.strength >= 3 and e.column is not None]
        if len({id(e.column) for e in values}) == 1:
            entry = values[0]
            out.append(Condition(table, entry.column, "=", entry.value, f"{entry.column.name.replace('_', ' ')} is {entry.value}"))  # type: ignore[union-attr, arg-type]
    return out


def _all_and_hit_sql(question: DataQuestion, condition: Condition, profile: SchemaProfile, metric: Metric,
                     keep_groups: bool) -> tuple[str, str] | None:
    """The measure over all rows and over the rows where ``condition`` holds, as two compiled queries (the other
    filters and the period apply to both; groups kept or dropped) — what a share needs; None when one does not compile."""
    spec = question.spec
    every = spec.model_copy(update={"metrics": [metric.model_copy(update={"alias": "n"})], "order": None, "limit": None,
                                    **({} if keep_groups else {"dimensions": [], "time_grain": None})})
    hit = every.model_copy(update={"filters": [*spec.filters, Filter(column=f"{condition.table.name}.{condition.column.name}",
                                                                          op=condition.op, value=condition.value)]})  # type: ignore[arg-type]
    try:
        return compile_query(every, profile), compile_query(hit, profile)
    except MaraError:
        return None


def _threshold_share(question: DataQuestion, threshold: Condition, profile: SchemaProfile) -> DataQuestion:
    """“What share of bookings are over $1,000?”: the measure over the rows past the threshold divided by the
    measure over all rows (the other filters and the period apply to both), as one read-only SQL query."""
    if question.clarify is not None or question.sql is not None:
        return question
    pair = _all_and_hit_sql(question, threshold, profile, question.spec.metrics[0], keep_groups=False)
    if pair is None:
        return question
    sql_all, sql_hit = pair
    question.sql = (f'SELECT round(100.0 * h."n" / NULLIF(a."n", 0), 1) AS "share_pct", a."n" AS "rows" '
                    f"FROM ({sql_hit}) h, ({sql_all}) a")
    question.subject = f"share of {question.rows_label if question.kind == 'count' else question.subject}"
    question.qualifiers = [threshold.words, *question.qualifiers]
    question.rows_alias = "rows"
    question.kind = "value"
    return question


def _group_share(question: DataQuestion, named: Condition, profile: SchemaProfile, counted: Metric | None = None) -> DataQuestion:
    """“Which country has the highest share of customers?”: within each group, the rows where the named value
    holds over all the group's rows (the other filters and the period apply to both) — one read-only query.
    Never the plain count of those rows per group: the biggest group is not the one with the highest share."""
    if question.clarify is not None or question.sql is not None:
        return question
    spec = question.spec
    pair = _all_and_hit_sql(question, named, profile, counted or spec.metrics[0], keep_groups=True)
    if pair is None:
        return question
    sql_all, sql_hit = pair
    keys = [d.split(".", 1)[1] for d in spec.dimensions] + ([spec.time_grain] if spec.time_grain else [])
    quoted = ['"' + k.replace('"', '""') + '"' for k in keys]
    on = " AND ".join(f"a.{k} IS NOT DISTINCT FROM h.{k}" for k in quoted) or "TRUE"
    direction = "ASC" if spec.order == "asc" else "DESC"
    question.sql = (f'SELECT {"".join("a." + k + ", " for k in quoted)}round(100.0 * coalesce(h."n", 0) / NULLIF(a."n", 0), 1) AS "share_pct", '
                    f'a."n" AS "rows" FROM ({sql_all}) a LEFT JOIN ({sql_hit}) h ON {on} '
                    f'ORDER BY "share_pct" {direction} NULLS LAST LIMIT {spec.limit or 200}')
    question.subject = f"share of {question.rows_label} with {named.words}"
    question.rows_alias = "rows"
    question.kind = "value"
    return question


def _share_of_people(question: DataQuestion, words: _Words, profile: SchemaProfile) -> DataQuestion | None:
    """“What percent of donors are recurring?” on a log with one row per gift: the share of distinct people
    with the flag, not the share of rows (a donor who gave ten times counts once)."""
    metric = question.spec.metrics[0] if question.spec.metrics else None
    table = profile.table(question.spec.table)
    if question.kind != "share" or metric is None or metric.agg != "avg" or not metric.column or table is None:
        return None
    key = table.customer_key
    people = any(e.value == "customer" for t in words.tags for e in t.of("concept"))
    if not people or key is None or key == table.key or (flag := table.column(metric.column.split(".", 1)[1])) is None:
        return None
    condition = Condition(table, flag, "=", True, f"{flag.name.replace('_', ' ')} is yes")
    counted = Metric(agg="count_distinct", column=f"{table.name}.{key}", alias="n")
    question.rows_label = f"distinct {key}"
    shared = _group_share(question, condition, profile, counted)
    shared.subject = f"share of people (distinct {key}) with {flag.name.replace('_', ' ')}"
    return shared


def _which_measure(agg: str, table: TableProfile, profile: SchemaProfile) -> str:
    """One short question when an aggregate word names no column: 2–4 of the table's numbers to choose from."""
    word = {"sum": "total", "avg": "average", "min": "lowest", "max": "highest"}[agg]
    numbers = [c.name for t in _reachable(profile, table) for c in t.columns if c.role in ("money", "number") and not c.pii]
    options = [f"the {word} {n}" for n in numbers[:3]] + [f"the number of {_plural(table)}"]
    listed = ", ".join(options[:-1]) + f" or {options[-1]}" if len(options) > 1 else options[0]
    return f"The {word} of what? Did you mean {listed}? Ask again naming one."


def _contradicted(conditions: list[Condition], measure: Measure | None) -> list[str]:
    """“revenue of refunded payments” where revenue leaves refunded ones out: the question names those rows, so
    the measure's own exclusion of them goes (said in a note) instead of an empty answer to a contradiction."""
    if measure is None or not measure.where:
        return []
    notes = []
    for rule in list(measure.where):
        if rule.op not in ("!=", "not in"):
            continue
        left_out = {str(v).lower() for v in (rule.value if isinstance(rule.value, list) else [rule.value])}
        for asked in conditions:
            if asked is rule or asked.column is not rule.column or asked.op not in ("=", "in"):
                continue
            wanted = {str(v).lower() for v in (asked.value if isinstance(asked.value, list) else [asked.value])}
            if wanted & left_out and rule in conditions:
                conditions.remove(rule)
                notes.append(f"{measure.label.split(' (')[0]} usually leaves out {rule.words.split(' is not ')[-1]} rows; "
                             f"you asked about them, so they are included")
    return notes


def _without_exclusion(measure: Measure, conditions: list[Condition]) -> tuple[Measure, str] | None:
    """A semantic metric whose ``where`` leaves out the very rows the question filters to (“revenue of refunded
    payments”): the same aggregate of its column without that exclusion, and the note that says so."""
    definition = measure.definition
    if definition is None or not definition.where or not definition.column or not definition.agg or len(measure.metrics) != 1:
        return None
    for rule in definition.where:
        if rule.op not in ("!=", "not in"):
            continue
        left_out = {str(v).lower() for v in (rule.value if isinstance(rule.value, tuple) else (rule.value,))}
        for asked in conditions:
            wanted = {str(v).lower() for v in (asked.value if isinstance(asked.value, list) else [asked.value])}
            if asked.column.name == rule.column and asked.op in ("=", "in") and wanted & left_out:
                metric = Metric(agg=definition.agg, column=f"{measure.table.name}.{definition.column}",  # type: ignore[arg-type]
                                alias=measure.metrics[0].alias or definition.name)
                label = f"{definition.name} ({definition.agg} of {measure.table.name}.{definition.column})"
                return (Measure(measure.table, [metric], label, measure.kind, entity=measure.entity),
                        f"{definition.name} usually leaves out {', '.join(sorted(left_out))} rows; you asked about them, so they are included")
    return None


def _split_flags(reading: Reading, measure: Measure | None) -> None:
    """“with and without a ticket”: the flag the question names becomes a grouping (yes and no side by side)."""
    own = {id(c) for c in (measure.where if measure is not None else [])}
    for condition in list(reading.filters):
        if condition.column.role == "flag" and id(condition) not in own and isinstance(condition.value, bool):
            reading.filters.remove(condition)
            if not any(c is condition.column for _, c in reading.dims):
                reading.dims.append((condition.table, condition.column))


_TIMES = re.compile(r"\b(more than|over|at least|fewer than|less than|under|at most|exactly)\s+(once|twice|thrice|\d+|one|two|three|four|five)"
                    r"(?:\s+(times?|orders?|purchases?|transactions?|bookings?|payments?|invoices?|visits?))?\b", re.I)
_TIMES_OPS = {"more than": ">", "over": ">", "at least": ">=", "fewer than": "<", "less than": "<", "under": "<", "at most": "<=", "exactly": "="}
_TIMES_N = {"once": 1, "twice": 2, "thrice": 3, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}


def _times_per_entity(words: _Words, text: str) -> tuple[str, int, str] | None:
    """“customers who ordered more than once”, “at least 3 orders”: a threshold on how many orders each customer
    has (op, n, the words), not on a column; its words are explained here."""
    m = _TIMES.search(text)
    if m is None or (m.group(2).lower() not in ("once", "twice", "thrice") and not m.group(3)):
        return None
    n = _TIMES_N.get(m.group(2).lower()) or int(m.group(2))
    for i, token in enumerate(words.tokens):
        if m.start() <= token.start and token.end <= m.end():
            words.used.add(i)
            if (tag := words.tag_at(i)) is not None and tag.of("cmp"):
                words.use(tag)
    return _TIMES_OPS[m.group(1).lower()], n, m.group(0)


def _repeat_count(question: DataQuestion, times: tuple[str, int, str], profile: SchemaProfile) -> DataQuestion:
    """Customers with more than one order: distinct customers of a transaction log grouped, the orders (distinct
    order ids, else rows) of each counted, and those past the threshold counted — one read-only SQL query."""
    if question.clarify is not None or question.sql is not None:
        return question
    op, n, said = times
    spec = question.spec
    table = profile.table(spec.table)
    metric = spec.metrics[0]
    column = metric.column if metric.agg == "count_distinct" and metric.name is None else None
    if metric.name is not None and (definition := profile.metric(metric.name)) is not None and definition.agg == "count_distinct":
        column = f"{definition.table}.{definition.column}"
    if table is None or column is None or column.split(".")[0] != table.name:
        return _refusal(question.reading or Reading(), f"I can't count {question.subject} by how many orders each has here "
                        f"(“{said}”) yet. I can count orders or customers with a filter instead.")
    order_key = getattr(table, "order_key", None) or (table.key if table.key and table.key != column.split(".")[1] else None)
    per = Metric(agg="count_distinct", column=f"{table.name}.{order_key}", alias="n") if order_key else Metric(agg="count", alias="n")
    kept = list(spec.filters)
    revenue = _metric_on(profile, "revenue")
    paid = any(t in ("paid", "pay", "paying", "payed") for t in (question.reading.said if question.reading else []))
    if paid and revenue is not None and profile.table(revenue.table) is table:  # "paid us more than once": payments that went through
        for condition in _where_conditions(table, revenue):
            kept.append(Filter(column=f"{table.name}.{condition.column.name}", op=condition.op, value=condition.value))  # type: ignore[arg-type]
            question.qualifiers.append(condition.words)
    unit = _unit_column(table)
    if unit is not None and _negative(unit):  # cancellations and returns (negative quantities) are not purchases
        kept.append(Filter(column=f"{table.name}.{unit.name}", op=">", value=0))
        question.qualifiers.append(f"{unit.name} > 0 (returns and cancellations left out)")
    grouped = spec.model_copy(update={"metrics": [per], "dimensions": [column], "filters": kept, "order": None, "limit": None,
                                      "time_grain": None})
    try:
        inner = compile_query(grouped, profile)
    except MaraError:
        return question
    rows = f"rows of {table.name}" if order_key is None else f"distinct {order_key}"
    words = {">": "more than", ">=": "at least", "<": "fewer than", "<=": "at most", "=": "exactly"}[op]
    key = column.split(".", 1)[1].replace('"', '""')
    question.sql = f'SELECT count(*) AS "customers" FROM ({inner}) t WHERE t."n" {op} {n} AND t."{key}" IS NOT NULL'
    question.subject = (f"{question.subject.split(' (')[0]} with {words} {n} order{'s' if n != 1 else ''} "
                        f"({rows} per {column.split('.')[1]} {op} {n})")
    question.kind = "count"
    question.rows_alias = None
    return question


def _negative(column: ColumnProfile) -> bool:
    try:
        return column.min is not None and float(column.min) < 0
    except ValueError:
        return False


def _versus(reading: Reading) -> None:
    """“ME vs OR”, “compare Direct and Expedia”: two values of one column side by side (grouped by it, filtered
    to both), never pooled into one figure."""
    if not reading.versus:
        return
    for condition in reading.filters:
        if condition.op == "in" and isinstance(condition.value, list) and len(condition.value) >= 2 and not any(
                c is condition.column for _, c in reading.dims):
            reading.dims.append((condition.table, condition.column))
            reading.order = reading.order or "desc"


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
    out.notes = list(now.notes)
    return out


def _share_of(words: _Words, reading: Reading) -> tuple[str, object] | None:
    """“what percentage of orders were returned”: the share of one value among all rows, by grouping on its column."""
    asks_share = any(e.value == "share" for t in words.tags for e in t.of("agg"))
    measure = reading.measure
    if asks_share and reading.dims and measure is not None and measure.kind == "count":
        own = {id(c) for c in measure.where}
        named = [c for c in reading.filters if c.op in ("=", "in") and id(c) not in own and not any(c.column is col for _, col in reading.dims)]
        if len(named) == 1:  # "which country has the highest share of customers": the share within each group
            reading.filters.remove(named[0])
            return ("group", named[0])
        return None
    if not asks_share or reading.dims or not reading.filters or measure is None or measure.kind == "percent":
        return None
    if measure.metrics[0].agg not in ("count", "count_distinct", "sum") and measure.kind != "count":
        return None
    threshold = next((c for c in reading.filters if c.op in (">", ">=", "<", "<=")), None)
    if threshold is not None:  # "share of invoices over 5000": a share of rows, computed in SQL (see _threshold_share)
        reading.filters.remove(threshold)
        return ("", threshold)
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
            if _tag_explained(tag, reading, used_tables) or all(
                    (t.norm,) in fillers for t in words.tokens[tag.start:tag.end]) and not tag.of("table", "column", "metric", "concept"):
                # an ordinary word that could also be a value ("on" autopay, not Ontario) left unused is filler
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


def _tag_explained(tag: Tag, reading: Reading, used_tables: set[TableProfile]) -> bool:
    if not tag.of(*_CONTENT_KINDS):
        return True  # lexicon words (most, top, by, not ...) explain themselves
    for entry in tag.entries:
        if entry.kind == "table" and entry.table in used_tables:
            return True
        if entry.kind == "concept" and entry.value in ("customer", "order", "product", "active"):
            return True
        if entry.kind == "column" and entry.column is not None and entry.column.role == "date" and entry.table in used_tables:
            return True  # "guests who booked", "invoices paid in Q2": the event a date column records (it picks the period's date)
        if entry.kind == "concept" and reading.measure is not None and entry.value in ("revenue",) and reading.measure.kind != "count" and (
                _money_measure(reading.measure)):
            return True  # "total sales amount": a money measure; "conversion value" answered with Conversions is not
    return False


def _money_measure(measure: Measure) -> bool:
    """The measure adds up money: a money column, or a semantic metric in money (revenue, AOV)."""
    definition = measure.definition
    if definition is not None:
        return getattr(definition, "unit", None) == "money" or definition.name in ("revenue", "aov", "average_order_value")
    for metric in measure.metrics:
        if metric.name is not None:
            return True  # a named semantic metric: its own definition decides (kept as before)
        if metric.column:
            table_name, _, column_name = metric.column.partition(".")
            if measure.table.name == table_name and (column := measure.table.column(column_name)) is not None and column.role == "money":
                return True
    return False


def _clarify(unknown: list[str], profile: SchemaProfile, reading: Reading) -> str:
    """One short question with 2–4 concrete options from the schema."""
    said = ", ".join(f"“{w}”" for w in dict.fromkeys(unknown))
    options: list[str] = []
    values = {v.lower(): (c, v) for t in profile.tables for c in t.by_role("category") if _offerable(c) for v in c.values}
    columns = {" ".join(phrase(c.name)): c.name for t in profile.tables for c in t.columns if _offerable(c)}
    for word in unknown:
        for close in difflib.get_close_matches(word, list(values), n=2, cutoff=0.75):
            column, value = values[close]
            options.append(f"{column.name} = {value}")
        for close in difflib.get_close_matches(word, list(columns), n=2, cutoff=0.75):
            options.append(f"the {columns[close]} column")
    if not options:
        base = reading.measure.table if reading.measure is not None else profile.tables[0]
        tables = [base] + [t for t in profile.tables if t is not base]
        categories = [c for t in tables for c in t.by_role("category") if _offerable(c)]
        categories.sort(key=lambda c: len(c.values))  # few values first: a segment, not a near-unique label
        options = [f"{c.name} ({', '.join(c.values[:3])})" for c in categories[:3]]
    listed = "; ".join(dict.fromkeys(options[:4]))
    hint = f" Did you mean {listed}?" if listed else ""
    return (f"I couldn't match {said} to anything in your data, so I won't guess.{hint} "
            "Ask again with one of those, or without it.")


_PERSON_WORDS = frozenset({"first", "last", "full", "given", "family", "middle", "customer", "contact", "user", "person"})
_KEY_WORDS = frozenset({"id", "uuid", "key", "email", "mail", "phone", "mobile", "surname", "address", "zip", "postcode"})


def _offerable(column: ColumnProfile) -> bool:
    """A column worth offering in a clarifying question: no personal data, no id, e-mail or person's
    name ("First Name", "E-mail"), which are labels of one row, never a way to slice the data."""
    words = column.words
    if column.pii or column.role == "id" or column.pattern is not None or set(words) & _KEY_WORDS:
        return False
    return not ("name" in words and (words == ["name"] or words[0] in _PERSON_WORDS))
