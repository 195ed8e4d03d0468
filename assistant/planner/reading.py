"""Reading a question's words: tagging against the live schema and the lexicon, then groupings, rankings and limits."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from assistant.planner.lexicon import (
    Entry,
    Tag,
    Token,
    lexicon_for,
    phrase,
    static,
    tokenize,
)
from assistant.planner.parse_model import (
    _ENTITY_CONCEPTS,
    _MEASURE_CONCEPTS,
    _PURCHASE,
    Reading,
    _number,
    _Words,
)
from assistant.planner.schema_terms import _concept_column, _label_column, _reachable
from assistant.planner.timeframes import Timeframe, find_timeframes
from tools.schema_profile import ColumnProfile, SchemaProfile, TableProfile


def _read_words(text: str, profile: SchemaProfile, today: dt.date) -> tuple[_Words, list[Timeframe]]:
    tokens = tokenize(text)
    frames = find_timeframes(text, today)
    in_frames = {i for i, t in enumerate(tokens) for f in frames if f.span[0] <= t.start and t.end <= f.span[1]}
    tags = lexicon_for(profile).tag(tokens, in_frames)
    tags = _join_owned_columns(tags)
    tags = sorted(tags + _money_verbs(tokens, tags), key=lambda t: t.start)
    words = _Words(tokens, tags, set(in_frames), text)
    for tag in tags:  # ordinary words as values only with context ("in" is not Indiana)
        keep = [e for e in tag.entries if e.kind != "value" or not e.needs_context or _has_context(words, tag, e)]
        tag.entries = keep
    words.tags = [t for t in tags if t.entries]
    return words, frames


_MONEY_VERBS = frozenset({"raise", "raised", "raises", "give", "gave", "gives", "given", "donate", "donated", "donates",
                          "spend", "spent", "spends", "pay", "paid", "pays", "earn", "earned", "earns", "gross", "grossed"})


def _money_verbs(tokens: list[Token], tags: list[Tag]) -> list[Tag]:
    """“Which campaign raised the most?”, “which region gives the most”: a money verb ranked by a superlative
    asks for an amount, not a count of rows (a revenue word where the verb is otherwise a filler)."""
    tagged = {i for t in tags for i in range(t.start, t.end)}
    out: list[Tag] = []
    for i, token in enumerate(tokens):
        if i in tagged or token.low not in _MONEY_VERBS:
            continue
        after = next((t for t in tags if i < t.start <= i + 2), None)
        if after is not None and after.of("most", "least") and not after.of("table", "column", "value", "concept", "metric"):
            out.append(Tag(i, i + 1, [Entry("concept", 2, value="revenue")]))
    return out


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


_COPULAS = frozenset({"is", "are", "was", "were", "be", "been", "being", "have", "has", "had", "got", "get", "gets"})


def _has_context(words: _Words, tag: Tag, entry: Entry) -> bool:
    said = " ".join(t.text for t in words.tokens[tag.start:tag.end])
    if said.isupper() and len(said) <= 3 and not words.text.isupper():
        return True
    if entry.column is not None and set(phrase(entry.column.name)) & {"status", "state"} and len(said) > 3:
        # a status value said as the row's state: "orders that have shipped", "shipped orders" (not "units shipped to")
        before = words.tokens[tag.start - 1].low if tag.start > 0 else ""
        after = next((t for t in words.tags if t.start == tag.end), None)
        if before in _COPULAS or (after is not None and any(e.kind in ("table", "concept") and (e.table is None or e.table is entry.table)
                                                            for e in after.entries)):
            return True
    for other in words.tags:  # right after its column: "region OR", "state of IN" (not "in region", "region brings in")
        gap = words.tokens[other.end:tag.start]
        if other is not tag and other.end <= tag.start and all(t.low in ("of", "is", "=", "in", "equals") for t in gap) and len(gap) <= 1 and any(
                e.kind == "column" and e.column is entry.column for e in other.entries):
            return True
        # right before its column: "high priority", "paid status" (the column word says which "high"), never a
        # short function word ("in region OR": "in" is not Indiana; "or", "me", "us", "all")
        if other is not tag and other.start == tag.end and not all(len(t.low) <= 3 for t in words.tokens[tag.start:tag.end]) and any(e.kind == "column" and e.column is entry.column for e in other.entries):
            return True
    return False


def read_question(text: str, profile: SchemaProfile, today: dt.date) -> tuple[Reading, _Words]:
    """The parts a question names, resolved against the schema (measure resolution comes later)."""
    words, frames = _read_words(text, profile, today)
    reading = Reading(frames=list(frames), said=[t.norm for t in words.tokens])
    reading.purchase = any(t.low in _PURCHASE for t in words.tokens)
    reading.compare = bool(words.has("compare")) and len(frames) >= 2
    reading.versus = bool(words.has("compare"))
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


def _copied(line: ColumnProfile, header: ColumnProfile) -> bool:
    """The line's column is a copy of its header's (“Ship Country” on order lines and on the order): both hold the
    same values (every order has lines). A subset is not enough: a line status (shipped, cancelled) is not the
    order's status (pending, shipped, cancelled, refunded), nor the demo's orders.channel campaigns.channel."""
    own, theirs = {str(v).lower() for v in line.values}, {str(v).lower() for v in header.values}
    return bool(own) and own == theirs


def _entity_of(tag: Tag, profile: SchemaProfile) -> tuple[TableProfile, ColumnProfile] | None:
    """The column a group-by target names: a column, or the label column of a table or concept."""
    # never a personal-data column: one group per person ("email campaign" is not the Email column)
    named = [e for e in tag.entries if (e.kind == "column" and e.column is not None and e.column.role != "money" and not e.column.pii)
             or e.kind == "table"]
    if named:
        best = max(named, key=lambda e: (e.strength, e.kind == "column", e.column is not None and e.column.role in ("category", "text", "date", "flag"),
                                         e.table.rows if e.table else 0))
        if best.kind == "column" and best.column is not None and best.table is not None:
            # "Ship Country" on the order lines and on their order: the order's (one value per order, reachable from both)
            header = [e for e in named if e.kind == "column" and e.column is not None and e.table is not None and e.table is not best.table
                      and e.column.name.lower() == best.column.name.lower() and e.strength == best.strength
                      and e.table in _reachable(profile, best.table) and _copied(best.column, e.column)]
            if header:
                best = header[0]
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
    _size_of_rows(words, profile)
    for tag in list(words.tags):
        kinds = {e.kind for e in tag.entries}
        if "price" in kinds:
            _read_price(words, reading, profile, tag)
            continue
        if kinds & {"which", "top", "bottom", "most"}:
            after = words.tokens[tag.end] if tag.end < len(words.tokens) else None
            grain_tag = words.tag_at(tag.end)
            if after is not None and grain_tag is not None and grain_tag.start == tag.end and grain_tag.of("grain"):
                # "the best day of the week", "which hour of the day is busiest"
                reading.grain, reading.top_group = next(e.value for e in grain_tag.entries if e.kind == "grain"), True
                reading.order = "asc" if "bottom" in kinds else "desc"
                words.use(tag)
                words.use(grain_tag)
                continue
            if after is not None and after.norm in ("month", "week", "day", "quarter", "year") and grain_tag is None:
                reading.grain, reading.top_group = after.norm, True  # "which month had the most orders"
                reading.order = "asc" if "bottom" in kinds else "desc"
                words.use(tag)
                words.used.add(tag.end)
                continue
        if "group_by" in kinds or "which" in kinds:
            target = words.next_tag(tag.end)
            if target is None and "group_by" in kinds and (kind := _kind_column(words, tag.end)) is not None:
                modifier, column_tag = kind
                entity = _entity_of(column_tag, profile)
                if entity is not None:  # "by payment type": the table's one Type column (said in the answer)
                    reading.dims.append(entity)
                    reading.notes.append(f"“{modifier} {words.words(column_tag)}” read as the {entity[1].name} column")
                    words.use(tag)
                    words.use(column_tag)
                    words.used.add(tag.end)
                    continue
            if target is None:
                if "group_by" in kinds and tag.end < len(words.tokens):
                    unknown = _unknown_run(words, tag.end) or _kind_word(words, tag.end)
                    if unknown:
                        unmatched.append(unknown)
                        words.use(tag)
                continue
            said = words.words(tag)
            per_word = said in ("per", "each", "for each", "for every") and reading_has_measure_before(words, tag)
            if per_word and (per := next((e.value for e in target.of("concept") if e.value in ("customer", "order")), None)):
                reading.per = per  # "revenue per customer", "units per order": a ratio to the count of customers/orders
                words.use(tag)
                words.use(target)
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
            if "group_by" in kinds and tag.end < len(words.tokens) and words.tokens[tag.end].low in ("all", "every"):
                words.use(tag)  # "across all campaigns": the total, not a breakdown
                continue
            if "group_by" in kinds and (reading.dims or reading.limit) and not _names_a_grouping_column(target) and (
                    target.of("table") or any(e.value in _ENTITY_CONCEPTS for e in target.of("concept"))):
                reading.ranking = True  # "top 3 countries by users": ranked by the count of users
                words.use(tag)
                continue
            if "group_by" in kinds and (reading.dims or reading.limit or words.has("top") or words.has("most")) and any(
                    e.column is not None and e.column.role == "number" for e in target.of("column")):
                reading.ranking = True  # "top 5 products by quantity": ranked by it
                words.use(tag)
                continue
            summed = [e for e in target.of("column") if e.column is not None and e.table is not None and e.column.role in ("number", "money")
                      and e.strength >= 2]
            if per_word and summed and not target.of("table"):
                best = max(summed, key=lambda e: e.strength)
                reading.per_total = (best.table, best.column)  # type: ignore[assignment]  # "cost per conversion": a ratio of sums
                words.use(tag)
                words.use(target)
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
            if "which" in kinds and "group_by" not in kinds and (following := words.tag_at(target.end)) is not None and following.of("agg"):
                continue  # "what's our churn rate": a measure phrase, not "which churn date"
            if entity not in reading.dims:
                reading.dims.append(entity)
            words.use(tag)
            words.use(target)
            if "which" in kinds:
                reading.top_group = True
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
            if _measure_phrase(words, target):
                continue  # "the highest churn rate", "best open rate": what is ranked by, not a grouping
            entity = _entity_of(target, profile)
            if entity is None:
                continue
            if entity not in reading.dims:
                reading.dims.append(entity)
            reading.order = "asc" if "bottom" in kinds and "top" not in kinds else "desc"
            reading.limit = int(n) if n else 10
            last = words.tokens[target.end - 1]
            if n is None and last.low == last.norm:
                reading.top_group = True  # "our best-selling item", "the biggest customer": one group, named first
            words.use(tag)
            words.use(target)
    reading.unmatched = unmatched


def _names_a_grouping_column(target: Tag) -> bool:
    """A word that clearly names a column to group by — not a person's id or e-mail that a word like “donors”
    or “guests” only resembles (“top 3 countries by donors” ranks countries by their donors)."""
    return any(e.column is not None and e.strength >= 2 and e.column.role != "id" and not e.column.pii for e in target.of("column"))


def _measure_phrase(words: _Words, target: Tag) -> bool:
    """A superlative's target that is a measure, never a group: a column of numbers, money or dates ("highest
    Open Rate", "most recent churn"), or a word followed by a rate/average/total word ("highest churn rate")."""
    if target.of("table") or any(e.value in _ENTITY_CONCEPTS for e in target.of("concept")):
        return False
    if any(e.column is not None and e.column.role in ("number", "money", "date") for e in target.of("column")):
        return True
    following = words.tag_at(target.end)
    return following is not None and bool(following.of("agg", "metric")) and not following.of("table", "column")


