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
from tools.query_spec import Filter, Metric, QuerySpec, TimeRange
from tools.schema_profile import ColumnProfile, SchemaProfile, TableProfile

_ENTITY_SYNONYMS = {
    "customers": ("customer", "customers", "people", "buyers", "shoppers", "clients", "users", "members",
                  "subscribers", "accounts", "contacts", "audience"),
    "orders": ("order", "orders", "purchases", "transactions", "sales orders", "baskets", "checkouts"),
    "products": ("product", "products", "items", "skus", "articles"),
    "campaigns": ("campaign", "campaigns"),
}
_MONEY_WORDS = r"revenue|sales|spend|spent|spending|turnover|gmv|income|earned|made|money|worth|value"
_GRAIN_WORDS = {
    "day": r"\b(daily|per day|by day|each day|every day)\b",
    "week": r"\b(weekly|per week|by week|each week|every week)\b",
    "month": r"\b(monthly|per month|by month|each month|every month|month by month|over time|trend|trends|trending)\b",
    "quarter": r"\b(quarterly|per quarter|by quarter|each quarter)\b",
    "year": r"\b(yearly|annually|per year|by year|each year|year over year)\b",
}
_ALIASES = {
    "usa": "United States", "us": "United States", "u.s.": "United States", "america": "United States",
    "american": "United States", "americans": "United States", "states": "United States",
    "uk": "United Kingdom", "britain": "United Kingdom", "british": "United Kingdom", "england": "United Kingdom",
    "german": "Germany", "germans": "Germany", "french": "France", "canadian": "Canada",
    "canadians": "Canada", "dutch": "Netherlands", "holland": "Netherlands", "swedish": "Sweden",
    "swedes": "Sweden", "australian": "Australia", "aussie": "Australia", "spanish": "Spain",
    "italian": "Italy", "italians": "Italy", "irish": "Ireland",
}
_IGNORED_VALUES = {"none", "other", "unknown", "n/a", "na", "yes", "no", "true", "false", "null", "-", "all", "a", "i"}
_PII = re.compile(r"(email|phone|first_name|last_name|name$|address|postal|zip)", re.I)


@dataclass(slots=True)
class DataQuestion:
    """A parsed question: the spec plus how to talk about it."""

    spec: QuerySpec
    subject: str  # "customers", "revenue (sum of total)"
    qualifiers: list[str] = field(default_factory=list)  # "country is Germany", "last month (...)"
    timeframe: Timeframe | None = None
    unmatched: list[str] = field(default_factory=list)  # "by X" phrases no column matched


def _words(text: str) -> str:
    return " " + re.sub(r"[^a-z0-9$€£.%/\- ]+", " ", text.lower()) + " "


