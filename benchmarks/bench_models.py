"""Benchmark: segments, propensity and CLV on an N-customer demo, beside the obvious alternative.

    .venv/bin/python benchmarks/bench_models.py              # 200,000 customers
    .venv/bin/python benchmarks/bench_models.py 1000000      # the issue's goals are for 1M
    .venv/bin/python benchmarks/bench_models.py 200000 --db /tmp/demo200k.duckdb   # reuse a build

Times RFM, clustering, event-derived propensity training and scoring, and the BG/NBD +
Gamma-Gamma fit, and a naive pandas RFM (load completed orders, groupby, qcut) side by side
with the ratio; and "who buys in the next 90 days" out of time: the purchase model (blend
weights chosen on the training window only) vs. BG/NBD calibrated to the same cutoff, with
every candidate's AUC. Goals (1M customers): RFM <= 10 s, clustering <= 30 s, propensity training
<= 120 s and scoring <= 20 s, BG/NBD + Gamma-Gamma <= 15 s.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb  # noqa: E402

from assistant.demo_data import build_demo_data  # noqa: E402

GOALS_1M = {
    "rfm": 10.0,
    "cluster": 30.0,
    "propensity_train": 120.0,
    "propensity_score": 20.0,
    "clv_fit": 15.0,
}


def _timed(label: str, fn: Callable[[], Any]) -> tuple[float, Any]:
    sys.stderr.write(f"… {label}\n")
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    sys.stderr.write(f"  {label}: {seconds:.2f} s\n")
    return seconds, out


def naive_pandas_rfm(path: Path) -> Any:
    """What an analyst would write: pull orders into pandas, groupby, quintiles, segment."""
    import pandas as pd

    with duckdb.connect(str(path), read_only=True) as con:
        orders = con.execute("SELECT * FROM orders").df()
    orders = orders[orders["status"] == "completed"]
    as_of = orders["order_date"].max()
    g = orders.groupby("customer_id").agg(
        last=("order_date", "max"), frequency=("order_id", "count"), monetary=("total_usd", "sum")
    )
    g["recency"] = (as_of - g["last"]).dt.days
    g["r"] = pd.qcut(g["recency"].rank(method="first"), 5, labels=[5, 4, 3, 2, 1]).astype(int)
    g["f"] = pd.qcut(g["frequency"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5]).astype(int)
    g["m"] = pd.qcut(
        g["monetary"].astype(float).rank(method="first"), 5, labels=[1, 2, 3, 4, 5]
    ).astype(int)
    g["segment"] = g["r"].astype(str) + ((g["f"] + g["m"]) // 2).astype(str)
    return g["segment"].value_counts()


_LIFETIMES_SCRIPT = """
import sys, time
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
d = pd.read_csv(sys.argv[1])
start = time.perf_counter()
bg = BetaGeoFitter().fit(d["x"], d["tx"], d["T"])
rep = d[(d["x"] > 0) & (d["m"] > 0)]
GammaGammaFitter().fit(rep["x"], rep["m"])
print(time.perf_counter() - start, *(bg.params_[k] for k in ("r", "alpha", "a", "b")))
"""


def lifetimes_peer(python: str, summary: Any, sample: int) -> dict[str, Any]:
    """BetaGeoFitter + GammaGammaFitter of `lifetimes` (another venv) vs. ours on the same rows."""
    import subprocess

    from tools.clv import fit_bgnbd, fit_gamma_gamma

    rows = summary.sample(n=min(sample, len(summary)), random_state=0)[["x", "tx", "T", "m"]]
    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "summary.csv"
        rows.to_csv(csv_path, index=False)
        out = subprocess.run(
            [python, "-c", _LIFETIMES_SCRIPT, str(csv_path)],
            capture_output=True,
            text=True,
            timeout=3600,
            check=True,
        ).stdout.split()
    start = time.perf_counter()
    ours = fit_bgnbd(rows["x"].to_numpy(), rows["tx"].to_numpy(), rows["T"].to_numpy())
    fit_gamma_gamma(rows["x"].to_numpy(), rows["m"].to_numpy())
    mine = time.perf_counter() - start
    return {
        "customers": len(rows),
        "lifetimes_s": round(float(out[0]), 2),
        "mara_s": round(mine, 2),
        "ratio": round(float(out[0]) / mine, 1),
        "lifetimes_params": [round(float(v), 4) for v in out[1:]],
        "mara_params": [round(v, 4) for v in (ours.r, ours.alpha, ours.a, ours.b)],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("customers", nargs="?", type=int, default=200_000)
    parser.add_argument("--db", type=Path, help="demo DuckDB file to reuse or build")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--lifetimes-python",
        help="python of a throwaway venv with lifetimes installed, to time BetaGeoFitter beside",
    )
    parser.add_argument("--lifetimes-sample", type=int, default=100_000)
    args = parser.parse_args(argv)

    from tools.clv import fit_clv
    from tools.propensity_events import train_propensity_events
    from tools.propensity_scoring import score
    from tools.segments import cluster_customers, rfm_segments

    tmp = tempfile.TemporaryDirectory()
    path = args.db or Path(tmp.name) / "demo.duckdb"
    if not path.exists():
        build_s, summary = _timed(
            f"building the {args.customers:,}-customer demo",
            lambda: build_demo_data(path, customers=args.customers),
        )
        sys.stderr.write(f"  {summary.orders:,} orders, {summary.order_items:,} lines\n")
    models = Path(tmp.name) / "models"
    times: dict[str, float] = {}
    facts: dict[str, Any] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        (customers,) = con.execute("SELECT count(*) FROM customers").fetchone() or (0,)
        (orders,) = con.execute("SELECT count(*) FROM orders").fetchone() or (0,)
        times["rfm"], rfm = _timed("RFM", lambda: rfm_segments(con, "orders"))
        facts["rfm_customers"] = rfm.total_customers
        times["cluster"], clusters = _timed("clustering", lambda: cluster_customers(con, "orders"))
        facts["clusters"] = clusters.k
        times["propensity_train"], meta = _timed(
            "propensity training (churn, 90 days)",
            lambda: train_propensity_events(con, "orders", "churn", 90, models_dir=models),
        )
        facts["propensity_auc"] = meta["metrics"]["auc"]
        facts["baseline_auc"] = meta["baseline"]["auc"]
        times["propensity_score"], rows = _timed(
            "propensity scoring", lambda: score(con, models, meta["model_id"])
        )
        facts["scored"] = len(rows)
        times["clv_fit"], clv = _timed("BG/NBD + Gamma-Gamma", lambda: fit_clv(con, "orders"))
        facts["bgnbd"] = {k: round(v, 4) for k, v in clv.to_dict()["params"].items()}
        # Who buys in the next 90 days: the purchase model vs. BG/NBD on the same holdout window.
        _, purchase = _timed(
            "purchase model (90 days)",
            lambda: train_propensity_events(con, "orders", "purchase", 90, models_dir=models),
        )
        holdout_end = date.fromisoformat(purchase["validation_cutoff"]) - timedelta(days=1)
        _, bg = _timed(
            "BG/NBD on the same window", lambda: fit_clv(con, "orders", calibration_end=holdout_end)
        )
        # The model (and its blend weights) is chosen on the training window only; the
        # validation window is an out-of-time test for both.
        bg_auc = round((bg.holdout or {}).get("auc_buys_again", float("nan")), 4)
        facts["buys_in_90d_auc"] = {
            "propensity": purchase["metrics"]["auc"],
            "chosen": purchase["model"],
            "weights": purchase["metrics"].get("weights"),
            "candidates": purchase["metrics"].get("candidates_auc"),
            "logistic_baseline": purchase["baseline"]["auc"],
            "bgnbd": bg_auc,
            "propensity_minus_bgnbd": round(purchase["metrics"]["auc"] - bg_auc, 4),
        }
        if args.lifetimes_python:
            facts["lifetimes_peer"] = _timed(
                "lifetimes BetaGeoFitter + GammaGammaFitter (subsample)",
                lambda: lifetimes_peer(args.lifetimes_python, clv.customers, args.lifetimes_sample),
            )[1]
    times["naive_pandas_rfm"], _ = _timed("naive pandas RFM", lambda: naive_pandas_rfm(path))
    ratio = times["naive_pandas_rfm"] / times["rfm"]
    report = {
        "customers": customers,
        "orders": orders,
        "seconds": times,
        "rfm_vs_naive_pandas": round(ratio, 2),
        "facts": facts,
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{customers:,} customers, {orders:,} orders")
        for name, seconds in times.items():
            goal = GOALS_1M.get(name)
            note = f"(goal at 1M: <= {goal:g} s)" if goal else ""
            print(f"{name:<20} {seconds:8.2f} s  {note}")
        print(f"naive pandas RFM / Mara RFM = {ratio:.2f}x")
        print(
            f"propensity AUC {facts['propensity_auc']:.3f} vs logistic baseline "
            f"{facts['baseline_auc']:.3f}; BG/NBD {facts['bgnbd']}"
        )
        buys = facts["buys_in_90d_auc"]
        print(
            f"who buys in the next 90 days, out-of-time AUC: Mara {buys['propensity']:.4f} "
            f"({buys['chosen']}, weights {buys['weights']}) vs BG/NBD {buys['bgnbd']:.4f} "
            f"({buys['propensity_minus_bgnbd']:+.4f}) and logistic regression "
            f"{buys['logistic_baseline']:.4f}; every candidate: {buys['candidates']}"
        )
        if "lifetimes_peer" in facts:
            print(f"lifetimes peer (same subsample): {facts['lifetimes_peer']}")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
