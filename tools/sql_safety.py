"""Read-only SQL guard: only a single SELECT/WITH over known tables ever reaches the engine.

The statement is parsed with sqlglot in the engine's dialect and refused *before
execution* when it is anything else: DDL, DML, PRAGMA/SET/ATTACH/COPY/EXPORT/
INSTALL/LOAD, several statements, ``SELECT ... INTO``, table functions
(``read_csv(...)``), file/network/system functions, or tables the workspace does
not know. The engine connection is read-only as a second line of defence.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from foundation.errors import UnsafeQueryError

# Functions that touch files, the network, the OS, or the engine's configuration.
_DENIED_FUNCTION = re.compile(
    r"^(read_\w+|\w+_scan|scan_\w+|glob|sniff_csv|parquet_\w+|iceberg_\w+|delta_\w+|"
    r"pg_\w+|lo_\w+|dblink\w*|current_setting|set_config|getenv|query|query_table|"
    r"copy|load_extension|install|load|attach|detach|export_\w+|import_\w+|"
    r"system|shell|sleep|pg_sleep|http\w*|url\w*|duckdb_\w+|sqlite_\w+|"
    r"postgres_\w+|mysql_\w+|odbc_\w+|make_\w*file\w*|file\w*|write\w*|"
    r"txid_\w+|nextval|setval|currval|checkpoint|force_checkpoint|vacuum|"
    r"which_secret|current_database\w*|version|repeat|range|generate_series|"
    r"\w*_to_xml\w*|ts_stat|ts_rewrite|\w*execute\w*|\w*serialized_sql)$",
    re.IGNORECASE,
)
# ``query_to_xml('select …')`` and its kin (``table_/schema_/database_/cursor_to_xml``,
# ``ts_stat``, ``ts_rewrite``, DuckDB's ``json_execute_serialized_sql``) run SQL given as text,
# which the table allow-list cannot see: denied like ``query()``.
# Denied even though they are harmless elsewhere: ``range``/``generate_series`` and
# ``repeat`` can blow up memory; ``version``/``current_database`` leak environment facts.

_FORBIDDEN_NODES: tuple[type[exp.Expression], ...] = tuple(
    getattr(exp, name)
    for name in (
        "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "AlterColumn",
        "Command", "Pragma", "Set", "SetItem", "Copy", "Attach", "Detach", "Use", "Commit",
        "Rollback", "Transaction", "Into", "LoadData", "Grant", "Revoke", "Analyze",
        "Describe", "Show", "Kill", "Export", "Install", "Refresh", "Cache", "Uncache",
        "TruncateTable", "Summarize", "Lock",
    )
    if hasattr(exp, name)
)

_ACCEPTED = "Only a single read-only SELECT (or WITH ... SELECT) over the workspace's tables is accepted."


def check_read_only(sql: str, known_tables: Iterable[str], dialect: str = "duckdb") -> exp.Expression:
    """Parse ``sql`` and return its tree if it is one safe read-only query; raise otherwise.

    ``known_tables`` are the table names the query may read (case-insensitive).
    Raises :class:`UnsafeQueryError` naming what was refused and what is accepted.
    """
    text = (sql or "").strip()
    if not text:
        raise UnsafeQueryError("The SQL is empty.", hint=_ACCEPTED)
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except ParseError as err:
        first = str(err).splitlines()[0]
        raise UnsafeQueryError(f"The SQL could not be parsed: {first}", hint=_ACCEPTED) from err
    if len(statements) != 1:
        raise UnsafeQueryError(
            f"Found {len(statements)} statements; multi-statement SQL is refused.", hint=_ACCEPTED
        )
    tree = statements[0]
    if not isinstance(tree, (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery)):
        kind = tree.key.upper()
        raise UnsafeQueryError(f"{kind} statements are refused: the assistant's data access is read-only.", hint=_ACCEPTED)

    for node in tree.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            raise UnsafeQueryError(
                f"'{node.key.upper()}' is not allowed inside a query.", hint=_ACCEPTED
            )
        if isinstance(node, exp.Func):
            name = _function_name(node)
            if name and _DENIED_FUNCTION.match(name):
                raise UnsafeQueryError(
                    f"The function {name}() is refused: file, network, system and configuration functions are not available.",
                    hint=_ACCEPTED,
                )
        if isinstance(node, exp.Placeholder):
            raise UnsafeQueryError("Parameter placeholders are not accepted; inline the values.", hint=_ACCEPTED)

    _check_tables(tree, {t.lower() for t in known_tables})
    return tree


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name)
    return node.sql_name() if hasattr(node, "sql_name") else node.key


def _with_of(node: Any) -> exp.With | None:
    found = node.args.get("with_") or node.args.get("with")
    return found if isinstance(found, exp.With) else None


def _is_cte_reference(table: exp.Table) -> bool:
    """True when ``table`` names a CTE that is in scope where it is read.

    A CTE only shadows a table inside its own ``WITH``: in that query's body, in the CTEs
    after it, and in itself when the ``WITH`` is ``RECURSIVE``. The same name anywhere else
    (an outer query, a sibling subquery) is the real table and goes through the allow-list:
    otherwise ``FROM duckdb_databases, (WITH duckdb_databases AS (...) ...)`` reads the
    system view.
    """
    name = table.name.lower()
    child: Any = table
    parent: Any = table.parent
    while parent is not None:
        with_ = _with_of(parent)
        if with_ is not None:
            ctes = [c for c in with_.expressions if isinstance(c, exp.CTE)]
            if child is with_:  # inside one of this WITH's CTEs: only earlier ones are visible
                current = next((c for c in ctes if _contains(c, table)), None)
                index = ctes.index(current) if current is not None else len(ctes)
                visible = ctes[: index + (1 if with_.args.get("recursive") else 0)]
            else:
                visible = ctes
            if any(c.alias_or_name.lower() == name for c in visible):
                return True
        child, parent = parent, parent.parent
    return False


def _contains(ancestor: Any, node: Any) -> bool:
    probe: Any = node
    while probe is not None:
        if probe is ancestor:
            return True
        probe = probe.parent
    return False


def _check_tables(tree: exp.Expression, known: set[str]) -> None:
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            # FROM read_csv('...'), FROM (VALUES ...) AS t are both fine-grained cases:
            # a table-valued function is refused, anything else is checked by name.
            if isinstance(table.this, exp.Func):
                raise UnsafeQueryError(
                    f"Table functions such as {table.this.sql()} are refused.", hint=_ACCEPTED
                )
            continue
        name = table.name.lower()
        if table.args.get("catalog") or (table.args.get("db") and table.db.lower() not in {"main", "public"}):
            raise UnsafeQueryError(
                f"Table '{table.sql()}' is outside the workspace; use an unqualified table name.",
                hint=_ACCEPTED,
            )
        if _is_cte_reference(table):
            continue
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.5)
            did_you_mean = f" Did you mean: {', '.join(close)}?" if close else ""
            raise UnsafeQueryError(
                f"Unknown table '{table.name}'.{did_you_mean}",
                hint=f"Known tables: {', '.join(sorted(known)) or '(none loaded)'}.",
            )
