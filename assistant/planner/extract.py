"""Turn a data question into a :class:`~tools.query_spec.QuerySpec` using the live schema profile.

Nothing here knows the demo's table names: entities, money columns, category
values and dates all come from the profile, so the same rules work on any
dataset whose columns say what they are.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from assistant.planner.timeframes import Timeframe, parse_timeframe
from assistant.planner.vocabulary import (
    _GRAIN_WORDS,
    _MONEY_WORDS,
    _column_matches,
    _find_column,
    _flag_filters,
    _has,
    _mentioned_tables,
    _names_exactly,
    _number_filter,
    _reachable,
    _table_named,
    _value_filters,
    _variants,
    _words,
)
from tools.query_spec import Filter, Metric, QuerySpec, TimeRange
from tools.schema_profile import ColumnProfile, MetricDefinition, SchemaProfile, TableProfile


@dataclass(slots=True)
class DataQuestion:
    """A parsed question: the spec plus how to talk about it."""

    spec: QuerySpec
    subject: str  # "customers", "revenue (sum of total)"
    qualifiers: list[str] = field(default_factory=list)  # "country is Germany", "last month (...)"
    timeframe: Timeframe | None = None
    unmatched: list[str] = field(default_factory=list)  # "by X" phrases no column matched
    share_of: tuple[str, object] | None = None  # (column, value) whose share of the total is asked
    sql: str | None = None  # a question the spec cannot express ("never ordered"), as read-only SQL


_PURCHASE = re.compile(
    r"\b(bought|buy|buys|buying|purchased|purchase|purchases|ordered|order|sold|spent|spend|"
    r"contain|contains|contained|containing|include|included|including)\b"
)
_ACTIVE = re.compile(r"\bactive\s+(customers|buyers|shoppers|users|members|clients|accounts)\b")
_NEVER = re.compile(r"\b(never|not yet|haven't|have not|hasn't|has not|didn't|did not)\b[a-z ]{0,20}\b(order|ordered|bought|purchased|buy|purchase)")
_SHARE = re.compile(r"\b(share|percentage|percent|proportion|fraction|what %|rate of|ratio)\b|%")
# Reporting-currency columns first: local-currency totals do not add up across countries.
_REVENUE_COLUMNS = (
    "revenue_usd", "total_usd", "amount_usd", "line_total_usd", "net_total_usd",
    "revenue_eur", "total_eur", "amount_eur", "line_total_eur",
    "revenue", "total", "net_total", "amount", "sales", "line_total", "value", "subtotal",
)
_RANKING = re.compile(r"\s*(number|count|amount|share|percentage|percent|proportion|total|sum|revenue|sales|spend)\b")
_REPEAT = re.compile(r"\b(repeat (?:purchase |customer |buyer |order )?rate|repurchase rate|returning customer rate|"
                     r"share of (?:repeat|returning) (?:customers|buyers)|how many .{0,20}come back)\b")
_UNIT_COLUMNS = ("quantity", "qty", "units", "items")
_UNITS = re.compile(r"\b(units|unit sales|quantity|quantities|qty|items sold|pieces)\b")


def _revenue_column(table: TableProfile, text: str, profile: SchemaProfile | None = None) -> ColumnProfile | None:
    """The money column a question means on ``table``: one it names, else the semantic model's
    revenue column, else the revenue-like one."""
    money = table.by_role("money")
    for column in money:
        if any(_has(text, v) for v in _variants(column) if len(v) > 3 and v not in ("total", "totals", "value", "usd", "eur")):
            return column
    revenue = profile.metric("revenue") if profile is not None else None
    if revenue is not None and revenue.agg == "sum" and revenue.column and revenue.table.lower() == table.name.lower():
        return table.column(revenue.column)
    for name in _REVENUE_COLUMNS:
        candidate = table.column(name)
        if candidate is not None and candidate.role == "money":
            return candidate
    return None


def _filter_note(metric: MetricDefinition | None, rows: str) -> str:
    """``", excluding cancelled and returned orders"`` for a metric's ``where``, else ``""``."""
    if metric is None or not metric.where:
        return ""
    notes = []
    for item in metric.where:
        values = [str(v) for v in item.value] if isinstance(item.value, tuple) else [str(item.value)]
        listed = values[0] if len(values) == 1 else f"{', '.join(values[:-1])} and {values[-1]}"
        if item.op in ("!=", "not in"):
            notes.append(f"excluding {listed} {rows}")
        else:
            notes.append(f"{item.column} {item.op} {listed}")
    return ", " + "; ".join(notes)


