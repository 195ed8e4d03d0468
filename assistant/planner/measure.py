"""The measure a question computes: a semantic metric, a column's aggregate, revenue, a count of an entity, a flag's share or a ratio."""

from __future__ import annotations

from assistant.planner.lexicon import (
    GENERIC,
    Entry,
    Tag,
    phrase,
    static,
)
from assistant.planner.parse_model import _ENTITY_CONCEPTS, Condition, Measure, Reading, _Words
from assistant.planner.schema_terms import (
    _additive,
    _concept_column,
    _metric_on,
    _parents,
    _plural,
    _reachable,
    _revenue_columns,
    _revenue_rank,
    _where_note,
)
from tools.query_spec import Metric
from tools.schema_profile import ColumnProfile, MetricDefinition, SchemaProfile, TableProfile


def _flag_forms(column: ColumnProfile) -> list[set[tuple[str, ...]]]:
    """Each distinctive word of a flag's name with its forms (“churned” also “churn”); all must be said."""
    fillers = static()["fillers_set"]
    out: list[set[tuple[str, ...]]] = []
    name = phrase(column.name)
    words = [w for w in name if not (w in GENERIC or w in ("opt", "flag") or (w,) in fillers)]
    if not words:  # a flag named by an ordinary verb alone ("Paid", "is_shipped"): that word, said, names it
        words = [w for w in name if w not in GENERIC and w not in ("opt", "flag") and len(w) > 2]
    for word in words:
        forms: set[tuple[str, ...]] = {(word,)}
        if word.endswith("ed") and len(word) > 5:
            forms |= {(word[:-2],), (word[:-1],)}
        forms |= {(f"{prefix}{w[0]}",) for w in list(forms) for prefix in _NEGATIVE_PREFIXES}
        out.append(forms)
    return out


_NEGATIVE_PREFIXES = ("un", "non")


def flag_word_negated(word: str, column: ColumnProfile) -> bool:
    """“unpaid”, “unverified”, “non-renewing”: the flag's own word with a negative prefix (or a status word the
    lexicon says means it, “outstanding” = unpaid) — the flag is false."""
    word = static()["status_words"].get(word, word)
    own = {w for forms in _flag_forms(column) for (w,) in forms if not w.startswith(_NEGATIVE_PREFIXES)}
    return any(word.startswith(p) and word[len(p):] in own for p in _NEGATIVE_PREFIXES)


_NO_COLUMN = ColumnProfile(name="", type="", role="text")  # marks no flag (see _flag_tags)
_CONSENT = ("opt", "subscri", "consent", "agreed", "permission", "reachable", "marketable", "contactable")


def _flag_tags(words: _Words, profile: SchemaProfile, only: ColumnProfile | None = None) -> list[tuple[int, TableProfile, ColumnProfile]]:
    """Flag columns the question names: by a tag, or (consent flags) every distinctive word of the name
    anywhere with a consent word (“opted in to SMS” → sms_opt_in). With ``only``, just that flag's words
    are marked used (the measure's flag: the others stay for filters, “churn rate without autopay”)."""
    out: list[tuple[int, TableProfile, ColumnProfile]] = []
    status = static()["status_words"]
    norms = [status.get(t.norm, t.norm) for t in words.tokens]  # "outstanding" names the paid flag, negated
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
            out.append((min(hits), table, column))
            if only is not None and column is not only:
                continue
            for i in hits:
                words.used.add(i)
                if (t := words.tag_at(i)) is not None:
                    t.entries = [e for e in t.entries if e.kind != "value"]
                    words.use(t)
    return out


def _metric_measure(profile: SchemaProfile, definition: MetricDefinition, label: str | None = None) -> Measure | None:
    table = profile.table(definition.table)
    if table is None:
        return None
    rows = _plural(table)
    text = label or (definition.description or definition.name.replace("_", " "))
    convention = f" — {definition.convention}" if definition.convention else ""
    if label is None and definition.agg == "sum" and definition.column:
        text = f"{definition.name.replace('_', ' ')} (sum of {table.name}.{definition.column}{convention}{_where_note(definition, rows)})"
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
            if metric.ambiguous_with and metric.column and not named:  # the semantic model says two columns tie
                names = ", ".join([metric.column, *metric.ambiguous_with][:4])
                return f"Your {table.name} table has several money columns that could be revenue ({names}). Which one do you mean?"
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


