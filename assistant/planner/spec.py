"""From a reading to a :class:`~tools.query_spec.QuerySpec`: joins, the period and its date column, ordering, and refusals."""

from __future__ import annotations

import datetime as dt
import re

from assistant.planner.lexicon import phrase
from assistant.planner.parse_model import _PURCHASE, DataQuestion, Measure, Reading, _Words
from assistant.planner.schema_terms import _link, _parents, _plural, _reachable
from assistant.planner.timeframes import Timeframe, parse_timeframe
from tools.query_spec import Filter, Metric, QuerySpec, TimeRange
from tools.schema_profile import ColumnProfile, SchemaProfile, TableProfile


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


_DATE_WORDS = frozenset({"date", "at", "on", "time", "timestamp", "utc", "day", "dt", "ts", "datetime", "gmt", "became", "become"})


def _event_date(table: TableProfile, said: list[str]) -> ColumnProfile | None:
    """The date column of the event the question names: every distinctive word of its name said in some form
    (“churned” → churn_date, “paid” → paid_date). None when no date column, or more than one, is named."""
    named = []
    for column in table.by_role("date"):
        own = [w for w in phrase(column.name) if w not in _DATE_WORDS and len(w) >= 3]
        if own and all(any(s[:5] == w[:5] or (len(w) < 5 and s == w) for s in said) for w in own):
            named.append(column)
    return named[0] if len(named) == 1 else None


def _event_implies_value(reading: Reading, date: ColumnProfile, notes: list[str]) -> None:
    """“customers we won this year” by Became a Customer Date: the date already says who became a customer in the
    period; also requiring Lifecycle Stage = Customer *today* would drop those who moved on (stated)."""
    said = set(phrase(date.name))
    for condition in list(reading.filters):
        values = condition.value if isinstance(condition.value, list) else [condition.value]
        if condition.op == "=" and len(values) == 1 and isinstance(values[0], str) and set(phrase(values[0])) and set(phrase(values[0])) <= said:
            reading.filters.remove(condition)
            notes.append(f"counted by {date.name} (everyone who became {values[0]} in the period, whatever their "
                         f"{condition.column.name} is now)")


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
        # a purchase: through a table that holds money (orders, line items), not reviews or events of the same customers
        spends = bool(table.by_role("money") or holder.by_role("money"))
        options.append(((0 if spends else 1, table.rows), table, holder))
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
    if (mixed := _across_currencies(reading, measure, profile)) is not None:
        return _refusal(reading, mixed)
    base = measure.table
    notes: list[str] = list(reading.notes)
    date_table = _date_table(profile, base, reach, entity)
    date_column = profile.main_date(date_table) if date_table is not None else None
    if date_table is not None and (named_date := _event_date(date_table, reading.said)) is not None:
        date_column = named_date  # "accounts churned in Q3": by churn_date, not the sign-up date
        if reading.frames:
            _event_implies_value(reading, named_date, notes)
    frames = [_anchored(f, date_column, notes) for f in reading.frames]
    compare: list[str] = []
    grain = reading.grain
    frame: Timeframe | None = frames[0] if frames else None
    if len(frames) >= 2:
        units = {f.unit for f in frames}
        if len(units) == 1 and None not in units and "half" not in units and all(f.start for f in frames):  # no half grain
            start = min(f.start for f in frames if f.start)
            end = max(f.end for f in frames if f.end)
            label = " vs ".join(f.label for f in frames)
            frame = Timeframe(start, end, label, unit=frames[0].unit)
            grain = frames[0].unit
            compare = [f.label for f in frames]
        else:
            notes.append(f"I can't compare {frames[0].label} with {frames[1].label} in one answer yet, "
                         f"so this is {frames[0].label} only.")
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
            qualifiers.append(frame.label + (f" (by {date_column.name})" if date_column is not profile.main_date(date_table) else ""))
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
                        rows_label=_plural(base), data_end=data_end, top_group=reading.top_group, reading=reading,
                        flag_columns=[c.name for _, c in dims if c.role == "flag"])


