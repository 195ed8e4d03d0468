"""Review of issue 14's SQL allow-list: PostgreSQL functions that run SQL given as text.

``query_to_xml('select … from pg_shadow', …)`` (and ``table_to_xml``, ``cursor_to_xml``,
``database_to_xml``, ``ts_stat``, ``ts_rewrite``) passed the table allow-list, because the
tables are inside a string: on a superuser connection the query read ``pg_shadow``,
``pg_stat_activity``, tables outside the workspace and files (``pg_read_file``)."""

from __future__ import annotations

import pytest

from assistant.errors import UnsafeQueryError
from tests.test_postgres import pg_database, requires_postgres  # noqa: F401 - fixture
from tools.sql_safety import check_read_only
from tools.warehouse import SQLAlchemyWarehouse

SQL_IN_TEXT = [
    "SELECT query_to_xml('select usename, passwd from pg_shadow', true, true, '')",
    "SELECT query_to_xml_and_xmlschema('select 1', true, true, '')",
    "SELECT table_to_xml('pg_authid', true, true, '')",
    "SELECT schema_to_xml('pg_catalog', true, true, '')",
    "SELECT database_to_xml(true, true, '')",
    "SELECT cursor_to_xml('c', 1, true, true, '')",
    "SELECT ts_stat('select usename::tsvector from pg_user')",
    "SELECT ts_rewrite('a'::tsquery, 'select ''a''::tsquery, ''b''::tsquery')",
    "SELECT count(*) FROM customers WHERE length(query_to_xml('select 1', true, true, '')::text) > 0",
]


@pytest.mark.parametrize("sql", SQL_IN_TEXT)
def test_functions_that_run_sql_text_are_refused(sql: str) -> None:
    with pytest.raises(UnsafeQueryError, match="is refused"):
        check_read_only(sql, ["customers"], dialect="postgres")


def test_xml_functions_over_values_still_work() -> None:
    check_read_only("SELECT xmlelement(name e, email) FROM customers", ["customers"], dialect="postgres")


@pytest.mark.integration
@requires_postgres
def test_postgres_query_to_xml_cannot_read_pg_shadow(pg_database: str) -> None:  # noqa: F811
    warehouse = SQLAlchemyWarehouse(pg_database)
    try:
        with pytest.raises(UnsafeQueryError, match="query_to_xml"):
            warehouse.query("SELECT query_to_xml('select usename from pg_shadow', true, true, '') AS x")
    finally:
        warehouse.engine.dispose()
