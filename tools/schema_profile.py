"""What each column of the live warehouse *is*: id, money, date, flag, category (with values), number, text.

The profile is read from the warehouse once and cached in the workspace until
the warehouse changes. The data tools and the offline planner read it to resolve
"revenue by country last quarter" to real tables and columns.

Roles come from the column's *words* (``orderValueUSD``, ``Lineitem quantity`` and
``amt`` are split and expanded first), its type and a sample of its *values*: a 0/1 or
yes/no column is a flag whatever its name, a column of e-mail addresses or phone numbers
is personal data whatever its name (and ``phone_verified`` yes/no is a flag, not a phone),
a zip code, SKU or phone is never money or a number, ``qty`` counts, ``MRR`` is money.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

import sqlglot

from foundation.settings import write_private
from tools.warehouse import TableInfo, Warehouse

Role = Literal["id", "money", "date", "flag", "category", "number", "text"]

PROFILE_VERSION = 7
_CATEGORY_MAX_VALUES = 60
_SAMPLE_ROWS = 10_000  # value checks (flags, e-mails, phones, id shapes) read this many rows
# Personal data is never sampled into the profile (it would reach the model's prompt).
# Names as exports write them: ``first_name``, ``First Name``, ``first-name``, ``E-mail`` (a space or hyphen
# between the words once let "First Name" through as a category whose values reached the model).
PII_NAME = re.compile(
    r"(e[ _-]?mail|phone|mobile|first[ _-]?name|last[ _-]?name|full[ _-]?name|surname|street|address|postal|zip|birth|ssn|iban)",
    re.I)

# --- column names as people write them ---------------------------------------------------------

ABBREVIATIONS = {
    "amt": "amount", "qty": "quantity", "qnty": "quantity", "cust": "customer", "txn": "transaction", "trx": "transaction",
    "trans": "transaction", "dt": "date", "ts": "timestamp", "no": "number", "nr": "number", "num": "number",
    "desc": "description", "cat": "category", "prod": "product", "rev": "revenue", "cnt": "count", "pct": "percent",
    "avg": "average", "addr": "address", "tel": "telephone", "lineitem": "line item", "mrr": "monthly recurring revenue",
    "arr": "annual recurring revenue", "ltv": "lifetime value", "clv": "customer lifetime value",
    "aov": "average order value", "gmv": "gross merchandise value", "dob": "date of birth", "sku": "product code",
    "acct": "account", "impr": "impressions", "imps": "impressions", "conv": "conversions", "inv": "invoice", "pmt": "payment", "pymt": "payment", "ord": "order", "cnty": "county",
}
MONEY_WORDS = frozenset({
    "total", "amount", "amt", "revenue", "price", "cost", "costs", "spend", "spent", "value", "margin", "discount",
    "subtotal", "shipping", "sales", "gmv", "clv", "ltv", "refund", "refunds", "fee", "fees", "tax", "taxes", "payment",
    "payments", "paid", "balance", "budget", "income", "mrr", "arr", "arpu", "charge", "charges", "usd", "eur", "gbp",
    "chf", "jpy", "cad", "aud", "dollars", "dollar", "euros", "euro", "salary", "wage", "earnings", "profit", "tip", "tips",
    "deposit", "net", "gross", "turnover", "billing", "billed", "invoiced", "msrp", "rrp",
})
CURRENCY_WORDS = {"usd": "USD", "eur": "EUR", "gbp": "GBP", "chf": "CHF", "jpy": "JPY", "cad": "CAD", "aud": "AUD",
                  "dollars": "USD", "dollar": "USD", "euros": "EUR", "euro": "EUR"}
# a count, rank, rate or index is a number even when a money word is in its name ("total_orders", "tax_rate")
COUNT_WORDS = frozenset({
    "qty", "quantity", "quantities", "count", "counts", "cnt", "units", "unit_count", "items", "pieces", "pcs", "orders",
    "visits", "sessions", "transactions", "purchases", "installments", "instalments", "days", "weeks", "months", "years",
    "hours", "minutes", "tenure", "age", "clicks", "opens", "sends", "impressions", "views", "times", "frequency", "seats",
    "licenses", "users", "employees", "score", "rating", "rank", "ranking", "percent", "pct", "percentage", "rate", "ratio",
    "share", "sequential", "sequence", "seq", "index", "idx", "position", "version", "level", "tier", "weight", "height",
    "length", "width", "size", "nps", "stars", "points", "calls", "tickets", "products", "lines", "customers", "members",
    "activities", "recipients", "bounces", "complaints", "unsubscribes", "deliveries", "conversions", "pageviews",
    "events", "emails", "messages", "likes", "shares", "followers", "subscribers", "contacts", "leads", "deals",
})
# "total", "net" or "value" next to a plural noun count things: "Total Recipients", "Total Opens"
_WEAK_MONEY = frozenset({"total", "net", "gross", "value", "grand"})
_MONEY_PLURALS = frozenset({"sales", "charges", "payments", "fees", "taxes", "earnings", "dollars", "euros", "costs",
                            "refunds", "tips", "discounts", "amounts", "prices", "revenues", "totals", "values", "margins",
                            "payouts", "proceeds", "receipts", "savings", "credits", "debits", "wages", "profits", "cents"})
QUANTITY_WORDS = frozenset({"qty", "quantity", "quantities", "units", "pieces", "pcs"})
ID_WORDS = frozenset({"id", "key", "uuid", "guid", "identifier"})
NUMBER_SUFFIX = frozenset({"no", "nr", "num", "number", "ref", "reference"})
# values that are codes, never amounts: a zip code, SKU or phone is not a number to add up
CODE_WORDS = frozenset({
    "zip", "zipcode", "postcode", "postal", "sku", "ean", "upc", "isbn", "gtin", "phone", "mobile", "telephone", "fax",
    "code", "iban", "ssn", "msisdn", "imei", "barcode", "plz",
})
FLAG_HINTS = frozenset({
    "is", "has", "flag", "opt", "opted", "optin", "optout", "subscribed", "unsubscribed", "active", "verified",
    "churn", "churned", "exited", "converted", "consent", "accepts", "accepted", "enabled", "vip", "member",
    "premium", "fraud", "default", "defaulted", "returned", "cancelled", "canceled", "paid", "refunded", "bounced",
    "blocked", "deleted", "archived", "test", "gift", "repeat", "new", "returning", "married", "dependents", "partner",
})
YES_VALUES = ("yes", "y", "true", "t", "1")
NO_VALUES = ("no", "n", "false", "f", "0")
EMAIL_VALUE = r"^[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"  # no "%": a PostgreSQL driver reads it as a placeholder
# "+49 30 1234567", "(555) 123-4567", "555.123.4567" — a leading + or separators; never a date
PHONE_VALUE = r"^\+?[0-9]{0,3}[ .-]?\(?[0-9]{2,5}\)?([ .-]?[0-9]{2,5}){1,4}$"
_DATE_LIKE = r"^[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}"
# "#1001", "ORD-0042", "INV2025001", "C00017": letters (optional) then a run of digits
ID_VALUE = r"^#?[A-Za-z]{0,5}[-_/]?[0-9]{3,}[A-Za-z0-9-]*$"


def name_words(name: str) -> list[str]:
    """A column or table name as lower-case words: ``orderValueUSD`` → order, value, usd;
    ``Lineitem quantity`` → lineitem, quantity; ``CustomerID`` → customer, id; ``MRR`` → mrr."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def name_phrase(name: str) -> str:
    """The name as a person would say it, abbreviations spelled out: ``Lineitem qty`` → "line item quantity"."""
    return " ".join(ABBREVIATIONS.get(w, w) for w in name_words(name))


