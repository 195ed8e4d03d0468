"""Short history, long horizon: out-of-time AUC of Mara's purchase model vs BG/NBD, and ties.

Public data: the UCI "Online Retail" (or "Online Retail II") transactions, CC BY 4.0
(Chen, Sain & Guo 2012; https://archive.ics.uci.edu/dataset/352/online+retail). The data stays
outside the repository: pass the path of the .xlsx / .csv / .parquet file.

Invoice lines become orders (one per invoice: customer, day, sum of quantity x price;
cancellations, whose invoice number starts with C, and lines without a customer are left out).
The first ``--calibration-days`` (default: half the span) are all the model sees; the horizon is
as long as that period, so the supervised set-up does not fit and the short-history path runs.
Printed: who buys in the horizon — AUC of our scores, of BG/NBD's P(purchase) and expected
purchases (fitted on the same calibration orders) — and the share of top-decile scores equal to
the next one.

    python benchmarks/bench_short_history.py /tmp/retail/online_retail.xlsx [--calibration-days 180]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd


def load_orders(path: Path) -> pd.DataFrame:
    """One row per invoice: order_id, customer_id, order_date, amount."""
    if path.suffix == ".parquet":
        lines = pd.read_parquet(path)
    elif path.suffix in (".xlsx", ".xls"):
        lines = pd.read_excel(path)
    else:
        lines = pd.read_csv(path, encoding="latin-1")
    rename = {"Invoice": "InvoiceNo", "Customer ID": "CustomerID", "Price": "UnitPrice"}
    lines = lines.rename(columns=rename)
    lines = lines[lines["CustomerID"].notna()]
    lines = lines[~lines["InvoiceNo"].astype(str).str.upper().str.startswith("C")]
    lines = lines.assign(
        amount=lines["Quantity"] * lines["UnitPrice"],
        order_date=pd.to_datetime(lines["InvoiceDate"], dayfirst=False).dt.normalize(),
    )
    orders = lines.groupby("InvoiceNo", as_index=False).agg(
        customer_id=("CustomerID", "first"), order_date=("order_date", "min"), amount=("amount", "sum")
    )
    orders["customer_id"] = orders["customer_id"].astype(int)
    orders["order_id"] = np.arange(len(orders))
    return orders[["order_id", "customer_id", "order_date", "amount"]]


def top_decile_ties(scores: np.ndarray) -> float:
    """Share of the top decile's scores equal to the next one down."""
    s = np.sort(np.asarray(scores, dtype=float))[::-1]
    k = max(len(s) // 10, 2)
    return float(np.mean(s[: k - 1] == s[1:k]))


def main() -> None:
    from sklearn.metrics import roc_auc_score

    from tools.clv import fit_clv
    from tools.propensity_events import train_propensity_events
    from tools.propensity_scoring import score_frame

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--calibration-days", type=int, default=None)
    args = parser.parse_args()
    orders = load_orders(args.path)
    first, last = orders["order_date"].min(), orders["order_date"].max()
    days = args.calibration_days or ((last - first).days + 1) // 2
    cut = first + timedelta(days=days)
    horizon = days
    cal = orders[orders["order_date"] < cut].reset_index(drop=True)
    future = orders[(orders["order_date"] >= cut) & (orders["order_date"] < cut + timedelta(days=horizon))]
    print(
        f"{args.path.name}: {len(orders):,} orders, {orders['customer_id'].nunique():,} customers, "
        f"{first.date()} to {last.date()}; calibration {first.date()} to "
        f"{(cut - timedelta(days=1)).date()} ({days} days, {len(cal):,} orders, "
        f"{cal['customer_id'].nunique():,} customers); horizon {horizon} days from {cut.date()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        meta = train_propensity_events(
            {"orders": cal}, "orders", "purchase", horizon, models_dir=Path(tmp)
        )
        scored = score_frame({"orders": cal}, Path(tmp), meta["model_id"])
        took = time.perf_counter() - started
    bought = scored["id"].isin(future["customer_id"]).to_numpy().astype(int)
    ours = roc_auc_score(bought, scored["score"])
    bg = fit_clv({"orders": cal}, "orders", horizon_days=horizon)
    c = bg.customers.set_index("customer_id").loc[scored["id"]]
    x, tx, T = (c[k].to_numpy() for k in ("x", "tx", "T"))
    p_bg = bg.bgnbd.p_purchase(horizon / 7.0, x, tx, T)
    e_bg = bg.bgnbd.expected_purchases(horizon / 7.0, x, tx, T)
    print(f"method: {meta['method']} ({meta['method_text']})")
    print(f"buyers in the horizon: {bought.sum():,} of {len(bought):,} ({bought.mean():.1%})")
    print(f"{'model':<34}{'out-of-time AUC':>16}")
    print(f"{'Mara (' + meta['method'] + ', ' + meta['model'] + ')':<34}{ours:>16.4f}")
    print(f"{'BG/NBD P(purchase in horizon)':<34}{roc_auc_score(bought, p_bg):>16.4f}")
    print(f"{'BG/NBD expected purchases':<34}{roc_auc_score(bought, e_bg):>16.4f}")
    print(
        f"top-decile ties: {top_decile_ties(scored['score'].to_numpy()):.2%} of scores equal the "
        f"next one (BG/NBD P(purchase): {top_decile_ties(np.round(p_bg, 6)):.2%}); "
        f"mean score {scored['score'].mean():.3f} vs observed {bought.mean():.3f}; "
        f"train + score {took:.1f} s"
    )


if __name__ == "__main__":
    main()
