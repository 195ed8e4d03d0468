"""`mara audience` and the bad-input contract of `mara model|clv|segment|audience` (CliRunner).

Every failing command exits non-zero with a message naming what was wrong, prints nothing on
stdout and leaves no model, audience or export file behind.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner, Result

from assistant.demo_data import build_demo_data
from foundation.errors import MaraError

runner = CliRunner()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A workspace with a 1,500-customer demo plus a small labelled table for table models."""
    from foundation.settings import get_settings

    ws = tmp_path_factory.mktemp("aud") / "ws"
    ws.mkdir()
    build_demo_data(ws / "warehouse.duckdb", customers=1_500, seed=5)
    rng = np.random.default_rng(0)
    n = 1_500
    tenure = rng.integers(1, 60, n)
    plan = rng.choice(["basic", "pro"], n)
    churned = rng.random(n) < 1 / (1 + np.exp(-(1.0 - tenure / 20 + (plan == "basic"))))
    labels = pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1),
            "tenure_months": tenure,
            "plan": plan,
            "churned": churned,
            "constant": "no",
        }
    )
    with duckdb.connect(str(ws / "warehouse.duckdb")) as con:
        con.register("labels_df", labels)
        con.execute("CREATE TABLE churn_labels AS SELECT * FROM labels_df")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MARA_HOME", str(ws))
        get_settings.cache_clear()
        yield ws
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def app(home: Path) -> typer.Typer:
    from assistant.cli_models import audience_app, clv_app, model_app, segment_app

    root = typer.Typer()
    root.add_typer(segment_app, name="segment")
    root.add_typer(model_app, name="model")
    root.add_typer(clv_app, name="clv")
    root.add_typer(audience_app, name="audience")
    return root


def run(app: typer.Typer, *args: str) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def fails(app: typer.Typer, *args: str) -> Result:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code != 0
    assert result.stdout == ""  # no half JSON document
    assert isinstance(result.exception, MaraError), result.exception
    return result


def saved_files(home: Path) -> list[str]:
    return sorted(
        str(p.relative_to(home))
        for folder in ("models", "audiences")
        if (home / folder).exists()
        for p in (home / folder).iterdir()
    )


def test_rfm_audience_create_list_show_export_refresh_delete(
    app: typer.Typer, home: Path, tmp_path: Path
) -> None:
    created = run(
        app, "audience", "create", "Win back", "--rfm-segment", "At Risk",
        "--rfm-segment", "Can't Lose Them",
    )  # fmt: skip
    segments = run(app, "segment", "rfm", "--orders", "orders")["segments"]
    expected = sum(s["customers"] for s in segments if s["name"] in ("At Risk", "Can't Lose Them"))
    assert created["size"] == expected > 0 and created["kind"] == "rfm_segment"
    assert created["params"]["segments"] == ["At Risk", "Can't Lose Them"]
    listed = run(app, "audience", "list")
    assert "Win back" in [a["name"] for a in listed]
    shown = run(app, "audience", "show", "win back", "--limit", "5")
    assert shown["size"] == expected and len(shown["ids"]) == 5
    out = tmp_path / "win-back.csv"
    report = run(
        app, "audience", "export", "Win back", "--out", str(out),
        "--column", "customer_id,email", "--channel", "email",
    )  # fmt: skip
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["customer_id", "email"] and len(frame) == report["rows"] > 0
    assert report["rows"] + report["excluded_no_opt_in"] + report["missing_from_customers"] == (
        expected
    )
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        opted = set(con.execute("SELECT customer_id FROM customers WHERE email_opt_in").df()[
            "customer_id"
        ])  # fmt: skip
    assert set(frame["customer_id"]) <= opted
    assert run(app, "audience", "refresh", "Win back")["size"] == expected
    assert run(app, "audience", "delete", "Win back") == {"deleted": "Win back"}
    assert "Win back" not in [a["name"] for a in run(app, "audience", "list")]


def test_cluster_audience_by_number_or_name(app: typer.Typer) -> None:
    clusters = run(app, "segment", "cluster", "--table", "orders", "--k", "3")["clusters"]
    first = clusters[0]
    by_number = run(app, "audience", "create", "c0", "--cluster", str(first["cluster"]), "--k", "3")
    assert by_number["size"] == first["customers"]
    by_name = run(app, "audience", "create", "c0 named", "--cluster", first["name"], "--k", "3")
    assert by_name["size"] == first["customers"]
    bad = fails(app, "audience", "create", "c9", "--cluster", "Whales", "--k", "3")
    assert "No cluster named 'Whales'" in str(bad.exception) and first["name"] in str(bad.exception)