def _is_id_name(words: list[str]) -> bool:
    if not words:
        return False
    if words[-1] in ID_WORDS or words[0] == "id":
        return True
    if len(words) > 1 and words[-1] in NUMBER_SUFFIX and words[0] not in ("num", "number", "n", "no", "total"):
        return True
    last = words[-1]  # "customerid", "orderid" written as one word
    return len(words) == 1 and len(last) > 4 and last.endswith("id") and last[:-2] in ENTITY_WORDS | ORDER_WORDS


ENTITY_WORDS = frozenset({
    "customer", "cust", "client", "user", "member", "buyer", "shopper", "account", "acct", "subscriber", "patron",
    "guest", "contact", "visitor", "player", "donor", "household", "consumer", "purchaser", "person", "profile",
    "supporter", "constituent", "backer", "student", "patient", "attendee", "tenant",
})
ORDER_WORDS = frozenset({
    "order", "orders", "invoice", "inv", "transaction", "txn", "trx", "trans", "receipt", "basket", "purchase",
    "booking", "cart", "checkout", "sale", "ticket", "reservation", "payment", "subscription", "ord",
})


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
    synonyms: list[str] = field(default_factory=list)  # other words people use for it (semantic.yaml)
    unit: str | None = None  # "count" for quantities; a currency code for money when the name says it
    pattern: str | None = None  # what the values look like: "email", "phone" or "id" ("#1001", "C-0042")
    distinct: int | None = None  # distinct non-empty values (ids and e-mails: is it repeated across rows?)
    nulls: int | None = None
    # of a status or type column: its values whose rows hold only negative (or zero) money, e.g.
    # "Refund" rows of a payments log written as -20.00 (they net out of a sum)
    negative_values: list[str] = field(default_factory=list)
    # a list column: each cell holds several items ("VIP, Newsletter", "\"VIP\",\"Newsletter\"", "vip billing")
    # split by this separator; ``values`` are then the items, and a filter on it means "contains the item"
    list_separator: str | None = None
    # of a money column: the column naming each row's currency when rows hold several (Chargebee's MRR
    # beside currency_code USD/EUR/GBP): amounts add up within one currency only, never across them
    currency_column: str | None = None

    @property
    def words(self) -> list[str]:
        return name_words(self.name)


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
    synonyms: list[str] = field(default_factory=list)
    order_key: str | None = None  # the order a row belongs to (repeats when rows are line items)
    # what the values show about money columns, row by row: ("Net Sales", "Gross Sales", "+", "Discounts")
    # = Net Sales is Gross Sales + Discounts on every row; ("Line Total", "Qty", "*", "Price")
    relations: list[tuple[str, str, str, str]] = field(default_factory=list)
    # money columns written mostly as negative numbers (a "Discounts" column of -2.00s)
    negative_columns: list[str] = field(default_factory=list)
    # "price" columns that are line totals: for one product, a row of 2 units holds twice the price of a row of 1
    line_totals: list[str] = field(default_factory=list)

    def column(self, name: str) -> ColumnProfile | None:
        lowered = name.lower()
        return next((c for c in self.columns if c.name.lower() == lowered), None)

    def by_role(self, role: Role) -> list[ColumnProfile]:
        return [c for c in self.columns if c.role == role]

    @property
    def key(self) -> str | None:
        """The table's own id column: the declared primary key, else ``<singular table>_id`` or ``id``
        (as written in the file: ``Transaction ID`` is the key of ``transactions``)."""
        if self.primary_key:
            return self.primary_key
        singular = self.name[:-1] if self.name.endswith("s") else self.name
        for candidate in (f"{singular}_id", "id"):
            if self.column(candidate):
                return candidate
        wanted = [*name_words(singular), "id"]
        return next((c.name for c in self.columns if name_words(c.name) in (wanted, ["id"])), None)


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

    Exactly one of: ``agg`` (with ``column`` or ``expr`` unless counting rows), ``ratio`` (two other
    metrics, numerator / denominator) or ``min_orders`` (share of the table's customers with
    at least that many rows — or distinct ``column`` values, e.g. orders of line items — in each
    group: a repeat rate). ``where`` keeps only the rows the metric counts (all conditions hold);
    it filters this metric, not the whole query. ``customer_type`` ("new" | "returning") on a
    distinct count of the customer key counts only customers whose row is (not) their first
    by the table's main date: new customers in a period are those whose first purchase falls in it.
    A ``unit: percent`` ratio or flag average is a percentage (0–100).
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
    expr: str | None = None  # "quantity * unit_price": column names, numbers, + - * / and parentheses
    customer_type: str | None = None
    synonyms: tuple[str, ...] = ()
    ambiguous_with: tuple[str, ...] = ()  # columns with an equal claim: ask which one a question means
    convention: str | None = None  # how its column relates to other money columns ("Gross Sales minus Discounts"), said in answers


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
        """The date a time range on ``table`` means: declared, else ``<singular>_date``/``date``/``created_at``,
        else the date whose name says when the row happened (``Created at`` before ``Paid at``)."""
        dates = table.by_role("date")
        if table.main_date and (declared := table.column(table.main_date)) is not None:
            return declared
        singular = table.name.rstrip("s")
        for column in dates:
            if column.name.lower() in {f"{singular}_date", "date", "created_at", f"{singular}_ts"}:
                return column
        return min(dates, key=lambda c: (_date_rank(c.name, table.name), dates.index(c))) if dates else None

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
                    name=t["name"], rows=t["rows"], columns=[ColumnProfile(**c) for c in t["columns"]],
                    relations=[tuple(r) for r in t.get("relations", [])],  # type: ignore[misc]
                    negative_columns=list(t.get("negative_columns", [])),
                    line_totals=list(t.get("line_totals", [])),
                )
                for t in raw["tables"]
            ]
        )


