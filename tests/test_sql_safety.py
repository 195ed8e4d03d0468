"""The read-only guard refuses everything but one SELECT/WITH over known tables — before execution."""

from __future__ import annotations

from pathlib import Path

import pytest

from foundation.errors import UnsafeQueryError
from tools.sql_safety import check_read_only
from tools.warehouse import DuckDBWarehouse

KNOWN = ["customers", "orders"]

HOSTILE = [
    "DROP TABLE customers",
    "DELETE FROM orders",
    "DELETE FROM orders WHERE 1=1",
    "UPDATE customers SET email = NULL",
    "INSERT INTO orders VALUES (1, 1, '2025-01-01', 1, 'web')",
    "INSERT INTO orders SELECT * FROM orders",
    "CREATE TABLE x AS SELECT * FROM customers",
    "CREATE VIEW v AS SELECT 1",
    "ALTER TABLE customers ADD COLUMN x INT",
    "ALTER TABLE customers RENAME TO c2",
    "TRUNCATE orders",
    "SELECT 1; DROP TABLE customers",
    "SELECT * FROM customers; SELECT * FROM orders",
    "PRAGMA database_list",
    "PRAGMA enable_profiling",
    "SET memory_limit = '1TB'",
    "SET enable_external_access = true",
    "ATTACH 'other.db' AS o",
    "DETACH o",
    "COPY customers TO '/tmp/leak.csv'",
    "COPY (SELECT * FROM customers) TO '/tmp/leak.parquet' (FORMAT parquet)",
    "EXPORT DATABASE '/tmp/dump'",
    "IMPORT DATABASE '/tmp/dump'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_csv_auto('/etc/passwd')",
    "SELECT * FROM read_parquet('s3://bucket/x.parquet')",
    "SELECT * FROM read_json_auto('http://evil.example/x.json')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM glob('/*')",
    "SELECT read_text('/etc/passwd')",
    "SELECT * FROM read_blob('/etc/shadow')",
    "SELECT getenv('HOME')",
    "SELECT current_setting('access_mode')",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM duckdb_tables()",
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT * FROM range(1000000000000)",
    "SELECT * FROM generate_series(1, 1000000000000)",
    "SELECT * INTO new_table FROM customers",
    "WITH x AS (DELETE FROM orders RETURNING *) SELECT * FROM x",
    "SELECT * FROM secrets",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM other_db.main.customers",
    "SELECT * FROM sqlite_scan('x.db', 't')",
    "SELECT * FROM postgres_scan('host=x', 'public', 't')",
    "CALL pragma_version()",
    "CHECKPOINT",
    "VACUUM",
    "BEGIN TRANSACTION",
    "USE other",
    "DESCRIBE customers",
    "SHOW TABLES",
    "SUMMARIZE customers",
    "EXPLAIN ANALYZE SELECT * FROM customers",
    "SELECT * FROM customers WHERE email = ?",
    "",
    "   ",
    "SELEC * FROM customers",
]

ALLOWED = [
    "SELECT count(*) FROM customers",
    "select country, count(*) from customers group by 1 order by 2 desc",
    "WITH recent AS (SELECT * FROM orders WHERE order_date > DATE '2025-06-01') SELECT count(*) FROM recent",
    "SELECT c.country, sum(o.total) FROM orders o JOIN customers c USING (customer_id) GROUP BY 1",
    "SELECT * FROM customers WHERE customer_id IN (SELECT customer_id FROM orders)",
    "SELECT 1",
    "SELECT country FROM customers UNION SELECT channel FROM orders",
    "SELECT date_trunc('month', order_date) AS m, count(*) FROM orders GROUP BY 1",
]


@pytest.mark.parametrize("sql", HOSTILE)
def test_hostile_statement_is_refused_before_execution(sql: str) -> None:
    with pytest.raises(UnsafeQueryError) as info:
        check_read_only(sql, KNOWN)
    assert "read-only" in str(info.value) or "Unknown table" in str(info.value) or "refused" in str(info.value)


def test_the_corpus_is_large_enough() -> None:
    assert len(HOSTILE) >= 40


@pytest.mark.parametrize("sql", ALLOWED)
def test_read_only_queries_pass(sql: str) -> None:
    check_read_only(sql, KNOWN)


def test_unknown_table_suggests_the_closest_name() -> None:
    with pytest.raises(UnsafeQueryError, match="Did you mean: customers"):
        check_read_only("SELECT * FROM customer", KNOWN)


@pytest.mark.parametrize("sql", HOSTILE[:30])
def test_warehouse_never_executes_hostile_sql(workspace: Path, sql: str) -> None:
    """End to end: the refusal happens, and the data is untouched afterwards."""
    warehouse = DuckDBWarehouse(workspace / "warehouse.duckdb")
    with pytest.raises(UnsafeQueryError):
        warehouse.query(sql)
    assert warehouse.query("SELECT count(*) FROM orders").rows == [(8,)]
    assert warehouse.query("SELECT count(*) FROM customers").rows == [(6,)]


def test_engine_connection_is_read_only_even_without_the_guard(workspace: Path) -> None:
    """Defence in depth: the DuckDB connection itself refuses writes and file access."""
    import duckdb

    warehouse = DuckDBWarehouse(workspace / "warehouse.duckdb")
    with warehouse.connect() as con:
        with pytest.raises(duckdb.Error):
            con.execute("DELETE FROM orders")
        with pytest.raises(duckdb.Error):
            con.execute("SELECT * FROM read_csv('/etc/passwd')")


def test_a_query_opens_the_warehouse_file_once(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`mara query` starts cold: validating against the table names must not cost a second open."""
    warehouse = DuckDBWarehouse(workspace / "warehouse.duckdb")
    opened = []
    real_connect = DuckDBWarehouse.connect

    def counting_connect(self: DuckDBWarehouse):  # type: ignore[no-untyped-def]
        opened.append(self.path)
        return real_connect(self)

    monkeypatch.setattr(DuckDBWarehouse, "connect", counting_connect)
    assert warehouse.query("SELECT count(*) FROM orders").rows == [(8,)]
    assert len(opened) == 1


def test_a_fresh_warehouse_still_refuses_unknown_tables(workspace: Path) -> None:
    with pytest.raises(UnsafeQueryError, match="Did you mean: customers"):
        DuckDBWarehouse(workspace / "warehouse.duckdb").query("SELECT * FROM customer")