def _declared_metric(
    profile: SchemaProfile, base: TableProfile, t: str, *, wants_aov: bool, wants_money: bool, wants_repeat: bool
) -> tuple[Metric, str] | None:
    """A metric the semantic model defines for what the question asks, on ``base``; its label
    says which rows it leaves out ("revenue (sum of orders.total_usd, excluding cancelled ...)")."""
    def on_base(name: str) -> bool:
        found = profile.metric(name)
        return found is not None and found.table.lower() == base.name.lower()

    rows = base.name.replace("_", " ")
    if wants_repeat and on_base("repeat_rate"):
        found = profile.metric("repeat_rate")
        assert found is not None
        return Metric(name=found.name), f"repeat rate (% of customers with {found.min_orders} or more {rows}{_filter_note(found, rows)})"
    if wants_aov:
        name = next((n for n in ("aov", "average_order_value") if on_base(n)), None)
        if name is not None:
            aov = profile.metric(name)
            part = profile.metric(aov.ratio[0]) if aov is not None and aov.ratio else None
            return Metric(name=name, alias="average_order_value"), (
                f"average order value ({rows}: revenue / count, metric '{name}'{_filter_note(part, rows)})"
            )
    if wants_money and on_base("revenue"):
        found = profile.metric("revenue")
        assert found is not None
        named = [c for c in base.by_role("money") if c.name != found.column
                 and any(_has(t, v) for v in _variants(c) if len(v) > 3 and v not in ("total", "totals", "value", "usd", "eur"))]
        if not named:  # "total discount" means that column, not revenue
            if not found.column:
                return Metric(name="revenue"), "revenue"
            return Metric(name="revenue"), f"revenue (sum of {base.name}.{found.column}{_filter_note(found, rows)})"
    return None


def _dimension_phrases(t: str) -> tuple[list[str], set[str], set[str], set[str]]:
    matches = list(re.finditer(
        r"\b(by|per|for each|for every|each|across|split by|broken down by|breakdown by|which|what)\s+"
        r"([a-z0-9_ ]{2,40}?)(?=\s+(?:has|have|had|is|are|was|were|did|do|does|with|in|for|last|this|during|"
        r"since|over|from|and|sorted|ranked|buy|bought|spend|spent|order|ordered|drove|drives|brought|generated|by|per)\b|[?.,!]|\s*$)",
        t,
    ))
    phrases = [m.group(2) for m in matches if not _RANKING.match(m.group(2))]
    explicit = {m.group(2) for m in matches if m.group(1) not in ("which", "what", "each")}
    loose = {m.group(2) for m in matches if m.group(1) in ("which", "what")}
    grains = {m.group(2) for m in matches if m.group(1) in ("per", "each", "for each", "for every")}
    for m in re.finditer(
        r"\b(?:top|bottom|best|worst|biggest|largest|highest|lowest|smallest)\s+(?:\d+|ten|five|three|twenty)\s+"
        r"([a-z_ ]{2,30}?)(?=\s+(?:by|with|in|for|of|last|this|ranked|sorted)\b|[?.,!]|\s*$)",
        t,
    ):
        phrases.append(m.group(1))
    return phrases, explicit, grains, loose


