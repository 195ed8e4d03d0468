"""How words in a question map onto the live schema: table and column names, category
values, flags, amounts. Pure functions over :class:`~tools.schema_profile.SchemaProfile`."""

from __future__ import annotations

import re

from tools.schema_profile import ColumnProfile, SchemaProfile, TableProfile

_ENTITY_SYNONYMS = {
    "customers": ("customer", "customers", "people", "buyers", "shoppers", "clients", "users", "members",
                  "subscribers", "accounts", "contacts", "audience", "signups", "sign-ups", "sign ups",
                  "registrations", "new customers"),
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


def _words(text: str) -> str:
    return " " + re.sub(r"[^a-z0-9$€£.%/\- ]+", " ", text.lower()) + " "


def _has(text: str, phrase: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", text) is not None


# A column's last word alone is too vague to name it when it is one of these ("line number").
_GENERIC_PARTS = frozenset({"id", "date", "ts", "at", "in", "flag", "number", "name", "type", "code",
                            "value", "total", "count", "amount", "usd", "eur", "key"})
# "order date" minus "date" is "order": a table, not a breakdown.
_TABLE_WORDS = frozenset({"order", "customer", "product", "campaign", "event", "item", "line"})


def _variants(column: ColumnProfile) -> list[str]:
    name = column.name.lower()
    spaced = name.replace("_", " ")
    out = {spaced, name}
    parts = spaced.split()
    if len(parts) > 1 and parts[-1] not in _GENERIC_PARTS:
        out.add(parts[-1])
    if len(parts) > 1 and parts[-1] in {"date", "ts"} and parts[0] not in _TABLE_WORDS:
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
        for other, _, _ in profile.parents(current):
            if other not in out:
                out.append(other)
                frontier.append(other)
    return out


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _names_exactly(phrase: str, table: TableProfile, column: ColumnProfile) -> bool:
    """True when ``phrase`` starts with the column's name (or the table's, for its label)."""
    words = phrase.strip()
    names = _variants(column) + [table.name.lower(), table.name.lower().rstrip("s")]
    return any(words == n or words.startswith(n + " ") for n in names)


def _table_named(phrase: str, table: TableProfile) -> bool:
    name = table.name.lower()
    names = {name, name.replace("_", " "), name.rstrip("s"), name.rstrip("s").replace("_", " ")}
    names.update(_ENTITY_SYNONYMS.get(name, ()))
    return any(_has(phrase, n) for n in names)


def _column_matches(
    phrase: str, tables: list[TableProfile], roles: tuple[str, ...] | None = None, prefer: TableProfile | None = None
) -> list[tuple[int, TableProfile, ColumnProfile]]:
    """Columns named in ``phrase``, best first: longer name matches, the table named too, exact names."""
    out = []
    for table in tables:
        named = _table_named(phrase, table)
        for column in table.columns:
            if roles and column.role not in roles:
                continue
            hits = [v for v in _variants(column) if _has(phrase, v)]
            if not hits:
                continue
            exact = _singular(hits[0]) == _singular(column.name.lower().replace("_", " "))
            score = len(hits[0]) * 10 + (25 if named else 0) + (3 if exact else 0) + (2 if table is prefer else 0)
            out.append((score, table, column))
    # ties go to the bigger table: an attribute of the facts themselves (orders.channel, not campaigns.channel)
    out.sort(key=lambda m: (m[0], m[1].rows), reverse=True)
    if not out:
        # "by product" / "per campaign": the label column of a mentioned table
        for table in tables:
            if _table_named(phrase, table):
                label = next((table.column(n) for n in ("name", "title", f"{table.name.rstrip('s')}_name") if table.column(n)), None)
                if label is not None and (roles is None or label.role in roles):
                    out.append((1, table, label))
    return out


def _find_column(phrase: str, tables: list[TableProfile], roles: tuple[str, ...] | None = None) -> tuple[TableProfile, ColumnProfile] | None:
    matches = _column_matches(phrase, tables, roles)
    return (matches[0][1], matches[0][2]) if matches else None


def _value_filters(
    text: str, tables: list[TableProfile], exclude: set[str], entity: TableProfile | None = None, purchase: bool = False
) -> list[tuple[TableProfile, ColumnProfile, list[str]]]:
    """Category values named in ``text``, grouped per column in order of mention.

    A value found in several columns ("Tents" as a product category and as a customer's
    preferred category) goes to the entity's own table, unless the question is about
    purchases ("customers who bought tents"), then to the other table.
    """
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
                if len(low) > 4 and _singular(low) != low:
                    candidates.append((_singular(low), table, column, value))
            for alias, target in _ALIASES.items():
                if target in column.values:
                    candidates.append((alias, table, column, target))

    def preference(c: tuple[str, TableProfile, ColumnProfile, str]) -> tuple[int, int, int, int]:
        own = entity is not None and c[1] is entity
        # "preferred_category" is an attribute of the customer, "category" one of what was bought
        attribute = re.match(r"(preferred|favou?rite|fav|primary|main|usual)_", c[2].name.lower()) is not None
        return len(c[0]), (1 if own != purchase else 0), (0 if attribute and purchase else 1), c[1].rows

    candidates.sort(key=preference, reverse=True)
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, TableProfile, ColumnProfile, str]] = []
    for phrase, table, column, value in candidates:
        for m in re.finditer(rf"(?<![a-z0-9]){re.escape(phrase)}(?:s|es|ed|d)?(?![a-z0-9])", text):
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
    """Boolean columns the text asks about (“opted in to SMS” → sms_opt_in = true)."""
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