def _row_noun(words: _Words, tag: Tag) -> TableProfile | None:
    """The table whose single row a noun names (“invoice”, “booking”, said in the singular): a transaction,
    not a customer, product or campaign (their “biggest” is a ranking by what they bring)."""
    tables = [e.table for e in tag.of("table") if e.table is not None]
    if not tables or tag.of("column"):
        return None
    last = words.tokens[tag.end - 1]
    if last.low != last.norm:
        return None  # plural: "the biggest invoices" lists them
    entities = {w for c in ("customer", "product", "campaign") for w in static()["concepts"].get(c, [])}
    table = tables[0]
    name = " ".join(phrase(table.name)[-1:])
    return None if name in entities or last.norm in entities else table


def _size_of_rows(words: _Words, profile: SchemaProfile) -> None:
    """“the biggest invoice”, “our smallest order”: the largest/smallest value of one row (an aggregate word),
    not a ranking of rows by count. “the top 5 invoices”, “biggest customers” stay rankings."""
    sizes = static()["size_words"]
    for tag in words.tags:
        key = tuple(t.norm for t in words.tokens[tag.start:tag.end])
        if key not in sizes or tag.start in words.used:
            continue
        target = words.next_tag(tag.end, max_gap=1)
        if target is None or _row_noun(words, target) is None:
            continue
        tag.entries = [Entry("agg", value=sizes[key])]