def _across_currencies(reading: Reading, measure: Measure, profile: SchemaProfile) -> str | None:
    """A sum, average, smallest or largest of money whose rows are in several currencies (``currency_column`` of the schema
    profile), neither grouped by nor filtered to one currency: the data has no exchange rates, so such a
    total mixes dollars and euros (and 79 euros is no smaller than 99 dollars). The refusal says how to ask instead (per currency, or in one)."""
    if measure.kind not in ("value", "ratio"):
        return None
    for metric in measure.metrics:
        definition = profile.metrics.get(metric.name) if metric.name else None
        name = definition.column if definition is not None else metric.column
        table = profile.table(definition.table) if definition is not None else measure.table
        column = table.column(name.split(".")[-1]) if table is not None and name else None
        if column is None or column.currency_column is None or (definition.agg if definition else metric.agg) not in ("sum", "avg", "min", "max"):
            continue
        currency = table.column(column.currency_column) if table is not None else None
        if currency is None or any(c is currency for _, c in reading.dims) or any(
                f.column is currency and (f.op == "=" or (f.op == "in" and isinstance(f.value, list | tuple) and len(f.value) == 1))
                for f in reading.filters):
            continue
        codes = ", ".join(currency.values[:5])
        return (f"{column.name} is in several currencies ({codes}, per {currency.name}) and your data has no exchange "
                f"rates, so I won't put them into one number. Ask for it by {currency.name}, or in one currency "
                f"(e.g. “in {currency.values[0] if currency.values else 'USD'}”).")
    return None


def _anchored(frame: Timeframe, date_column: ColumnProfile | None, notes: list[str]) -> Timeframe:
    """A month or quarter said without a year (“in March”, “Q2”) is the latest one the data has, not the one
    before today: an export that ends in September answers “October” with last year's October (stated)."""
    if not frame.bare or frame.start is None or date_column is None or not date_column.max or not date_column.min:
        return frame
    try:
        low, high = dt.date.fromisoformat(date_column.min[:10]), dt.date.fromisoformat(date_column.max[:10])
    except ValueError:
        return frame
    moved = frame
    while moved.start is not None and moved.start > high and moved.start.year > low.year:
        moved = moved.year_earlier()
    if moved is not frame:
        word = frame.label.split(" ")[0]
        notes.append(f"“{word}” read as {moved.label}, the latest {word} in your data")
    return moved


def _refusal(reading: Reading, message: str) -> DataQuestion:
    measure = reading.measure
    table = measure.table.name if measure is not None else "unknown"
    return DataQuestion(spec=QuerySpec(table=table), subject=measure.label if measure else "", clarify=message, reading=reading)


def _never(words: _Words, reading: Reading, profile: SchemaProfile, today: dt.date) -> DataQuestion | None:
    """“customers who never ordered”: an anti-join the structured spec cannot express, as read-only SQL.
    With a period (“haven't ordered in 6 months”, “inactive for 90 days”): no order in that window, per customer."""
    measure = reading.measure
    if measure is None or measure.kind != "count":
        return None
    negations = [t for t in words.tags if t.of("neg")]
    hit = next((t for t in negations if any(w.low in _PURCHASE or w.low in ("order", "orders", "ordered", "purchase", "purchases")
                                            for w in words.tokens[t.end:t.end + 3])), None)
    # "inactive for 90 days" — unless the word is a value in the data ("the lapsed segment")
    inactive = any(_INACTIVE.fullmatch(t.low) and not ((tag := words.tag_at(i)) is not None and tag.of("value"))
                   for i, t in enumerate(words.tokens))
    if hit is not None or inactive:
        window = _lapsed_window(words.text, reading, today)
        if window is not None:
            if hit is not None:
                words.use(hit)
            return _lapsed(reading, profile, measure, window)
    if hit is None or measure.entity is None or not measure.entity.key:
        return None
    entity, key = measure.entity, measure.entity.key
    facts = [tb for tb in profile.tables if tb is not entity and _link(profile, tb, entity) and tb.by_role("date")]
    if not facts:
        return None
    fact = min(facts, key=lambda tb: (not tb.by_role("money"), tb.key is None, tb.rows))  # orders, not reviews
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



# “haven't ordered in 6 months”, “inactive for 90 days”: the window a negated purchase covers, read as “the last N ...”
_LAPSED_SPAN = re.compile(r"\b(?:in|for|over|within|during)\s+(?:the\s+)?(?:last\s+|past\s+)?(\d+|a|an|one|two|three|four|five|six|"
                          r"seven|eight|nine|ten|eleven|twelve)\s+(day|week|month|year)s?\b", re.I)