_WHEN_WORDS = ("order", "purchase", "transaction", "invoice", "sale", "booking", "event", "created", "placed", "date",
               "timestamp", "ts", "time", "sent", "occurred", "visit", "session", "activity")
_LATER_WORDS = frozenset({"updated", "modified", "deleted", "cancelled", "canceled", "shipped", "fulfilled", "delivered",
                          "paid", "closed", "processed", "refunded", "expires", "expiry", "expiration", "due", "end",
                          "birth", "dob", "last", "first"})


def _date_rank(name: str, table: str) -> int:
    """Lower is more likely the date a row happened: ``Created at``, ``order_date``, ``InvoiceDate``."""
    words = set(name_words(name))
    table_words = set(name_words(table)) | {w.rstrip("s") for w in name_words(table)}
    if words & _LATER_WORDS:
        return 3
    if words & table_words:
        return 0
    if words & set(_WHEN_WORDS):
        return 1
    return 2


def _role_for(column: str, dtype: str) -> Role:
    """The role the name and type say (values may still change it: see :func:`_profile_table`)."""
    upper = dtype.upper()
    if upper.startswith(("DATE", "TIMESTAMP")):
        return "date"
    if upper.startswith("BOOL"):
        return "flag"
    numeric = _is_numeric(upper)
    textual = "CHAR" in upper or upper in {"TEXT", "UUID", "STRING"}
    words = name_words(column)
    if _is_id_name(words) and (numeric or textual):
        return "id"
    if set(words) & CODE_WORDS:
        return "text"  # a zip code, SKU or phone number: never summed (may become a category)
    if numeric:
        return "money" if _money_name(words) else "number"
    return "text"