_CONVENTION_KINDS = {
    "discount": frozenset({"discount", "discounts", "promo", "promos", "promotion", "promotions", "coupon", "coupons",
                           "markdown", "markdowns", "comp", "comps"}),
    "fee": frozenset({"fee", "fees", "commission", "commissions", "charges"}),
    "refund": frozenset({"refund", "refunds", "refunded", "return", "returns", "chargeback", "chargebacks"}),
    "tax": frozenset({"tax", "taxes", "vat", "gst"}),
}
_REVENUE_WORDS = frozenset({"sale", "sales", "revenue", "revenues", "turnover", "takings", "income"})
_BEFORE = frozenset({"before", "pre", "gross"})
_AFTER = frozenset({"after", "net", "less", "minus", "deducting"})


def _named_convention(words: _Words) -> tuple[str, str, list[int]] | None:
    """A money convention the question names: "revenue after refunds", "sales before discounts", "net of fees",
    "gross of tax" → ("after" | "before", kind, the token positions said)."""
    tokens = words.tokens
    for i, token in enumerate(tokens[:-1]):
        direction = "before" if token.low in _BEFORE else "after" if token.low in _AFTER else None
        if direction is None:
            continue
        if token.low in ("net", "gross") and tokens[i + 1].norm in _REVENUE_WORDS:
            return direction, "*", [i]  # "net sales", "gross revenue": whichever deduction the data shows
        j = i + 2 if tokens[i + 1].low == "of" and i + 2 < len(tokens) else i + 1
        if (j == i + 1 and token.low in ("net", "gross")) or tokens[j].low in ("any", "all", "the"):
            j += 1 if j + 1 < len(tokens) and tokens[j].low in ("any", "all", "the") else 0
            if token.low in ("net", "gross") and j == i + 1:
                continue  # "net sales", "gross revenue": a column's name, not a convention with a named deduction
        kind = next((k for k, forms in _CONVENTION_KINDS.items() if tokens[j].low in forms or tokens[j].norm in forms), None)
        if kind is not None:
            return direction, kind, list(range(i, j + 1))
    return None