def parse_data_question(text: str, profile: SchemaProfile, today: dt.date) -> DataQuestion | None:
    """A structured query for ``text``, or None when it does not look like a data question."""
    t = _words(text)
    if not profile.tables:
        return None
    mentioned = _mentioned_tables(t, profile)
    entity = mentioned[0] if mentioned else None
    wants_money = re.search(rf"\b({_MONEY_WORDS})\b", t) is not None
    wants_aov = re.search(r"\b(aov|average order value|avg order value|average basket|basket size|average order)\b", t) is not None
    wants_avg = re.search(r"\b(average|avg|mean|typical)\b", t) is not None
    wants_count = re.search(r"\b(how many|number of|count|# of|no\. of|total number|size of)\b", t) is not None
    wants_units = _UNITS.search(t) is not None
    wants_repeat = _REPEAT.search(t) is not None and profile.metric("repeat_rate") is not None
    active = _ACTIVE.search(t) is not None
    purchase = _PURCHASE.search(t) is not None or active
    wants_share = _SHARE.search(t) is not None
    if active:
        t = t.replace(" active ", " ")
    top = re.search(r"\b(top|best|biggest|largest|highest)\s+(\d+|ten|five|three|twenty)\b", t)
    bottom = re.search(r"\b(bottom|worst|smallest|lowest)\s+(\d+|ten|five|three|twenty)\b", t)
    grain = next((g for g, pattern in _GRAIN_WORDS.items() if re.search(pattern, t)), None)

    # -- what the question names: dimensions, flags, values -----------------------------------
    phrases, explicit, grains, loose = _dimension_phrases(t)
    dims: list[tuple[TableProfile, ColumnProfile]] = []
    unmatched: list[str] = []
    for phrase in phrases:
        if phrase in grains and any(_table_named(f" {phrase} ", tb) for tb in profile.tables if tb.key):
            continue  # "per order", "per customer": the grain, not a breakdown
        matches = _column_matches(f" {phrase} ", profile.tables, ("category", "text", "id", "flag", "date", "number"), prefer=entity)
        if phrase in loose and matches and not _names_exactly(phrase, matches[0][1], matches[0][2]):
            continue  # "what percentage of orders ...": not a breakdown
        if matches:
            if (matches[0][1], matches[0][2]) not in dims:
                dims.append((matches[0][1], matches[0][2]))
        elif phrase in explicit and not re.fullmatch(r"\s*(the|a|an|our|my|all|total|far|now|month|week|day|year|quarter)?\s*", phrase):
            unmatched.append(phrase.strip())
    flags = _flag_filters(t, profile.tables)
    rest = t
    for _, column, _ in flags:  # words a flag used are not category values ("opted in to SMS")
        for part in column.name.lower().split("_"):
            rest = re.sub(rf"(?<![a-z]){re.escape(part)}(?![a-z])", " ", rest)
    values = _value_filters(rest, profile.tables, exclude={c.name for _, c in dims}, entity=entity, purchase=purchase)

    never = _NEVER.search(t) is not None and entity is not None and entity.key is not None
    if never:
        return _never_question(profile, entity, values, flags, t)  # type: ignore[arg-type]

    # a money or number column named outright: "total discount", "shipping last month"
    named_measure = None
    if not (wants_money or wants_units or wants_aov or wants_avg or (wants_count and entity is not None)):
        named = [m for m in _column_matches(t, profile.tables, ("money", "number")) if m[0] >= 40]
        # on a tie, the header table's column (orders.discount) over the line table's
        named.sort(key=lambda m: (m[0], m[1].key is not None), reverse=True)
        named_measure = (named[0][1], named[0][2]) if named else None

    # -- the metric's table, then a base table that reaches everything named -------------------
    required = [tb for tb, _ in dims] + [tb for tb, _, _ in values] + [tb for tb, _, _ in flags]
    units_table = next((tb for name in _UNIT_COLUMNS for tb in profile.tables
                        if (c := tb.column(name)) is not None and c.role == "number"), None) if wants_units else None

    def base_score(table: TableProfile) -> tuple[int, int] | None:
        reach = _reachable(profile, table)
        if any(r not in reach for r in required):
            return None
        if wants_repeat:
            repeat = profile.metric("repeat_rate")
            return (0, table.rows) if repeat is not None and repeat.table.lower() == table.name.lower() else None
        if named_measure is not None:
            return (0, table.rows) if table is named_measure[0] else None
        if active and entity is not None:
            holds = entity.key and table is not entity and profile.link_column(table, entity) and table.by_role("date")
            return (0, table.rows) if holds else None
        if wants_units:
            return (0, table.rows) if table is units_table else None
        if wants_aov:
            return (0, table.rows) if table.key and _revenue_column(table, t, profile) and table.by_role("date") else None
        if wants_money:
            return (0 if table.by_role("date") else 1, table.rows) if _revenue_column(table, t, profile) else None
        if wants_avg:
            found = _column_matches(t, [table], ("money", "number"))
            return (0 if _table_named(t, table) else 1, table.rows) if found else None
        if entity is not None:
            if table is entity:
                return (0, 0)
            if entity.key and any(profile.link_column(tb, entity) for tb in reach):
                return (1, table.rows)
            return None
        return (2 if not table.by_role("date") else 1, table.rows)

    scored = [(score, tb) for tb in profile.tables if (score := base_score(tb)) is not None]
    if not scored:
        return None
    base = min(scored, key=lambda st: st[0])[1]
    reach = _reachable(profile, base)
    # "email clicks" on email_events: the word that named the table is not also a filter value
    base_words = set(base.name.lower().split("_"))
    values = [v for v in values if not (v[0] is not base and len(v[2]) == 1 and v[2][0].lower() in base_words)]

    metric: Metric
    declared = _declared_metric(profile, base, t, wants_aov=wants_aov, wants_money=wants_money and not wants_avg
                                and not (wants_count and entity is not None), wants_repeat=wants_repeat)
    if declared is not None:
        metric, subject = declared
    elif named_measure is not None:
        column = named_measure[1]
        metric, subject = Metric(agg="sum", column=f"{base.name}.{column.name}", alias=f"total_{column.name}"), f"total {column.name.replace('_', ' ')}"
    elif wants_units and units_table is not None:
        qty = next(c for name in _UNIT_COLUMNS if (c := base.column(name)) is not None)
        metric, subject = Metric(agg="sum", column=f"{base.name}.{qty.name}", alias="units"), f"units sold (sum of {qty.name})"
    elif wants_aov:
        money_col = _revenue_column(base, t, profile)
        assert money_col is not None
        metric, subject = Metric(agg="avg", column=f"{base.name}.{money_col.name}", alias="average_order_value"), f"average order value ({base.name}.{money_col.name})"
    elif wants_money and not (wants_count and entity is not None):
        money_col = _revenue_column(base, t, profile)
        assert money_col is not None
        label = money_col.name.replace("_", " ")
        if wants_avg:
            metric, subject = Metric(agg="avg", column=f"{base.name}.{money_col.name}", alias=f"avg_{money_col.name}"), f"average {label}"
        elif money_col.name in _REVENUE_COLUMNS:
            metric, subject = Metric(agg="sum", column=f"{base.name}.{money_col.name}", alias="revenue"), f"revenue (sum of {base.name}.{money_col.name})"
        else:
            metric, subject = Metric(agg="sum", column=f"{base.name}.{money_col.name}", alias=f"total_{money_col.name}"), f"total {label}"
    elif wants_avg:
        matches = _column_matches(t, [base], ("money", "number"))
        if not matches:
            return None
        target = matches[0][2]
        metric, subject = Metric(agg="avg", column=f"{base.name}.{target.name}", alias=f"avg_{target.name}"), f"average {target.name.replace('_', ' ')}"
    elif entity is not None and entity is not base and entity.key:
        holder = next(tb for tb in reach if profile.link_column(tb, entity))
        link = profile.link_column(holder, entity)
        metric, subject = Metric(agg="count_distinct", column=f"{holder.name}.{link}", alias=entity.name), entity.name
        if active:
            subject = f"active {entity.name} (with at least one {base.name.rstrip('s')})"
    else:
        metric, subject = Metric(agg="count", alias=base.name), base.name
        if not (wants_count or entity is not None or dims or grain or values):
            return None

    # -- filters -----------------------------------------------------------------------------
    filters: list[Filter] = []
    qualifiers: list[str] = []
    for table, column, found in values:
        filters.append(Filter(column=f"{table.name}.{column.name}", op="=" if len(found) == 1 else "in", value=found[0] if len(found) == 1 else found))
        qualifiers.append(f"{column.name.replace('_', ' ')} is {' or '.join(found)}")
    for table, column, flag in flags:
        filters.append(Filter(column=f"{table.name}.{column.name}", op="=", value=flag))
        qualifiers.append(f"{column.name.replace('_', ' ')} is {'yes' if flag else 'no'}")
    money_for_filter = _revenue_column(base, t, profile)
    number = _number_filter(t, (base, money_for_filter) if money_for_filter else None)
    if number and money_for_filter is not None:
        filters.append(Filter(column=f"{base.name}.{money_for_filter.name}", op=number[0], value=number[1]))  # type: ignore[arg-type]
        qualifiers.append(f"{money_for_filter.name} {number[0]} {number[1]:g}")

    share_of = None
    if wants_share and not dims and filters and metric.agg in ("count", "count_distinct", "sum"):
        asked = filters.pop(0)
        qualifiers.pop(0)
        dims = [(tb, c) for tb in reach for c in tb.columns if f"{tb.name}.{c.name}" == asked.column][:1]
        share_of = (asked.column.rsplit(".", 1)[-1], asked.value)

    timeframe = parse_timeframe(text, today)
    if timeframe is None and active:
        timeframe = Timeframe(today - dt.timedelta(days=364), today + dt.timedelta(days=1), f"the last 12 months ({today - dt.timedelta(days=364)} to {today})")
    time_range = None
    date_table = _date_table(profile, base, reach, entity)
    if timeframe is not None and date_table is not None:
        time_range = TimeRange(column=f"{date_table.name}.{_main_date_name(profile, date_table)}", start=timeframe.start, end=timeframe.end)
        qualifiers.append(timeframe.label)
    if grain and date_table is None:
        grain = None
    if grain and date_table is not None and time_range is None:
        time_range = TimeRange(column=f"{date_table.name}.{_main_date_name(profile, date_table)}")

    order = None
    limit: int | None = 200
    if top or bottom:
        word = (top or bottom).group(2)  # type: ignore[union-attr]
        limit = int(word) if word.isdigit() else {"ten": 10, "five": 5, "three": 3, "twenty": 20}[word]
        order = "asc" if bottom else "desc"
    elif re.search(r"\b(most|highest|biggest|largest|best)\b", t) and dims:
        order, limit = "desc", 10
    elif re.search(r"\b(least|lowest|fewest|smallest|worst)\b", t) and dims:
        order, limit = "asc", 10

    spec = QuerySpec(
        table=base.name,
        metrics=[metric],
        dimensions=[f"{tb.name}.{c.name}" for tb, c in dims],
        filters=filters,
        time_range=time_range,
        time_grain=grain,  # type: ignore[arg-type]
        order=order,  # type: ignore[arg-type]
        limit=limit,
    )
    return DataQuestion(spec=spec, subject=subject, qualifiers=qualifiers, timeframe=timeframe,
                        unmatched=unmatched, share_of=share_of)


