"""BG/NBD + Gamma-Gamma: the published CDNOW fit, the demo's true parameters, bad input."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import check_grad

from assistant.demo_data import build_demo_data
from foundation.errors import ToolInputError
from tools.clv import BGNBD, _bgnbd_nll, fit_bgnbd, fit_clv, fit_gamma_gamma


@pytest.fixture(scope="session")
def cdnow(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    """The 2,357-customer CDNOW sample, taken from the `lifetimes` wheel on PyPI (not installed)."""
    where = tmp_path_factory.mktemp("cdnow")
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "lifetimes==0.11.3",
                "--no-deps",
                "-q",
                "-d",
                str(where),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
        wheel = next(where.glob("*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            text = zf.read("lifetimes/datasets/CDNOW_sample.txt").decode()
    except (subprocess.SubprocessError, OSError, StopIteration, KeyError) as err:
        pytest.skip(f"cannot download the lifetimes wheel from PyPI for the CDNOW sample: {err}")
    rows = [line.split() for line in text.splitlines() if line.strip()]
    frame = pd.DataFrame(rows, columns=["master_id", "customer_id", "day", "quantity", "amount"])
    orders = pd.DataFrame(
        {
            "order_id": np.arange(len(frame)),
            "customer_id": frame["customer_id"].astype(int),
            "order_date": pd.to_datetime(frame["day"], format="%Y%m%d"),
            "amount": frame["amount"].astype(float),
        }
    )
    return {"orders": orders}


def test_bgnbd_matches_the_published_cdnow_fit(cdnow: dict[str, pd.DataFrame]) -> None:
    res = fit_clv(cdnow, "orders", calibration_end=date(1997, 9, 30))
    assert len(res.customers) == 2357
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert res.to_dict()["params"][name] == pytest.approx(value, rel=0.01), name
    gg = res.gamma_gamma
    assert gg is not None  # lifetimes' documented CDNOW Gamma-Gamma fit
    assert (gg.p, gg.q, gg.v) == pytest.approx((6.25, 3.74, 15.44), rel=0.01)
    holdout = res.holdout
    assert holdout is not None and holdout["auc_buys_again"] > 0.7
    assert holdout["predicted_total"] == pytest.approx(holdout["actual_total"], rel=0.25)


def test_gradient_is_exact() -> None:
    x, tx, T = np.array([0, 1, 2, 7.0]), np.array([0, 3, 10, 30.0]), np.array([40, 38, 35, 39.0])
    w = np.array([3, 1, 2, 1.0])
    for point in (np.log([0.3, 4, 0.8, 2.4]), np.log([1.5, 0.5, 3.0, 0.9])):
        err = check_grad(
            lambda p: _bgnbd_nll(p, x, tx, T, w)[0], lambda p: _bgnbd_nll(p, x, tx, T, w)[1], point
        )
        assert err < 1e-5


def test_predictions_are_sane() -> None:
    model = BGNBD(0.243, 4.414, 0.793, 2.426, 0.0)
    x, tx, T = np.array([0, 2, 2, 10.0]), np.array([0, 30, 5, 38.0]), np.array([38, 38, 38, 38.0])
    alive = model.p_alive(x, tx, T)
    assert alive[0] == 1.0 and alive[1] > alive[2] and np.all((alive > 0) & (alive <= 1))
    expected = model.expected_purchases(52, x, tx, T)
    assert np.all(expected >= 0) and expected[3] > expected[1] > expected[2]


def test_recovers_the_demo_dropout_process(tmp_path: Path) -> None:
    """The demo simulates dropout ~ Beta(1.2, 8) after each purchase: BG/NBD's a, b."""
    path = tmp_path / "demo.duckdb"
    build_demo_data(path, customers=3_000, seed=3)
    import duckdb

    steps: list[str] = []
    with duckdb.connect(str(path), read_only=True) as con:
        res = fit_clv(con, "orders", horizon_days=180, progress=lambda m, d, t: steps.append(m))
    assert [s.split(" ")[0] for s in steps] == ["purchase", "fitting", "fitting", "predicting"]
    a, b = res.bgnbd.a, res.bgnbd.b
    assert a / (a + b) == pytest.approx(1.2 / 9.2, rel=0.3)  # mean dropout probability
    c = res.customers
    assert c["clv"].ge(0).all() and c["p_alive"].between(0, 1).all()
    assert res.to_dict()["expected_clv_total"] > 0


def test_bad_input() -> None:
    orders = pd.DataFrame(
        {
            "order_id": range(6),
            "customer_id": [1, 1, 2, 3, 4, 5],
            "order_date": pd.to_datetime(["2025-01-01"] * 6),
            "amount": [1.0] * 6,
        }
    )
    with pytest.raises(ToolInputError, match="at least 20 are needed"):
        fit_clv({"orders": orders}, "orders")
    with pytest.raises(ToolInputError, match="needs at least 10"):
        fit_gamma_gamma(np.zeros(30), np.ones(30))
    ok = fit_bgnbd(
        np.array([0, 1, 3, 0, 2.0] * 10),
        np.array([0, 5, 20, 0, 9.0] * 10),
        np.array([30, 30, 30, 25, 20.0] * 10),
    )
    assert ok.r > 0 and ok.a > 0


def test_horizon_and_calibration_end_outside_the_data() -> None:
    rng = np.random.default_rng(0)
    orders = pd.DataFrame(
        {
            "order_id": range(300),
            "customer_id": rng.integers(1, 60, 300),
            "order_date": pd.Timestamp("2025-01-01")
            + pd.to_timedelta(rng.integers(0, 300, 300), unit="D"),
            "amount": rng.gamma(2, 20, 300),
        }
    )
    source = {"orders": orders}
    with pytest.raises(ToolInputError, match=r"horizon_days must be a positive .*got 0"):
        fit_clv(source, "orders", horizon_days=0)
    with pytest.raises(ToolInputError, match="after the latest order"):
        fit_clv(source, "orders", calibration_end=date(2026, 1, 1))
    with pytest.raises(ToolInputError, match=r"before the first order \(2025-01-01\)"):
        fit_clv(source, "orders", calibration_end=date(2024, 6, 1))
    assert fit_clv(source, "orders", horizon_days=30).horizon_days == 30