def _convention_measure(profile: SchemaProfile, words: _Words, required: list[TableProfile]) -> Measure | str | None:
    """Revenue as the question's named convention ("after refunds", "before discounts", "net of fees"): the related
    money column the data shows (a net that is the gross minus discounts on every row), or the revenue rows with the
    refund rows netted in or left out — said in the answer. A convention the data cannot tell apart is said, never
    answered with plain revenue as if it were the one asked for."""
    named = _named_convention(words)
    metric = _metric_on(profile, "revenue")
    if named is None or metric is None or not metric.column:
        return None
    table = profile.table(metric.table)
    if table is None or not all(r in _reachable(profile, table) for r in required):
        return None
    direction, kind, said = named
    any_part = kind == "*"
    if any_part and not any(op == "-" and metric.column.lower() in (a.lower(), b.lower()) for a, b, op, _ in table.relations):
        return None  # "net sales" where no money column relates to revenue: the words are read as usual
    words.used.update(said)
    for i in said:
        if (tag := words.tag_at(i)) is not None:
            words.use(tag)
    forms = _CONVENTION_KINDS.get(kind, frozenset())
    where = _where_conditions(table, metric)
    rows = _plural(table)
    for smaller, larger, op, part in table.relations:
        if op != "-" or not (any_part or set(phrase(part)) & forms):
            continue
        kind = kind if not any_part else phrase(part)[-1].rstrip("s") if phrase(part) else "deduction"
        wanted = larger if direction == "before" else smaller
        if metric.column.lower() not in (smaller.lower(), larger.lower()) or table.column(wanted) is None:
            continue
        if wanted.lower() == metric.column.lower():
            return _metric_measure(profile, metric)  # revenue already is that convention; its answer says so
        note = f"{larger}, before {part}" if direction == "before" else f"{smaller} = {larger} minus {part}"
        return Measure(table, [Metric(agg="sum", column=f"{table.name}.{wanted}", alias="revenue")],
                       f"revenue {direction} {kind}s (sum of {table.name}.{wanted}: {note})", where=where)
    if kind == "refund":
        refund_values = {str(v) for item in metric.where if item.op in ("!=", "not in")
                         for v in (item.value if isinstance(item.value, tuple) else (item.value,)) if _REFUNDISH(str(v))}
        refunds = _metric_on(profile, "refunds")
        negative = refunds is not None and refunds.table == metric.table  # refunds are rows of negative amounts
        if refund_values and (negative == (direction == "after")):
            kept = [c for c in (_strip_values(c, refund_values) for c in where) if c is not None]
            shown = " / ".join(sorted(refund_values))
            how = f"{shown} rows (negative amounts) netted in" if negative else f"{shown} {rows} included"
            return Measure(table, [Metric(agg="sum", column=f"{table.name}.{metric.column}", alias="revenue")],
                           f"revenue {direction} refunds (sum of {table.name}.{metric.column}, {how})", where=kept)
        if refund_values:
            return _metric_measure(profile, metric)  # revenue already leaves refunded rows out (before refunds when they
            # are rows of their own, after them when the refunded orders are dropped); the answer says which
    return (f"I can't tell revenue {direction} {kind}s apart from revenue in your data: no money column of {table.name} is "
            f"the revenue column {'plus' if direction == 'before' else 'minus'} {kind}s row by row. Revenue here is "
            f"{metric.description or 'the sum of ' + metric.column}. Did you mean that, or a specific column?")


def _REFUNDISH(value: str) -> bool:
    return any(w in value.lower() for w in ("refund", "return", "chargeback", "reversal", "reversed"))


def _strip_values(condition: Condition, values: set[str]) -> Condition | None:
    """``condition`` without ``values`` in its not-in list (None when nothing is left to leave out)."""
    if condition.op not in ("!=", "not in"):
        return condition
    listed = condition.value if isinstance(condition.value, list) else [condition.value]
    rest = [v for v in listed if str(v) not in values]
    if not rest:
        return None
    if len(rest) == len(listed):
        return condition
    return Condition(condition.table, condition.column, "not in", rest,
                     f"{condition.column.name.replace('_', ' ')} is not {' or '.join(str(v) for v in rest)}")


