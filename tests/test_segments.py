"""RFM segments and behavioural clusters on the demo retailer and on hand-built order tables."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from assistant.demo_data import build_demo_data
from foundation.errors import ToolInputError
from foundation.settings import MaraSettings
from tools.segments import SEGMENTS, cluster_customers, quintile, rfm_segments


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("seg") / "warehouse.duckdb"
    build_demo_data(path, customers=1_500, seed=5)
    return path


@pytest.fixture(scope="module")
def con(demo: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(demo), read_only=True)
    yield connection
    connection.close()


def _orders(rows: list[tuple[int, int, str, float]]) -> dict[str, pd.DataFrame]:
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_date", "amount"])
    return {"orders": frame}


def _simple_orders(customers: int = 40) -> list[tuple[int, int, str, float]]:
    rows, oid = [], 1
    for c in range(1, customers + 1):
        for k in range(1 + c % 4):
            day = date(2025, 1, 1) + timedelta(days=(c * 7 + k * 30) % 300)
            rows.append((oid, c, day.isoformat(), 20.0 + c))
            oid += 1
    return rows


def test_rfm_segments_cover_every_customer(con: duckdb.DuckDBPyConnection) -> None:
    res = rfm_segments(con, "orders")
    assert res.columns.amount == "total_usd" and res.columns.date == "order_date"
    assert res.as_of == date(2026, 10, 31)
    buyers = con.execute(
        "SELECT count(DISTINCT customer_id) FROM orders WHERE status = 'completed'"
    ).fetchone()
    assert buyers is not None
    assert [s.name for s in res.segments] == list(SEGMENTS)
    assert sum(s.customers for s in res.segments) == res.total_customers == buyers[0]
    assert sum(s.revenue_share for s in res.segments) == pytest.approx(1.0)
    assert all(s.description for s in res.segments)
    by = {s.name: s for s in res.segments}
    assert by["Champions"].avg_recency_days < by["Lost"].avg_recency_days
    assert by["Champions"].avg_monetary > by["Lost"].avg_monetary
    assert by["Champions"].revenue_share > by["Champions"].share  # best customers over-index
    per = res.customers
    assert set(per.columns) >= {"customer_id", "r_score", "f_score", "m_score", "segment"}
    assert per["customer_id"].is_unique and per["r_score"].between(1, 5).all()
    doc = res.to_dict()
    assert doc["customers"] == res.total_customers and len(doc["segments"]) == 11


def test_quintiles_give_ties_the_lower_score() -> None:
    scores = quintile(np.array([1, 1, 1, 1, 1, 1, 2, 3, 4, 5]))
    assert scores[:6].tolist() == [1] * 6 and scores[-1] == 5
    assert quintile(np.array([10.0, 1.0]), higher_is_better=False).tolist() == [1, 3]


def test_rfm_on_explicit_columns_and_dataframes() -> None:
    res = rfm_segments(_orders(_simple_orders()), "orders", "customer_id", "order_date", "amount")
    assert res.total_customers == 40
    assert res.columns.date_expr.startswith("TRY_CAST")  # text dates are parsed


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda rows: rows + [(999, 1, "not a date", 5.0)], "are not dates"),
        (lambda rows: rows + [(999, 1, "2025-02-01", -5.0)], "negative amount"),
        (lambda rows: rows + [rows[0]], "duplicated"),
        (lambda rows: rows[:6], "at least 10 are needed"),
    ],
)
def test_rfm_bad_input_names_counts(change, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ToolInputError, match=message) as info:
        rfm_segments(_orders(change(_simple_orders())), "orders", amount_col="amount")
    assert any(ch.isdigit() for ch in str(info.value))


def test_rfm_unknown_table_and_column(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ToolInputError, match="No table named 'order'.*orders"):
        rfm_segments(con, "order")
    with pytest.raises(ToolInputError, match="No column in orders named 'totl_usd'.*total_usd"):
        rfm_segments(con, "orders", amount_col="totl_usd")


def _planted(seed: int = 3) -> tuple[dict[str, pd.DataFrame], dict[int, int]]:
    """Three kinds of customers: lapsed one-off buyers, frequent big spenders, recent new buyers."""
    rng = np.random.default_rng(seed)
    rows, truth, oid, cid = [], {}, 1, 1
    end = date(2025, 12, 31)
    for group, count in enumerate((300, 150, 250)):
        for _ in range(count):
            if group == 0:
                days, amounts = [rng.integers(500, 700)], [rng.uniform(15, 30)]
            elif group == 1:
                n = rng.integers(15, 25)
                days = sorted(rng.integers(0, 700, n))[::-1]
                days[-1] = rng.integers(0, 20)
                amounts = rng.uniform(150, 300, n)
            else:
                days, amounts = [rng.integers(0, 40), rng.integers(0, 40)], rng.uniform(40, 80, 2)
            for d, a in zip(days, amounts, strict=False):
                rows.append((oid, cid, (end - timedelta(days=int(d))).isoformat(), float(a)))
                oid += 1
            truth[cid] = group
            cid += 1
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_date", "amount"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    return {"orders": frame}, truth


def test_clustering_finds_planted_structure() -> None:
    from sklearn.metrics import adjusted_rand_score

    tables, truth = _planted()
    res = cluster_customers(tables, "orders")
    assert res.k == 3 and res.chosen_by == "silhouette"
    got = res.assignments.set_index("customer_id")["cluster"]
    assert adjusted_rand_score([truth[c] for c in got.index], got.to_numpy()) > 0.9
    assert sum(c.customers for c in res.clusters) == len(truth)
    names = [c.name for c in res.clusters]
    assert len(set(names)) == 3 and all(n.endswith("customers") for n in names)
    frequent = max(res.clusters, key=lambda c: c.means["frequency"])
    assert "frequent" in frequent.name.lower() or "high-spend" in frequent.name.lower()
    assert frequent.z_scores["frequency"] > 1


def test_clustering_reports_its_steps() -> None:
    tables, _ = _planted()
    steps: list[tuple[str, int | None, int | None]] = []
    cluster_customers(tables, "orders", progress=lambda m, d, t: steps.append((m, d, t)))
    assert steps[0][0].startswith("behaviour features")
    tried = [s for s in steps if s[0].startswith("trying")]
    assert [(d, t) for _, d, t in tried] == [(i, 7) for i in range(7)]  # k = 2..8
    assert steps[-1][0].startswith("fitting 3 clusters")


def test_clustering_given_k_and_too_small() -> None:
    tables, _ = _planted()
    assert cluster_customers(tables, "orders", k=5).k == 5
    with pytest.raises(ToolInputError, match="at least 50"):
        cluster_customers(_orders(_simple_orders(30)), "orders")


def test_modeling_tools_render_text_artifacts_and_data(demo: Path, tmp_path: Path) -> None:
    from tools.context import ToolContext
    from tools.modeling_tools import modeling_tools

    home = tmp_path / "ws"
    home.mkdir()
    (home / "warehouse.duckdb").write_bytes(demo.read_bytes())
    ctx = ToolContext(MaraSettings(home=home, mode="offline", _env_file=None))  # type: ignore[call-arg]
    tools = {fn.__name__: fn for fn in modeling_tools(ctx)}
    assert set(tools) == {
        "rfm_segments",
        "cluster_customers",
        "predict_churn",
        "train_propensity",
        "customer_lifetime_value",
        "save_audience",
    }
    out = tools["rfm_segments"]()
    assert "Champions" in out.text and out.data["customers"] > 0
    assert out.artifacts[0]["kind"] == "table" and out.artifacts[0]["row_count"] == 11
    assert (home / "artifacts" / f"{out.artifacts[-1]['artifact_id']}.csv").exists()
    assert [a["kind"] for a in out.artifacts] == ["table", "chart", "table"]
    churn = tools["predict_churn"](horizon_days=90)
    assert churn.data["metrics"]["auc"] > 0.6 and "Why: " in churn.text  # drivers in plain words
    assert any(a["kind"] == "chart" for a in churn.artifacts)
    clusters = tools["cluster_customers"](k=3)
    assert clusters.data["k"] == 3 and "clusters" in clusters.text
    clv = tools["customer_lifetime_value"]()
    assert "BG/NBD" in clv.text and clv.data["params"]["r"] > 0
    saved = tools["save_audience"]("Champions", rfm_segments=["Champions"])
    assert saved.data["size"] == out.data["segments"][0]["customers"]


def test_audiences_save_list_refresh_export(demo: Path, tmp_path: Path) -> None:
    from tools.audiences import (
        AudienceNotFoundError,
        export_audience,
        list_audiences,
        load_audience,
        refresh_audience,
        save_audience,
    )
    from tools.warehouse import DuckDBWarehouse

    copy = tmp_path / "warehouse.duckdb"  # the module's open connection uses another config
    copy.write_bytes(demo.read_bytes())
    wh = DuckDBWarehouse(copy)
    home = tmp_path / "ws"
    at_risk = save_audience(
        wh, home, "At risk DE", "rfm_segment", {"segments": ["At Risk", "Can't Lose Them"]}
    )
    rfm = rfm_segments(wh, "orders")
    expected = sum(s.customers for s in rfm.segments if s.name in ("At Risk", "Can't Lose Them"))
    assert at_risk.size == expected > 0
    query = save_audience(
        wh,
        home,
        "Germany",
        "query",
        {"sql": "SELECT customer_id FROM customers WHERE country = 'Germany'"},
    )
    assert query.size > 0
    assert [a.name for a in list_audiences(home)] == ["At risk DE", "Germany"]
    assert refresh_audience(wh, home, "at risk de").size == expected
    out = tmp_path / "export.csv"
    report = export_audience(wh, home, "At risk DE", out, ["customer_id", "email"], "email")
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["customer_id", "email"]
    assert (
        report["rows"] == len(frame) and report["rows"] + report["excluded_no_opt_in"] == expected
    )
    with wh.connect() as con:
        opted = con.execute("SELECT customer_id FROM customers WHERE email_opt_in").df()
    assert set(frame["customer_id"]) <= set(opted["customer_id"])
    with pytest.raises(ToolInputError, match="Unknown RFM segment"):
        save_audience(wh, home, "x", "rfm_segment", {"segments": ["Whales"]})
    with pytest.raises(ToolInputError, match="No opt-in column fax_opt_in"):
        export_audience(wh, home, "Germany", out, None, "fax")
    with pytest.raises(AudienceNotFoundError):
        load_audience(home, "nobody")