def _counts_things(words: list[str]) -> bool:
    """``Number of Sales Activities``, ``total_orders``, ``Total Recipients``: a count, not an amount."""
    if not words:
        return False
    if words[0] in ("number", "num", "no", "count", "cnt", "n") and len(words) > 1:
        return True
    if set(words) & COUNT_WORDS:
        return True
    plural = [w for w in words if len(w) > 3 and w.endswith("s") and not w.endswith("ss") and w not in _MONEY_PLURALS
              and w not in MONEY_WORDS]
    return bool(plural) and not (set(words) & MONEY_WORDS) - _WEAK_MONEY


def _money_name(words: list[str]) -> bool:
    return bool(set(words) & (MONEY_WORDS | _MONEY_PLURALS)) and not _counts_things(words)


def _is_numeric(upper: str) -> bool:
    return any(t in upper for t in ("INT", "DECIMAL", "NUMERIC", "DOUBLE", "FLOAT", "REAL")) and "INTERVAL" not in upper


def _is_integer(upper: str) -> bool:
    return "INT" in upper and "INTERVAL" not in upper and "POINT" not in upper


def _unit_for(column: ColumnProfile) -> str | None:
    words = set(column.words)
    if column.role == "money":
        return next((CURRENCY_WORDS[w] for w in column.words if w in CURRENCY_WORDS), None)
    if column.role == "number" and words & QUANTITY_WORDS:
        return "count"
    return None


def profile_warehouse(warehouse: Warehouse) -> SchemaProfile:
    """Read tables, column roles, category values and date/number ranges from the warehouse."""
    profiles = []
    for info in warehouse.tables():
        profiles.append(_profile_table(warehouse, info))
    return SchemaProfile(tables=profiles)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _run(warehouse: Warehouse, sql: str) -> list[Any]:
    """One row of aggregates; written in DuckDB's dialect, rendered in the warehouse's."""
    if warehouse.dialect != "duckdb":
        sql = sqlglot.transpile(sql, read="duckdb", write=warehouse.dialect)[0]
    return list(warehouse.query(sql, row_cap=1).rows[0])


