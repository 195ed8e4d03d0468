"""What each column of the live warehouse *is*: id, money, date, flag, category (with values), number, text.

The profile is read from the warehouse once and cached in the workspace until
the warehouse changes. The data tools and the offline planner read it to resolve
"revenue by country last quarter" to real tables and columns.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from assistant.settings import write_private
from tools.warehouse import TableInfo, Warehouse

Role = Literal["id", "money", "date", "flag", "category", "number", "text"]

_MONEY_NAME = re.compile(r"(total|amount|revenue|price|cost|spend|value|margin|discount|subtotal|shipping|sales|gmv|clv|ltv|refund|fee|tax|payment|balance|budget|income)", re.I)
_ID_NAME = re.compile(r"(^id$|_id$|^id_|_key$|^uuid$|_number$)", re.I)
PROFILE_VERSION = 3
_CATEGORY_MAX_VALUES = 60
# Personal data is never sampled into the profile (it would reach the model's prompt).
PII_NAME = re.compile(r"(e_?mail|phone|mobile|first_?name|last_?name|full_?name|surname|street|address|postal|zip|birth|ssn|iban)", re.I)


@dataclass(slots=True)
class ColumnProfile:
    name: str
    type: str
    role: Role
    values: list[str] = field(default_factory=list)  # for categories: distinct values, most common first
    min: str | None = None  # for dates and numbers
    max: str | None = None
    description: str | None = None  # from the semantic model
    pii: bool = False  # personal data: never sampled, masked before an external model sees it


@dataclass(slots=True, eq=False)
class TableProfile:
    name: str
    rows: int
    columns: list[ColumnProfile]
    # Set by the semantic model (``semantic.yaml``); None means "infer from names".
    primary_key: str | None = None
    customer_key: str | None = None
    main_date: str | None = None
    grain: str | None = None
    description: str | None = None

    def column(self, name: str) -> ColumnProfile | None:
        lowered = name.lower()
        return next((c for c in self.columns if c.name.lower() == lowered), None)

    def by_role(self, role: Role) -> list[ColumnProfile]:
        return [c for c in self.columns if c.role == role]

    @property
    def key(self) -> str | None:
        """The table's own id column: the declared primary key, else ``<singular table>_id`` or ``id``."""
        if self.primary_key:
            return self.primary_key
        singular = self.name[:-1] if self.name.endswith("s") else self.name
        for candidate in (f"{singular}_id", "id"):
            if self.column(candidate):
                return candidate
        return None


@dataclass(frozen=True, slots=True)
class Relationship:
    """A many-to-one link: each ``from_table.from_column`` names one ``to_table.to_column``."""

    from_table: str
    from_column: str
    to_table: str
    to_column: str


@dataclass(frozen=True, slots=True)
class MetricFilter:
    """One condition of a metric's ``where``: ``status not in (cancelled, returned)``.

    A list value is kept as a tuple so the definition stays hashable.
    """

    column: str
    op: str = "="
    value: Any = None


@dataclass(frozen=True, slots=True)
class MetricDefinition:
    """A named business metric over one table (from the semantic model).

    Exactly one of: ``agg`` (with ``column`` unless counting rows), ``ratio`` (two other
    metrics, numerator / denominator) or ``min_orders`` (share of the table's customers with
    at least that many rows in each group — a repeat rate). ``where`` keeps only the rows
    the metric counts (all conditions hold); it filters this metric, not the whole query.
    """

    name: str
    table: str
    agg: str | None = None
    column: str | None = None
    ratio: tuple[str, str] | None = None
    min_orders: int | None = None
    description: str | None = None
    unit: str | None = None  # money | count | percent | number
    where: tuple[MetricFilter, ...] = ()


@dataclass(slots=True)
class SchemaProfile:
    tables: list[TableProfile]
    relationships: list[Relationship] = field(default_factory=list)  # declared; empty = infer from names
    metrics: dict[str, MetricDefinition] = field(default_factory=dict)

    def table(self, name: str) -> TableProfile | None:
        lowered = name.lower()
        return next((t for t in self.tables if t.name.lower() == lowered), None)

    def parents(self, table: TableProfile) -> list[tuple[TableProfile, str, str]]:
        """Many-to-one links out of ``table``: ``(other table, column here, key there)``.

        Declared relationships win; without any, a column named like another table's key
        (``orders.customer_id`` → ``customers.customer_id``) is taken as the link.
        """
        out = []
        if self.relationships:
            for rel in self.relationships:
                other = self.table(rel.to_table)
                if rel.from_table.lower() == table.name.lower() and other is not None and other is not table:
                    out.append((other, rel.from_column, rel.to_column))
            return out
        for other in self.tables:
            key = other.key
            if other is table or key is None or key == table.key:
                continue
            if table.column(key) is not None:
                out.append((other, key, key))
        return out

    def link_column(self, table: TableProfile, parent: TableProfile) -> str | None:
        """The column of ``table`` that references ``parent`` (``orders.customer_id`` → customers)."""
        return next((fk for other, fk, _ in self.parents(table) if other is parent), None)

    def main_date(self, table: TableProfile) -> ColumnProfile | None:
        """The date a time range on ``table`` means: declared, else ``<singular>_date``/``date``/``created_at``."""
        dates = table.by_role("date")
        if table.main_date and (declared := table.column(table.main_date)) is not None:
            return declared
        singular = table.name.rstrip("s")
        for column in dates:
            if column.name.lower() in {f"{singular}_date", "date", "created_at", f"{singular}_ts"}:
                return column
        return dates[0] if dates else None

    def metric(self, name: str) -> MetricDefinition | None:
        return self.metrics.get(name) or next((m for k, m in self.metrics.items() if k.lower() == name.lower()), None)

    def to_json(self) -> str:
        return json.dumps({"tables": [asdict(t) for t in self.tables]})

    @classmethod
    def from_json(cls, text: str) -> SchemaProfile:
        raw = json.loads(text)
        return cls(
            tables=[
                TableProfile(
                    name=t["name"], rows=t["rows"], columns=[ColumnProfile(**c) for c in t["columns"]]
                )
                for t in raw["tables"]
            ]
        )