def _count_measure(profile: SchemaProfile, entity: Entry) -> Measure | None:
    """Count what a table or concept names: the table's rows, else distinct keys of the concept."""
    if entity.kind == "table" and entity.table is not None:
        for name in ("orders", "customers"):  # a line-item table named "orders": its orders metric counts distinct orders
            metric = _metric_on(profile, name)
            words = {phrase(str(w)) for w in static()["concepts"][name[:-1]]}
            if metric is not None and metric.table.lower() == entity.table.name.lower() and phrase(entity.table.name)[-1:] in words:
                return _metric_measure(profile, metric, name)
        metric = _metric_on(profile, "orders")
        if (metric is not None and metric.table.lower() == entity.table.name.lower() and metric.agg == "count"
                and not metric.column and metric.where):
            # "how many gifts": the purchase table's rows as its orders metric counts them (not the refunded ones), said
            rows = _plural(entity.table)
            return _metric_measure(profile, metric, f"{rows}{_where_note(metric, rows)}")
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
    # "how much ... on average", "how many orders does a customer place, on average": the average, never dropped
    agg = "avg" if said and said[0] in ("sum", "count") and "avg" in said else next(iter(said), None)
    if reading.price is not None and agg in (None, "max", "min"):
        agg = "avg" if reading.dims else reading.price  # "the most expensive plan": the highest average price
    concepts = {e.value: t for t in words.tags for e in t.of("concept") if t.start not in words.used}
    metric_tags = [(t, e.metric) for t in words.tags for e in t.of("metric") if e.metric is not None and t.start not in words.used]

    def done(*tags: Tag | None) -> None:
        for tag in tags:
            if tag is not None:
                words.use(tag)
        for tag, _ in aggs:
            words.use(tag)

    if "revenue" in concepts and agg != "count" and _named_convention(words) is not None:
        found = _convention_measure(profile, words, required)
        if found is not None:
            done(concepts["revenue"])
            return found
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
    how_much = agg == "sum" and any(t.low == "much" for t in words.tokens) and "revenue" not in concepts
    money = [(t, e) for t in words.tags for e in t.of("column") if t.start not in words.used
             and e.column is not None and e.column.role in ("money", "number")
             # "refunded" is a status first — but "how much have we refunded" asks for the money of Amount Refunded
             and not (e.strength < 3 and any(v.strength >= 2 for v in t.of("value")) and not (how_much and e.column.role == "money"))
             and not any(te.strength > e.strength for te in t.of("table"))]  # "events" names the table, not event_timestamp
    named = [m for m in money if m[1].strength >= 2] or (money if not concepts.keys() & {"revenue", "units"} else [])
    if concepts.keys() & {"revenue", "units"} or len(named) > 1:  # "total sales": "total" is the sum, not a column
        named = [m for m in named if not m[0].of("agg")]
    if "units" in concepts and not named:
        done(concepts["units"])
        if (metric := _metric_on(profile, "units")) is not None and reading.per is None:
            return _metric_measure(profile, metric, "units sold")
        for table in sorted(profile.tables, key=lambda t: t.rows, reverse=True):
            column = _unit_column(table)
            if column is not None and all(r in _reachable(profile, table) for r in required):
                if reading.per in ("customer", "order") and (per := _units_per(profile, table, reading.per)) is not None:
                    return per  # "units per order": the sum over distinct orders
                return Measure(table, [Metric(agg="sum", column=f"{table.name}.{column.name}", alias="units")], f"units sold (sum of {column.name})")
        return None
    flags = _flag_tags(words, profile, only=_NO_COLUMN) if agg == "share" else []
    if agg == "share" and flags:
        _, table, column = flags[0]
        _flag_tags(words, profile, only=column)
        done()
        rate = _metric_on(profile, f"{column.name}_rate")
        if rate is not None:
            return _metric_measure(profile, rate, f"share with {column.name.replace('_', ' ')} (of all {_plural(table)})")
        return Measure(table, [Metric(agg="avg", column=f"{table.name}.{column.name}", alias=f"{column.name}_share")],
                       f"share of {_plural(table)} with {column.name.replace('_', ' ')}", "share")
    entity_said = [(t, e) for t in words.tags if t.start not in words.used for e in t.entries
                   if e.kind == "table" or (e.kind == "concept" and e.value in _ENTITY_CONCEPTS)]
    counted_first = bool(named) and any(t.end == named[0][0].start and any(e.value == "count" for e in t.of("agg")) for t, _ in aggs)
    if counted_first and named[0][1].column is not None and named[0][1].column.role == "number" and _additive(named[0][1].column):
        agg = "sum"  # "how many conversions did the Brand campaign get": the sum of Conversions, not campaigns with some
    if named and agg == "count" and entity_said and any(t is not named[0][0] for t, _ in entity_said):
        tag, entry = named[0]
        reading.positive = (entry.table, entry.column)  # "how many payments got disputed": Disputed Amount > 0
        words.use(tag)
        named = []
    if named and agg == "count" and not entity_said and named[0][1].column is not None and _additive(named[0][1].column):
        agg = "sum"  # "how many abuse complaints": the sum of a count column
    counted_money = next((t for i, t in enumerate(words.tokens[1:], 1) if words.tokens[i - 1].low == "many" and t.norm in _CURRENCY_WORDS), None)
    if agg == "count" and counted_money is not None:  # "how many euros": an amount or a number of payments? never guess
        table = next((tb for tb in required), None) or max(profile.tables, key=lambda tb: tb.rows)
        money_columns = ", ".join(c.name for c in table.by_role("money")[:3]) or "an amount column"
        return (f"“How many {counted_money.low}” — do you mean the total amount ({money_columns}) or the number of "
                f"{_plural(table)}? Ask again with “how much …” or “how many {_plural(table)} …”.")
    if agg == "sum" and not named and "revenue" not in concepts and any(
            t.low == "much" for t in words.tokens) and _metric_on(profile, "revenue") is not None:
        concepts["revenue"] = next(t for t, a in aggs if a == "sum")  # "how much did we charge": money
    if named and (agg in (None, "sum", "avg", "min", "max") or "revenue" not in concepts):
        tag = named[0][0]
        same = [e for t, e in named if t is tag]
        # one name on several tables: the header's column (orders.discount, not order_items.discount)
        entry = max(same, key=lambda e: (e.strength, e.table is not None and e.table.key is not None and (
            reading.per is None or reading.per in (e.table.key or "").lower()), _like_revenue(profile, e.column),
            -(e.table.rows if e.table else 0)))
        # one word naming several columns of one table ("discounts": cart_discount, order_discount, discount_total):
        # the total among them, else ask — never the first by accident
        rivals = [e for e in same if e.table is entry.table and e.strength == entry.strength and e.column is not entry.column
                  and not _like_revenue(profile, entry.column)]
        if rivals and entry.strength < 3:
            spoken = {t.norm for t in words.tokens}

            def extra(e: Entry) -> int:  # words of its name the question did not say ("cart" of cart_discount)
                return sum(1 for w in phrase(e.column.name if e.column else "") if w not in GENERIC and w not in spoken)

            fewest = min(extra(e) for e in [entry, *rivals])
            options = [e for e in [entry, *rivals] if extra(e) == fewest]
            totals = [e for e in options if e.column is not None and set(phrase(e.column.name)) & {"total", "sum", "all", "overall"}]
            if len(options) == 1 or len(totals) == 1:
                entry = options[0] if len(options) == 1 else totals[0]
            else:
                names = ", ".join(e.column.name for e in options[:4] if e.column is not None)
                return f"“{words.words(tag)}” could be {names}. Which one do you mean?"
        table, column = entry.table, entry.column
        assert table is not None and column is not None
        chosen = agg if agg in ("sum", "avg", "min", "max") else ("sum" if column.role == "money" or _additive(column) else "avg")
        done(tag, concepts.get("revenue") if column.role == "money" else None)  # "conversion value" is not Conversions
        label = {"sum": "total", "avg": "average", "min": "lowest", "max": "highest"}[chosen] + " " + column.name.replace("_", " ")
        if reading.per in ("customer", "order") and reading.per not in (table.key or "").lower():
            return _per_entity(profile, table, Metric(agg="sum", column=f"{table.name}.{column.name}", alias=column.name),
                               f"total {column.name.replace('_', ' ')}", reading.per)
        return Measure(table, [Metric(agg=chosen, column=f"{table.name}.{column.name}", alias=f"{chosen}_{column.name}")],  # type: ignore[arg-type]
                       label, where=_revenue_rows(profile, table, column, words) if column.role == "money" and chosen == "sum" else [])
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
    units = _metric_on(profile, "units")
    if (units is not None and reading.dims and reading.order and agg is None and not concepts and not named
            and any(t.low in ("selling", "seller", "sellers", "sells", "sold") for t in words.tokens)):
        done()  # "our best-selling item", "top sellers": ranked by units sold, not by rows
        return _metric_measure(profile, units, "units sold")
    if reading.price is not None and not entity_said:
        done()
        return _price_measure(profile, reading, required)
    entities = list(entity_said)
    kept = _metric_on(profile, "kept_orders")
    if "revenue" in concepts and agg == "count" and not entities and kept is not None and any(
            t.norm in ("sale", "sales") for t in words.tokens) and (table := profile.table(kept.table)) is not None:
        done(concepts["revenue"])  # "how many sales": the rows revenue sums (a failed payment is no sale), said
        return _metric_measure(profile, kept, f"sales ({_plural(table)}{_where_note(kept, _plural(table))})")
    if "revenue" in concepts and agg == "count":  # "how many sales": orders
        entities.append((concepts["revenue"], Entry("concept", value="order")))
    if entities:
        tag, entry = _best_entity(entities)
        done(tag)
        if agg in ("avg", "sum", "min", "max") and "count" not in said and entry.kind == "table" and entry.table is not None:
            columns, tie = _revenue_columns(entry.table)  # "the average payment": of its amount
            revenue = _metric_on(profile, "revenue")
            where: list[Condition] = []
            if revenue is not None and revenue.column and profile.table(revenue.table) is entry.table and (
                    own := entry.table.column(revenue.column)) is not None:
                columns, tie = [own], False  # "the average payment": of the revenue metric's column, over its rows
                where = _where_conditions(entry.table, revenue)
            if columns and not tie:
                column = columns[0]
                label = {"sum": "total", "avg": "average", "min": "lowest", "max": "highest"}[agg] + f" {column.name} per {_plural(entry.table).rstrip('s')}"
                return Measure(entry.table, [Metric(agg=agg, column=f"{entry.table.name}.{column.name}", alias=f"{agg}_{column.name}")], label,  # type: ignore[arg-type]
                               where=where)
            if columns:  # several equally good money columns: ask, never fall back to a count of rows
                names = ", ".join(c.name for c in columns[:4])
                return f"Your {entry.table.name} table has several money columns ({names}). Which one do you mean?"
        units = _metric_on(profile, "units")
        if (agg == "count" and units is not None and entry.kind == "concept" and entry.value == "product" and not reading.per
                and any(t.low in ("items", "units") for t in words.tokens) and any(t.low in _SOLD for t in words.tokens)
                and not any(t.low in ("different", "distinct", "kinds", "types", "unique") for t in words.tokens)):
            return _metric_measure(profile, units, "units sold")  # "how many items have we sold": units, not distinct products
        counted = _count_measure(profile, entry)
        other = next((e.value for t, e in entities if t is not tag and e.kind == "concept" and e.value in ("customer", "order")
                      and e.value != entry.value), None)
        other = other or (reading.per if reading.per != entry.value else None)
        if (agg == "avg" or reading.per is not None) and counted is not None and other is not None:  # "orders per customer", "on average"
            for t, _ in entities:
                words.use(t)
            if entry.value == "product" and other == "order" and (per := _units_per(profile, counted.table, other)) is not None:
                return per  # "items per order": units, not distinct products over all orders
            return _per_entity(profile, counted.table, counted.metrics[0], counted.label, other) or counted
        return counted
    sold = [e.table for t in words.tags for e in t.of("value") if e.table is not None]
    if agg == "count" and sold and any(t.low in _SOLD for t in words.tokens) and (unit := _unit_column(sold[0])) is not None:
        done()  # "how many Matcha Bowls did we sell": units of that product, not the rows that name it
        table = sold[0]
        metric = _metric_on(profile, "units")
        if metric is not None and profile.table(metric.table) is table and (metric.column or "").lower() == unit.name.lower():
            return _metric_measure(profile, metric, f"units sold (sum of {unit.name}{_where_note(metric, _plural(table))})")
        return Measure(table, [Metric(agg="sum", column=f"{table.name}.{unit.name}", alias="units")], f"units sold (sum of {unit.name})")
    events = [(t, e) for t in words.tags if t.start not in words.used for e in t.of("column")
              if e.column is not None and e.column.role == "date" and e.table is not None]
    if agg == "count" and len({id(e.column) for _, e in events}) == 1:  # "how many check-ins in Q2": rows dated by that event
        tag, entry = events[0]
        done(tag)
        assert entry.table is not None and entry.column is not None
        return Measure(entry.table, [Metric(agg="count", alias=entry.table.name)],
                       f"{_plural(entry.table)} (by {entry.column.name})", "count", entity=entry.table)
    return None