def _profile_table(warehouse: Warehouse, info: TableInfo) -> TableProfile:
    columns = [ColumnProfile(c.name, c.type, _role_for(c.name, c.type)) for c in info.columns]
    if info.rows:
        _refine_by_values(warehouse, info, columns)
    for column in columns:
        if column.role != "flag" and PII_NAME.search(column.name):
            column.pii = True
    quote = _quote
    text_cols = [c for c in columns if c.role == "text" and not c.pii and c.pattern is None]
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
    for column in columns:
        if column.role in ("text", "category") and not column.pii and column.pattern is None and info.rows:
            _detect_list(warehouse, info, column)
    ranged = [c for c in columns if c.role in ("date", "money", "number")]
    if ranged and info.rows:
        selects = ", ".join(f"min({quote(c.name)}), max({quote(c.name)}), count(*) - count({quote(c.name)})" for c in ranged)
        row = warehouse.query(f"SELECT {selects} FROM {quote(info.name)}", row_cap=1).rows[0]
        for i, column in enumerate(ranged):
            low, high = row[3 * i], row[3 * i + 1]
            column.min = None if low is None else str(low)
            column.max = None if high is None else str(high)
            column.nulls = int(row[3 * i + 2] or 0)
    keys = [c for c in columns if c.role == "id" or c.pattern == "email"]
    if keys and info.rows:
        # repeated or unique: an id that repeats is a customer (or order) key of a transaction log
        # an empty key, or a placeholder such as 0 or '' (a guest checkout), belongs to nobody
        counts_row = _run(warehouse, "SELECT " + ", ".join(
            f"count(DISTINCT {quote(c.name)}), count(*) FILTER (WHERE {quote(c.name)} IS NULL OR "
            f"trim(CAST({quote(c.name)} AS VARCHAR)) IN ('', '0', '-1', 'guest', 'null', 'none', 'n/a'))"
            for c in keys) + f" FROM {quote(info.name)}")
        for i, column in enumerate(keys):
            column.distinct, column.nulls = int(counts_row[2 * i] or 0), int(counts_row[2 * i + 1] or 0)
    for column in columns:
        column.unit = _unit_for(column)
    _currency_column(columns)
    table = TableProfile(info.name, info.rows, columns)
    if info.rows:
        table.relations = _money_relations(warehouse, table)
        table.line_totals = _line_total_prices(warehouse, table)
        _negative_values(warehouse, table)
    return table


_CURRENCY_CODE = re.compile(r"^[A-Za-z]{3}$")
# an amount converted to the account's one currency ("Converted Amount" beside Stripe's "Converted Currency")
_CONVERTED_WORDS = frozenset({"converted", "base", "reporting", "account", "settlement", "home"})


def _currency_column(columns: list[ColumnProfile]) -> None:
    """Money in several currencies in one table: a category whose values are all three-letter codes,
    two or more known currencies (USD, EUR, GBP …), names each row's currency. Money columns in it get
    ``currency_column``. When the table also holds amounts converted to one currency (a one-valued
    currency column, "Converted Amount", "total_usd"), only the columns those convert ("Amount", "total")
    are marked: the others (Stripe's "Fee") are taken to be in the account's currency."""
    known = {code.upper() for code in CURRENCY_WORDS.values()}
    codes = [c for c in columns if c.role == "category" and c.values and all(_CURRENCY_CODE.match(v.strip()) for v in c.values)
             and {v.strip().upper() for v in c.values} & known]
    several = next((c for c in codes if len({v.strip().upper() for v in c.values}) >= 2), None)
    if several is None:
        return
    money = [c for c in columns if c.role == "money" and c.unit is None]
    # "Converted Amount", and "total_usd" (a currency in its name) beside "total": an amount in one currency
    named = set(CURRENCY_WORDS) | _CONVERTED_WORDS
    converted = [set(c.words) - named for c in columns if c.role == "money" and set(c.words) & named]
    one_currency = any(c is not several and len(c.values) == 1 for c in codes) or bool(converted)
    for column in money:
        if set(column.words) & _CONVERTED_WORDS:
            continue
        if not one_currency or set(column.words) in converted:
            column.currency_column = several.name


# separators a list cell is written with, most specific first (a space only when no other splits)
_LIST_SEPARATORS = (",", ";", "|", " ")
_LIST_SAMPLE = 2000


def list_items(cell: str, separator: str) -> list[str]:
    """The items of one list cell: split on ``separator``, quotes and spaces around items dropped."""
    return [item for part in cell.split(separator) if (item := part.strip().strip('"').strip())]