def _has(text: str, phrase: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", text) is not None


def _variants(column: ColumnProfile) -> list[str]:
    name = column.name.lower()
    spaced = name.replace("_", " ")
    out = {spaced, name}
    parts = spaced.split()
    if len(parts) > 1 and parts[-1] not in {"id", "date", "ts", "at", "in", "flag"}:
        out.add(parts[-1])
    if parts and parts[-1] in {"date", "ts"}:
        out.add(" ".join(parts[:-1]))
    for v in list(out):
        out.add(v + "s")
        if v.endswith("y"):
            out.add(v[:-1] + "ies")
    return sorted(out, key=len, reverse=True)


def _mentioned_tables(text: str, profile: SchemaProfile) -> list[TableProfile]:
    found = []
    for table in profile.tables:
        names = {table.name.lower(), table.name.lower().replace("_", " ")}
        names.add(table.name.lower().rstrip("s"))
        names.update(_ENTITY_SYNONYMS.get(table.name.lower(), ()))
        positions = [m.start() for n in names for m in re.finditer(rf"(?<![a-z]){re.escape(n)}(?![a-z])", text)]
        if positions:
            found.append((min(positions), table))
    return [t for _, t in sorted(found, key=lambda p: p[0])]


def _reachable(profile: SchemaProfile, base: TableProfile) -> list[TableProfile]:
    """Tables reachable many-to-one from ``base`` (base first)."""
    out = [base]
    frontier = [base]
    while frontier:
        current = frontier.pop()
        for other in profile.tables:
            if other in out or other.key is None or other.key == current.key:
                continue
            if current.column(other.key) is not None:
                out.append(other)
                frontier.append(other)
    return out


def _money_column(table: TableProfile, text: str) -> ColumnProfile | None:
    money = table.by_role("money")
    for column in money:
        if any(_has(text, v) for v in _variants(column) if len(v) > 3):
            return column
    preferred = ("revenue", "total", "line_total", "amount", "sales", "net_total", "value", "subtotal", "price")
    for name in preferred:
        candidate = table.column(name)
        if candidate is not None and candidate.role == "money":
            return candidate
    return money[0] if money else None


def _find_column(phrase: str, tables: list[TableProfile], roles: tuple[str, ...] | None = None) -> tuple[TableProfile, ColumnProfile] | None:
    best: tuple[int, TableProfile, ColumnProfile] | None = None
    for rank, table in enumerate(tables):
        for column in table.columns:
            if roles and column.role not in roles:
                continue
            for variant in _variants(column):
                if _has(phrase, variant):
                    score = len(variant) * 10 - rank
                    if best is None or score > best[0]:
                        best = (score, table, column)
    if best is None:
        # "by product" / "per campaign": the label column of a mentioned table
        for table in tables:
            names = {table.name.lower(), table.name.lower().rstrip("s")}
            if any(_has(phrase, n) for n in names):
                label = next((table.column(n) for n in ("name", "title", f"{table.name.rstrip('s')}_name") if table.column(n)), None)
                if label is not None:
                    return table, label
    return (best[1], best[2]) if best else None


def _value_filters(text: str, tables: list[TableProfile], exclude: set[str]) -> list[tuple[TableProfile, ColumnProfile, list[str]]]:
    """Category values named in ``text``, grouped per column in order of mention."""
    candidates = []
    for table in tables:
        for column in table.by_role("category"):
            if column.name in exclude or _PII.search(column.name):
                continue
            for value in column.values:
                low = value.lower()
                if low in _IGNORED_VALUES or len(low) < 2:
                    continue
                candidates.append((low, table, column, value))
            for alias, target in _ALIASES.items():
                if target in column.values:
                    candidates.append((alias, table, column, target))
    candidates.sort(key=lambda c: len(c[0]), reverse=True)
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, TableProfile, ColumnProfile, str]] = []
    for phrase, table, column, value in candidates:
        for m in re.finditer(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", text):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            taken.append((m.start(), m.end()))
            found.append((m.start(), table, column, value))
    grouped: dict[str, tuple[TableProfile, ColumnProfile, list[str]]] = {}
    for _, table, column, value in sorted(found, key=lambda f: f[0]):
        entry = grouped.setdefault(f"{table.name}.{column.name}", (table, column, []))
        if value not in entry[2]:
            entry[2].append(value)
    return list(grouped.values())


def _flag_filters(text: str, tables: list[TableProfile]) -> list[tuple[TableProfile, ColumnProfile, bool]]:
    out = []
    for table in tables:
        for column in table.by_role("flag"):
            parts = [p for p in column.name.lower().split("_") if p not in {"opt", "in", "is", "has", "flag", "out"}]
            if not parts or not all(_has(text, p) for p in parts):
                continue
            consent = "opt" in column.name.lower() or "consent" in column.name.lower()
            if consent and not re.search(r"opt|subscri|consent|agreed|permission|reachable|can (?:we )?(?:text|email|message)", text):
                continue
            negative = re.search(r"\b(not|never|no|haven't|didn't|opted out|unsubscribed|without)\b", text) is not None
            out.append((table, column, not negative))
    return out


def _number_filter(text: str, money: tuple[TableProfile, ColumnProfile] | None) -> tuple[str, float] | None:
    if money is None:
        return None
    m = re.search(r"(over|above|more than|greater than|at least|>=|>|under|below|less than|at most|<=|<)\s*[$€£]?\s*(\d[\d,]*(?:\.\d+)?)", text)
    if not m:
        return None
    word, number = m.group(1), float(m.group(2).replace(",", ""))
    op = {"over": ">", "above": ">", "more than": ">", "greater than": ">", "at least": ">=", ">=": ">=", ">": ">",
          "under": "<", "below": "<", "less than": "<", "at most": "<=", "<=": "<=", "<": "<"}[word]
    return op, number


def parse_data_question(text: str, profile: SchemaProfile, today: dt.date) -> DataQuestion | None:
    """A structured query for ``text``, or None when it does not look like a data question."""
    t = _words(text)
    if not profile.tables:
        return None
    mentioned = _mentioned_tables(t, profile)
    wants_money = re.search(rf"\b({_MONEY_WORDS})\b", t) is not None
    wants_aov = re.search(r"\b(aov|average order value|avg order value|average basket|basket size|average order)\b", t) is not None
    wants_avg = re.search(r"\b(average|avg|mean|typical)\b", t) is not None
    wants_count = re.search(r"\b(how many|number of|count|# of|no\. of|total number|size of)\b", t) is not None
    top = re.search(r"\b(top|best|biggest|largest|highest)\s+(\d+|ten|five|three|twenty)\b", t)
    bottom = re.search(r"\b(bottom|worst|smallest|lowest)\s+(\d+|ten|five|three|twenty)\b", t)

    # -- the fact table that holds money, when money is asked for ------------------------
    fact_tables = [tb for tb in profile.tables if tb.by_role("money") and tb.by_role("date")] or [
        tb for tb in profile.tables if tb.by_role("money")
    ]
    fact_tables.sort(key=lambda tb: tb.rows)

    # -- dimension phrases: "by X", "per X", "for each X", "which X" ---------------------------
    dim_matches = list(re.finditer(r"\b(by|per|for each|for every|each|across|split by|broken down by|breakdown by|which|what)\s+([a-z0-9_ ]{2,40}?)(?=\s+(?:has|have|had|is|are|was|were|did|do|does|with|in|for|last|this|during|since|over|from|and|sorted|ranked|buy|bought|spend|spent|order|ordered)\b|[?.,!]|\s*$)", t))
    dim_phrases = [m.group(2) for m in dim_matches]
    explicit = {m.group(2) for m in dim_matches if m.group(1) not in ("which", "what", "each")}
    for m in re.finditer(r"\b(?:top|bottom|best|worst|biggest|largest|highest|lowest|smallest)\s+(?:\d+|ten|five|three|twenty)\s+([a-z_ ]{2,30}?)(?=\s+(?:by|with|in|for|of|last|this|ranked|sorted)\b|[?.,!]|\s*$)", t):
        dim_phrases.append(m.group(1))
    grain = next((g for g, pattern in _GRAIN_WORDS.items() if re.search(pattern, t)), None)

    # -- choose the base table -------------------------------------------------------------
    entity = mentioned[0] if mentioned else None
    base: TableProfile | None
    metric: Metric
    subject: str
    candidates = fact_tables if (wants_money or wants_aov) else ([entity] if entity else []) + fact_tables
    if not candidates and entity is None:
        candidates = sorted(profile.tables, key=lambda tb: -tb.rows)

    unmatched: list[str] = []

    def resolve(base_table: TableProfile) -> tuple[list[tuple[TableProfile, ColumnProfile]], list[TableProfile]] | None:
        reach = _reachable(profile, base_table)
        dims = []
        unmatched.clear()
        for phrase in dim_phrases:
            found = _find_column(f" {phrase} ", reach, roles=("category", "text", "id", "flag", "date", "number"))
            if found is None:
                found_anywhere = _find_column(f" {phrase} ", profile.tables)
                if found_anywhere is not None:
                    return None  # the column exists but not reachable from this base
                if phrase in explicit and not re.fullmatch(r"\s*(the|a|an|our|my|all|total|far|now)?\s*", phrase):
                    unmatched.append(phrase.strip())
                continue
            if entity is not None and found[0] is entity and found[1].name == entity.key and base_table is entity:
                continue
            dims.append(found)
        return dims, reach

    chosen = None
    unique = [c for i, c in enumerate(candidates) if all(c is not o for o in candidates[:i])]
    for cand in unique:
        resolved = resolve(cand)
        if resolved is not None:
            chosen = (cand, *resolved)
            break
    if chosen is None:
        # try every table as base, most rows first (a fact table reaches most dimensions)
        for cand in sorted(profile.tables, key=lambda tb: -tb.rows):
            resolved = resolve(cand)
            if resolved is not None:
                chosen = (cand, *resolved)
                break
    if chosen is None:
        return None
    base, dims, reach = chosen

    # value filters can pull the base to a fact table ("customers who ordered via app")
    value_hits = _value_filters(t, profile.tables, exclude={c.name for _, c in dims})
    unreachable = [h for h in value_hits if h[0] not in reach]
    if unreachable and not (wants_money or wants_aov):
        for cand in sorted(profile.tables, key=lambda tb: tb.rows):
            reach2 = _reachable(profile, cand)
            if all(h[0] in reach2 for h in value_hits) and all(d[0] in reach2 for d in dims) and (entity is None or entity in reach2):
                base, reach = cand, reach2
                break
    value_hits = [h for h in value_hits if h[0] in reach]

    # -- the metric --------------------------------------------------------------------------
    money_col = _money_column(base, t) if base.by_role("money") else None
    if wants_aov and money_col is not None:
        metric, subject = Metric(agg="avg", column=money_col.name, alias=f"avg_{money_col.name}"), f"average {base.name.rstrip('s')} value ({money_col.name})"
    elif wants_money and money_col is not None and not (wants_count and entity is not None and entity is not base and not re.search(_MONEY_WORDS, t.split("how many")[-1][:12])):
        if wants_avg:
            metric, subject = Metric(agg="avg", column=money_col.name), f"average {money_col.name.replace('_', ' ')}"
        else:
            metric, subject = Metric(agg="sum", column=money_col.name, alias="revenue" if money_col.name in ("total", "line_total", "amount") else None), f"revenue (sum of {base.name}.{money_col.name})"
    elif wants_avg:
        target = _find_column(t.split("average")[-1] if "average" in t else t, [base], roles=("money", "number"))
        if target is None:
            target = _find_column(t, reach, roles=("money", "number"))
        if target is None:
            return None
        metric, subject = Metric(agg="avg", column=f"{target[0].name}.{target[1].name}", alias=f"avg_{target[1].name}"), f"average {target[1].name.replace('_', ' ')}"
    elif entity is not None and entity is not base and entity.key and base.column(entity.key):
        metric, subject = Metric(agg="count_distinct", column=f"{base.name}.{entity.key}", alias=f"{entity.name}"), entity.name
    else:
        metric, subject = Metric(agg="count", alias=base.name), base.name
        if not (wants_count or entity is not None or dims or grain):
            return None

    # -- filters -----------------------------------------------------------------------------
    filters: list[Filter] = []
    qualifiers: list[str] = []
    for table, column, values in value_hits:
        if len(values) == 1:
            filters.append(Filter(column=f"{table.name}.{column.name}", op="=", value=values[0]))
            qualifiers.append(f"{column.name.replace('_', ' ')} is {values[0]}")
        else:
            filters.append(Filter(column=f"{table.name}.{column.name}", op="in", value=values))
            qualifiers.append(f"{column.name.replace('_', ' ')} is {' or '.join(values)}")
    for table, column, flag in _flag_filters(t, reach):
        filters.append(Filter(column=f"{table.name}.{column.name}", op="=", value=flag))
        qualifiers.append(f"{column.name.replace('_', ' ')} is {'yes' if flag else 'no'}")
    number = _number_filter(t, (base, money_col) if money_col else None)
    if number and money_col is not None:
        filters.append(Filter(column=f"{base.name}.{money_col.name}", op=number[0], value=number[1]))  # type: ignore[arg-type]
        qualifiers.append(f"{money_col.name} {number[0]} {number[1]:g}")

    timeframe = parse_timeframe(text, today)
    time_range = None
    if timeframe is not None and any(tb.by_role("date") for tb in reach):
        date_table = base if base.by_role("date") else next(tb for tb in reach if tb.by_role("date"))
        time_range = TimeRange(column=f"{date_table.name}.{_main_date_name(date_table)}", start=timeframe.start, end=timeframe.end)
        qualifiers.append(timeframe.label)
    if grain and not any(tb.by_role("date") for tb in reach):
        grain = None

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
    return DataQuestion(spec=spec, subject=subject, qualifiers=qualifiers, timeframe=timeframe, unmatched=list(unmatched))


def _main_date_name(table: TableProfile) -> str:
    singular = table.name.rstrip("s")
    dates = table.by_role("date")
    for column in dates:
        if column.name.lower() in {f"{singular}_date", "date", "created_at"}:
            return column.name
    return dates[0].name


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
            spec.time_range = TimeRange(column=f"{date_table.name}.{_main_date_name(date_table)}", start=timeframe.start, end=timeframe.end)
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
