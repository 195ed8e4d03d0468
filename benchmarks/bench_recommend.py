"""Recommendations: methods side by side, and speed at scale.

    # methods (HR@10, NDCG@10, coverage) on a workspace table, leave-last-out and out-of-time:
    MARA_HOME=/tmp/demo python benchmarks/bench_recommend.py methods --interactions order_items
    # fit + recommend every customer, peak RSS; single-customer latency vs the plain way (SQL):
    python benchmarks/bench_recommend.py speed --customers 1000000 --items 200
    python benchmarks/bench_recommend.py speed --customers 200000 --items 50000 --method itemknn

Synthetic data for ``speed``: each customer prefers one category (items are in categories of
10), buys 1 + Poisson(3) distinct items, 70 % from that category, the rest by popularity.
"The plain way" for one customer is the co-purchase query in DuckDB (customers who bought what
they bought, what else did they buy), run on the same table.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from datetime import date

import numpy as np
import pandas as pd


def synthetic(customers: int, items: int, seed: int = 7) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    per = 1 + rng.poisson(3, customers)
    cust = np.repeat(np.arange(1, customers + 1), per)
    n_cat = max(1, items // 10)
    pref = rng.integers(0, n_cat, customers)[cust - 1]
    pop = 1.0 / np.arange(1, items + 1) ** 0.8
    popular = rng.choice(items, len(cust), p=pop / pop.sum())
    in_cat = pref * 10 + rng.integers(0, 10, len(cust))
    item = np.where(rng.random(len(cust)) < 0.7, np.minimum(in_cat, items - 1), popular) + 1
    day = rng.integers(0, 730, len(cust))
    lines = pd.DataFrame({"customer_id": cust, "product_id": item,
                          "order_date": pd.Timestamp(date(2024, 1, 1)) + pd.to_timedelta(day, "D")})
    lines = lines.drop_duplicates(["customer_id", "product_id"])
    products = pd.DataFrame({"product_id": np.arange(1, items + 1), "name": [f"Product {i}" for i in range(1, items + 1)],
                             "category": [f"Category {(i - 1) // 10}" for i in range(1, items + 1)],
                             "price": rng.uniform(5, 300, items).round(2)})
    return {"order_lines": lines, "products": products}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def speed(args: argparse.Namespace) -> dict[str, object]:
    from tools.recommendations import fit_recommender, recommend

    t0 = time.perf_counter()
    data = synthetic(args.customers, args.items)
    gen_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = fit_recommender(data, "order_lines", method=args.method, save=False, embed_names=args.items <= 5000)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = sum(len(batch) for batch in recommend(model, None, 10))
    rec_s = time.perf_counter() - t0
    probe = [int(c) for c in np.random.default_rng(1).choice(model.customers, 20, replace=False)]
    next(iter(recommend(model, [probe[0]], 10)))  # warm: the id index is built once per loaded model
    t0 = time.perf_counter()
    for c in probe:
        next(iter(recommend(model, [c], 10)))
    one_ms = (time.perf_counter() - t0) / len(probe) * 1000
    import duckdb

    con = duckdb.connect()
    con.register("order_lines", data["order_lines"])
    plain_sql = ("WITH mine AS (SELECT product_id FROM order_lines WHERE customer_id = ?), "
                 "peers AS (SELECT DISTINCT l.customer_id FROM order_lines l JOIN mine USING (product_id)) "
                 "SELECT l.product_id, count(*) AS n FROM order_lines l JOIN peers USING (customer_id) "
                 "WHERE l.product_id NOT IN (SELECT product_id FROM mine) GROUP BY 1 ORDER BY n DESC LIMIT 10")
    t0 = time.perf_counter()
    for c in probe[:5]:
        con.execute(plain_sql, [c]).fetchall()
    plain_ms = (time.perf_counter() - t0) / 5 * 1000
    return {"customers": int(model.x.shape[0]), "items": int(model.x.shape[1]), "pairs": int(model.x.nnz),
            "method": model.meta["method"], "generate_s": round(gen_s, 1), "fit_s": round(fit_s, 1),
            "recommend_all_s": round(rec_s, 1), "fit_plus_recommend_s": round(fit_s + rec_s, 1),
            "rows": rows, "peak_rss_mib": round(peak_rss_mib()), "one_customer_ms": round(one_ms, 2),
            "plain_sql_one_customer_ms": round(plain_ms, 2)}


def methods(args: argparse.Namespace) -> dict[str, object]:
    from foundation.settings import get_settings
    from tools.recommendations import evaluate
    from tools.warehouse import open_warehouse

    return evaluate(open_warehouse(get_settings()), args.interactions, args.customer_col, args.item_col,
                    args.date_col, max_customers=args.max_customers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--customers", type=int, default=1_000_000)
    s.add_argument("--items", type=int, default=200)
    s.add_argument("--method", default="auto")
    m = sub.add_parser("methods")
    m.add_argument("--interactions", required=True)
    m.add_argument("--customer-col")
    m.add_argument("--item-col")
    m.add_argument("--date-col")
    m.add_argument("--max-customers", type=int, default=5000)
    args = parser.parse_args()
    result = speed(args) if args.what == "speed" else methods(args)
    if args.what == "methods":
        for split, fig in result["splits"].items():  # type: ignore[union-attr]
            print(f"{split} ({fig.get('customers_tested', 0):,} customers tested)")
            for name, v in fig.get("methods", {}).items():
                if "hr@10" in v:
                    print(f"  {name:<11} HR@10 {v['hr@10']:.3f}  NDCG@10 {v['ndcg@10']:.3f}  coverage {v['coverage']:.1%}"
                          f"  fit {v['fit_seconds']}s {v.get('chosen', '')}")
                else:
                    print(f"  {name:<11} skipped: {v.get('skipped')}")
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
