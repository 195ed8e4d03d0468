"""Propensity models: event-derived churn/purchase, labelled tables, persistence, scoring, CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from assistant.demo_data import build_demo_data
from foundation.errors import MaraError, ToolInputError
from tools.propensity import (
    ModelNotFoundError,
    evaluate,
    list_models,
    load_model,
    train_propensity_table,
)
from tools.propensity_events import train_propensity_events
from tools.propensity_scoring import score

pytestmark = pytest.mark.usefixtures("one_openmp_thread")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("prop") / "warehouse.duckdb"
    build_demo_data(path, customers=3_000, seed=9)
    return path


@pytest.fixture(scope="module")
def con(demo: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(demo), read_only=True)
    yield connection
    connection.close()


def _labelled(n: int = 2_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    plan = rng.choice(["basic", "pro", "max"], n)
    spend = rng.gamma(2, 50, n)
    signup = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 600, n), unit="D")
    logit = (
        -1
        + 0.04 * (age - 45)
        + np.where(plan == "basic", 1.0, -0.5)
        - 0.012 * spend
        + (signup - pd.Timestamp("2024-01-01")).days / 250
    )
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1),
            "age": age,
            "plan": plan,
            "spend": spend,
            "signup_date": signup,
            "email": [f"u{i}@example.com" for i in range(n)],
            "churned": np.where(churned, "yes", "no"),
            "cancel_reason": np.where(churned, "price", None),  # type: ignore[call-overload]  # a leak
        }
    )


def test_event_churn_model_on_demo(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    meta = train_propensity_events(con, "orders", "churn", 90, models_dir=tmp_path)
    m = meta["metrics"]
    assert m["auc"] > 0.7 and m["auc"] >= meta["baseline"]["auc"]
    assert {"pr_auc", "lift_top_decile", "capture_top_decile", "deciles", "calibration"} <= set(m)
    assert m["lift_top_decile"] > 1 and len(m["deciles"]) == 10
    assert meta["validation_cutoff"] > meta["train_cutoff"]
    top_driver = meta["drivers"][0]["text"]
    assert "days since the last order" in top_driver or "(BG/NBD)" in top_driver
    assert set(m["candidates_auc"]) >= {"gradient_boosting", "logistic_regression", "bgnbd"}
    assert abs(sum(m["weights"].values()) - 1) < 1e-6 and m["model"] == meta["model"]
    assert any("share_" in f for f in meta["features"]) and "opens_90d" in meta["features"]
    assert (tmp_path / f"{meta['model_id']}.joblib").exists()
    rows = score(con, tmp_path, meta["model_id"])
    customers = con.execute(
        "SELECT count(DISTINCT customer_id) FROM orders WHERE status = 'completed'"
    ).fetchone()
    assert customers is not None and len(rows) == customers[0]
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True) and 0 <= scores[-1] <= scores[0] <= 1
    top = score(con, tmp_path, meta["model_id"], "orders", top=5)
    assert [set(r) for r in top] == [{"id", "score"}] * 5 and top == rows[:5]


def _bgnbd_holdout_auc(con: duckdb.DuckDBPyConnection, meta: dict) -> float:  # type: ignore[type-arg]
    """BG/NBD's AUC for "buys in the window" on the model's out-of-time window (same customers)."""
    from tools.clv import fit_clv

    end = date.fromisoformat(meta["validation_cutoff"]) - timedelta(days=1)
    bg = fit_clv(con, "orders", calibration_end=end)
    assert bg.holdout is not None and bg.holdout["customers"] == meta["rows"]
    assert bg.horizon_days == meta["horizon_days"]  # the holdout is the model's test window
    return float(bg.holdout["auc_buys_again"])


@pytest.fixture(scope="module")
def purchase60(
    con: duckdb.DuckDBPyConnection, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict, Path]:  # type: ignore[type-arg]
    """One 60-day purchase model, trained once for the tests that read it (its own models folder)."""
    models = tmp_path_factory.mktemp("purchase60")
    return train_propensity_events(con, "orders", "purchase", 60, models_dir=models), models


def test_purchase_model_and_listing(
    con: duckdb.DuckDBPyConnection, purchase60: tuple[dict, Path]  # type: ignore[type-arg]
) -> None:
    meta, tmp_path = purchase60
    assert meta["metrics"]["auc"] > 0.7
    # who buys in the next 60 days, out of time: at least as good as BG/NBD alone
    assert meta["metrics"]["auc"] >= round(_bgnbd_holdout_auc(con, meta), 4)
    listed = list_models(tmp_path)
    assert [m["model_id"] for m in listed] == [meta["model_id"]]
    saved = json.loads((tmp_path / f"{meta['model_id']}.json").read_text())
    assert {"model_id", "created", "fingerprint", "features", "metrics"} <= set(saved)


def test_table_model_excludes_ids_and_leaks(tmp_path: Path) -> None:
    df = _labelled()
    meta = train_propensity_table({"churn": df}, "churn", "churned", models_dir=tmp_path)
    assert meta["positive_class"] == "yes" and meta["id_column"] == "customer_id"
    assert set(meta["features"]) == {"age", "plan", "spend", "signup_date"}
    notes = " ".join(meta["notes"])
    assert "customer_id excluded" in notes and "email excluded" in notes and "leak" in notes
    assert meta["metrics"]["auc"] > 0.7
    rows = score({"churn": df}, tmp_path, meta["model_id"], "churn")
    assert len(rows) == len(df) and rows[0]["score"] >= rows[-1]["score"]
    bundle = load_model(tmp_path, meta["model_id"])
    assert bundle["meta"]["model_id"] == meta["model_id"]


def test_evaluate_lift_and_capture() -> None:
    y = np.array([1] * 10 + [0] * 90)
    p = np.linspace(1, 0, 100)
    m = evaluate(y, p)
    assert m["auc"] == 1.0 and m["lift_top_decile"] == 10.0 and m["capture_top_decile"] == 1.0


@pytest.mark.parametrize(
    ("frame", "target", "message"),
    [
        (_labelled().assign(churned="no"), "churned", "one class only"),
        (_labelled(), "churn_flag", "No column in churn named 'churn_flag'"),
        (_labelled(60), "churned", "60 rows found; at least 100"),
        (
            _labelled().assign(churned=lambda d: np.where(np.arange(len(d)) < 5, "yes", "no")),
            "churned",
            "5 positives",
        ),
        (_labelled().assign(churned=lambda d: d["plan"]), "churned", "3 distinct values"),
    ],
)
def test_table_bad_input_saves_nothing(
    frame: pd.DataFrame, target: str, message: str, tmp_path: Path
) -> None:
    with pytest.raises(ToolInputError, match=message):
        train_propensity_table({"churn": frame}, "churn", target, models_dir=tmp_path)
    assert not list(tmp_path.iterdir())


def test_event_bad_input(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    with pytest.raises(ToolInputError, match=r"A cutoff needs the full set-up: 1,4\d\d days"):
        train_propensity_events(con, "orders", "churn", 600, date(2026, 1, 1), models_dir=tmp_path)
    with pytest.raises(ToolInputError, match="label must be"):
        train_propensity_events(con, "orders", "upsell", 90, models_dir=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ModelNotFoundError, match="No saved model 'nope'"):
        score(con, tmp_path, "nope")
    assert not list(tmp_path.iterdir())


def test_cli_contract(demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.cli_models import clv_app, model_app, segment_app
    from foundation.settings import get_settings

    home = tmp_path / "ws"
    home.mkdir()
    (home / "warehouse.duckdb").write_bytes(demo.read_bytes())
    monkeypatch.setenv("MARA_HOME", str(home))
    get_settings.cache_clear()
    app = typer.Typer()
    app.add_typer(segment_app, name="segment")
    app.add_typer(model_app, name="model")
    app.add_typer(clv_app, name="clv")
    runner = CliRunner()

    def run(*args: str) -> dict:  # type: ignore[type-arg]
        result = runner.invoke(app, [*args, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    try:
        trained = run(
            "model", "train", "--orders", "orders", "--label", "churn", "--horizon-days", "90"
        )
        assert {"auc", "pr_auc", "lift_top_decile"} <= set(trained["metrics"])
        scored = run("model", "score", trained["model_id"], "--table", "orders", "--top", "7")
        assert len(scored["rows"]) == 7 and set(scored["rows"][0]) == {"id", "score"}
        rfm = run("segment", "rfm", "--orders", "orders")
        assert len(rfm["segments"]) == 11
        assert run("segment", "cluster", "--table", "orders", "--k", "3")["k"] == 3
        clv = run("clv", "fit", "--orders", "orders", "--calibration-end", "2026-06-30")
        assert set(clv["params"]) == {"r", "alpha", "a", "b"} and clv["holdout"]
        bad = runner.invoke(
            app, ["model", "train", "--table", "orders", "--target", "nope", "--json"]
        )
        assert isinstance(bad.exception, MaraError) and "nope" in str(bad.exception)
    finally:
        get_settings.cache_clear()


def test_event_model_scores_only_orders_tables(
    con: duckdb.DuckDBPyConnection, purchase60: tuple[dict, Path]  # type: ignore[type-arg]
) -> None:
    meta, models = purchase60
    with pytest.raises(ToolInputError, match="scores customers from an orders table"):
        score(con, models, meta["model_id"], "customers")


def test_text_dates_and_wide_integers_are_features() -> None:
    from tools.propensity import plan_features

    df = _labelled(600)
    df["signup_date"] = df["signup_date"].dt.strftime("%Y-%m-%d")
    df["income"] = np.random.default_rng(1).integers(10_000, 200_000, len(df))
    y = (df["churned"] == "yes").to_numpy().astype(np.int8)
    spec, notes = plan_features(df, y, ["churned"])
    assert spec.dates == ["signup_date"] and "income" in spec.numeric
    assert not any(n.startswith("income") for n in notes)


def test_model_choice_never_sees_the_test_labels() -> None:
    """Blend weights come from the training rows: flipping the test labels changes no choice."""
    from tools.propensity import FeatureSpec, fit_and_validate

    df = _labelled(1_500)
    y = (df["churned"] == "yes").to_numpy().astype(np.int8)
    spec = FeatureSpec(numeric=["age", "spend"], categorical={"plan": ["basic", "pro", "max"]})
    x = spec.matrix(df)
    a = fit_and_validate(spec, x[:1000], y[:1000], x[1000:], y[1000:])
    b = fit_and_validate(spec, x[:1000], y[:1000], x[1000:], 1 - y[1000:])
    assert a.chosen == b.chosen and a.metrics["weights"] == b.metrics["weights"]
    assert a.metrics["selection_auc"] == b.metrics["selection_auc"]
    assert a.metrics["auc"] == pytest.approx(1 - b.metrics["auc"], abs=1e-3)


def test_choose_weights_and_blend() -> None:
    from tools.propensity import Blend, choose_weights

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2_000)
    good, noise = y + rng.normal(0, 1.0, len(y)), rng.random(len(y))
    weights, auc = choose_weights({"noise": noise, "good": good / 10}, y)
    assert weights["good"] > weights["noise"] and auc > 0.7
    assert sum(weights.values()) == pytest.approx(1.0)

    class Fixed:
        def __init__(self, p: float) -> None:
            self.p = p

        def predict_proba(self, x: np.ndarray) -> np.ndarray:
            return np.column_stack([np.full(len(x), 1 - self.p), np.full(len(x), self.p)])

    x = np.zeros((3, 1))
    assert Blend([Fixed(0.2), Fixed(0.6)], [0.75, 0.25]).predict_proba(x)[0, 1] == pytest.approx(
        0.3
    )
    old = Blend([Fixed(0.2), Fixed(0.6)])
    del old.weights  # a model saved before blends had weights: equal weights
    assert old.predict_proba(x)[0, 1] == pytest.approx(0.4)


@pytest.fixture(scope="module")
def demo5k(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    path = tmp_path_factory.mktemp("prop5k") / "warehouse.duckdb"
    build_demo_data(path, customers=5_000, seed=7)
    connection = duckdb.connect(str(path), read_only=True)
    yield connection
    connection.close()


@pytest.mark.integration
@pytest.mark.parametrize("horizon", [90, 60])
def test_beats_bgnbd_at_who_buys_on_the_5k_demo(
    demo5k: duckdb.DuckDBPyConnection, horizon: int
) -> None:
    """The quality bar: out-of-time AUC of "buys in the next N days" >= BG/NBD's on the demo."""
    meta = train_propensity_events(demo5k, "orders", "purchase", horizon, models_dir=None)
    ours, bgnbd = meta["metrics"]["auc"], _bgnbd_holdout_auc(demo5k, meta)
    assert ours >= round(bgnbd, 4), (ours, bgnbd, meta["metrics"]["candidates_auc"])
    assert ours > meta["baseline"]["auc"]