_SOLD = frozenset({"sell", "sold", "sells", "selling", "ship", "shipped"})
_CURRENCY_WORDS = frozenset({"dollar", "euro", "pound", "buck", "usd", "eur", "gbp", "quid", "franc", "yen", "krona", "krone"})
_PRICE_WORDS = frozenset({"price", "rate", "fee", "cost", "premium", "tariff", "charge", "mrp", "msrp"})
_TOTAL_WORDS = frozenset({"total", "subtotal", "grand", "sum", "lifetime", "amount", "billed", "revenue"})


def _price_measure(profile: SchemaProfile, reading: Reading, required: list[TableProfile]) -> Measure | str | None:
    """“the most expensive room type”, “which plan is cheapest”: the price-like money column (a rate, a unit
    price), averaged per group; with several equally likely columns, one short question — never a row count."""
    tables = [tb for tb, _ in reading.dims] or [t for t in required] or list(profile.tables)
    table = tables[0]
    money = [c for t in _reachable(profile, table) for c in t.by_role("money")]
    numbers = [c for t in _reachable(profile, table) for c in t.by_role("number") if _above_one(c)]
    # a price-like name first ("Room Rate" even when its values read as plain numbers), then money columns
    priced = [c for c in money + numbers if set(phrase(c.name)) & _PRICE_WORDS and not set(phrase(c.name)) & _TOTAL_WORDS] or [
        c for c in money if set(phrase(c.name)) & _PRICE_WORDS]
    columns = priced or _revenue_columns(table)[0] or money
    word = "most expensive" if reading.price == "max" else "cheapest"
    if not columns:
        return f"“{word.capitalize()}” needs a price, and your {table.name} table has no money column. Which number did you mean?"
    if len(columns) > 1:
        listed = ", ".join(c.name for c in columns[:4])
        return f"{word.capitalize()} by which price: {listed}? Ask again naming one."
    column = columns[0]
    owner = next(t for t in _reachable(profile, table) if column in t.columns)
    agg = "avg" if reading.dims else (reading.price or "max")
    label = {"avg": "average", "max": "highest", "min": "lowest"}[agg] + f" {column.name.replace('_', ' ')}"
    return Measure(owner, [Metric(agg=agg, column=f"{owner.name}.{column.name}", alias=f"{agg}_{column.name}")], label)  # type: ignore[arg-type]


