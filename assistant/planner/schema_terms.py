"""The schema's things as the parser sees them: label and concept columns, joins, revenue-like money columns."""

from __future__ import annotations

from assistant.planner.lexicon import (
    lexicon_for,
    phrase,
    static,
)
from assistant.planner.parse_model import _Words
from tools.schema_profile import ColumnProfile, MetricDefinition, SchemaProfile, TableProfile

_REVENUE_NAMES = ("revenue", "sales", "net_sales", "gross_sales", "total_sales", "total", "order_total", "net_total",
                  "grand_total", "amount", "order_value", "value", "total_amount", "line_total", "sale", "subtotal", "gmv")


_NOT_REVENUE = frozenset({"price", "cost", "tax", "fee", "shipping", "discount", "refund", "refunded", "mrr", "arr", "budget",
                          "balance", "margin", "dispute", "disputed", "spend", "rate", "unitprice"})


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
    several = sum(1 for item in metric.where if not isinstance(item.value, bool)) > 1
    for item in metric.where:
        values = [str(v) for v in item.value] if isinstance(item.value, tuple) else [str(item.value)]
        listed = values[0] if len(values) == 1 else f"{', '.join(values[:-1])} and {values[-1]}"
        if isinstance(item.value, bool):  # a flag: "excluding Void? items"
            notes.append(f"excluding {item.column} {rows}" if (item.op == "!=") == item.value else f"only {item.column} {rows}")
            continue
        if item.op in ("!=", "not in"):  # two exclusions: each says its column ("excluding item-status Cancelled")
            notes.append(f"excluding {item.column} {listed}" if several else f"excluding {listed} {rows}")
        else:
            notes.append(f"{item.column} {item.op} {listed}")
    return ", " + "; ".join(notes)


def _plural(table: TableProfile) -> str:
    return " ".join(phrase(table.name)[:-1] + (phrase(table.name)[-1] + "s",)) if phrase(table.name) else table.name


_AVERAGED = frozenset({"age", "score", "rating", "rate", "tenure", "year", "duration", "day", "days", "percent", "pct", "ratio",
                       "price", "size", "latitude", "longitude", "lat", "lon", "rank", "position", "nps", "satisfaction", "month",
                       "share", "percentage", "ctr", "cvr", "cpc", "cpm", "cpa", "avg", "average", "mean"})


def _additive(column: ColumnProfile) -> bool:
    """A number that adds up (quantities, counts, bounces), not one to average (age, rating, score, tenure)."""
    if getattr(column, "unit", None) == "count":
        return True
    if getattr(column, "unit", None) == "percent":
        return False  # a rate per row: summed it means nothing
    return not set(phrase(column.name)) & _AVERAGED

