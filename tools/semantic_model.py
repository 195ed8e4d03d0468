"""The semantic layer: ``semantic.yaml`` in the workspace says what the data *means*.

Per table: its grain, primary key, customer key, main date, date and money columns,
categorical columns with their values and personal-data columns; relationships
between tables (``orders.customer_id -> customers.customer_id``); and named metrics
(revenue, orders, AOV, active customers, repeat rate). It is generated from the
warehouse on ``mara data load`` / ``mara demo`` / ``mara data model --generate``
and meant to be edited: whatever it declares overrides what Mara infers from
column names, so "revenue by country last quarter" resolves to the right join,
date column and money column on any dataset that has one.

Plain functions: :func:`generate_semantic_model`, :func:`load_semantic_model`,
:func:`apply_semantic_model`, :func:`refresh_semantic_model`, :func:`save_semantic_model`.
"""

from __future__ import annotations

import copy
import difflib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from foundation.errors import SemanticModelError, ToolInputError
from foundation.settings import private_dir, write_private
from tools.query_spec import Filter, QuerySpec, expr_columns, filter_problem
from tools.schema_profile import (
    CURRENCY_WORDS,
    ENTITY_WORDS,
    ORDER_WORDS,
    PII_NAME,
    QUANTITY_WORDS,
    ColumnProfile,
    MetricDefinition,
    MetricFilter,
    Relationship,
    SchemaProfile,
    TableProfile,
    load_profile,
    name_phrase,
    name_words,
)
from tools.warehouse import open_warehouse

if TYPE_CHECKING:
    from foundation.settings import MaraSettings

log = logging.getLogger("mara.semantic")
FILE_NAME = "semantic.yaml"
# orders.customer_id -> customers.customer_id; a column name as the export wrote it may hold spaces
# ("gifts.Supporter ID -> supporters.Supporter ID")
_RELATIONSHIP = re.compile(r"^\s*(\w+)\.([^.>]+?)\s*->\s*(\w+)\.([^.>]+?)\s*$")
_HEADER = """\
# Mara semantic model: what the tables in this workspace mean.
# Generated from the data; edit freely. Declared values override what Mara infers
# from column names. `mara data model --check` validates this file against the data.
#
# tables.<name>: grain, primary_key, customer_key, order_key, main_date, dates, money, categories, pii,
#                synonyms (other words for the table), columns.<col>: {description, synonyms, list_separator,
#                currency_column} currency_column: money in each row's own currency, named by that column
#                list_separator: the cells list several items split by it (tags "VIP, Newsletter": ","),
#                  the column's categories are its items and a filter on it means "contains the item"
# relationships: many-to-one links, "orders.customer_id -> customers.customer_id"
# metrics.<name>: table + one of  agg (count|count_distinct|sum|avg|min|max) [+ column, or expr:
#                   column names, numbers, + - * / and parentheses, e.g. quantity * unit_price]
#                 | ratio: [numerator metric, denominator metric]
#                 | min_orders: N [+ column]  (share of the table's customers with N+ rows, or N+
#                   distinct values of column such as an order id of line items: a repeat rate)
#                 [+ customer_type: new | returning, on count_distinct of the customer key: customers
#                   whose first row by main_date is (not) among the rows counted]
#                 [+ synonyms: other words people use for the metric]
#                 [+ ambiguous_with: columns with an equal claim; a question naming none of them is asked which]
#                 unit: percent makes a ratio or a flag average a percentage (0-100).
#                 [+ where: rows the metric counts, every condition must hold; other metrics
#                   in the same question still see all rows. Ops: = != > >= < <= in, not in,
#                   between, contains (quote '!='). A ratio takes the where of its two parts.]
#                   where: [{column: status, op: not in, value: [cancelled, returned]}]
"""


class ColumnModel(BaseModel):
    """What one column means, in words: a description and the other names people use for it."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    synonyms: list[str] = Field(default_factory=list)
    list_separator: str | None = Field(
        default=None, description='Each cell lists several items split by this ("," ";" "|" or " "), e.g. tags.')
    currency_column: str | None = Field(
        default=None, description="Money in each row's own currency, named by this column (currency_code): "
        "amounts add up within one currency only.")


class TableModel(BaseModel):
    """What one table is."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    grain: str | None = Field(default=None, description="What one row is, e.g. 'one row per order'.")
    primary_key: str | None = None
    customer_key: str | None = Field(default=None, description="Column identifying the customer a row belongs to.")
    main_date: str | None = Field(default=None, description="The date a time range on this table filters.")
    dates: list[str] = Field(default_factory=list)
    money: list[str] = Field(default_factory=list)
    categories: dict[str, list[str]] = Field(default_factory=dict, description="Categorical columns and their values.")
    pii: list[str] = Field(default_factory=list, description="Personal data: never sampled, masked for external models.")
    order_key: str | None = Field(default=None, description="Column identifying the order a row belongs to (repeats on line items).")
    synonyms: list[str] = Field(default_factory=list, description="Other words people use for this table.")
    columns: dict[str, ColumnModel] = Field(default_factory=dict, description="Column descriptions and synonyms.")


class MetricModel(BaseModel):
    """A named metric over one table."""

    model_config = ConfigDict(extra="forbid")

    table: str
    description: str | None = None
    agg: Literal["count", "count_distinct", "sum", "avg", "min", "max"] | None = None
    column: str | None = None
    ratio: tuple[str, str] | None = None
    min_orders: int | None = Field(default=None, ge=1)
    unit: Literal["money", "count", "percent", "number"] | None = None
    where: list[Filter] = Field(
        default_factory=list, description="Only rows where every condition holds count, e.g. status not in [cancelled]."
    )
    expr: str | None = Field(default=None, description="Instead of column: e.g. quantity * unit_price.")
    customer_type: Literal["new", "returning"] | None = None
    synonyms: list[str] = Field(default_factory=list)
    ambiguous_with: list[str] = Field(
        default_factory=list, description="Other columns of the table with an equal claim (two money columns that could "
        "both be revenue): a question that names none of them is asked which one it means. Empty the list to stop asking.")
    convention: str | None = Field(
        default=None, description="Which of several money conventions the metric follows, in plain words (\"Gross Sales "
        "minus Discounts\" for a net column); every answer with the metric says it.")

    @model_validator(mode="after")
    def _one_kind(self) -> MetricModel:
        kinds = [k for k in ("agg", "ratio", "min_orders") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("give exactly one of agg, ratio or min_orders")
        if self.expr and self.column:
            raise ValueError("give column or expr, not both")
        if self.expr and self.agg not in ("sum", "avg", "min", "max"):
            raise ValueError("expr needs agg sum, avg, min or max")
        if self.agg and self.agg != "count" and not (self.column or self.expr):
            raise ValueError(f"agg '{self.agg}' needs a column")
        if self.customer_type and (self.agg != "count_distinct" or not self.column):
            raise ValueError("customer_type needs agg count_distinct of the customer key column")
        if self.ratio and self.where:
            raise ValueError("a ratio takes the where of its two metrics; put where on them instead")
        return self


class VerifiedQuestion(BaseModel):
    """A question whose query a person checked: answered with that query when asked again (offline),
    offered as an example to the LLM. ``query`` is a query spec (as ``query_data`` takes), or ``sql``."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=3)
    query: QuerySpec | None = None
    sql: str | None = None
    verified_by: str | None = None

    @model_validator(mode="after")
    def _one_answer(self) -> VerifiedQuestion:
        if (self.query is None) == (self.sql is None):
            raise ValueError("give exactly one of query (a query spec) or sql")
        return self


class RecommendationSettings(BaseModel):
    """How product recommendations treat repeat purchases."""

    model_config = ConfigDict(extra="forbid")

    repurchase_categories: list[str] = Field(
        default_factory=list,
        description="Product categories bought again and again (consumables): recommendations may include "
        "what a customer already has.",
    )


class SemanticModel(BaseModel):
    """The whole ``semantic.yaml``."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    tables: dict[str, TableModel] = Field(default_factory=dict)
    relationships: list[str] = Field(default_factory=list)
    metrics: dict[str, MetricModel] = Field(default_factory=dict)
    verified_questions: list[VerifiedQuestion] | None = None
    recommendations: RecommendationSettings | None = None


# --- reading and writing ---------------------------------------------------------------------


def load_semantic_model(path: Path) -> SemanticModel | None:
    """The model in ``path``, None when there is no file; :class:`SemanticModelError` when it is invalid."""
    if not path.exists():
        return None
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise SemanticModelError(f"{path.name}{where} is not valid YAML: {getattr(err, 'problem', err)}.",
                                 hint="Fix the file or regenerate it with 'mara data model --generate'.") from err
    if raw is None:
        return SemanticModel()
    if not isinstance(raw, dict):
        raise SemanticModelError(f"{path.name} must be a mapping with 'tables', 'relationships' and 'metrics'.")
    try:
        return SemanticModel.model_validate(raw)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in err.errors()[:8]
        )
        raise SemanticModelError(f"{path.name}: {problems}.", hint="See the comments at the top of the file for the accepted keys.") from err


