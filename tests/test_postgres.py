"""The scale-out path on a real PostgreSQL: read-only warehouse queries and the Postgres checkpointer."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from assistant.agent import Assistant
from foundation.errors import QueryError, UnsafeQueryError, WarehouseError
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings
from tools.warehouse import SQLAlchemyWarehouse

pytestmark = pytest.mark.integration

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


requires_postgres = pytest.mark.skipif(not _postgres_up(), reason="PostgreSQL is not running on 127.0.0.1:5432")


@contextmanager
def throwaway_database(prefix: str) -> Iterator[tuple[str, Any]]:
    """A new PostgreSQL database: yields its URL and an engine on it; dropped afterwards."""
    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as con:
        con.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    engine = sa.create_engine(url)
    try:
        yield url, engine
    finally:
        engine.dispose()
        with admin.connect() as con:
            con.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A throw-away database holding the tiny customers/orders tables."""
    import sqlalchemy as sa

    from tests.conftest import CUSTOMERS, ORDERS

    with throwaway_database("mara_test") as (url, engine):
        with engine.begin() as con:
            con.exec_driver_sql(
                "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, email TEXT, "
                "country TEXT, city TEXT, signup_date DATE, loyalty_tier TEXT, email_opt_in BOOLEAN, sms_opt_in BOOLEAN)"
            )
            con.exec_driver_sql(
                "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers, "
                "order_date DATE, total NUMERIC(10,2), channel TEXT)"
            )
            con.execute(sa.text("INSERT INTO customers VALUES (:a,:b,:c,:d,:e,:f,:g,:h,:i,:j)"),
                        [dict(zip("abcdefghij", row, strict=True)) for row in CUSTOMERS])
            con.execute(sa.text("INSERT INTO orders VALUES (:a,:b,:c,:d,:e)"),
                        [dict(zip("abcde", row, strict=True)) for row in ORDERS])
        engine.dispose()
        yield url


@requires_postgres
def test_queries_run_on_postgres_and_writes_are_refused(pg_database: str) -> None:
    warehouse = SQLAlchemyWarehouse(pg_database)
    assert {t.name: t.rows for t in warehouse.tables()} == {"customers": 6, "orders": 8}
    result = warehouse.query("SELECT country, count(*) AS n FROM customers GROUP BY 1 ORDER BY 2 DESC, 1")
    assert result.rows[0] == ("Germany", 2)
    with pytest.raises(UnsafeQueryError):
        warehouse.query("DELETE FROM orders")
    with pytest.raises(QueryError):
        warehouse.query("SELECT no_such_column FROM orders")


@requires_postgres
def test_the_read_only_transaction_is_a_second_wall(pg_database: str) -> None:
    """Even SQL that slipped past the parser could not write: the transaction is READ ONLY."""
    warehouse = SQLAlchemyWarehouse(pg_database)
    with pytest.raises(QueryError, match="read-only transaction"):
        warehouse._execute("UPDATE orders SET total = 0", row_cap=10, timeout_s=5)


