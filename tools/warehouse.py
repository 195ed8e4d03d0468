"""The one warehouse abstraction: customer data in DuckDB (embedded) or any SQLAlchemy URL.

The assistant only ever reads: :meth:`Warehouse.query` validates SQL with
:func:`tools.sql_safety.check_read_only`, runs it on a read-only connection with a
row cap and a timeout, and returns a :class:`QueryResult`. Loading data is a
separate, explicit path (``mara data load``) that the agent cannot reach.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import difflib
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from foundation.errors import QueryError, UnsafeQueryError, WarehouseError, WorkspaceError
from tools.sql_safety import check_read_only

if TYPE_CHECKING:
    import duckdb

    from foundation.settings import MaraSettings

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    name: str
    type: str


@dataclass(frozen=True, slots=True)
class TableInfo:
    name: str
    rows: int
    columns: tuple[ColumnInfo, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rows": self.rows,
            "columns": [{"name": c.name, "type": c.type} for c in self.columns],
        }


@dataclass(slots=True)
class QueryResult:
    """Rows of a read-only query; ``truncated`` when the row cap or the byte cap cut it
    (``truncated_reason`` says which: ``"rows"`` or ``"bytes"``)."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool = False
    sql: str = ""
    duration_ms: float = 0.0
    column_types: list[str] = field(default_factory=list)
    truncated_reason: str | None = None

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "rows": [list(_jsonable(v) for v in row) for row in self.rows],
            "row_count": self.row_count,
            "truncated": self.truncated,
        }


# Rows pulled from the engine at a time: a few first, then about what still fits under the byte
# cap, so wide rows never come over in a batch much larger than the cap.
_FIRST_BATCH = 8
_MAX_BATCH = 1024


def cell_bytes(value: Any) -> int:
    """About how many bytes a cell takes in a result (text length; 8 for a number)."""
    if value is None:
        return 0
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        return len(value)
    if isinstance(value, (int, float, bool)):
        return 8
    return len(str(value))