def _detect_list(warehouse: Warehouse, info: TableInfo, column: ColumnProfile) -> None:
    """Make ``column`` a list column when its VALUES say so: one separator splits many cells into
    items from a small vocabulary that repeat across rows (tags such as "VIP, Newsletter"), and
    splitting shrinks the vocabulary (so "New York" / "Los Angeles" stay whole values)."""
    quoted = _quote(column.name)
    rows = warehouse.query(
        f"SELECT CAST({quoted} AS VARCHAR) FROM {_quote(info.name)} WHERE {quoted} IS NOT NULL LIMIT {_LIST_SAMPLE}",
        row_cap=_LIST_SAMPLE,
    ).rows
    cells = [str(r[0]).strip() for r in rows if r[0] is not None and str(r[0]).strip()]
    if len(cells) < 4:
        return
    whole = set(cells)
    for separator in _LIST_SEPARATORS:
        split = [list_items(cell, separator) for cell in cells]
        multi = sum(1 for items in split if len(items) > 1)
        counts: dict[str, int] = {}
        for items in split:
            for item in dict.fromkeys(items):
                counts[item] = counts.get(item, 0) + 1
        if not multi or multi < 0.2 * len(cells):
            continue
        if not (2 <= len(counts) <= _CATEGORY_MAX_VALUES and len(counts) < len(whole)):
            return  # the first separator that splits decides: free text or names are no list
        if sum(counts.values()) < 2 * len(counts) or any(len(item) > 40 for item in counts):
            return  # items must repeat and be short labels
        first = {items[0] for items in split}
        later = {item for items in split for item in items[1:]}
        if len(first & later) < max(1, len(counts) // 4):
            return  # "Portland, OR", "Trail Tent": parts keep their place; tags come in any order
        column.role, column.list_separator = "category", separator
        column.values = sorted(counts, key=lambda item: (-counts[item], item))
        return


_STATUS_WORDS = frozenset({"status", "state", "type", "kind", "result", "outcome", "category", "action"})


def _money_relations(warehouse: Warehouse, table: TableProfile) -> list[tuple[str, str, str, str]]:
    """Which money column is another plus or minus a third, or a quantity times a price, on every
    row of a sample (where all three are filled and the third is not 0): how a gross, a discount and
    a net, or a fee and a payout, or a line total relate — what names alone cannot say."""
    money = [c for c in table.columns if c.role == "money"][:6]
    counts = [c for c in table.columns if c.role == "number" and c.unit == "count"][:2]
    # a line total may carry a name that says nothing ("Extended"): any plain number is a candidate for qty x price
    plain = [c for c in table.columns if c.role == "number" and c.unit is None and not _counts_things(c.words)][:4]
    candidates: list[tuple[str, str, str, str]] = []
    for target in money + plain:
        others = [c for c in money if c is not target]
        for a in others:
            for b in others:  # "target = a + b" is "a = target - b": the minus forms cover every sum (half the probes)
                if b is not a and target in money:
                    candidates.append((target.name, a.name, "-", b.name))
            for quantity in counts:
                candidates.append((target.name, quantity.name, "*", a.name))
    q = _quote
    probes = ["count(*)"] + [f"count(*) FILTER (WHERE {q(m.name)} < 0), count(*) FILTER (WHERE {q(m.name)} > 0)" for m in money]
    for total, left, op, right in candidates:
        filled = f"{q(total)} IS NOT NULL AND {q(left)} IS NOT NULL AND {q(right)} IS NOT NULL"
        near = f"abs({q(left)} {op} {q(right)} - {q(total)}) <= 0.011 + 0.0001 * abs({q(total)})"
        probes += [f"count(*) FILTER (WHERE {filled})", f"count(*) FILTER (WHERE {filled} AND {near})",
                   f"count(*) FILTER (WHERE {filled} AND {q(right)} <> 0)",
                   f"count(*) FILTER (WHERE {filled} AND {q(right)} <> 0 AND {near})",
                   f"sum({q(total)}) FILTER (WHERE {filled})", f"sum({q(left)}) FILTER (WHERE {filled})"]
    row = _run(warehouse, f"SELECT {', '.join(probes)} FROM (SELECT * FROM {q(table.name)} LIMIT {_SAMPLE_ROWS}) AS s")
    sampled, row = int(row[0] or 0), row[1:]
    # stored negative: (nearly) every non-zero value is below 0 — a column of mixed signs is no "discounts as negatives"
    table.negative_columns = [m.name for i, m in enumerate(money)
                              if int(row[2 * i] or 0) >= 3 and int(row[2 * i] or 0) >= 0.9 * (int(row[2 * i] or 0) + int(row[2 * i + 1] or 0))]
    row = row[2 * len(money):]
    found = []
    width = 6
    for i, (total, left, op, right) in enumerate(candidates):
        on_rows, holds, moved, moved_holds = (int(row[width * i + k] or 0) for k in range(4))
        # strong evidence only: filled on most rows, exact on (nearly) all of them, and on at least 3 rows where
        # the third column is not 0 (else "net = gross - discounts" would hold by a column of zeros)
        if on_rows < max(3, 0.5 * sampled) or holds < 0.98 * on_rows or moved < 3 or moved_holds < 0.98 * moved:
            continue
        if op == "*":
            found.append((total, left, op, right))
        else:  # as "smaller = larger - part", whatever sign the part is stored with
            bigger = float(row[width * i + 4] or 0) <= float(row[width * i + 5] or 0)
            smaller, larger = (total, left) if bigger else (left, total)
            if (smaller, larger, "-", right) not in found:
                found.append((smaller, larger, "-", right))
    return found


_PRODUCT_WORDS = frozenset({"sku", "asin", "product", "item", "variant", "article", "listing"})


def _line_total_prices(warehouse: Warehouse, table: TableProfile) -> list[str]:
    """Money columns named "price" that hold the line's total, not the unit price (Amazon's ``item-price``): for
    one product, rows of 2+ units hold the quantity times what its 1-unit rows hold, on (nearly) every such row."""
    quantity = next((c for c in table.columns if c.role == "number" and c.unit == "count"), None)
    product = next((c for c in table.columns if c.role in ("category", "id", "text") and set(c.words) & _PRODUCT_WORDS
                    and not c.pii), None)
    prices = [c for c in table.columns if c.role == "money" and "price" in c.words and not set(c.words) & {"unit", "each", "per"}
              and not set(c.words) & {"shipping", "ship", "tax", "discount", "list", "compare"}]
    if quantity is None or product is None or not prices:
        return []
    q, t = _quote, _quote(table.name)
    found = []
    for price in prices[:3]:
        p, n, k = q(price.name), q(quantity.name), q(product.name)
        row = _run(warehouse, f"WITH s AS (SELECT * FROM {t} LIMIT {_SAMPLE_ROWS}), one AS (SELECT {k} AS k, median({p}) AS unit "
                              f"FROM s WHERE {n} = 1 AND {p} > 0 GROUP BY 1) "
                              f"SELECT count(*), count(*) FILTER (WHERE abs(s.{p} - s.{n} * one.unit) <= 0.011 + 0.01 * abs(s.{p})) "
                              f"FROM s JOIN one ON s.{k} = one.k WHERE s.{n} >= 2 AND s.{p} > 0")
        rows, scaled = int(row[0] or 0), int(row[1] or 0)
        if rows >= 3 and scaled >= 0.95 * rows:
            found.append(price.name)
    return found


def _negative_values(warehouse: Warehouse, table: TableProfile) -> None:
    """For status and type columns: the values whose rows hold no positive money (refunds written as
    negative amounts), so that revenue can net them out instead of leaving them out."""
    money = [c for c in table.columns if c.role == "money"][:6]
    if not money:
        return
    for column in table.columns:
        if column.role != "category" or not set(column.words) & _STATUS_WORDS or not column.values:
            continue
        q = _quote
        parts = ", ".join(f"max({q(m.name)}), min({q(m.name)})" for m in money)
        rows = warehouse.query(f"SELECT {q(column.name)}, {parts} FROM {q(table.name)} WHERE {q(column.name)} IS NOT NULL "
                               f"GROUP BY 1 LIMIT {_CATEGORY_MAX_VALUES}", row_cap=_CATEGORY_MAX_VALUES).rows
        for r in rows:  # most money columns never positive (a refund's discount may be written back positive)
            highs, lows = r[1::2], r[2::2]
            never_positive = sum(1 for h in highs if h is None or float(h) <= 0)
            if 2 * never_positive >= len(highs) and any(low is not None and float(low) < 0 for low in lows):
                column.negative_values.append(str(r[0]))


def _refine_by_values(warehouse: Warehouse, info: TableInfo, columns: list[ColumnProfile]) -> None:
    """Roles the values decide, from one scan of a sample: yes/no and 0/1 flags, e-mail and phone
    columns (personal data whatever their name), id-shaped text ("#1001", "INV-0042")."""
    probes: list[str] = []
    plan: list[tuple[ColumnProfile, str]] = []
    yes = ", ".join(_literal(v) for v in YES_VALUES)
    no = ", ".join(_literal(v) for v in NO_VALUES)
    for column in columns:
        upper = column.type.upper()
        q = _quote(column.name)
        if ("CHAR" in upper or upper in {"TEXT", "STRING"}) and column.role in ("text", "id"):
            norm = f"lower(trim({q}))"
            probes += [
                f"count({q})",
                f"count(*) FILTER (WHERE {norm} IN ({yes}))",
                f"count(*) FILTER (WHERE {norm} IN ({no}))",
                f"count(*) FILTER (WHERE regexp_matches(trim({q}), {_literal(EMAIL_VALUE)}))",
                f"count(*) FILTER (WHERE regexp_matches(trim({q}), {_literal(PHONE_VALUE)}) "
                f"AND NOT regexp_matches(trim({q}), {_literal(_DATE_LIKE)}) "
                f"AND length(regexp_replace({q}, '[^0-9]', '', 'g')) BETWEEN 7 AND 15)",
                f"count(*) FILTER (WHERE regexp_matches(trim({q}), {_literal(ID_VALUE)}))",
                f"count(DISTINCT {q})",
            ]
            plan.append((column, "text"))
        elif _is_integer(upper) and column.role in ("number", "money", "text"):
            probes += [f"count({q})", f"count(*) FILTER (WHERE {q} = 1)", f"count(*) FILTER (WHERE {q} = 0)"]
            plan.append((column, "int"))
    if not probes:
        return
    row = iter(_run(warehouse, f"SELECT {', '.join(probes)} FROM (SELECT * FROM {_quote(info.name)} LIMIT {_SAMPLE_ROWS}) AS s"))
    for column, kind in plan:
        words = set(column.words)
        if kind == "int":
            filled, ones, zeros = (int(next(row) or 0) for _ in range(3))
            binary = filled > 0 and ones + zeros == filled
            counted = _counts_things(column.words) or column.words[-1].endswith("s") and not words & FLAG_HINTS
            if binary and not counted and not words & MONEY_WORDS and ((ones and zeros) or words & FLAG_HINTS):
                column.role = "flag"
            continue
        filled, yes_n, no_n, emails, phones, ids, distinct = (int(next(row) or 0) for _ in range(7))
        if not filled:
            continue
        if yes_n + no_n == filled and ((yes_n and no_n) or words & FLAG_HINTS) and column.role != "id":
            column.role = "flag"
        elif emails >= 0.8 * filled:
            column.pattern, column.pii = "email", True
        elif phones >= 0.8 * filled and not words & (ID_WORDS | ORDER_WORDS | {"sku", "code"}):
            column.pattern, column.pii = "phone", True
            column.role = "text"
        elif ids >= 0.9 * filled and distinct >= 5 and not words & CODE_WORDS:
            column.pattern, column.role = "id", "id"


_PROFILING: dict[str, threading.Lock] = {}
_PROFILING_GUARD = threading.Lock()


@overload
def load_profile(warehouse: Warehouse, cache: Path | None) -> SchemaProfile: ...
@overload
def load_profile(warehouse: Warehouse, cache: Path | None, *, wait: Literal[False]) -> SchemaProfile | None: ...
def load_profile(warehouse: Warehouse, cache: Path | None, *, wait: bool = True) -> SchemaProfile | None:
    """The profile from ``cache`` when it matches the warehouse's tables, else freshly read and cached.

    One profiling per cache file at a time: a caller arriving while another profiles (an upload
    profiling its new table) waits for that profile instead of computing it again beside it — or,
    with ``wait=False``, gets None at once (a chat turn then keeps the profile it had).
    """
    if cache is None:
        return _load_profile(warehouse, None)
    with _PROFILING_GUARD:
        lock = _PROFILING.setdefault(str(cache), threading.Lock())
    if not lock.acquire(blocking=wait):
        return None
    try:
        return _load_profile(warehouse, cache)
    finally:
        lock.release()


def _load_profile(warehouse: Warehouse, cache: Path | None) -> SchemaProfile:
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