def save_semantic_model(model: SemanticModel, path: Path) -> None:
    """Write ``model`` to ``path`` atomically (a temporary file renamed over the old one)."""
    data = model.model_dump(exclude_none=True, exclude_defaults=False)
    for table in data["tables"].values():
        for key in [k for k, v in table.items() if v in ([], {})]:
            del table[key]
    for table in data["tables"].values():
        for column in table.get("columns", {}).values():
            if not column.get("synonyms"):
                column.pop("synonyms", None)
    for metric in data["metrics"].values():
        if not metric.get("synonyms"):
            metric.pop("synonyms", None)
        if not metric.get("ambiguous_with"):
            metric.pop("ambiguous_with", None)
        if not metric.get("convention"):
            metric.pop("convention", None)
        if "ratio" in metric:
            metric["ratio"] = list(metric["ratio"])
        if metric.get("where"):  # one condition per line: {column: status, op: not in, value: [...]}
            metric["where"] = [_FlowMapping(condition) for condition in metric["where"]]
        else:
            metric.pop("where", None)
    text = _HEADER + yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
    private_dir(path.parent)
    tmp = path.with_suffix(".yaml.tmp")
    write_private(tmp, text)
    tmp.replace(path)


class _FlowMapping(dict):  # type: ignore[type-arg]
    """A mapping written on one line."""


class _Dumper(yaml.SafeDumper):
    """``yaml.safe_dump``, with :class:`_FlowMapping` in flow style."""


_Dumper.add_representer(
    _FlowMapping, lambda dumper, data: dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True)
)


# --- generating from the data ----------------------------------------------------------------


def generate_semantic_model(profile: SchemaProfile) -> SemanticModel:
    """A model inferred from the profile's column roles, names and values (what Mara assumes anyway)."""
    return infer_semantic_model(profile)[0]


@dataclass(slots=True)
class Inference:
    """What was inferred for one table, to say in a few plain lines on ``mara data load``."""

    table: str
    rows: int
    grain: str | None = None
    customer_key: str | None = None
    order_key: str | None = None
    main_date: str | None = None
    revenue: str | None = None  # "sum of total_usd" or "sum of quantity * unit_price"
    convention: str | None = None  # which of related money columns revenue is, said in every answer
    flags: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"{self.table}: {self.grain or 'one row per record'} ({self.rows:,} rows)"]
        if self.customer_key:
            out.append(f"customer key: {self.customer_key} (\"customers\" counts distinct {self.customer_key}, not rows)")
        if self.order_key:
            out.append(f"order key: {self.order_key}")
        if self.main_date:
            out.append(f"time ranges use: {self.main_date}")
        if self.revenue:
            out.append(f"revenue: {self.revenue}")
        if self.flags:
            out.append(f"flags (each a filter and a rate): {', '.join(self.flags)}")
        out.append(f"metrics added: {', '.join(self.metrics)}" if self.metrics else "metrics added: none")
        out += [f"note: {n}" for n in self.notes]
        return out

    def to_dict(self) -> dict[str, object]:
        return {"table": self.table, "rows": self.rows, "grain": self.grain, "customer_key": self.customer_key,
                "order_key": self.order_key, "main_date": self.main_date, "revenue": self.revenue, "flags": self.flags,
                "metrics": self.metrics, "notes": self.notes, "lines": self.lines()}


def infer_semantic_model(profile: SchemaProfile) -> tuple[SemanticModel, dict[str, Inference]]:
    """The generated model, and per table what was inferred (grain, keys, revenue, flags, metrics, doubts)."""
    tables: dict[str, TableModel] = {}
    facts: dict[str, _Fact] = {}
    inferred = {t.name: Inference(t.name, t.rows) for t in profile.tables}
    customers = _customers_table(profile)
    entities = {t.name: k for t in profile.tables if (k := _entity_key(t)) is not None}
    for table in profile.tables:
        info = inferred[table.name]
        main = profile.main_date(table)
        key = table.key or entities.get(table.name)
        customer_key = None
        if customers is not None and customers.key:
            customer_key = customers.key if table is customers else profile.link_column(table, customers)
        if table.name in entities:
            customer_key = customer_key or entities[table.name]
        elif customer_key is None:
            customer_key = _log_customer_key(table, info)
        order_key = None if table.name in entities else _order_key(table, customer_key)
        order_column = table.column(order_key) if order_key else None
        repeats = order_column is not None and _repeats(order_column, table.rows)
        partial = order_column is not None and bool(order_column.nulls)  # filled on some rows only
        event = _event_column(table)
        singular = table.name[:-1] if table.name.endswith("s") else table.name
        grain = f"one row per {singular.replace('_', ' ')}" + (f" ({key})" if key else "")
        if event is not None:
            grain = f"one row per event ({event.name})"
        elif repeats:
            grain = f"one row per line item; {order_key} repeats (an order has several rows)"
        elif order_key and order_key != key and not partial:
            grain = f"one row per order ({order_key})"
        dates = table.by_role("date")
        if main is not None and len(dates) > 1:
            info.notes.append(f"{len(dates)} date columns ({', '.join(c.name for c in dates)}); time ranges use {main.name}")
        tables[table.name] = TableModel(
            grain=grain,
            primary_key=key,
            customer_key=customer_key,
            order_key=order_key if order_key != key else None,
            main_date=main.name if main is not None else None,
            dates=[c.name for c in dates],
            money=[c.name for c in table.by_role("money")],
            categories={c.name: c.values for c in table.by_role("category") if c.values},
            pii=[c.name for c in table.columns if c.pii or (PII_NAME.search(c.name) and c.role != "flag")],
            synonyms=_table_synonyms(table),
            columns=_column_models(table),
        )
        _ad_spend(table, tables[table.name], info)
        info.grain, info.customer_key, info.main_date = grain, customer_key, main.name if main is not None else None
        info.order_key = order_key
        info.flags = [c.name for c in table.by_role("flag")]
        if table.rows == 0:
            info.notes.append(f"{table.name} has no rows: no metrics inferred (load data with rows to get them)")
            continue
        if table.name in entities:
            info.notes.append(f"{table.name} lists {'customers' if table is customers else 'people or accounts'}: "
                              "one row each, so \"how many\" counts rows")
            continue
        revenue = _revenue(table, info)
        if revenue is not None and revenue[0] and revenue[0] not in tables[table.name].money:
            tables[table.name].money.append(revenue[0])  # a line total found by its values is money
        if revenue is not None and (customer_key not in (None, key) or order_key):
            facts[table.name] = _Fact(table, revenue, customer_key if customer_key != key else None, order_key,
                                      repeats or partial)
    for table in profile.tables:
        if table.name not in facts:
            inferred[table.name].revenue = None  # a money column of a table that is not a purchase log
    relationships = [
        f"{table.name}.{fk} -> {other.name}.{key}" for table in profile.tables for other, fk, key in profile.parents(table)
    ]
    metrics = _standard_metrics(profile, tables, facts, customers, inferred)
    owner = metrics["revenue"].table if "revenue" in metrics else None
    for name in facts:
        if owner is not None and name != owner:
            inferred[name].notes.append(f"revenue, orders and customers metrics are defined on {owner}; "
                                        f"questions about {name} use its columns")
    for table in profile.tables:
        if table.rows:
            _event_metrics(table, metrics, inferred[table.name])
            _flag_metrics(table, metrics)
            _deduction_metrics(table, metrics, inferred[table.name])
            _ad_metrics(table, metrics)
            _satisfaction_metrics(table, metrics)
        if table.name in entities and not set(name_words(table.name)) & {"customer", "customers"}:
            tables[table.name].synonyms = [*tables[table.name].synonyms, "customers"]
    for name, metric in metrics.items():
        inferred[metric.table].metrics.append(name)
    return SemanticModel(tables=tables, relationships=relationships, metrics=metrics), inferred


@dataclass(slots=True)
class _Fact:
    """A table of purchases: what revenue sums, who the customer is, what an order is."""

    table: TableProfile
    revenue: tuple[str, str | None, list[str], list[str]]  # (column, or "" with an expression; expression;
    # close alternatives; those with an equal claim)
    customer_key: str | None
    order_key: str | None
    line_items: bool


def _entity_key(table: TableProfile) -> str | None:
    """The key of a table that lists people or accounts (customers, contacts, members, accounts): its
    own unique id — or unique e-mail — when its name or that id says so; None for other tables."""
    words = name_words(table.name)
    named = bool(words) and (words[-1] in _PLURAL_ENTITIES or words[-1] in ENTITY_WORDS)
    key = table.key
    column = table.column(key) if key else None
    unique = column is not None and (column.distinct is None or column.distinct + (column.nulls or 0) >= table.rows)
    if key and unique and (named or name_words(key)[0] in ENTITY_WORDS):
        return key
    if not named:
        return None
    ids = [c for c in table.columns if (c.role == "id" or c.pattern == "email") and c.distinct is not None
           and c.distinct >= table.rows > 0 and not c.nulls]
    ids.sort(key=lambda c: (c.role != "id", table.columns.index(c)))
    return ids[0].name if ids else None