def _role_for(column: str, dtype: str) -> Role:
    upper = dtype.upper()
    if upper.startswith(("DATE", "TIMESTAMP")):
        return "date"
    if upper.startswith("BOOL"):
        return "flag"
    numeric = any(t in upper for t in ("INT", "DECIMAL", "NUMERIC", "DOUBLE", "FLOAT", "REAL"))
    if _ID_NAME.search(column) and (numeric or "CHAR" in upper or upper in {"TEXT", "UUID"}):
        return "id"
    if numeric:
        is_integer = "INT" in upper and "INTERVAL" not in upper
        return "money" if _MONEY_NAME.search(column) and not is_integer else "number"
    return "text"


def profile_warehouse(warehouse: Warehouse) -> SchemaProfile:
    """Read tables, column roles, category values and date/number ranges from the warehouse."""
    profiles = []
    for info in warehouse.tables():
        profiles.append(_profile_table(warehouse, info))
    return SchemaProfile(tables=profiles)


def _profile_table(warehouse: Warehouse, info: TableInfo) -> TableProfile:
    columns = [ColumnProfile(c.name, c.type, _role_for(c.name, c.type)) for c in info.columns]
    quote = '"{}"'.format
    text_cols = [c for c in columns if c.role == "text" and not PII_NAME.search(c.name)]
    if text_cols and info.rows:
        # One pass: distinct counts of every text column on a sample decide what is a category.
        selects = ", ".join(f"approx_count_distinct({quote(c.name)})" for c in text_cols)
        if warehouse.dialect != "duckdb":
            selects = ", ".join(f"count(DISTINCT {quote(c.name)})" for c in text_cols)
        counts = warehouse.query(f"SELECT {selects} FROM {quote(info.name)}", row_cap=1).rows[0]
        for column, distinct in zip(text_cols, counts, strict=True):
            if distinct is not None and 0 < int(distinct) <= _CATEGORY_MAX_VALUES:
                column.role = "category"
                rows = warehouse.query(
                    f"SELECT {quote(column.name)}, count(*) AS n FROM {quote(info.name)} "
                    f"WHERE {quote(column.name)} IS NOT NULL GROUP BY 1 ORDER BY n DESC LIMIT {_CATEGORY_MAX_VALUES}",
                    row_cap=_CATEGORY_MAX_VALUES,
                ).rows
                column.values = [str(r[0]) for r in rows]
    ranged = [c for c in columns if c.role in ("date", "money", "number")]
    if ranged and info.rows:
        selects = ", ".join(f"min({quote(c.name)}), max({quote(c.name)})" for c in ranged)
        row = warehouse.query(f"SELECT {selects} FROM {quote(info.name)}", row_cap=1).rows[0]
        for i, column in enumerate(ranged):
            low, high = row[2 * i], row[2 * i + 1]
            column.min = None if low is None else str(low)
            column.max = None if high is None else str(high)
    return TableProfile(info.name, info.rows, columns)


def load_profile(warehouse: Warehouse, cache: Path | None) -> SchemaProfile:
    """The profile from ``cache`` when it matches the warehouse's tables, else freshly read and cached."""
    tables = warehouse.tables()
    # the version invalidates caches written by older role rules
    fingerprint = json.dumps([PROFILE_VERSION, [[t.name, t.rows, [c.name for c in t.columns]] for t in tables]])
    if cache is not None and cache.exists():
        try:
            raw = json.loads(cache.read_text())
            if raw.get("fingerprint") == fingerprint:
                return SchemaProfile.from_json(raw["profile"])
        except (ValueError, KeyError, TypeError):
            pass  # a stale or corrupt cache is rebuilt below
    profile = profile_warehouse(warehouse)
    if cache is not None:
        tmp = cache.with_suffix(".tmp")
        write_private(tmp, json.dumps({"fingerprint": fingerprint, "profile": profile.to_json()}))
        tmp.replace(cache)
    return profile
