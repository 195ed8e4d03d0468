"""Low finding: a same-name CTE must not smuggle a system table past the table allow-list.

The attack names a system view in the outer query and defines a CTE of the same name in a
sibling subquery; the old check skipped every table whose name matched *any* CTE. Expected:
a CTE name only shadows inside its own WITH, so the outer reference is refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from foundation.errors import UnsafeQueryError
from tests.conftest import build_tiny_warehouse
from tests.test_postgres import pg_database, requires_postgres  # noqa: F401 - fixture
from tools.warehouse import DuckDBWarehouse, SQLAlchemyWarehouse

DUCKDB_ATTACK = (
    "SELECT * FROM duckdb_databases, "
    "(WITH duckdb_databases AS (SELECT 1 AS a) SELECT * FROM duckdb_databases) q"
)
PG_ATTACK = (
    "SELECT query FROM pg_stat_activity, "
    "(WITH pg_stat_activity AS (SELECT 1 AS a) SELECT * FROM pg_stat_activity) q"
)


@pytest.fixture
def duck(tmp_path: Path) -> DuckDBWarehouse:
    build_tiny_warehouse(tmp_path / "warehouse.duckdb")
    return DuckDBWarehouse(tmp_path / "warehouse.duckdb")


def test_duckdb_same_name_cte_does_not_reach_the_system_view(duck: DuckDBWarehouse) -> None:
    with pytest.raises(UnsafeQueryError, match="Unknown table 'duckdb_databases'"):
        duck.query(DUCKDB_ATTACK)


@pytest.mark.parametrize(
    "sql",
    [
        "WITH a AS (SELECT * FROM customers), b AS (SELECT * FROM a) SELECT count(*) FROM b",
        "WITH c AS (SELECT 1 AS n) SELECT * FROM c UNION ALL SELECT * FROM c",
        "WITH c AS (SELECT customer_id FROM customers) SELECT * FROM (SELECT * FROM c) s",
        "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
        "WITH customers AS (SELECT * FROM customers WHERE country = 'Germany') SELECT count(*) FROM customers",
    ],
)
def test_ctes_still_work_in_their_own_scope(duck: DuckDBWarehouse, sql: str) -> None:
    assert duck.query(sql).row_count >= 1


def test_a_cte_is_not_visible_before_it_is_defined(duck: DuckDBWarehouse) -> None:
    with pytest.raises(UnsafeQueryError, match="Unknown table 'a'"):
        duck.query("WITH b AS (SELECT * FROM a), a AS (SELECT 1 AS x) SELECT * FROM b")


@pytest.mark.integration
@requires_postgres
def test_postgres_same_name_cte_does_not_reach_pg_stat_activity(pg_database: str) -> None:  # noqa: F811
    warehouse = SQLAlchemyWarehouse(pg_database)
    try:
        with pytest.raises(UnsafeQueryError, match="Unknown table 'pg_stat_activity'"):
            warehouse.query(PG_ATTACK)
        legit = "WITH de AS (SELECT * FROM customers WHERE country = 'Germany') SELECT count(*) FROM de"
        assert warehouse.query(legit).rows == [(2,)]
    finally:
        warehouse.engine.dispose()