def _customers_table(profile: SchemaProfile) -> TableProfile | None:
    """The customer (or account, user, member) table: its own key names the customer and is unique."""
    named = []
    for t in profile.tables:
        key = t.key
        if not key:
            continue
        column = t.column(key)
        unique = column is None or column.distinct is None or column.distinct + (column.nulls or 0) >= t.rows
        words = name_words(key)
        if unique and (words[0] in ENTITY_WORDS or (words == ["id"] and set(name_words(t.name)) & _PLURAL_ENTITIES)):
            named.append(t)
    return min(named, key=lambda t: len(t.name)) if named else None


_PLURAL_ENTITIES = frozenset({"customers", "clients", "users", "members", "accounts", "subscribers", "buyers", "shoppers",
                              "contacts", "patrons", "donors", "households", "guests", "players", "customer", "account",
                              "supporters", "constituents", "backers", "students", "patients", "attendees", "tenants"})


def _repeats(column: ColumnProfile | None, rows: int) -> bool:
    """Whether the column's values repeat across rows (a customer with several orders; an order of several lines)."""
    if column is None or column.distinct is None:
        return False
    return 0 < column.distinct < rows - (column.nulls or 0)


def _log_customer_key(table: TableProfile, info: Inference) -> str | None:
    """The customer of a transaction log without a customer table: the repeated customer id, else the
    repeated e-mail column. Several candidates: the id wins and a note says which others exist."""
    ranked: list[tuple[int, str]] = []
    for column in table.columns:
        words = set(column.words)
        if not _repeats(column, table.rows):
            continue
        if column.role == "id" and words & ENTITY_WORDS:
            ranked.append((0, column.name))
        elif column.pattern == "email" or (column.pii and words & {"email", "mail"}):
            ranked.append((1, column.name))
    if not ranked:
        return None
    ranked.sort()
    best = table.column(ranked[0][1])
    emails = [n for rank, n in ranked if rank == 1]
    if best is not None and best.role == "id" and emails and (best.nulls or 0) > 0.05 * table.rows:
        email = table.column(emails[0])
        if email is not None and (email.nulls or 0) < (best.nulls or 0):
            info.notes.append(f"{best.name} is empty or 0 on {best.nulls} of {table.rows} rows (guest checkouts?): "
                              f"customers are identified by {email.name}")
            ranked = [(0, email.name)] + [r for r in ranked if r[1] != email.name]
    if len(ranked) > 1:
        others = ", ".join(n for _, n in ranked[1:])
        info.notes.append(f"customers are identified by {ranked[0][1]}; {others} could also identify them "
                          f"(set tables.{table.name}.customer_key to change)")
    return ranked[0][1]


def _order_key(table: TableProfile, customer_key: str | None) -> str | None:
    """The order a row belongs to: an id named for orders/invoices/transactions, else the table's own key."""
    ranked: list[tuple[int, int, str]] = []  # (has empty rows, strength, name)
    key = table.key
    table_words = set(name_words(table.name)) | {w.rstrip("s") for w in name_words(table.name)}
    for position, column in enumerate(table.columns):
        words = set(column.words)
        if column.name == customer_key or column.role != "id" and column.pattern != "id":
            continue
        if (column.nulls or 0) > 0.5 * table.rows and not words & _STRONG_ORDER:
            continue  # a payment reference filled on a few rows says nothing about orders
        if words & _STRONG_ORDER:
            strength = 0
        elif column.name == key and table_words & ORDER_WORDS:
            strength = 1
        elif words & ORDER_WORDS:
            strength = 2
        elif (column.pattern == "id" and not words & ENTITY_WORDS and not words & _ITEM_WORDS
              and table.by_role("money") and table.by_role("date")):
            strength = 3  # "Name" = "#1001" in a store's order export
        else:
            continue
        ranked.append((1 if column.nulls else 0, strength, position, column.name))  # type: ignore[arg-type]
    return min(ranked)[-1] if ranked else None  # type: ignore[return-value]


_STRONG_ORDER = frozenset({"order", "orders", "invoice", "inv", "transaction", "txn", "trx", "receipt", "basket", "booking",
                           "cart", "checkout", "ord"})
_ITEM_WORDS = frozenset({"product", "item", "sku", "stock", "variant", "article", "line", "lineitem", "session", "device",
                         "card", "campaign"})


# revenue words, best first; a column with one of _NOT_REVENUE is never revenue
_REVENUE_SCORE = {"revenue": 6, "sales": 6, "gmv": 6, "turnover": 6, "total": 5, "amount": 4, "amt": 4, "value": 4,
                  "paid": 4, "payment": 4, "payments": 4, "charge": 4, "charges": 4, "billed": 4, "invoiced": 4,
                  "spend": 3, "spent": 3, "mrr": 4, "arr": 4, "income": 4, "net": 4, "gross": 4, "earnings": 4,
                  "subtotal": 3, "price": 1, "msrp": 1, "rrp": 1}
_NOT_REVENUE = frozenset({"discount", "discounts", "tax", "taxes", "shipping", "cost", "costs", "fee", "fees", "refund",
                          "refunds", "margin", "budget", "balance", "tip", "tips", "deposit", "profit", "unit", "avg",
                          "average", "min", "max", "limit", "credit", "salary", "wage", "commission", "vat", "duty",
                          "refunded", "disputed", "outstanding", "due", "compare"})
_CURRENCY = frozenset(CURRENCY_WORDS)


def _revenue_score(column: ColumnProfile) -> float:
    words = set(column.words)
    if words & _NOT_REVENUE:
        return 0
    score = max((_REVENUE_SCORE.get(w, 0) for w in words), default=0)
    # an amount in one named (or converted, account) currency beats one in each row's own currency
    return score + (0.5 if words & (_CURRENCY | {"converted", "base", "reporting"}) else 0) if score else 0


def _revenue(table: TableProfile, info: Inference) -> tuple[str, str | None, list[str], list[str]] | None:
    """What revenue sums on ``table``: the best-named money column, else quantity * unit price.

    Returns (column or "", expression, close alternatives); says in ``info`` which column was used
    and which other money columns exist.
    """
    money = [c for c in table.by_role("money") if _revenue_score(c) > 0]
    quantity = next((c for c in table.columns if c.role == "number" and set(c.words) & QUANTITY_WORDS), None)
    price = next((c for c in table.by_role("money") if set(c.words) & {"price", "msrp", "rrp"} and
                  not set(c.words) & {"total", "subtotal"} and c.name not in table.line_totals), None)
    ranked = sorted(money, key=lambda c: (-_revenue_score(c), table.columns.index(c)))
    chosen, why, convention = _revenue_by_values(table, ranked)
    info.convention = convention
    if chosen is not None:
        ranked = [chosen] + [c for c in ranked if c is not chosen]
        info.notes.append(why)
    best = ranked[0] if ranked else None
    if best is not None and (chosen is not None or _revenue_score(best) >= 3 or quantity is None or price is None):
        plain = _CURRENCY | {"converted", "base", "reporting"}
        base = [w for w in best.words if w not in plain]
        close = [] if chosen is not None else [
            c.name for c in ranked[1:] if _revenue_score(c) >= 4 and [w for w in c.words if w not in plain] != base]
        variants = [c.name for c in ranked[1:] if c.name not in close and [w for w in c.words if w not in plain] == base]
        info.revenue = f"sum of {best.name}"
        filled = (best.nulls or 0) <= 0.1 * table.rows  # a column filled on a few rows ("Adjusted Total" of refunds) is no rival
        tied = [] if chosen is not None or not filled else [
            c.name for c in ranked[1:] if _revenue_score(c) == _revenue_score(best) and c.name in close
            and (c.nulls or 0) <= 0.1 * table.rows]
        if tied:
            info.notes.append(f"{best.name} and {', '.join(tied)} have an equal claim to be revenue: a question about revenue "
                              "that names neither is asked which (metrics.revenue.ambiguous_with)")
        if close:
            info.notes.append(f"two or more money columns could be revenue: used {best.name}; {', '.join(close)} also "
                              f"exist{'s' if len(close) == 1 else ''} (edit metrics.revenue in semantic.yaml to use another)")
        if variants:
            info.notes.append(f"{best.name} is used for revenue; {', '.join(variants)} hold{'s' if len(variants) == 1 else ''} "
                              "the same amount in another currency")
        others = [c.name for c in table.by_role("money") if c is not best and c.name not in close and c.name not in variants]
        if others:
            info.notes.append(f"other money columns (not revenue): {', '.join(others)}")
        return best.name, None, close, tied
    if quantity is not None and price is not None:
        expr = f"{_expr_name(quantity.name)} * {_expr_name(price.name)}"
        info.revenue = f"sum of {quantity.name} * {price.name} (no line total column)"
        return "", expr, [], []
    return None