_INACTIVE = re.compile(r"\b(?:inactive|lapsed|dormant)\b", re.I)


def _lapsed_window(text: str, reading: Reading, today: dt.date) -> Timeframe | None:
    if reading.frames:
        return reading.frames[0]
    m = _LAPSED_SPAN.search(text)
    if m is None:
        return None
    n = "1" if m.group(1).lower() in ("a", "an") else m.group(1).lower()
    return parse_timeframe(f"last {n} {m.group(2).lower()}s", today)


def _lapsed(reading: Reading, profile: SchemaProfile, measure: Measure, window: Timeframe) -> DataQuestion:
    """Customers with no order in ``window`` (anchored like every relative period) who did order at some time:
    customers with no order at all are not counted, and the answer says so."""
    entity = measure.entity if measure.entity is not None and measure.entity.key else None
    facts = [tb for tb in profile.tables if entity is not None and tb is not entity and _link(profile, tb, entity)
             and profile.main_date(tb) is not None]
    noun = _plural(entity) if entity is not None else "customers"
    if facts and entity is not None:  # a customers table and its orders
        fact = min(facts, key=lambda tb: (not tb.by_role("money"), tb.key is None, tb.rows))  # orders, not reviews
        link, key = _link(profile, fact, entity), entity.key
    else:  # a bare order log: the repeated customer column is the customer
        fact, link = measure.table, measure.table.customer_key or (
            measure.metrics[0].column.split(".")[-1] if measure.metrics and measure.metrics[0].agg == "count_distinct"
            and measure.metrics[0].column else None)
        key = None
    date = profile.main_date(fact)
    if link is None or date is None or window.start is None or window.end is None:
        return _refusal(reading, f"I can't tell each customer's last order in your data (I need a customer column and an "
                        f"order date), so I can't count customers with no order in {window.label}.")
    kept = [c for c in reading.filters if entity is not None and c.table is entity and c.op in ("=", "in")]
    if len(kept) != len(reading.filters):
        return _refusal(reading, f"I can count {noun} with no order in {window.label}, but not yet together with "
                        + ", ".join(f"“{c.words}”" for c in reading.filters if c not in kept) + ". Ask without it?")
    inside = (f'f."{date.name}" >= DATE \'{window.start.isoformat()}\' AND f."{date.name}" < DATE \'{window.end.isoformat()}\'')
    if key is not None and entity is not None:
        same = f'FROM "{fact.name}" f WHERE f."{link}" = e."{key}"'
        conditions = [f"EXISTS (SELECT 1 {same})", f"NOT EXISTS (SELECT 1 {same} AND {inside})"]
        for c in kept:
            values = c.value if isinstance(c.value, list) else [c.value]
            listed = ", ".join("TRUE" if v is True else "FALSE" if v is False else "'" + str(v).replace("'", "''") + "'" for v in values)
            conditions.append(f'e."{c.column.name}" IN ({listed})')
        sql = f'SELECT count(*) AS "{entity.name}" FROM "{entity.name}" e WHERE ' + " AND ".join(conditions)
    else:
        sql = (f'SELECT count(*) AS "customers" FROM (SELECT f."{link}" FROM "{fact.name}" f WHERE f."{link}" IS NOT NULL '
               f'GROUP BY f."{link}" HAVING sum(CASE WHEN {inside} THEN 1 ELSE 0 END) = 0) t')
    data_end = date.max[:10] if date.max else None
    reaches_end = data_end is None or str(window.end - dt.timedelta(days=1)) >= data_end
    period = window.label if window.label.startswith("since") else f"in {window.label}"
    subject = (f"{noun} whose last order was before {window.start} (no order {period})" if reaches_end
               else f"{noun} with no order {period} (who ordered at another time)")
    qualifiers = [f"window {window.start} to {window.end - dt.timedelta(days=1)} by {fact.name}.{date.name}"] + [c.words for c in kept]
    if key is not None:
        qualifiers.append(f"{noun} who never ordered at all are not counted")
    if data_end and str(window.end - dt.timedelta(days=1)) > data_end:
        qualifiers.append(f"your {fact.name} data ends on {data_end}")
    return DataQuestion(spec=QuerySpec(table=(entity or fact).name), subject=subject, qualifiers=qualifiers, sql=sql,
                        kind="count", reading=reading)