def _never_question(
    profile: SchemaProfile,
    entity: TableProfile,
    values: list[tuple[TableProfile, ColumnProfile, list[str]]],
    flags: list[tuple[TableProfile, ColumnProfile, bool]],
    text: str,
) -> DataQuestion | None:
    """“customers who never ordered”: an anti-join the structured spec cannot express, as SQL."""
    key = entity.key
    fact = next((tb for tb in sorted(profile.tables, key=lambda x: x.rows) if tb is not entity
                 and key and profile.link_column(tb, entity) and tb.by_role("date") and _PURCHASE.search(f" {tb.name} ")), None)
    fact = fact or next((tb for tb in profile.tables if tb is not entity and key and profile.link_column(tb, entity) and tb.by_role("money")), None)
    if fact is None or key is None:
        return None
    link = profile.link_column(fact, entity)
    conditions = [f'NOT EXISTS (SELECT 1 FROM "{fact.name}" f WHERE f."{link}" = e."{key}")']
    qualifiers = [f"no row in {fact.name}"]
    for table, column, found in values:
        if table is entity:
            listed = ", ".join("'" + v.replace("'", "''") + "'" for v in found)
            conditions.append(f'e."{column.name}" IN ({listed})')
            qualifiers.append(f"{column.name.replace('_', ' ')} is {' or '.join(found)}")
    for table, column, flag in flags:
        if table is entity:
            conditions.append(f'e."{column.name}" = {"TRUE" if flag else "FALSE"}')
            qualifiers.append(f"{column.name.replace('_', ' ')} is {'yes' if flag else 'no'}")
    sql = f'SELECT count(*) AS "{entity.name}" FROM "{entity.name}" e WHERE ' + " AND ".join(conditions)
    spec = QuerySpec(table=entity.name)
    return DataQuestion(spec=spec, subject=f"{entity.name} who never placed an order", qualifiers=qualifiers, sql=sql)