def _like_revenue(profile: SchemaProfile, column: ColumnProfile | None) -> bool:
    """Of two money columns one word names (“Amount Refunded”, “Converted Amount Refunded”), the one in the
    revenue metric's currency: it shares that column's distinctive words (“converted”)."""
    revenue = _metric_on(profile, "revenue")
    if revenue is None or not revenue.column or column is None:
        return False
    own = {w for w in phrase(revenue.column) if w not in GENERIC and (w,) not in static()["concept_words"]}
    return bool(own) and own <= set(phrase(column.name))


def _units_per(profile: SchemaProfile, table: TableProfile, per: str) -> Measure | None:
    """Units per order (or customer): the units metric's column over its rows (“excluding refunded orders”,
    both sides), else the table's quantity column, divided by the distinct orders (customers)."""
    metric = _metric_on(profile, "units")
    where: list[Condition] = []
    if metric is not None and metric.column and profile.table(metric.table) is table and (own := table.column(metric.column)) is not None:
        column = own
        where = _where_conditions(table, metric)
    elif (found := _unit_column(table)) is not None:
        column = found
    else:
        return None
    units = Metric(agg="sum", column=f"{table.name}.{column.name}", alias="units")
    measure = _per_entity(profile, table, units, f"units (sum of {column.name}{_where_note(metric, _plural(table)) if where else ''})", per)
    if measure is not None:
        measure.where = where
    return measure


