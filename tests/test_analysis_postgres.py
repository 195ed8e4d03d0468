"""Compare, explain and anomalies on a real PostgreSQL give DuckDB's numbers (same compiled definitions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from foundation.settings import MaraSettings
from tests.test_postgres import requires_postgres, throwaway_database
from tools.analysis.anomalies import detect_anomalies
from tools.analysis.compare import compare, resolve_periods
from tools.analysis.explain import Breakdown, explain
from tools.analysis.measures import Reader, resolve_measure
from tools.context import ToolContext
from tools.semantic_model import refresh_workspace_model

pytestmark = pytest.mark.integration

TODAY = dt.date(2026, 11, 2)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ToolContext, ToolContext]]:
    """400 demo customers in DuckDB and the same orders and customers copied to PostgreSQL, one semantic model."""
    import duckdb
    import sqlalchemy as sa

    from assistant.demo_data import build_demo_data

    home: Path = tmp_path_factory.mktemp("analysis-pg")
    build_demo_data(home / "warehouse.duckdb", customers=400, seed=5, as_of=dt.date(2026, 10, 31))
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    for table in [r[0] for r in con.execute("SHOW TABLES").fetchall()]:
        if table not in ("orders", "customers"):
            con.execute(f'DROP TABLE "{table}"')
    customers = con.execute("SELECT customer_id, country, loyalty_tier FROM customers").df()
    orders = con.execute("SELECT order_id, customer_id, order_date, total_usd, channel, status FROM orders").df()
    con.execute("CREATE OR REPLACE TABLE customers AS SELECT customer_id, country, loyalty_tier FROM customers")
    con.execute("CREATE OR REPLACE TABLE orders AS SELECT order_id, customer_id, order_date, total_usd, channel, status FROM orders")
    con.close()
    local = MaraSettings(home=home, mode="offline", _env_file=None)  # type: ignore[call-arg]
    refresh_workspace_model(local, changed=None)
    with throwaway_database("mara_analysis") as (url, engine):
        customers.to_sql("customers", engine, index=False)
        orders.to_sql("orders", engine, index=False, dtype={"total_usd": sa.Numeric(12, 2), "order_date": sa.Date()})
        engine.dispose()
        pg_home = tmp_path_factory.mktemp("analysis-pg-home")
        (pg_home / "semantic.yaml").write_text((home / "semantic.yaml").read_text())
        remote = MaraSettings(home=pg_home, mode="offline", warehouse_url=url, _env_file=None)  # type: ignore[call-arg]
        yield ToolContext(local), ToolContext(remote)


def reader(ctx: ToolContext, metric: str) -> Reader:
    profile = ctx.profile()
    return Reader(ctx.warehouse, profile, resolve_measure(profile, None, metric))


@requires_postgres
@pytest.mark.parametrize("metric", ["revenue", "aov"])
def test_explanations_match_on_postgres(demo: tuple[ToolContext, ToolContext], metric: str) -> None:
    out = []
    for ctx in demo:
        r = reader(ctx, metric)
        e = explain(r, resolve_periods(r, "2026-08", "previous", today=TODAY), ["orders.channel", "customers.country"])
        out.append(e)
    duck, pg = out
    assert pg.comparison.change == pytest.approx(duck.comparison.change, abs=1e-6)
    assert _lines(pg.breakdowns) == _lines(duck.breakdowns)
    assert len(_lines(duck.breakdowns)) > 4  # channels and countries were really compared
    assert pg.customers is not None and duck.customers is not None
    assert {c.name: round(c.contribution, 6) for c in pg.customers.lines} == {c.name: round(c.contribution, 6) for c in duck.customers.lines}


def _lines(breakdowns: list[Breakdown]) -> list[tuple[str, str, float]]:
    return [(b.dimension, c.name, round(c.contribution, 6)) for b in breakdowns for c in b.lines]


@requires_postgres
def test_comparison_by_channel_and_anomalies_match_on_postgres(demo: tuple[ToolContext, ToolContext]) -> None:
    compared, found = [], []
    for ctx in demo:
        r = reader(ctx, "orders")
        c = compare(r, resolve_periods(r, "this month", "last month", today=TODAY), by="orders.channel")
        compared.append((c.periods.current.label, c.previous, c.current, [(g.name, g.previous, g.current) for g in c.groups]))
        found.append([a.to_dict() for a in detect_anomalies(r, resolve_periods(r, "2026-09", today=TODAY).current).anomalies])
    assert compared[0] == compared[1]
    assert compared[0][0] == "October 2026"  # this month (November) is past the data: the latest complete month
    assert found[0] == found[1]