def _date_table(profile: SchemaProfile, base: TableProfile, reach: list[TableProfile], entity: TableProfile | None) -> TableProfile | None:
    """Whose date a time range applies to: the base's own (orders by order date), else the
    nearest transaction table's (order_items → orders), else the entity's."""
    if base.by_role("date"):
        return base
    for table in reach:
        if table.by_role("date") and profile.parents(table):
            return table
    if entity is not None and entity in reach and entity.by_role("date"):
        return entity
    return next((tb for tb in reach if tb.by_role("date")), None)


def _main_date_name(profile: SchemaProfile, table: TableProfile) -> str:
    column = profile.main_date(table)
    assert column is not None, f"{table.name} has no date column"
    return column.name


def merge_follow_up(previous: DataQuestion, text: str, profile: SchemaProfile, today: dt.date) -> DataQuestion:
    """Apply a follow-up (“and in France?”, “what about last month?”, “by channel”) to the previous question.

    New values replace earlier values of the same column; a new time range replaces the old
    one; new “by X” dimensions replace the old ones. Everything else carries over.
    """
    t = _words(text)
    spec = previous.spec.model_copy(deep=True)
    base = profile.table(spec.table)
    if base is None:
        return previous
    reach = _reachable(profile, base)
    qualifiers = list(previous.qualifiers)
    for table, column, values in _value_filters(t, reach, exclude=set()):
        ref = f"{table.name}.{column.name}"
        spec.filters = [f for f in spec.filters if f.column != ref]
        qualifiers = [q for q in qualifiers if not q.startswith(column.name.replace("_", " ") + " is")]
        spec.filters.append(Filter(column=ref, op="=" if len(values) == 1 else "in", value=values[0] if len(values) == 1 else values))
        qualifiers.append(f"{column.name.replace('_', ' ')} is {' or '.join(values)}")
    timeframe = parse_timeframe(text, today)
    if timeframe is not None:
        date_table = base if base.by_role("date") else next((tb for tb in reach if tb.by_role("date")), None)
        if date_table is not None:
            spec.time_range = TimeRange(column=f"{date_table.name}.{_main_date_name(profile, date_table)}", start=timeframe.start, end=timeframe.end)
            if previous.timeframe is not None:
                qualifiers = [q for q in qualifiers if q != previous.timeframe.label]
            qualifiers.append(timeframe.label)
    dims = []
    for m in re.finditer(r"\b(?:by|per|for each|across)\s+([a-z0-9_ ]{2,30}?)(?=[?.,!]|\s*$|\s+(?:in|for|last|this)\b)", t):
        found = _find_column(f" {m.group(1)} ", reach)
        if found is not None:
            dims.append(f"{found[0].name}.{found[1].name}")
    if dims:
        spec.dimensions = dims
    grain = next((g for g, pattern in _GRAIN_WORDS.items() if re.search(pattern, t)), None)
    if grain:
        spec.time_grain = grain  # type: ignore[assignment]
    return DataQuestion(spec=spec, subject=previous.subject, qualifiers=qualifiers, timeframe=timeframe or previous.timeframe)