def _above_one(column: ColumnProfile) -> bool:
    """A number column whose values go above 1 (a nightly rate), not a 0–1 ratio (a conversion rate)."""
    try:
        return column.max is not None and float(column.max) > 1
    except ValueError:
        return False


def _revenue_rows(profile: SchemaProfile, table: TableProfile, column: ColumnProfile, words: _Words) -> list[Condition]:
    """“How much tax did we collect”: a money total on the revenue metric's table sums the rows revenue sums (not
    cancelled or refunded orders), stated as a filter — unless the column or the question is about those rows
    (“Amount Refunded”, “refunded orders”)."""
    revenue = _metric_on(profile, "revenue")
    if revenue is None or not revenue.where or profile.table(revenue.table) is not table:
        return []
    excluded = {str(v).lower()[:5] for item in revenue.where for v in (item.value if isinstance(item.value, tuple) else (item.value,))}
    said = {w[:5] for w in phrase(column.name)} | {t.low[:5] for t in words.tokens}
    if excluded & said:
        return []
    return _where_conditions(table, revenue)


def _where_conditions(table: TableProfile, metric: MetricDefinition) -> list[Condition]:
    """A metric's ``where`` (“excluding Failed and Refunded payments”) as conditions the restatement shows."""
    out = []
    for item in metric.where or []:
        column = table.column(item.column)
        if column is None:
            continue
        value = list(item.value) if isinstance(item.value, tuple) else item.value
        shown = " or ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        negative = item.op in ("!=", "not in")
        out.append(Condition(table, column, item.op, value, f"{column.name.replace('_', ' ')} is {'not ' if negative else ''}{shown}"))
    return out


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
        key = table.key if table.key and "order" in table.key.lower() else getattr(table, "order_key", None) or next(
            (c.name for c in table.by_role("id") if "order" in c.name.lower()), None)
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