_FEE_WORDS = frozenset({"fee", "fees", "commission", "commissions", "processing", "stripe", "paypal", "payout", "charges"})
_DEDUCTION_WORDS = frozenset({"discount", "discounts", "refund", "refunds", "refunded", "return", "returns", "returned",
                              "comp", "comps", "promo", "promotion", "promotions", "coupon", "coupons", "markdown",
                              "markdowns", "rebate", "rebates", "chargeback", "chargebacks", "allowance", "allowances"})


def _revenue_by_values(table: TableProfile, ranked: list[ColumnProfile]) -> tuple[ColumnProfile | None, str, str | None]:
    """Revenue decided by what the values show, when they show it: a line total that is quantity times
    price on every row; of a gross and a net, the net when the difference is discounts or refunds
    (what customers paid, after them), the gross when it is a processor's fee (the net is a payout).

    Returns (column, why — for the load report, convention — said in every answer). Names alone ("Gross"
    and "Net" with no exact relation between them) decide nothing: the two are left tied, so a question
    about revenue that names neither is asked which one it means."""
    by_name = {c.name: c for c in table.columns}
    candidates = {c.name for c in ranked}
    for name in table.line_totals:
        if name in by_name and not any(_revenue_score(c) >= 3 for c in ranked):
            return by_name[name], (f"{name} of a line with 2 or more units is that many times the 1-unit price: a line total, "
                                   "summed for revenue"), "the line's total (price × quantity), not a unit price"
    for target, a, op, b in table.relations:
        column = by_name.get(target)
        if op == "*" and column is not None and column.role in ("money", "number"):
            if target in candidates and ranked and ranked[0].name != target and _revenue_score(ranked[0]) > _revenue_score(column):
                continue  # an order total beside line totals: the order total stays
            return column, f"{target} is {a} x {b} on every row: a line total, summed for revenue", None
    for smaller, larger, op, b in table.relations:
        part = by_name.get(b)
        if op != "-" or part is None or (smaller not in candidates and larger not in candidates):
            continue
        words = set(part.words)
        stored = f" ({b} is stored negative)" if b in table.negative_columns else ""
        if words & _FEE_WORDS and larger in candidates:
            return by_name[larger], (f"{smaller} = {larger} - {b} on every row{stored}: {smaller} is after fees (a payout), "
                                     f"so revenue is {larger}, what customers paid"), (
                f"before {name_phrase(b).lower()}; {smaller} is {larger} minus {b}")
        if words & _DEDUCTION_WORDS and smaller in candidates:
            return by_name[smaller], (f"{smaller} = {larger} - {b} on every row{stored}: revenue is {smaller}, "
                                      f"after {name_phrase(b).lower()}"), f"{larger} minus {b}"
    return None, "", None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def _deduction_metrics(table: TableProfile, metrics: dict[str, MetricModel], info: Inference) -> None:
    """A discount, refund or fee column written as negative amounts (Square writes "Discounts" as
    -81.50) gets a metric reporting it as a positive amount — "discounts given: 81.50" — and says so."""
    for column in table.by_role("money"):
        words = set(column.words)
        if not words & (_DEDUCTION_WORDS | _FEE_WORDS) or column.name not in table.negative_columns:
            continue
        name = _metric_name(column.name)
        if not name or name in metrics:
            continue
        phrase = name_phrase(column.name).lower()
        revenue = metrics.get("revenue")
        where = [f.model_copy(deep=True) for f in revenue.where] if revenue is not None and revenue.table == table.name else []
        metrics[name] = MetricModel(
            table=table.name, agg="sum", expr=f"0 - {_expr_name(column.name)}", unit="money", where=where,
            description=f"as a positive amount: minus the sum of {table.name}.{column.name}, which stores them as negative "
                        f"numbers{' (on the rows revenue counts)' if where else ''}",
            synonyms=sorted({phrase, f"total {phrase}"} | ({f"{phrase} given"} if words & _DEDUCTION_WORDS else set())
                            - {name.replace('_', ' ')}))
        info.notes.append(f"{column.name} is stored as negative amounts: metric {name} reports it as a positive amount")