@requires_postgres
def test_agent_answers_from_postgres_with_postgres_conversations(pg_database: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = MaraSettings(
        home=tmp_path, mode="offline", warehouse_url=pg_database,
        checkpoint_url=pg_database.replace("postgresql+psycopg", "postgresql"), _env_file=None,  # type: ignore[call-arg]
    )
    with Assistant(settings) as assistant:
        assert "**6** customers" in assistant.run("How many customers do we have?", conversation_id="pg", scopes=EVERY_SCOPE).reply
    with Assistant(settings) as assistant:
        result = assistant.run("revenue by country", conversation_id="pg", scopes=EVERY_SCOPE)
        assert "Germany: **1,005.50**" in result.reply
        assert len(assistant.history("pg")) >= 6
    assert not (tmp_path / "conversations.sqlite").exists()


def test_unreachable_warehouse_is_a_clear_error() -> None:
    warehouse = SQLAlchemyWarehouse("postgresql+psycopg://postgres@127.0.0.1:9/nowhere")
    with pytest.raises(WarehouseError, match="unreachable.*MARA_WAREHOUSE_URL"):
        warehouse.tables()


@requires_postgres
def test_semantic_metrics_and_repeat_rate_run_on_postgres(pg_database: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The same structured query, rendered in PostgreSQL's dialect, gives the DuckDB answer."""
    from tools.context import ToolContext
    from tools.data import run_query_spec
    from tools.query_spec import QuerySpec
    from tools.semantic_model import FILE_NAME, generate_semantic_model, save_semantic_model

    settings = MaraSettings(home=tmp_path, mode="offline", warehouse_url=pg_database, _env_file=None)  # type: ignore[call-arg]
    save_semantic_model(generate_semantic_model(ToolContext(settings).profile()), tmp_path / FILE_NAME)
    ctx = ToolContext(settings)
    spec = QuerySpec.model_validate({"table": "orders", "dimensions": ["country"], "metrics": [
        {"name": "revenue"}, {"name": "aov"}, {"name": "repeat_rate"}, {"name": "active_customers"}]})
    rows = {r[0]: [float(v) for v in r[1:]] for r in run_query_spec(ctx, spec).data["rows"]}
    assert rows["Germany"] == [1005.50, 251.38, 50.0, 2.0]  # Anna's 3 orders and Emil's 1
    assert rows["United States"] == [394.90, 131.63, 50.0, 2.0]
    assert rows["United Kingdom"] == [75.25, 75.25, 0.0, 1.0]


@pytest.fixture
def pg_store() -> Iterator[str]:
    """A throw-away database holding the store tables: seven orders, one cancelled and one returned."""
    import sqlalchemy as sa

    from tests.test_semantic_model import STORE_CUSTOMERS, STORE_ORDERS

    with throwaway_database("mara_store") as (url, engine):
        with engine.begin() as con:
            con.exec_driver_sql("CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, country TEXT)")
            con.exec_driver_sql("CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers, "
                                "order_date DATE, total NUMERIC(10,2), status TEXT)")
            con.execute(sa.text("INSERT INTO customers VALUES (:a, :b)"), [dict(zip("ab", r, strict=True)) for r in STORE_CUSTOMERS])
            con.execute(sa.text("INSERT INTO orders VALUES (:a, :b, CAST(:c AS DATE), :d, :e)"),
                        [dict(zip("abcde", r, strict=True)) for r in STORE_ORDERS])
        engine.dispose()
        yield url


@requires_postgres
def test_filtered_metrics_run_on_postgres_like_on_duckdb(pg_store: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Metrics without cancelled and returned orders: conditional aggregates give DuckDB's answer on PostgreSQL."""
    from tests.test_semantic_model import build_store_warehouse
    from tools.context import ToolContext
    from tools.data import run_query_spec
    from tools.query_spec import QuerySpec
    from tools.semantic_model import FILE_NAME, generate_semantic_model, save_semantic_model

    answers = []
    for name, warehouse_url in (("pg", pg_store), ("duck", None)):
        home = tmp_path / name
        home.mkdir()
        if warehouse_url is None:
            build_store_warehouse(home / "warehouse.duckdb")
        settings = MaraSettings(home=home, mode="offline", warehouse_url=warehouse_url, _env_file=None)  # type: ignore[call-arg]
        save_semantic_model(generate_semantic_model(ToolContext(settings).profile()), home / FILE_NAME)
        ctx = ToolContext(settings)
        assert ctx.profile().metric("revenue").where  # type: ignore[union-attr]
        spec = QuerySpec.model_validate({"table": "orders", "dimensions": ["country"], "metrics": [
            {"name": "revenue"}, {"name": "aov"}, {"name": "repeat_rate"}, {"name": "active_customers"},
            {"agg": "sum", "column": "total"}]})
        answers.append({r[0]: [float(v) for v in r[1:]] for r in run_query_spec(ctx, spec).data["rows"]})
    on_pg, on_duck = answers
    assert on_pg == on_duck == {"Germany": [200.0, 66.67, 50.0, 2.0, 700.0], "France": [50.0, 25.0, 100.0, 1.0, 130.0]}


@requires_postgres
def test_audit_trail_and_conversation_list_in_postgres(pg_database: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """MARA_AUDIT_URL: every API worker writes one trail; the same SQL lists conversations."""
    from assistant.audit import AuditLog

    settings = MaraSettings(home=tmp_path, mode="offline", warehouse_url=pg_database,  # type: ignore[call-arg]
                            audit_url=pg_database, _env_file=None)
    with Assistant(settings) as assistant:
        assistant.run("How many customers do we have?", conversation_id="pg-audit", actor="key:ana", scopes=EVERY_SCOPE)
        assistant.run("write an email to anna.schmidt@example.com", conversation_id="pg-other", actor="key:bo", scopes=EVERY_SCOPE)
        assert [c["conversation_id"] for c in assistant.conversations("key:ana")] == ["pg-audit"]
        assert assistant.rename_conversation("pg-audit", "Counts", actor="key:ana")
        assert assistant.delete_conversation("pg-other", actor="key:bo")
        assert [(c["conversation_id"], c["title"]) for c in assistant.conversations()] == [("pg-audit", "Counts")]
    records = AuditLog(pg_database).query(conversation_id="pg-audit")
    assert {r.kind for r in records} >= {"turn", "tool"} and records[0].actor == "key:ana"
    assert not (tmp_path / "audit.sqlite").exists()
    other = AuditLog(pg_database).query(conversation_id="pg-other")
    assert all("anna.schmidt" not in json.dumps(r.args) for r in other)  # redacted in Postgres too


def test_unreachable_audit_database_is_a_clear_error() -> None:
    from assistant.audit import AuditLog
    from foundation.errors import WorkspaceError

    with pytest.raises(WorkspaceError, match="MARA_AUDIT_URL is unreachable"):
        AuditLog("postgresql://postgres@127.0.0.1:9/nowhere")


@pytest.fixture
def pg_demo(tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """300 demo customers and their orders copied into a throw-away PostgreSQL database."""
    import duckdb
    import sqlalchemy as sa

    from assistant.demo_data import build_demo_data

    build_demo_data(tmp_path / "demo.duckdb", customers=300, seed=5)
    con = duckdb.connect(str(tmp_path / "demo.duckdb"), read_only=True)
    customers = con.execute("SELECT customer_id, country, signup_date FROM customers").df()
    orders = con.execute("SELECT * FROM orders").df()
    con.close()
    name = f"mara_demo_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    engine = sa.create_engine(url)
    customers.to_sql("customers", engine, index=False)
    orders.to_sql("orders", engine, index=False)
    engine.dispose()
    yield url
    with admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@requires_postgres
def test_rfm_and_clv_run_on_postgres_like_on_duckdb(pg_demo: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The model SQL is pushed down to PostgreSQL and gives DuckDB's answer."""
    import duckdb

    from tools.clv import fit_clv
    from tools.segments import rfm_segments

    pg = SQLAlchemyWarehouse(pg_demo)
    local = duckdb.connect(str(tmp_path / "demo.duckdb"), read_only=True)
    on_pg, on_duck = rfm_segments(pg, "orders"), rfm_segments(local, "orders")
    assert on_pg.to_dict()["segments"] == on_duck.to_dict()["segments"]
    clv_pg, clv_duck = fit_clv(pg, "orders"), fit_clv(local, "orders")
    assert clv_pg.to_dict()["params"] == pytest.approx(clv_duck.to_dict()["params"], rel=1e-6)


@requires_postgres
def test_clusters_and_event_propensity_run_on_postgres(pg_demo: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import duckdb

    from tools.propensity_events import train_propensity_events
    from tools.segments import cluster_customers

    pg = SQLAlchemyWarehouse(pg_demo)
    local = duckdb.connect(str(tmp_path / "demo.duckdb"), read_only=True)
    assert cluster_customers(pg, "orders", k=3).to_dict()["customers"] == cluster_customers(local, "orders", k=3).to_dict()["customers"]
    trained = train_propensity_events(pg, "orders", label="purchase", horizon_days=90, models_dir=tmp_path / "models")
    assert trained["metrics"]["auc"] > 0.6


SALES = [  # receipt, buyer, day, qty, unit price, status, gift (yes/no text), promo (0/1)
    ("R-1", "ana@example.com", "2025-08-02", 2, 10.0, "completed", "no", 1), ("R-1", "ana@example.com", "2025-08-02", 1, 5.5, "completed", "no", 1),
    ("R-2", "ben@example.com", "2025-08-15", 3, 10.0, "completed", "yes", 0), ("R-3", "ana@example.com", "2025-09-03", 1, 20.0, "completed", "no", 0),
    ("R-4", "cy@example.com", "2025-09-10", 4, 5.5, "refunded", "yes", 1), ("R-5", "dee@example.com", "2025-09-21", 1, 20.0, "completed", "no", 0),
    ("R-6", "ben@example.com", "2025-10-05", 1, 5.5, "completed", "yes", 1), ("R-7", "eve@example.com", "2025-10-12", 2, 20.0, "completed", "no", 0),
]
SALES_DDL = ("CREATE TABLE sales (receipt_no TEXT, buyer_email TEXT, sold_on DATE, qty INTEGER, unit_price NUMERIC(10,2), "
             "status TEXT, gift TEXT, promo INTEGER)")


@requires_postgres
def test_inferred_log_metrics_run_on_postgres_like_on_duckdb(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A bare log with text and 0/1 flags: quantity * price revenue, new customers, flag rates — same answers."""
    import duckdb
    import sqlalchemy as sa

    from tools.context import ToolContext
    from tools.data import run_query_spec
    from tools.query_spec import QuerySpec
    from tools.semantic_model import FILE_NAME, generate_semantic_model, save_semantic_model

    answers = []
    with throwaway_database("mara_sales") as (url, engine):
        with engine.begin() as con:
            con.exec_driver_sql(SALES_DDL)
            con.execute(sa.text("INSERT INTO sales VALUES (:a, :b, CAST(:c AS DATE), :d, :e, :f, :g, :h)"),
                        [dict(zip("abcdefgh", r, strict=True)) for r in SALES])
        engine.dispose()
        for name, warehouse_url in (("pg", url), ("duck", None)):
            home = tmp_path / name
            home.mkdir()
            if warehouse_url is None:
                con = duckdb.connect(str(home / "warehouse.duckdb"))
                con.execute(SALES_DDL.replace("TEXT", "VARCHAR"))
                con.executemany("INSERT INTO sales VALUES (?, ?, ?, ?, ?, ?, ?, ?)", SALES)
                con.close()
            settings = MaraSettings(home=home, mode="offline", warehouse_url=warehouse_url, _env_file=None)  # type: ignore[call-arg]
            save_semantic_model(generate_semantic_model(ToolContext(settings).profile()), home / FILE_NAME)
            ctx = ToolContext(settings)
            spec = QuerySpec.model_validate({"table": "sales", "time_grain": "month", "metrics": [
                {"name": "revenue"}, {"name": "orders"}, {"name": "aov"}, {"name": "customers"}, {"name": "new_customers"},
                {"name": "returning_customers"}, {"name": "gift_rate"}, {"name": "promo_rate"}]})
            answers.append([[str(r[0])] + [float(v) for v in r[1:]] for r in run_query_spec(ctx, spec).data["rows"]])
    on_pg, on_duck = answers
    assert on_pg == on_duck == [
        ["2025-08-01", 55.5, 2.0, 27.75, 2.0, 2.0, 0.0, 33.3, 66.7],
        ["2025-09-01", 40.0, 3.0, 20.0, 3.0, 2.0, 1.0, 33.3, 33.3],
        ["2025-10-01", 45.5, 2.0, 22.75, 2.0, 1.0, 1.0, 50.0, 50.0],
    ]