def _per_parts(measure: Measure | None, reading: Reading) -> Measure | None:
    """“page views per session”: a ratio to distinct ids; “recipients per campaign” on the campaigns
    table: each row is one campaign, so the average of the column."""
    if measure is None:
        return None
    if reading.per_column is not None and measure.kind != "ratio" and len(measure.metrics) == 1:
        table, column = reading.per_column
        metric = measure.metrics[0]
        if table is measure.table and metric.column and metric.name is None and (metric.agg == "avg" or column.name == table.key):
            # "average replies per ticket" where each row is one ticket: the average of the column, not divided again
            label = measure.label.replace("total ", "average ", 1)
            return Measure(measure.table, [Metric(agg="avg", column=metric.column, alias=metric.alias)],
                           f"{label} per {column.name.replace('_', ' ')}", where=measure.where)
        if table is measure.table:
            count = Metric(agg="count_distinct", column=f"{table.name}.{column.name}", alias=f"distinct_{column.name}")
            return Measure(measure.table, [measure.metrics[0], count], f"{measure.label} per {column.name.replace('_', ' ')}",
                           "ratio", definition=measure.definition)
    if reading.per_total is not None and measure.kind != "ratio" and len(measure.metrics) == 1 and measure.metrics[0].agg == "sum":
        table, column = reading.per_total
        if table is measure.table:  # "cost per conversion": total cost over total conversions, never grouped by conversions
            total = Metric(agg="sum", column=f"{table.name}.{column.name}", alias=f"total_{column.name}")
            return Measure(measure.table, [measure.metrics[0], total], f"{measure.label} per {column.name.replace('_', ' ')} "
                           f"({measure.label} / total {column.name})", "ratio", definition=measure.definition)
    if reading.per_row is not None and reading.per_row is measure.table and measure.metrics[0].agg == "sum" and measure.metrics[0].name is None:
        metric = measure.metrics[0]
        label = measure.label.replace("total ", "average ", 1)
        return Measure(measure.table, [Metric(agg="avg", column=metric.column, alias=metric.alias)], f"{label} per {_plural(measure.table).rstrip('s')}")
    return measure