def fetch_capped(
    fetchmany: Callable[[int], Sequence[Any]],
    *,
    row_cap: int,
    max_bytes: int | None,
    deadline: float | None,
    timeout_s: float,
) -> tuple[list[tuple[Any, ...]], str | None]:
    """Pull rows in small batches until the row cap or byte cap; return them and why it stopped.

    The reason is ``"rows"``, ``"bytes"`` or ``None`` (every row fetched). Past ``deadline``
    (``time.monotonic()``) the fetch stops with :class:`QueryError`: a slow fetch is part of the
    query's time.
    """
    if max_bytes is None:  # bulk path for internal pipelines (model training, audiences)
        everything = [tuple(r) for r in fetchmany(row_cap + 1)]
        return everything[:row_cap], ("rows" if len(everything) > row_cap else None)
    rows: list[tuple[Any, ...]] = []
    size, batch_size = 0, _FIRST_BATCH
    while True:
        if deadline is not None and time.monotonic() > deadline:
            raise QueryError(
                f"The query ran longer than {timeout_s:g} s and was stopped.",
                hint="Aggregate more (GROUP BY) or filter to fewer rows.",
            )
        batch = fetchmany(batch_size)
        if not batch:
            return rows, None
        for row in batch:
            if len(rows) >= row_cap:
                return rows, "rows"
            cost = sum(cell_bytes(v) for v in row)
            if max_bytes is not None and size + cost > max_bytes:
                return rows, "bytes"
            rows.append(tuple(row))
            size += cost
        # Next batch: about what still fits under the cap, judged by the rows so far.
        average = max(1, size // max(1, len(rows)))
        batch_size = max(1, min(_MAX_BATCH, (max_bytes - size) // average + 1, row_cap - len(rows) + 1))


def _jsonable(value: Any) -> Any:
    """Plain JSON types for dates, decimals and numpy scalars."""
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


class Warehouse:
    """Read-only access to customer data. Use :func:`open_warehouse` to get one."""

    dialect: str = "duckdb"

    def tables(self) -> list[TableInfo]:  # pragma: no cover - interface
        raise NotImplementedError

    def table_names(self) -> list[str]:
        return [t.name for t in self.tables()]

    def query(
        self,
        sql: str,
        *,
        row_cap: int = 10_000,
        timeout_s: float = 30.0,
        max_bytes: int | None = None,
        deadline: float | None = None,
    ) -> QueryResult:
        """Validate ``sql`` as a single read-only query over known tables and run it.

        ``max_bytes`` caps the cell data kept (the result is then ``truncated``, reason
        ``"bytes"``); ``deadline`` (``time.monotonic()``) bounds execution *and* fetching, so a
        tool call that also writes the result stays within one timeout.
        """
        if deadline is None:
            deadline = time.monotonic() + timeout_s
        tree = check_read_only(sql, self.table_names(), dialect=self.dialect)
        return self._execute(
            tree.sql(dialect=self.dialect),
            row_cap=row_cap,
            timeout_s=timeout_s,
            max_bytes=max_bytes,
            deadline=deadline,
        )

    def _execute(
        self, sql: str, *, row_cap: int, timeout_s: float, max_bytes: int | None = None,
        deadline: float | None = None,
    ) -> QueryResult:  # pragma: no cover
        raise NotImplementedError


#: How long a query waits for a data load's final copy to release the warehouse file (seconds).
BUSY_WAIT_S = 15.0


def _busy(err: Exception) -> bool:
    """Whether ``err`` means another connection holds the file for writing (a load is finishing)."""
    text = str(err)
    return "different configuration" in text or "Could not set lock" in text or "Conflicting lock" in text


def _connect_when_free(connect: Callable[[], T], wait_s: float | None = None) -> T:
    """``connect()``, retried while a data load holds the warehouse file for writing.

    A load (``mara data load``, ``POST /v1/data/tables``) writes for only the short final copy;
    a question asked meanwhile waits for it instead of failing with a lock error.
    """
    # lazy: duckdb loads slowly; only this path needs it
    import duckdb

    deadline = time.monotonic() + (BUSY_WAIT_S if wait_s is None else wait_s)
    delay = 0.02
    while True:
        try:
            return connect()
        except (duckdb.ConnectionException, duckdb.IOException) as err:
            if not _busy(err) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(0.25, delay * 2)


class DuckDBWarehouse(Warehouse):
    """The embedded default: a DuckDB file in the workspace, opened read-only per query."""

    dialect = "duckdb"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._tables: list[TableInfo] | None = None
        self._mtime: float | None = None

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection with external access (files, network, extensions) disabled."""
        # lazy: duckdb loads slowly; only this path needs it
        import duckdb

        if not self.path.exists():
            raise WorkspaceError(
                f"No warehouse at {self.path}.",
                hint="Run 'mara demo' to build the demo workspace or 'mara data load FILE' to load your data.",
            )
        try:
            con = _connect_when_free(
                lambda: duckdb.connect(
                    str(self.path),
                    read_only=True,
                    config={
                        "enable_external_access": False,
                        "autoinstall_known_extensions": False,
                        "autoload_known_extensions": False,
                        "lock_configuration": True,
                    },
                )
            )
        except duckdb.IOException as err:
            raise WorkspaceError(
                f"The warehouse file {self.path} cannot be opened: {str(err).splitlines()[0]}",
                hint="If it is corrupt, rebuild it with 'mara demo' or reload your data with 'mara data load'.",
            ) from err
        except duckdb.Error as err:
            raise WorkspaceError(
                f"The warehouse file {self.path} is not a valid DuckDB database ({type(err).__name__}).",
                hint="Rebuild it with 'mara demo' or reload your data with 'mara data load'.",
            ) from err
        try:
            yield con
        finally:
            con.close()

    def tables(self) -> list[TableInfo]:
        mtime = self.path.stat().st_mtime if self.path.exists() else None
        if self._tables is not None and mtime == self._mtime:
            return self._tables
        with self.connect() as con:
            cols = con.execute(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
            ).fetchall()
            by_table: dict[str, list[ColumnInfo]] = {}
            for table, column, dtype in cols:
                by_table.setdefault(table, []).append(ColumnInfo(column, dtype))
            infos = []
            for table, columns in by_table.items():
                (rows,) = con.execute(f'SELECT count(*) FROM "{table}"').fetchone() or (0,)
                infos.append(TableInfo(table, int(rows), tuple(columns)))
        self._tables, self._mtime = infos, mtime
        return infos

    def query(
        self,
        sql: str,
        *,
        row_cap: int = 10_000,
        timeout_s: float = 30.0,
        max_bytes: int | None = None,
        deadline: float | None = None,
    ) -> QueryResult:
        """As :meth:`Warehouse.query`, on one connection: opening and closing the file is most of a
        small query's cost, so validation reads the table names on the connection that runs it."""
        if deadline is None:
            deadline = time.monotonic() + timeout_s
        with self.connect() as con:
            tree = check_read_only(sql, self._table_names_on(con), dialect=self.dialect)
            return self._run(
                con, tree.sql(dialect=self.dialect), row_cap=row_cap, timeout_s=timeout_s,
                max_bytes=max_bytes, deadline=deadline,
            )

    def _table_names_on(self, con: duckdb.DuckDBPyConnection) -> list[str]:
        """Table and view names: the cached :meth:`tables` while the file is unchanged, else read
        from ``con`` (names only; the row counts :meth:`tables` adds are not needed to validate)."""
        if self._tables is not None and self._mtime == (self.path.stat().st_mtime if self.path.exists() else None):
            return [t.name for t in self._tables]
        rows = con.execute(
            "SELECT DISTINCT table_name FROM information_schema.columns WHERE table_schema = 'main' ORDER BY 1"
        ).fetchall()
        return [name for (name,) in rows]

    def _execute(
        self, sql: str, *, row_cap: int, timeout_s: float, max_bytes: int | None = None,
        deadline: float | None = None,
    ) -> QueryResult:
        with self.connect() as con:
            return self._run(con, sql, row_cap=row_cap, timeout_s=timeout_s, max_bytes=max_bytes, deadline=deadline)

    def _run(
        self, con: duckdb.DuckDBPyConnection, sql: str, *, row_cap: int, timeout_s: float,
        max_bytes: int | None = None, deadline: float | None = None,
    ) -> QueryResult:
        # lazy: duckdb loads slowly; only this path needs it
        import duckdb

        deadline = deadline if deadline is not None else time.monotonic() + timeout_s
        timer = threading.Timer(max(0.0, deadline - time.monotonic()), con.interrupt)
        timer.start()
        start = time.perf_counter()
        try:
            cursor = con.execute(sql)
            description = cursor.description or []
            rows, reason = fetch_capped(
                cursor.fetchmany, row_cap=row_cap, max_bytes=max_bytes,
                deadline=deadline, timeout_s=timeout_s,
            )
        except duckdb.InterruptException as err:
            raise QueryError(
                f"The query ran longer than {timeout_s:g} s and was stopped.",
                hint="Aggregate more (GROUP BY) or filter to fewer rows.",
            ) from err
        except duckdb.Error as err:
            raise QueryError(_engine_message(err), hint=_hint_for(err, self)) from err
        finally:
            timer.cancel()
        return QueryResult(
            columns=[d[0] for d in description],
            column_types=[str(d[1]) for d in description],
            rows=rows,
            truncated=reason is not None,
            truncated_reason=reason,
            sql=sql,
            duration_ms=(time.perf_counter() - start) * 1000,
        )


class SQLAlchemyWarehouse(Warehouse):
    """Any SQLAlchemy URL (PostgreSQL tested); queries run in read-only transactions."""

    def __init__(self, url: str) -> None:
        try:
            # lazy: sqlalchemy loads slowly; only this path needs it
            import sqlalchemy as sa

            self.engine = sa.create_engine(url, pool_pre_ping=True)
        except Exception as err:  # bad URL or missing driver
            raise WarehouseError(
                f"Cannot use warehouse URL {_redact(url)}: {err}",
                hint="Give a SQLAlchemy URL such as postgresql+psycopg://user@host/db and install its driver.",
            ) from err
        self.dialect = {"postgresql": "postgres"}.get(self.engine.dialect.name, self.engine.dialect.name)
        self._tables: list[TableInfo] | None = None

    def tables(self) -> list[TableInfo]:
        if self._tables is not None:
            return self._tables
        # lazy: sqlalchemy loads slowly; only this path needs it
        import sqlalchemy as sa

        try:
            inspector = sa.inspect(self.engine)
            infos = []
            with self.engine.connect() as con:
                for name in inspector.get_table_names():
                    columns = tuple(
                        ColumnInfo(c["name"], str(c["type"])) for c in inspector.get_columns(name)
                    )
                    q = sa.text(f"SELECT count(*) FROM {self.engine.dialect.identifier_preparer.quote(name)}")
                    rows = int(con.execute(q).scalar() or 0)
                    infos.append(TableInfo(name, rows, columns))
        except sa.exc.OperationalError as err:
            raise WarehouseError(
                f"The warehouse at {_redact(str(self.engine.url))} is unreachable: {str(err.orig).strip().splitlines()[0]}",
                hint="Check MARA_WAREHOUSE_URL and that the database server is running.",
            ) from err
        self._tables = infos
        return infos

    def _execute(
        self, sql: str, *, row_cap: int, timeout_s: float, max_bytes: int | None = None,
        deadline: float | None = None,
    ) -> QueryResult:
        # lazy: sqlalchemy loads slowly; only this path needs it
        import sqlalchemy as sa

        deadline = deadline if deadline is not None else time.monotonic() + timeout_s
        start = time.perf_counter()
        timer: threading.Timer | None = None
        try:
            # With a byte cap, a server-side cursor: rows come over in batches, so the cap bounds
            # memory (a client-side cursor holds the whole result before the first row is read).
            with self.engine.connect() as con:
                if self.engine.dialect.name == "postgresql":
                    remaining_ms = max(1, int((deadline - time.monotonic()) * 1000))
                    con.exec_driver_sql("SET TRANSACTION READ ONLY")
                    con.exec_driver_sql(f"SET LOCAL statement_timeout = {remaining_ms}")
                cancel = getattr(con.connection.dbapi_connection, "cancel", None)
                if cancel is not None:  # stops a fetch that is slow on the server side too
                    timer = threading.Timer(max(0.0, deadline - time.monotonic()), cancel)
                    timer.start()
                # A capped result streams (server-side cursor); uncapped internal reads are bulk.
                result = con.exec_driver_sql(sql, execution_options={"stream_results": max_bytes is not None})
                columns = list(result.keys())
                rows, reason = fetch_capped(
                    result.fetchmany, row_cap=row_cap, max_bytes=max_bytes,
                    deadline=deadline, timeout_s=timeout_s,
                )
                result.close()
                con.rollback()
        except sa.exc.OperationalError as err:
            raise WarehouseError(
                f"The warehouse is unreachable or the query was stopped: {str(err.orig).strip().splitlines()[0]}",
                hint="Check the database server, or aggregate/filter more if it timed out.",
            ) from err
        except sa.exc.DBAPIError as err:
            raise QueryError(str(err.orig).strip().splitlines()[0]) from err
        finally:
            if timer is not None:
                timer.cancel()
        return QueryResult(
            columns=columns,
            rows=rows,
            truncated=reason is not None,
            truncated_reason=reason,
            sql=sql,
            duration_ms=(time.perf_counter() - start) * 1000,
        )


def open_warehouse(settings: MaraSettings) -> Warehouse:
    """The warehouse the settings point at: ``MARA_WAREHOUSE_URL`` or the workspace DuckDB file."""
    if settings.warehouse_url:
        return SQLAlchemyWarehouse(settings.warehouse_url)
    return DuckDBWarehouse(settings.duckdb_path)


def _engine_message(err: Exception) -> str:
    text = str(err).strip()
    first = text.splitlines()[0] if text else type(err).__name__
    return re.sub(r"^(\w+ )?Error: ", "", first)


def _hint_for(err: Exception, warehouse: Warehouse) -> str | None:
    match = re.search(r'[Cc]olumn (?:with name )?"?(\w+)"? (?:not found|does not exist)', str(err))
    if not match:
        match = re.search(r'Referenced column "(\w+)" not found', str(err))
    if match:
        wanted = match.group(1).lower()
        all_columns = sorted({c.name for t in warehouse.tables() for c in t.columns})
        close = difflib.get_close_matches(wanted, all_columns, n=4, cutoff=0.5)
        if close:
            return f"Closest columns: {', '.join(close)}."
    return None


def _redact(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]+@", r"://\1:***@", url)


def known_table_names(warehouse: Warehouse) -> Sequence[str]:
    """Table names for validation, or an empty list when the workspace has no data yet."""
    try:
        return warehouse.table_names()
    except (WorkspaceError, WarehouseError):
        return []


__all__ = [
    "ColumnInfo",
    "DuckDBWarehouse",
    "QueryResult",
    "SQLAlchemyWarehouse",
    "TableInfo",
    "UnsafeQueryError",
    "Warehouse",
    "open_warehouse",
]
