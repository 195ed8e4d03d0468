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
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assistant.errors import SemanticModelError
from assistant.settings import private_dir, write_private
from tools.query_spec import Filter, QuerySpec, filter_problem
from tools.schema_profile import (
    PII_NAME,
    MetricDefinition,
    MetricFilter,
    Relationship,
    SchemaProfile,
    TableProfile,
)

if TYPE_CHECKING:
    from assistant.settings import MaraSettings

log = logging.getLogger("mara.semantic")
FILE_NAME = "semantic.yaml"
_RELATIONSHIP = re.compile(r"^\s*(\w+)\.(\w+)\s*->\s*(\w+)\.(\w+)\s*$")
_REVENUE_NAMES = (
    "revenue_usd", "total_usd", "amount_usd", "net_total_usd", "revenue", "total", "net_total", "amount", "sales",
)
_HEADER = """\
# Mara semantic model: what the tables in this workspace mean.
# Generated from the data; edit freely. Declared values override what Mara infers
# from column names. `mara data model --check` validates this file against the data.
#
# tables.<name>: grain, primary_key, customer_key, main_date, dates, money, categories, pii
# relationships: many-to-one links, "orders.customer_id -> customers.customer_id"
# metrics.<name>: table + one of  agg (count|count_distinct|sum|avg|min|max) [+ column]
#                 | ratio: [numerator metric, denominator metric]
#                 | min_orders: N  (share of the table's customers with N+ rows: a repeat rate)
#                 [+ where: rows the metric counts, every condition must hold; other metrics
#                   in the same question still see all rows. Ops: = != > >= < <= in, not in,
#                   between, contains (quote '!='). A ratio takes the where of its two parts.]
#                   where: [{column: status, op: not in, value: [cancelled, returned]}]
"""
_STATUS_NAME = re.compile(r"^(order_|payment_)?(status|state)$", re.I)
_EXCLUDED_STATUS = re.compile(r"cancel|return|refund|void|fail|declin|reject|chargeback", re.I)


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

    @model_validator(mode="after")
    def _one_kind(self) -> MetricModel:
        kinds = [k for k in ("agg", "ratio", "min_orders") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("give exactly one of agg, ratio or min_orders")
        if self.agg and self.agg != "count" and not self.column:
            raise ValueError(f"agg '{self.agg}' needs a column")
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


class SemanticModel(BaseModel):
    """The whole ``semantic.yaml``."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    tables: dict[str, TableModel] = Field(default_factory=dict)
    relationships: list[str] = Field(default_factory=list)
    metrics: dict[str, MetricModel] = Field(default_factory=dict)
    verified_questions: list[VerifiedQuestion] | None = None


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
    for metric in data["metrics"].values():
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
    """A model inferred from the profile's column roles and names (what Mara assumes anyway)."""
    tables: dict[str, TableModel] = {}
    customers = _customers_table(profile)
    for table in profile.tables:
        main = profile.main_date(table)
        customer_key = None
        if customers is not None and customers.key:
            customer_key = customers.key if table is customers else profile.link_column(table, customers)
        key = table.key
        singular = table.name[:-1] if table.name.endswith("s") else table.name
        tables[table.name] = TableModel(
            grain=f"one row per {singular.replace('_', ' ')}" + (f" ({key})" if key else ""),
            primary_key=key,
            customer_key=customer_key,
            main_date=main.name if main is not None else None,
            dates=[c.name for c in table.by_role("date")],
            money=[c.name for c in table.by_role("money")],
            categories={c.name: list(c.values) for c in table.by_role("category")},
            pii=[c.name for c in table.columns if c.pii or (PII_NAME.search(c.name) and c.role != "flag")],
        )
    relationships = [
        f"{table.name}.{fk} -> {other.name}.{key}" for table in profile.tables for other, fk, key in profile.parents(table)
    ]
    return SemanticModel(tables=tables, relationships=relationships, metrics=_standard_metrics(profile, tables))


def _customers_table(profile: SchemaProfile) -> TableProfile | None:
    named = [t for t in profile.tables if t.key and t.key.lower().startswith(("customer", "client", "user", "member"))]
    return min(named, key=lambda t: len(t.name)) if named else None


def _standard_metrics(profile: SchemaProfile, tables: dict[str, TableModel]) -> dict[str, MetricModel]:
    """revenue, orders, aov, active_customers and repeat_rate on the order (header) table, when there is one."""
    candidates = [
        t for t in profile.tables
        if tables[t.name].customer_key and tables[t.name].customer_key != t.key and t.key and tables[t.name].main_date
        and _revenue_name(t)
    ]
    if not candidates:
        return {}
    orders = min(candidates, key=lambda t: t.rows)  # the header table (orders), not its lines
    revenue = _revenue_name(orders)
    customer_key = tables[orders.name].customer_key
    label = orders.name.replace("_", " ")
    excluded, excluding = _excluded_statuses(orders, label)

    def where() -> list[Filter]:  # each metric its own copy: editing one leaves the others alone
        return [f.model_copy(deep=True) for f in excluded]

    return {
        "revenue": MetricModel(table=orders.name, agg="sum", column=revenue, unit="money", where=where(),
                               description=f"Sum of {orders.name}.{revenue}{excluding}"),
        "orders": MetricModel(table=orders.name, agg="count", unit="count", where=where(),
                              description=f"Number of {label}{excluding}"),
        "aov": MetricModel(table=orders.name, ratio=("revenue", "orders"), unit="money",
                           description=f"Average order value: revenue / orders{excluding}"),
        "active_customers": MetricModel(table=orders.name, agg="count_distinct", column=customer_key, unit="count",
                                        where=where(), description=f"Customers with at least one row in {orders.name}{excluding}"),
        "repeat_rate": MetricModel(table=orders.name, min_orders=2, unit="percent", where=where(),
                                   description=f"Share of active customers with 2 or more {label}{excluding}"),
    }


def _excluded_statuses(orders: TableProfile, label: str) -> tuple[list[Filter], str]:
    """``status not in [cancelled, returned]`` and ", excluding cancelled and returned orders", when the
    order table has a status column with such values; else no filter and no words."""
    for column in orders.by_role("category"):
        if not _STATUS_NAME.match(column.name):
            continue
        excluded = sorted(v for v in column.values if _EXCLUDED_STATUS.search(v))
        if excluded:
            named = excluded[0] if len(excluded) == 1 else f"{', '.join(excluded[:-1])} and {excluded[-1]}"
            return [Filter(column=column.name, op="not in", value=excluded)], f", excluding {named} {label}"
    return [], ""


def _revenue_name(table: TableProfile) -> str | None:
    money = {c.name.lower(): c.name for c in table.by_role("money")}
    return next((money[n] for n in _REVENUE_NAMES if n in money), None)


def refresh_semantic_model(path: Path, profile: SchemaProfile, changed: list[str] | None = None) -> SemanticModel:
    """Bring ``path`` up to date with the warehouse and save it.

    Tables new to the model (and the ``changed`` ones, e.g. just reloaded) get a generated
    section; what the user wrote for other tables is kept; tables and relationships that no
    longer exist are dropped; generated metrics are added only under names not yet used.
    """
    generated = generate_semantic_model(profile)
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
    return model


def refresh_workspace_model(
    settings: MaraSettings,
    changed: list[str] | None = None,
    descriptions: dict[str, str] | None = None,
    money: dict[str, list[str]] | None = None,
) -> SemanticModel:
    """Refresh the workspace's ``semantic.yaml`` from its warehouse (see :func:`refresh_semantic_model`).

    ``money`` names columns known to hold money (e.g. a loaded file wrote them as "$1,234.50").
    """
    from tools.schema_profile import load_profile
    from tools.warehouse import open_warehouse

    cache = None if settings.warehouse_url else settings.home / "schema_profile.json"
    profile = load_profile(open_warehouse(settings), cache)
    path = settings.home / FILE_NAME
    model = refresh_semantic_model(path, profile, changed)
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

    for field_name in ("primary_key", "customer_key", "main_date"):
        value = getattr(section, field_name)
        if value and column(value, field_name) is not None:
            setattr(table, field_name, table.column(value).name)  # type: ignore[union-attr]
    table.grain = section.grain or table.grain
    table.description = section.description or table.description
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