def _read_price(words: _Words, reading: Reading, profile: SchemaProfile, tag: Tag) -> None:
    """“the most expensive room type”, “which plan is cheapest”: a superlative over a price; the group named
    next (if any) is what is ranked. A row noun (“the cheapest booking”) is left for the measure."""
    agg = next(e.value for e in tag.entries if e.kind == "price")
    reading.price = agg
    reading.order = "asc" if agg == "min" else "desc"
    words.use(tag)
    target = words.next_tag(tag.end, max_gap=1)
    if target is None or target.of("table", "agg", "metric", "price") and not target.of("column"):
        return  # "the cheapest booking(s)": the rows priced, not a grouping
    entity = _entity_of(target, profile)
    if entity is None or entity[1].role in ("money", "number", "date"):
        return
    if entity not in reading.dims:
        reading.dims.append(entity)
    reading.top_group = True
    words.use(target)


def reading_has_measure_before(words: _Words, tag: Tag) -> bool:
    return any(t.start < tag.start and (t.of("metric", "table") or any(e.value in _MEASURE_CONCEPTS + _ENTITY_CONCEPTS for e in t.of("concept"))
                                        or any(e.column is not None and e.column.role in ("money", "number") for e in t.of("column")))
               for t in words.tags)


_KIND_COLUMNS = frozenset({"type", "kind", "status", "category", "method", "channel", "source", "group", "tier", "level", "stage"})


def _kind_column(words: _Words, start: int) -> tuple[str, Tag] | None:
    """“by payment type”, “by ticket status”: one unknown word, then a column named only by a generic kind word —
    the modifier says whose type it is, and the table has just that one."""
    if start + 1 >= len(words.tokens) or words.tag_at(start) is not None or start in words.used:
        return None
    column_tag = words.tag_at(start + 1)
    if column_tag is None or column_tag.start != start + 1 or column_tag.of("table", "value"):
        return None
    columns = [e.column for e in column_tag.of("column") if e.column is not None and e.strength >= 3]
    if len(columns) != 1 or not set(phrase(columns[0].name)) <= _KIND_COLUMNS:
        return None
    return words.tokens[start].low, column_tag


def _kind_word(words: _Words, start: int) -> str:
    """“of each type”, “by kind”: a grouping by a word that names no column is reported, never dropped."""
    token = words.tokens[start] if start < len(words.tokens) else None
    if token is not None and token.norm in ("type", "kind", "sort", "category", "group", "segment") and words.tag_at(start) is None:
        words.used.add(start)
        return token.low
    return ""


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