def _expr_name(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else f'"{name}"'


def _standard_metrics(
    profile: SchemaProfile, tables: dict[str, TableModel], facts: dict[str, _Fact], customers: TableProfile | None,
    inferred: dict[str, Inference],
) -> dict[str, MetricModel]:
    """revenue, orders, aov, customers (or active_customers), new and returning customers, repeat_rate and units
    on the purchase table; units and line revenue on its line items."""
    if not facts:
        return {}
    with_customer = [f for f in facts.values() if f.customer_key]
    fact = min(with_customer or list(facts.values()),  # the header, not its lines; dated
               key=lambda f: (profile.main_date(f.table) is None, f.line_items, f.table.rows))
    orders = fact.table
    column, expr, close, tied = fact.revenue
    label = orders.name.replace("_", " ")
    excluded, excluding = _excluded_statuses(orders, label)

    def where() -> list[Filter]:  # each metric its own copy: editing one leaves the others alone
        return [f.model_copy(deep=True) for f in excluded]

    also = f" ({', '.join(close)} also {'exists' if len(close) == 1 else 'exist'}: another possible revenue)" if close else ""
    revenue_text = f"Sum of {orders.name}.{column}" if column else f"Sum of {expr} over {orders.name}"
    metrics = {
        "revenue": MetricModel(table=orders.name, agg="sum", column=column or None, expr=expr, unit="money", where=where(),
                               description=f"{revenue_text}{excluding}{also}", synonyms=["sales", "turnover"],
                               ambiguous_with=list(tied), convention=inferred[orders.name].convention),
    }
    order_key = fact.order_key if fact.line_items else None
    revenue_column = orders.column(column) if column else None
    order_column = orders.column(order_key) if order_key else None
    # A bare log (no customer table) counts every order and customer, whatever its status, as exports
    # are read ("how many orders have we had?"); revenue and AOV leave out cancelled/refunded ones.
    # With a customer table (the demo's shape) every order metric leaves them out, as before.
    log = customers is None or profile.link_column(orders, customers) is None
    counted, counting = (([], ", all statuses" if excluding else "") if log else (excluded, excluding))
    statuses = _status_columns(orders)
    kinds = [st for st in statuses if not _STATUS_ONLY.search(st[0].name)]
    type_like = bool(kinds)
    if type_like:
        # a transaction type (Sale / Refund / Void): a refund or void row is no order, whatever the table
        counted = [Filter(column=c.name, op="not in", value=dropped) for c, dropped, _ in kinds]
        counting = "".join(f", not counting {c.name} {' or '.join(dropped)} rows" for c, dropped, _ in kinds)
        if not log:
            counted += [f for f in excluded if f.column not in {c.name for c, _, _ in kinds}]
    if (column or expr) and statuses:
        said = []
        for status_column, dropped, refunded in statuses:
            said.append(f"leaves out {status_column.name} = {' / '.join(dropped)}")
            if refunded:
                said.append(f"{status_column.name} = {' / '.join(refunded)} rows are refunds (negative amounts): "
                            "metric refunds reports them as a positive amount")
        inferred[orders.name].revenue = "; ".join([inferred[orders.name].revenue or "", *said])
    for status_column, _, refunded in statuses:  # refunds written as negative rows: how much was refunded, as a positive amount
        if refunded and (column or expr) and "refunds" not in metrics:
            amount = _expr_name(column) if column else f"({expr})"
            metrics["refunds"] = MetricModel(
                table=orders.name, agg="sum", expr=f"0 - {amount}", unit="money",
                where=[Filter(column=status_column.name, op="in", value=refunded)],
                description=f"as a positive amount: minus the sum of {column or expr} on {status_column.name} = "
                            f"{' / '.join(refunded)} rows, which are stored as negative amounts",
                synonyms=["refunded", "refund amount", "amount refunded", "total refunds"])

    voided = [f for f in excluded if f.column in {c.name for c in _exclusion_flags(orders, never_happened=True)}]
    if voided and not {f.column for f in counted} >= {f.column for f in voided}:
        counted = [*counted, *voided]  # a voided line was never sold: no order, customer or unit counts it
        counting = f"{counting}{''.join(f', excluding {f.column} {label}' for f in voided)}"

    # in a ledger of money received (payments, gifts — not an order table) a customer is someone who paid: a
    # failed, denied or pending payment makes no customer (rows are still counted as they are written)
    named = set(name_words(orders.name)) | {w for c in orders.by_role("id") for w in c.words}
    ledger = log and excluded and bool(named & _LEDGER_WORDS) and not named & _ORDER_TABLE_WORDS
    people, people_words = ((excluded, excluding) if ledger else (counted, counting))

    def counted_where() -> list[Filter]:
        return [f.model_copy(deep=True) for f in counted]

    def people_where() -> list[Filter]:
        return [f.model_copy(deep=True) for f in people]

    def order_count(filters: list[Filter], words: str) -> MetricModel:
        if (order_key and revenue_column is not None and order_column is not None and revenue_column.nulls
                and orders.rows - revenue_column.nulls == order_column.distinct):
            # the order total is written on one line of each order: an order is a row with a total
            return MetricModel(table=orders.name, agg="count", column=column, unit="count", where=filters,
                               description=f"Number of orders: {orders.name} rows with a {column} (one per {order_key}){words}",
                               synonyms=["transactions", "purchases"])
        if order_key:
            return MetricModel(table=orders.name, agg="count_distinct", column=order_key, unit="count", where=filters,
                               description=f"Number of distinct {order_key} in {orders.name}{words}",
                               synonyms=["transactions", "purchases"])
        return MetricModel(table=orders.name, agg="count", unit="count", where=filters, description=f"Number of {label}{words}",
                           synonyms=[] if label in ("orders", "order") else ["orders"])

    metrics["orders"] = order_count(counted_where(), counting)
    per_order = "orders"
    if [f.model_dump() for f in counted] != [f.model_dump() for f in excluded]:
        # average order value divides revenue by the orders revenue counts, never by rows it leaves out
        per_order = "kept_orders"
        metrics["kept_orders"] = order_count(where(), excluding)
    metrics["aov"] = MetricModel(table=orders.name, ratio=("revenue", per_order), unit="money",
                                 description=f"Average order value: revenue / {per_order.replace('_', ' ')}{excluding}",
                                 synonyms=["average order value", "order value", "average basket"])
    customer_key = tables[orders.name].customer_key
    dated = tables[orders.name].main_date is not None
    noun = "order" if fact.line_items or set(name_words(orders.name)) & {"orders", "order"} else (
        label[:-1] if label.endswith("s") else label)
    if customer_key:
        if not log:
            metrics["active_customers"] = MetricModel(
                table=orders.name, agg="count_distinct", column=customer_key, unit="count", where=where(),
                description=f"Customers with at least one row in {orders.name}{excluding}")
        else:
            metrics["customers"] = MetricModel(
                table=orders.name, agg="count_distinct", column=customer_key, unit="count", where=people_where(),
                description=f"Distinct customers ({customer_key}) in {orders.name}, not rows{people_words}",
                synonyms=["buyers", "shoppers", "clients", "active customers"])
    if customer_key and dated:
        metrics["new_customers"] = MetricModel(
            table=orders.name, agg="count_distinct", column=customer_key, customer_type="new", unit="count", where=people_where(),
            description=f"Customers whose first {noun} (by {tables[orders.name].main_date}) falls in the period{people_words}",
            synonyms=["first-time customers", "first-time buyers", "new buyers"])
        metrics["returning_customers"] = MetricModel(
            table=orders.name, agg="count_distinct", column=customer_key, customer_type="returning", unit="count",
            where=people_where(),
            description=f"Customers with {'an' if noun[0] in 'aeiou' else 'a'} {noun} in the period whose first {noun} "
                        f"was earlier{people_words}",
            synonyms=["repeat customers", "existing customers", "returning buyers"])
    if customer_key:
        per = f"distinct {order_key}" if order_key else label
        metrics["repeat_rate"] = MetricModel(
            table=orders.name, min_orders=2, column=order_key, unit="percent", where=people_where(),
            description=f"Share of {'customers' if log else 'active customers'} with 2 or more {per}{people_words}",
            synonyms=["repurchase rate", "returning customer rate"])
    quantity = _quantity(orders)
    if quantity is not None:
        metrics["units"] = MetricModel(table=orders.name, agg="sum", column=quantity.name, unit="count", where=where(),
                                       description=f"Units sold: sum of {orders.name}.{quantity.name}{excluding}",
                                       synonyms=["quantity", "items sold", "units sold"])
    for other in profile.tables:  # line items of the orders: units and line revenue
        if other is orders or not other.rows or profile.link_column(other, orders) is None:
            continue
        info = Inference(other.name, other.rows)
        quantity = _quantity(other)
        left_out = f"; includes lines of {excluding[len(', excluding '):]}" if excluding else ""
        if quantity is not None and "units" not in metrics:
            metrics["units"] = MetricModel(table=other.name, agg="sum", column=quantity.name, unit="count",
                                           description=f"Units: sum of {other.name}.{quantity.name}{left_out}",
                                           synonyms=["quantity", "items sold", "units sold"])
        line = _revenue(other, info)
        if line is not None and "line_revenue" not in metrics:
            column, expr, _, _ = line
            text = f"Sum of {other.name}.{column}" if column else f"Sum of {expr} over {other.name}"
            metrics["line_revenue"] = MetricModel(
                table=other.name, agg="sum", column=column or None, expr=expr, unit="money",
                description=f"{text} (revenue by product or line){left_out}", synonyms=["product revenue", "item revenue"],
                convention=info.convention)
            inferred[other.name].revenue = info.revenue
    return metrics


def _quantity(table: TableProfile) -> ColumnProfile | None:
    return next((c for c in table.columns if c.role == "number" and c.unit == "count"), None)


def _metric_name(text: str) -> str:
    words = [w for w in name_words(text) if w]
    if len(words) > 1 and words[0] in ("is", "has", "was", "did"):
        words = words[1:]
    return "_".join(words)


def _flag_metrics(table: TableProfile, metrics: dict[str, MetricModel]) -> None:
    """Every flag is a rate: the share of the table's rows where it holds (``churned_rate``)."""
    rows = table.name.replace("_", " ")
    for column in table.by_role("flag"):
        name = f"{_metric_name(column.name)}_rate"
        if name in metrics:
            name = f"{_metric_name(table.name)}_{name}"
        if name in metrics:
            continue
        phrase = name_phrase(column.name)
        metrics[name] = MetricModel(
            table=table.name, agg="avg", column=column.name, unit="percent",
            description=f"Share of {rows} where {column.name} holds (yes/true/1), in %",
            synonyms=[f"{phrase} rate", f"share {phrase}"])


# event types in an events table (or counts in a campaign table): canonical name -> words that say it
_EVENTS = {
    "send": {"send", "sent", "sends", "sending", "recipients"},
    "delivery": {"delivered", "deliver", "delivery", "deliveries"},
    "open": {"open", "opened", "opens"},
    "click": {"click", "clicked", "clicks"},
    "bounce": {"bounce", "bounced", "bounces"},
    "unsubscribe": {"unsubscribe", "unsubscribed", "unsubscribes", "optout", "unsub"},
    "complaint": {"complaint", "complaints", "spam"},
    "conversion": {"conversion", "conversions", "converted", "convert", "conv"},
    "impression": {"impression", "impressions", "impr", "imps"},
}
# the count's plural as people ask for it ("how many clicks"); not for events whose word is mostly a verb in a
# question ("how many campaigns did we send", "did they open")
_EVENT_PLURALS = {"click": "clicks", "conversion": "conversions", "impression": "impressions"}
_RATES = {"open": "open_rate", "click": "click_rate", "bounce": "bounce_rate", "unsubscribe": "unsubscribe_rate",
          "complaint": "complaint_rate", "conversion": "conversion_rate", "delivery": "delivery_rate"}
_EVENT_COLUMN = frozenset({"type", "action", "activity", "interaction", "kind", "name", "status"})


def _event_of(text: str) -> str | None:
    words = set(name_words(text))
    return next((event for event, said in _EVENTS.items() if words & said), None)


def _event_column(table: TableProfile) -> ColumnProfile | None:
    """The column saying what happened (``event_type``: sent/open/click; ``event_name``): named for
    events, or holding at least two known e-mail/ad event types."""
    for column in table.by_role("category"):
        words = set(column.words)
        known = {e for v in column.values if (e := _event_of(v)) is not None}
        if ("event" in words and len(column.values) >= 2) or (words & _EVENT_COLUMN and len(known) >= 2):
            return column
    return None


def _event_metrics(table: TableProfile, metrics: dict[str, MetricModel], info: Inference) -> None:
    """``<event>_count`` and rates (click_rate = clicks / sends, or / delivered, or / impressions):
    from an event column (one row per event: a count per event type) or from count columns
    (one row per campaign: "Successful Deliveries", "Unique Opens")."""
    counts: dict[str, MetricModel] = {}
    uniques: dict[str, MetricModel] = {}
    label = table.name.replace("_", " ")
    column = _event_column(table)
    if column is not None:
        for value in column.values[:15]:
            event = _event_of(value) or _metric_name(value) or ""
            if not event or event in counts:
                continue
            same = [v for v in column.values if (_event_of(v) or _metric_name(v)) == event]
            counts[event] = MetricModel(
                table=table.name, agg="count", unit="count",
                where=[Filter(column=column.name, op="in", value=same) if len(same) > 1 else Filter(column=column.name, value=same[0])],
                description=f"Number of {label} rows with {column.name} = {' or '.join(same)}")
    else:
        found: dict[str, list[tuple[int, ColumnProfile]]] = {}
        for candidate in table.columns:
            said = _event_of(candidate.name) if candidate.role == "number" else None
            if said is None or set(candidate.words) & {"rate", "ratio", "percent", "pct", "share"}:
                continue
            words = set(candidate.words)
            rank = 0 if "total" in words else 2 if "unique" in words else 1 if len(words) <= 2 else 3
            found.setdefault(said, []).append((rank, candidate))
        if len(found) < 2:
            return
        for event, options in found.items():
            options.sort(key=lambda o: o[0])
            chosen = options[0][1]
            counts[event] = MetricModel(table=table.name, agg="sum", column=chosen.name, unit="count",
                                        description=f"Sum of {table.name}.{chosen.name}",
                                        synonyms=[_EVENT_PLURALS[event]] if event in _EVENT_PLURALS else [])
            unique = next((c for rank, c in options if rank == 2), None)
            if unique is not None and unique is not chosen:
                uniques[event] = MetricModel(table=table.name, agg="sum", column=unique.name, unit="count",
                                             description=f"Sum of {table.name}.{unique.name}")
    if len(counts) < 2 and column is None:
        return
    prefix = "" if not any(f"{e}_count" in metrics for e in counts) else f"{_metric_name(table.name)}_"
    for event, metric in counts.items():
        metrics[f"{prefix}{event}_count"] = metric
    for event, metric in uniques.items():
        metrics[f"{prefix}unique_{event}_count"] = metric
    base = next((e for e in ("delivery", "send", "impression") if e in counts), None)
    if base is None:
        return
    plural = {"delivery": "deliveries", "send": "sends", "impression": "impressions"}[base]
    for event, rate in _RATES.items():
        if event not in counts or event == base or (event == "delivery" and base != "send"):
            continue
        top = f"{prefix}unique_{event}_count" if event in uniques else f"{prefix}{event}_count"
        under: str = base
        over = plural
        if event == "conversion" and base == "impression" and "click" in counts:
            under, over = "click", "clicks"  # an ad report's conversion rate is per click, as Google Ads reports it
        metrics[f"{prefix}{rate}"] = MetricModel(
            table=table.name, ratio=(top, f"{prefix}{under}_count"), unit="percent",
            description=f"{event.capitalize()} rate: {top} / {prefix}{under}_count ({over}), in %",
            synonyms=(["ctr", "click-through rate"] if event == "click" else []))
    if "click" in counts and "open" in counts:
        clicks = f"{prefix}unique_click_count" if "click" in uniques else f"{prefix}click_count"
        opens = f"{prefix}unique_open_count" if "open" in uniques else f"{prefix}open_count"
        metrics[f"{prefix}click_to_open_rate"] = MetricModel(
            table=table.name, ratio=(clicks, opens), unit="percent",
            description=f"Clicks per open: {clicks} / {opens}, in %", synonyms=["ctor"])


def _ad_spend(table: TableProfile, section: TableModel, info: Inference) -> None:
    """In an ad report (impressions or clicks counted beside a cost), the cost is what was spent:
    "how much did we spend" means it."""
    counted = {e for c in table.columns if c.role == "number" and (e := _event_of(c.name)) is not None}
    if not counted & {"impression", "click"}:
        return
    for column in table.by_role("money"):
        if set(column.words) & {"cost", "costs"} and not set(column.words) & {"per", "avg", "average", "cpc", "cpm", "cpa"}:
            words = section.columns.setdefault(column.name, ColumnModel())
            words.synonyms = [*words.synonyms, *[w for w in ("spend", "ad spend", "spent") if w not in words.synonyms]]
            info.notes.append(f"{column.name} is ad spend (answers to \"spend\")")
            break
    section.synonyms = [*section.synonyms, *[w for w in ("ads", "ad campaigns", "advertising") if w not in section.synonyms]]


def _ad_metrics(table: TableProfile, metrics: dict[str, MetricModel]) -> None:
    """An ad report's money ratios, recomputed from sums as ad platforms do (never an average of the
    per-row percentages): spend, cost per click, cost per conversion, return on ad spend."""
    cost = next((c for c in table.by_role("money") if set(c.words) & {"cost", "costs", "spend", "spent"}
                 and not set(c.words) & {"per", "avg", "average", "cpc", "cpm", "cpa"}), None)
    clicks = next((n for n, m in metrics.items() if m.table == table.name and n.endswith("click_count")
                   and "unique" not in n), None)
    if cost is None or clicks is None:
        return
    prefix = clicks[: -len("click_count")]
    rows = table.name.replace("_", " ")
    metrics.setdefault(f"{prefix}spend", MetricModel(table=table.name, agg="sum", column=cost.name, unit="money",
                                                     description=f"Ad spend: sum of {table.name}.{cost.name}",
                                                     synonyms=["ad spend", "cost", "spent"]))
    metrics.setdefault(f"{prefix}cpc", MetricModel(table=table.name, ratio=(f"{prefix}spend", clicks), unit="money",
                                                   description=f"Cost per click: spend / clicks over the {rows}",
                                                   synonyms=["cost per click", "average cpc", "avg cpc"]))
    if f"{prefix}conversion_count" in metrics:
        metrics.setdefault(f"{prefix}cost_per_conversion", MetricModel(
            table=table.name, ratio=(f"{prefix}spend", f"{prefix}conversion_count"), unit="money",
            description=f"Cost per conversion: spend / conversions over the {rows}",
            synonyms=["cost per acquisition", "cpa", "cost / conv"]))
    value = next((c for c in table.by_role("money") if c is not cost and _event_of(c.name) == "conversion"
                  and set(c.words) & {"value", "revenue", "sales"}), None)
    if value is not None:
        metrics.setdefault(f"{prefix}conversion_value", MetricModel(
            table=table.name, agg="sum", column=value.name, unit="money",
            description=f"Conversion value: sum of {table.name}.{value.name}", synonyms=["conv value"]))
        metrics.setdefault(f"{prefix}roas", MetricModel(
            table=table.name, ratio=(f"{prefix}conversion_value", f"{prefix}spend"), unit="number",
            description=f"Return on ad spend: conversion value / spend over the {rows}",
            synonyms=["return on ad spend", "roas"]))


def _column_models(table: TableProfile) -> dict[str, ColumnModel]:
    """Column synonyms from names, and list columns (tags) with the separator their cells use."""
    out = {}
    for c in table.columns:
        synonym = _column_synonym(c.name)
        if synonym or c.list_separator or c.currency_column:
            out[c.name] = ColumnModel(synonyms=[synonym] if synonym else [], list_separator=c.list_separator,
                                      currency_column=c.currency_column)
    return out


def _table_synonyms(table: TableProfile) -> list[str]:
    phrase = name_phrase(table.name)
    return [phrase] if phrase != table.name.replace("_", " ").lower() else []


def _column_synonym(name: str) -> str | None:
    """The name as people say it, when that differs from how it is written (``amt`` → "amount"), or
    the word a marketer uses for a help desk's or CRM's own name (``Via`` → "channel")."""
    phrase = name_phrase(name)
    plain = " ".join(name_words(name))
    return phrase if phrase != plain else _EXPORT_WORDS.get(plain)


# column names exports use, and the word people ask with
_EXPORT_WORDS = {"via": "channel", "assignee": "agent", "requester": "customer", "contact owner": "owner",
                 "utm source": "source", "utm medium": "medium", "utm campaign": "campaign"}


def _satisfaction_metrics(table: TableProfile, metrics: dict[str, MetricModel]) -> None:
    """A satisfaction column of Good / Bad answers (a help desk's survey, with "Offered" or "Unoffered"
    for tickets not rated): CSAT = good / (good + bad), among rated rows only."""
    for column in table.by_role("category"):
        if not set(column.words) & {"satisfaction", "csat", "rating", "rated", "survey"}:
            continue
        good = [v for v in column.values if v.strip().lower() in ("good", "satisfied", "positive", "happy")]
        bad = [v for v in column.values if v.strip().lower() in ("bad", "unsatisfied", "dissatisfied", "negative", "unhappy")]
        if not good or not bad or "satisfaction_rate" in metrics:
            continue
        rows = table.name.replace("_", " ")
        metrics["satisfied_count"] = MetricModel(
            table=table.name, agg="count", unit="count", where=[Filter(column=column.name, op="in", value=good)],
            description=f"{rows} rated {' or '.join(good)} ({column.name})")
        metrics["rated_count"] = MetricModel(
            table=table.name, agg="count", unit="count", where=[Filter(column=column.name, op="in", value=good + bad)],
            description=f"{rows} rated {' or '.join(good + bad)} ({column.name}; other values are not ratings)")
        metrics["satisfaction_rate"] = MetricModel(
            table=table.name, ratio=("satisfied_count", "rated_count"), unit="percent",
            description=f"CSAT: {' or '.join(good)} / rated ({' or '.join(good + bad)}) {rows}, in %",
            synonyms=["csat", "satisfaction", "customer satisfaction", "satisfaction score"])
        return


def _excluded_statuses(orders: TableProfile, label: str) -> tuple[list[Filter], str]:
    """``status not in [cancelled, returned]`` and ", excluding cancelled and returned orders", when the
    order table has a status (or transaction type) column with such values; else no filter and no words.
    Refund rows of negative amounts are left out of revenue too (revenue is what was sold); a ``refunds``
    metric reports them."""
    filters: list[Filter] = []
    words = ""
    statuses = _status_columns(orders)
    for column, excluded, _ in statuses:
        named = excluded[0] if len(excluded) == 1 else f"{', '.join(excluded[:-1])} and {excluded[-1]}"
        # two status columns (order-status, item-status): each named, so the words say which one left rows out
        alone = _STATUS_ONLY.search(column.name) and sum(1 for c, _, _ in statuses if _STATUS_ONLY.search(c.name)) == 1
        words += f", excluding {named} {label}" if alone else f", excluding {column.name} {named}"
        filters.append(Filter(column=column.name, op="not in", value=excluded))
    for flag in _exclusion_flags(orders):
        words += f", excluding {flag.name} {label}"
        filters.append(Filter(column=flag.name, op="!=", value=True))
    return filters, words


# a yes/no column whose name is only an exclusion word ("Void?", "is_voided", "Cancelled", "Test order"): its
# true rows are no sale. Void, test and deleted rows never happened — no count counts them either.
_EXCLUSION_FLAG = frozenset({"void", "voided", "cancelled", "canceled", "refunded", "deleted", "test", "reversed", "chargeback"})
_NEVER_HAPPENED = frozenset({"void", "voided", "deleted", "test"})
_FLAG_FILLERS = frozenset({"is", "was", "flag", "order", "line", "item", "row", "transaction", "payment", "yn"})


def _exclusion_flags(table: TableProfile, never_happened: bool = False) -> list[ColumnProfile]:
    out = []
    for column in table.by_role("flag"):
        words = [w for w in name_words(column.name) if w not in _FLAG_FILLERS]
        if len(words) == 1 and words[0] in (_NEVER_HAPPENED if never_happened else _EXCLUSION_FLAG):
            out.append(column)
    return out


_STATUS_ONLY = re.compile(r"status|state", re.I)
_STATUS_LAST = frozenset({"status", "state", "type", "kind", "result", "outcome"})
# a row that is not a sale: cancelled, refunded, returned, void, failed, declined, rejected, a chargeback
# ("Returning" customers and "partially refunded" orders are sales)
_EXCLUDED_VALUE = re.compile(r"(?<![a-z])(cancel\w*|refund\w*|returned|return|returns|void\w*|fail\w*|declin\w*|reject\w*|"
                             r"denied|chargeback\w*|reversal|reversed|disputed|withdraw\w*|payout\w*)(?![a-z])", re.I)
_PENDING_VALUE = re.compile(r"(?<![a-z])(pending|unpaid|awaiting|in progress|incomplete|uncleared)(?![a-z])", re.I)
_LEDGER_WORDS = frozenset({"payment", "payments", "transaction", "transactions", "txn", "charge", "charges", "gift", "gifts",
                           "donation", "donations", "activity", "balance", "ledger"})
_ORDER_TABLE_WORDS = frozenset({"order", "orders", "booking", "bookings", "reservation", "reservations", "invoice", "invoices"})
_REFUND_VALUE = re.compile(r"(?<![a-z])(refund\w*|returned|return|returns|chargeback\w*|reversal|reversed)(?![a-z])", re.I)


def _status_columns(table: TableProfile) -> list[tuple[ColumnProfile, list[str], list[str]]]:
    """The columns saying whether a row is a sale (``Financial Status``, ``Status``, ``Type``,
    ``Transaction Type``), each with its values that are not (left out of revenue) and, of those, the
    refunds written as rows of negative amounts (reported apart, as a positive amount). The values
    decide: a column needs sale rows and non-sale rows."""
    # an order placed and awaiting payment is a sale (as a shop's own reports count it); a pending payment
    # or gift in a ledger of money received is not money yet
    ledger = not (set(name_words(table.name)) | {w for c in table.by_role("id") for w in c.words}) & _ORDER_TABLE_WORDS
    found = []
    for column in table.by_role("category"):
        words = name_words(column.name)
        if not words or (words[-1] not in _STATUS_LAST and "status" not in words):
            continue
        bad = [v for v in column.values if (_EXCLUDED_VALUE.search(v) or (ledger and _PENDING_VALUE.search(v)))
               and "partial" not in v.lower()]
        if not bad or len(bad) == len(column.values):
            continue
        refunds = sorted(v for v in bad if v in column.negative_values and _REFUND_VALUE.search(v))
        found.append((column, sorted(bad), refunds))
    return found


def refresh_semantic_model(
    path: Path, profile: SchemaProfile, changed: list[str] | None = None, report: list[Inference] | None = None
) -> SemanticModel:
    """Bring ``path`` up to date with the warehouse and save it.

    Tables new to the model (and the ``changed`` ones, e.g. just reloaded) get a generated
    section; what the user wrote for other tables is kept; tables and relationships that no
    longer exist are dropped; generated metrics are added only under names not yet used.
    ``report`` receives what was inferred for the changed tables (all tables without ``changed``),
    as it stands in the saved model.
    """
    generated, inferred = infer_semantic_model(profile)
    try:
        model = load_semantic_model(path) or SemanticModel()
    except SemanticModelError as err:
        broken = path.with_suffix(".yaml.invalid")
        path.replace(broken)  # keep the user's text; start afresh
        log.warning("semantic model was invalid (%s); kept as %s and regenerated", err.message, broken.name)
        model = SemanticModel()
    changed_set = {c.lower() for c in changed or []}
    live = {t.name for t in profile.tables}
    tables = {name: section for name, section in model.tables.items() if name in live and name.lower() not in changed_set}
    for name, section in generated.tables.items():
        if name not in tables:
            previous = model.tables.get(name)
            if previous is not None:  # a reloaded table keeps its description and grain
                section = section.model_copy(update={"description": previous.description, "grain": previous.grain or section.grain})
            tables[name] = section
    model.tables = {t.name: tables[t.name] for t in profile.tables}
    kept = [r for r in model.relationships if not _relationship_problem(r, profile)]
    model.relationships = kept + [r for r in generated.relationships if r not in kept]
    for name, metric in generated.metrics.items():
        model.metrics.setdefault(name, metric)
    model.metrics = {n: m for n, m in model.metrics.items() if m.table in live}
    # a reloaded table may have lost a metric's column: regenerate that metric, or drop it
    declared = copy.deepcopy(profile)
    for name, section in model.tables.items():
        if (table := declared.table(name)) is not None:
            _apply_table(table, section)
    for name, metric in list(model.metrics.items()):
        problem = _metric_problem(name, metric, model, declared)
        if problem:
            replacement = generated.metrics.get(name)
            if replacement is not None and replacement != metric and not _metric_problem(name, replacement, model, declared):
                model.metrics[name] = replacement
            else:
                del model.metrics[name]
            log.warning("semantic model: %s; %s", problem, "regenerated" if name in model.metrics else "dropped")
    save_semantic_model(model, path)
    if report is not None:
        for table in profile.tables:
            if changed is None or table.name.lower() in changed_set:
                report.append(_as_saved(inferred[table.name], model))
    return model


def _as_saved(info: Inference, model: SemanticModel) -> Inference:
    """``info`` with the keys, date and metrics the saved model has for its table (kept edits win)."""
    section = model.tables.get(info.table)
    out = copy.deepcopy(info)
    if section is not None:
        out.grain, out.customer_key, out.main_date = section.grain, section.customer_key, section.main_date
        out.order_key = section.order_key or (info.order_key if info.order_key == section.primary_key else None)
    out.metrics = [name for name, metric in model.metrics.items() if metric.table == info.table]
    return out


def refresh_workspace_model(
    settings: MaraSettings,
    changed: list[str] | None = None,
    descriptions: dict[str, str] | None = None,
    money: dict[str, list[str]] | None = None,
    report: list[Inference] | None = None,
) -> SemanticModel:
    """Refresh the workspace's ``semantic.yaml`` from its warehouse (see :func:`refresh_semantic_model`).

    ``money`` names columns known to hold money (e.g. a loaded file wrote them as "$1,234.50");
    ``report`` receives what was inferred for the ``changed`` tables.
    """
    cache = None if settings.warehouse_url else settings.home / "schema_profile.json"
    profile = copy.deepcopy(load_profile(open_warehouse(settings), cache))
    for name, columns in (money or {}).items():  # known money counts as money when revenue is chosen
        if (table := profile.table(name)) is not None:
            for column_name in columns:
                if (column := table.column(column_name)) is not None and column.role == "number":
                    column.role = "money"
    path = settings.home / FILE_NAME
    model = refresh_semantic_model(path, profile, changed, report)
    for name, text in (descriptions or {}).items():
        if name in model.tables and not model.tables[name].description:
            model.tables[name].description = text
    for name, columns in (money or {}).items():
        if name in model.tables:
            section = model.tables[name]
            section.money += [c for c in columns if c not in section.money]
    if descriptions or money:
        save_semantic_model(model, path)
    return model


# --- applying to the live profile ------------------------------------------------------------


def apply_semantic_model(profile: SchemaProfile, model: SemanticModel) -> SchemaProfile:
    """A copy of ``profile`` with the model's declarations; :class:`SemanticModelError` lists every problem.

    Tables the model names that are not in the warehouse are skipped (the data wins);
    anything else that does not match the data is an error naming the closest valid names.
    """
    out = copy.deepcopy(profile)
    problems: list[str] = []
    for name, section in model.tables.items():
        table = out.table(name)
        if table is None:
            continue
        problems += _apply_table(table, section)
    relationships = []
    for text in model.relationships:
        problem = _relationship_problem(text, out)
        if problem:
            problems.append(problem)
            continue
        m = _RELATIONSHIP.match(text)
        assert m is not None
        relationships.append(Relationship(*m.groups()))
    if relationships:
        out.relationships = relationships
    for name, metric in model.metrics.items():
        problem = _metric_problem(name, metric, model, out)
        if problem:
            problems.append(problem)
            continue
        out.metrics[name] = MetricDefinition(
            name=name, table=metric.table, agg=metric.agg, column=metric.column, ratio=metric.ratio,
            min_orders=metric.min_orders, description=metric.description, unit=metric.unit,
            where=tuple(
                MetricFilter(f.column, f.op, tuple(f.value) if isinstance(f.value, list) else f.value) for f in metric.where
            ),
            expr=metric.expr, customer_type=metric.customer_type, synonyms=tuple(metric.synonyms),
            ambiguous_with=tuple(metric.ambiguous_with), convention=metric.convention,
        )
    if problems:
        raise SemanticModelError(
            f"{FILE_NAME} does not match the data: " + "; ".join(problems[:8]) + ("; …" if len(problems) > 8 else ""),
            hint="Edit the file, or run 'mara data model --generate' to rebuild it from the data.",
        )
    return out


def _closest(name: str, valid: list[str], kind: str = "columns") -> str:
    close = difflib.get_close_matches(name, valid, n=3, cutoff=0.5)
    return f" (closest: {', '.join(close)})" if close else f" ({kind}: {', '.join(valid[:20])})"


def _apply_table(table: TableProfile, section: TableModel) -> list[str]:
    problems = []
    names = [c.name for c in table.columns]

    def column(name: str, where: str):  # type: ignore[no-untyped-def]
        found = table.column(name)
        if found is None:
            problems.append(f"tables.{table.name}.{where}: unknown column '{name}'{_closest(name, names)}")
        return found

    for field_name in ("primary_key", "customer_key", "main_date", "order_key"):
        value = getattr(section, field_name)
        if value and column(value, field_name) is not None:
            setattr(table, field_name, table.column(value).name)  # type: ignore[union-attr]
    table.grain = section.grain or table.grain
    table.description = section.description or table.description
    table.synonyms = list(section.synonyms) or table.synonyms
    for name, words in section.columns.items():
        if (c := column(name, "columns")) is not None:
            c.description = words.description or c.description
            c.synonyms = list(words.synonyms) or c.synonyms
            if words.list_separator is not None:
                if words.list_separator not in (",", ";", "|", " "):
                    problems.append(f"tables.{table.name}.columns.{name}.list_separator: '{words.list_separator}'"
                                    " is not one of ',' ';' '|' ' '")
                else:
                    c.list_separator = words.list_separator
            if words.currency_column is not None and column(words.currency_column, f"columns.{name}.currency_column"):
                c.currency_column = table.column(words.currency_column).name  # type: ignore[union-attr]
    for name in section.dates:
        if (c := column(name, "dates")) is not None:
            if not c.type.upper().startswith(("DATE", "TIMESTAMP")):
                problems.append(f"tables.{table.name}.dates: '{name}' is {c.type}, not a DATE or TIMESTAMP")
            else:
                c.role = "date"
    if section.main_date and (c := table.column(section.main_date)) is not None and c.role != "date":
        problems.append(f"tables.{table.name}.main_date: '{c.name}' is {c.type}, not a date column")
    for name in section.money:
        if (c := column(name, "money")) is not None:
            if not any(t in c.type.upper() for t in ("INT", "DECIMAL", "NUMERIC", "DOUBLE", "FLOAT", "REAL", "HUGEINT")):
                problems.append(f"tables.{table.name}.money: '{name}' is {c.type}, not a number")
            else:
                c.role = "money"
    for name, values in section.categories.items():
        if (c := column(name, "categories")) is not None:
            c.role = "category"
            c.values = [str(v) for v in values] or c.values
    for name in section.pii:
        if (c := column(name, "pii")) is not None:
            c.pii = True
            if c.role == "category":  # personal data is never listed as values
                c.role, c.values = "text", []
    return problems


def _relationship_problem(text: str, profile: SchemaProfile) -> str | None:
    m = _RELATIONSHIP.match(text)
    if m is None:
        return f"relationships: '{text}' is not of the form 'orders.customer_id -> customers.customer_id'"
    from_table, from_column, to_table, to_column = m.groups()
    for table_name, column_name in ((from_table, from_column), (to_table, to_column)):
        table = profile.table(table_name)
        if table is None:
            return f"relationships: unknown table '{table_name}'{_closest(table_name, [t.name for t in profile.tables])}"
        if table.column(column_name) is None:
            return f"relationships: unknown column '{table_name}.{column_name}'{_closest(column_name, [c.name for c in table.columns])}"
    return None


def _metric_problem(name: str, metric: MetricModel, model: SemanticModel, profile: SchemaProfile) -> str | None:
    table = profile.table(metric.table)
    if table is None:
        return f"metrics.{name}.table: unknown table '{metric.table}'{_closest(metric.table, [t.name for t in profile.tables])}"
    if metric.column:
        column = table.column(metric.column)
        if column is None:
            return f"metrics.{name}.column: unknown column '{metric.column}'{_closest(metric.column, [c.name for c in table.columns])}"
        if metric.agg in ("sum", "avg") and column.role not in ("money", "number", "flag"):
            return f"metrics.{name}: '{metric.agg}' needs a numeric column; '{column.name}' is {column.type}"
    for other_name in metric.ambiguous_with:
        if table.column(other_name) is None:
            return (f"metrics.{name}.ambiguous_with: unknown column '{other_name}' on {table.name}"
                    f"{_closest(other_name, [c.name for c in table.columns])}")
    if metric.ratio:
        for part in metric.ratio:
            other = model.metrics.get(part)
            if other is None:
                return f"metrics.{name}.ratio: unknown metric '{part}'{_closest(part, list(model.metrics))}"
            if other.ratio or other.min_orders:
                return f"metrics.{name}.ratio: '{part}' must be a plain aggregate (agg), not a ratio or repeat rate"
            if other.table != metric.table:
                return f"metrics.{name}.ratio: '{part}' is on table {other.table}, not {metric.table}"
    if metric.min_orders and not table.customer_key:
        return f"metrics.{name}: min_orders needs tables.{table.name}.customer_key"
    if metric.customer_type:
        if not table.customer_key or (metric.column or "").lower() != table.customer_key.lower():
            return f"metrics.{name}: customer_type needs column to be tables.{table.name}.customer_key"
        if profile.main_date(table) is None:
            return f"metrics.{name}: customer_type needs a date column on {table.name} (tables.{table.name}.main_date)"
    if metric.expr:
        try:
            names = expr_columns(metric.expr)
        except ToolInputError as err:
            return f"metrics.{name}.expr: {err.message}"
        for column_name in names:
            column = table.column(column_name)
            if column is None:
                return (f"metrics.{name}.expr: unknown column '{column_name}' on {table.name}"
                        f"{_closest(column_name, [c.name for c in table.columns])}")
            if column.role not in ("money", "number"):
                return f"metrics.{name}.expr: '{column.name}' is {column.type}, not a number"
    for condition in metric.where:
        column = table.column(condition.column)
        if column is None:
            return (f"metrics.{name}.where: unknown column '{condition.column}' on {table.name}"
                    f"{_closest(condition.column, [c.name for c in table.columns])}")
        if column.role == "category" and column.values and condition.op in ("=", "!=", "in", "not in"):
            known = {v.lower() for v in column.values}
            for value in condition.value if isinstance(condition.value, list) else [condition.value]:
                if str(value).lower() not in known:
                    return (f"metrics.{name}.where: '{value}' is not a value of {table.name}.{column.name}"
                            f"{_closest(str(value), column.values, 'values')}")
        problem = filter_problem(column, condition)
        if problem:
            return f"metrics.{name}.where: {problem}"
    return None