def test_model_score_audiences(app: typer.Typer, home: Path) -> None:
    trained = run(app, "model", "train", "--table", "churn_labels", "--target", "churned")
    assert "constant" not in trained["features"] and trained["metrics"]["auc"] > 0.6
    model_id = trained["model_id"]
    top = run(app, "audience", "create", "top 25", "--model", model_id, "--top", "25")
    assert top["size"] == 25 and top["kind"] == "model"
    scores = run(app, "model", "score", model_id, "--table", "churn_labels")["rows"]
    cut = scores[99]["score"]
    above = run(app, "audience", "create", "likely", "--model", model_id, "--threshold", str(cut))
    assert above["size"] == sum(r["score"] >= cut for r in scores) >= 100
    assert "--top N" in str(fails(app, "audience", "create", "x", "--model", model_id).exception)
    assert "between 0 and 1" in str(
        fails(app, "audience", "create", "x", "--model", model_id, "--threshold", "2").exception
    )
    assert "No saved model 'nope'" in str(
        fails(app, "audience", "create", "x", "--model", "nope", "--top", "5").exception
    )


def test_sql_audience_and_empty_audience_writes_nothing(app: typer.Typer, home: Path) -> None:
    germany = run(
        app, "audience", "create", "Germany", "--sql",
        "SELECT customer_id FROM customers WHERE country = 'Germany'",
    )  # fmt: skip
    assert germany["size"] > 0
    before = saved_files(home)
    empty = fails(
        app, "audience", "create", "Germany", "--sql",
        "SELECT customer_id FROM customers WHERE 1 = 0",
    )  # fmt: skip
    assert "would be empty" in str(empty.exception) and "0 customers" in str(empty.exception)
    assert saved_files(home) == before  # the saved 'Germany' was not replaced
    assert run(app, "audience", "show", "Germany")["size"] == germany["size"]
    refused = fails(app, "audience", "create", "x", "--sql", "DELETE FROM customers")
    assert "refused" in str(refused.exception)
    assert saved_files(home) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["model", "train", "--orders", "nope", "--label", "churn"], "No table named 'nope'"),
        (
            ["model", "train", "--orders", "orders", "--label", "churn", "--date-col", "shipped"],
            "No column in orders named 'shipped'",
        ),
        (["model", "train", "--table", "churn_labels", "--target", "nope"], "named 'nope'"),
        (["model", "train", "--table", "churn_labels", "--target", "constant"], "one class only"),
        (
            ["model", "train", "--orders", "orders", "--label", "purchase", "--horizon-days", "0"],
            "--horizon-days must be a positive number of days (got 0)",
        ),
        (
            ["model", "train", "--orders", "orders", "--label", "churn", "--horizon-days", "-30"],
            "got -30",
        ),
        (
            ["model", "train", "--orders", "orders", "--label", "churn", "--cutoff", "2031-01-01"],
            "Cutoff 2031-01-01 is outside the order history",
        ),
        (
            ["model", "train", "--orders", "orders", "--label", "churn", "--cutoff", "2026-10-01"],
            "incomplete label window",
        ),
        (
            ["model", "train", "--orders", "orders", "--label", "churn", "--cutoff", "2023-02-01"],
            "too early",
        ),
        (
            ["model", "train", "--orders", "orders", "--label", "churn", "--cutoff", "31/12/2025"],
            "--cutoff must be a date",
        ),
        (["model", "train", "--orders", "orders", "--label", "upsell"], "purchase or churn"),
        (["model", "score", "nope"], "No saved model 'nope'"),
        (["clv", "fit", "--orders", "orders", "--horizon-days", "0"], "positive number of days"),
        (["clv", "fit", "--calibration-end", "2031-01-01"], "after the latest order"),
        (["clv", "fit", "--calibration-end", "2001-01-01"], "before the first order"),
        (["segment", "cluster", "--table", "nope"], "No table named 'nope'"),
        (["segment", "rfm", "--orders", "orders", "--amount-col", "totl"], "named 'totl'"),
        (["audience", "create", "x"], "exactly one rule"),
        (["audience", "create", "x", "--rfm-segment", "Whales"], "Unknown RFM segment(s): Whales"),
        (["audience", "create", "x", "--sql", "SELECT id FROM nope"], "nope"),
        (["audience", "show", "nobody"], "No audience named 'nobody'"),
        (["audience", "export", "nobody", "--out", "x.csv"], "No audience named 'nobody'"),
    ],
)
def test_bad_input_is_a_clear_error_and_writes_nothing(
    app: typer.Typer, home: Path, args: list[str], message: str
) -> None:
    before = saved_files(home)
    result = fails(app, *args)
    assert message in str(result.exception)
    assert saved_files(home) == before


def test_export_errors_write_no_file(app: typer.Typer, home: Path, tmp_path: Path) -> None:
    run(app, "audience", "create", "First ten", "--sql", "SELECT customer_id FROM customers "
        "WHERE customer_id <= 10 AND NOT sms_opt_in")  # fmt: skip
    out = tmp_path / "out.csv"
    no_opt_in = fails(app, "audience", "export", "First ten", "--out", str(out), "--channel", "sms")
    assert "none of its" in str(no_opt_in.exception) and "sms" in str(no_opt_in.exception)
    fax = fails(app, "audience", "export", "First ten", "--out", str(out), "--channel", "fax")
    assert "No opt-in column fax_opt_in" in str(fax.exception)
    column = fails(app, "audience", "export", "First ten", "--out", str(out), "--column", "mail")
    assert "named 'mail'" in str(column.exception)
    assert not out.exists() and not list(tmp_path.iterdir())
