"""Filters a question names: category values, flags, negations and numeric comparisons."""

from __future__ import annotations

from assistant.planner.lexicon import (
    GENERIC,
    Entry,
    Tag,
    phrase,
    static,
)
from assistant.planner.measure import _flag_tags, flag_word_negated
from assistant.planner.parse_model import (
    _MEASURE_CONCEPTS,
    Condition,
    Measure,
    Reading,
    _number,
    _Words,
)
from assistant.planner.schema_terms import _plural, _reachable, _revenue_columns
from tools.schema_profile import ColumnProfile, SchemaProfile, TableProfile


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
        said = _same_values(column, list(dict.fromkeys(str(e.value) for _, e in items)))
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


def _same_values(column: ColumnProfile, said: list[str]) -> list[str]:
    """The values said, with the column's other spellings of them: "California" also "CA" and "ca" in a state
    column typed by hand, "Berlin" also "berlin" — never a filter that silently drops rows of the same thing."""
    states = {str(code).lower(): {phrase(str(a)) for a in names} for code, names in (static().get("state_codes") or {}).items()}
    statewise = bool(set(phrase(column.name)) & {"state", "province", "region", "st"})

    def key(value: str) -> str:
        low = value.strip().lower()
        if statewise:
            if low in states:
                return low
            return next((code for code, names in states.items() if phrase(value) in names), low)
        return low

    wanted = {key(v) for v in said}
    same = [v for v in column.values if key(v) in wanted and v not in said]
    return said + same


def _flag_conditions(words: _Words, profile: SchemaProfile) -> list[Condition]:
    out = []
    for start, table, column in _flag_tags(words, profile):
        own = set(phrase(column.name))
        negative = _negated(words, start) or any(t.low in ("unsubscribed", "out") and t.norm not in own
                                                 for t in words.tokens[max(0, start - 2):start + 3]) or any(
            flag_word_negated(t.norm, column) for t in words.tokens)
        out.append(Condition(table, column, "=", not negative, f"{column.name.replace('_', ' ')} is {'no' if negative else 'yes'}"))
    return out


_GROWTH = frozenset({"grow", "grew", "grown", "growth", "rise", "rose", "risen", "fall", "fell", "fallen", "drop", "dropped",
                     "increase", "increased", "decrease", "decreased", "change", "changed", "up", "down", "decline", "declined"})
_OP_WORDS = {">": "over", ">=": "at least", "<": "under", "<=": "at most", "=": "of", "!=": "other than"}


def _number_conditions(words: _Words, profile: SchemaProfile, measure: Measure | None,
                       grouped: bool = False) -> list[Condition] | str:
    """“over $100”, “at least 3 items”: a comparison on the column named next to the number.

    With ``grouped`` (“which channels”, “by channel”), a number that follows the measure itself (“revenue
    higher than 10000”) is a threshold on each group's total (``group=True``, a HAVING), not on single rows;
    one that follows a row column or a table (“orders over $100”) stays a row filter. A percent after a
    growth word (“grow more than 10%”) is a change between periods, never a row threshold: asked back."""
    out: list[Condition] = []
    for tag in words.has("cmp"):
        if tag.start in words.used:
            continue  # already read ("more than once": a count of orders per customer)
        op = next(e.value for e in tag.entries if e.kind == "cmp")
        i = tag.end
        while i < len(words.tokens) and words.tokens[i].low in ("$", "€", "£", "#"):
            words.used.add(i)
            i += 1
        if i >= len(words.tokens) or (number := _number(words.tokens[i])) is None:
            continue
        percent = i + 1 < len(words.tokens) and words.tokens[i + 1].low in ("%", "percent", "pct")
        if percent and any(t.low in _GROWTH for t in words.tokens):
            return (f"I can't check a change against a threshold in one step yet (“{words.words(tag)} "
                    f"{words.tokens[i].text}{words.tokens[i + 1].text}”). Ask for the comparison, e.g. "
                    "“revenue last month vs the month before”, and I'll give the % change.")
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
        if (column_entry is None and grouped and measure is not None and measure.kind != "count" and before is not None
                and not before.of("table") and not percent):
            alias = measure.metrics[0].alias or "value"
            out.append(Condition(table, column, str(op), number,
                                 f"{alias.replace('_', ' ')} {_OP_WORDS.get(str(op), str(op))} {number:,g}", group=True))
            continue
        out.append(Condition(table, column, str(op), number, f"{column.name.replace('_', ' ')} {op} {number:g}"))
    return out



_LAPSED = frozenset({"churned", "churn", "cancelled", "canceled", "cancel", "closed", "inactive", "lapsed", "deleted", "lost",
                     "deactivated", "terminated", "ended", "expired"})
_RECURRING = frozenset({"mrr", "arr", "recurring", "subscription"})


def _lifecycle_flag(table: TableProfile) -> tuple[ColumnProfile, bool] | None:
    """The flag that says whether a row (an account, a subscription) is still live: ``is_churned`` /
    ``cancelled`` (live when false) or ``is_active`` (live when true)."""
    for column in table.by_role("flag"):
        words = set(phrase(column.name))
        if words & _LAPSED:
            return column, False
        if "active" in words:
            return column, True
    return None


def _recurring(measure: Measure) -> bool:
    """A recurring-revenue measure (MRR, ARR): by definition the revenue of live subscriptions only."""
    column = (measure.metrics[0].column or "").rsplit(".", 1)[-1] or (measure.definition.column if measure.definition else None) or ""
    return bool(set(phrase(column)) & _RECURRING)


def _lifecycle_condition(measure: Measure, conditions: list[Condition], active: bool) -> Condition | None:
    """“active customers”, “current MRR”, “MRR by plan”: only live rows when the table has a lifecycle flag and
    the question does not filter on it itself. The condition's words state the assumption."""
    table = measure.entity or measure.table
    found = _lifecycle_flag(table)
    if found is None or not (active or _recurring(measure)) or any(c.column is found[0] for c in conditions):
        return None
    if any(found[0].name in (m.column or "") for m in measure.metrics) or (measure.definition and measure.definition.column == found[0].name):
        return None  # the churn rate itself
    column, keep = found
    said = f"{column.name.replace('_', ' ')} is {'yes' if keep else 'no'}"
    return Condition(table, column, "=", keep, f"active {_plural(table)} only ({said})")
