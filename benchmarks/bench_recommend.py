"""Recommendations: methods side by side, and speed at scale.

    # methods (HR@10, NDCG@10, coverage) on a workspace table, leave-last-out and out-of-time:
    MARA_HOME=/tmp/demo python benchmarks/bench_recommend.py methods --interactions order_items
    # fit + recommend every customer, peak RSS; single-customer latency vs the plain way (SQL):
    python benchmarks/bench_recommend.py speed --customers 1000000 --items 200
    python benchmarks/bench_recommend.py speed --customers 200000 --items 50000 --ways streamed,popularity
    # ratings-style public data (UCI restaurant ratings, CC BY 4.0; benchmarks/data/restaurants):
    python benchmarks/bench_recommend.py ratings [--threshold 1]

Synthetic data for ``speed``: each customer prefers one category (items are in categories of
10), buys 1 + Poisson(3) distinct items, 70 % from that category, the rest by popularity.
"The plain way" for one customer is the co-purchase query in DuckDB (customers who bought what
they bought, what else did they buy), run on the same table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

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


def cpu_s() -> float:
    """CPU seconds of this process so far (wall time on a shared machine says more about the others)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def waited_s() -> float:
    """Seconds this process's main thread has been ready to run but waiting for a CPU (the
    kernel's run-queue delay, /proc/self/schedstat): on a shared machine, where wall time beyond
    CPU time goes. 0 where the file is missing."""
    try:
        return int(Path("/proc/self/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


class _Sink:
    """Where the JSON goes: counted, then dropped (the cost measured is making the text)."""

    def __init__(self) -> None:
        self.chars = 0

    def __call__(self, text: str) -> None:
        self.chars += len(text)


def one_way(args: argparse.Namespace) -> dict[str, object]:
    """One way of scoring every customer, in this process (its own peak RSS):

    - ``streamed``: what ``mara recommend --json`` does — the model scores a batch of customers
      at a time and each batch's rows are written as JSON before the next is scored;
    - ``dense``: the plain way — one dense customers × products score matrix, the top 10 of
      every row at once, then every row as a dict through ``json.dumps``;
    - ``popularity``: the baseline — the best sellers each customer does not have, streamed.
    """
    from tools.recommend_methods import top_n
    from tools.recommendations import (
        _reasons,
        fit_recommender,
        recommend,
        round_like_python,
        write_all_json,
    )

    data = synthetic(args.customers, args.items)
    base_rss = peak_rss_mib()
    method = "popularity" if args.way == "popularity" else args.method
    t0, c0, w0 = time.perf_counter(), cpu_s(), waited_s()
    model = fit_recommender(data, "order_lines", method=method, save=False, embed_names=args.items <= 5000)
    fit_s, fit_cpu, fit_wait = time.perf_counter() - t0, cpu_s() - c0, waited_s() - w0
    sink = _Sink()
    t0, c0, w0 = time.perf_counter(), cpu_s(), waited_s()
    if args.way == "dense":
        rows_all = np.arange(len(model.customers))
        scores = model.method.score(model.x, rows_all)
        idx, vals = top_n(scores, 10, exclude=model.x)
        del scores
        why = _reasons(model, model.x, idx)
        ids, names = model.plain_items(), model.names()
        rounded = round_like_python(vals).tolist()
        rows = [{"customer": int(model.customers[r]),
                 "items": [{"item": ids[c], "name": names[c], "score": v, "reason": w}
                           for c, v, w in zip(cols, vs, ws, strict=True) if v != float("-inf")]}
                for r, (cols, vs, ws) in enumerate(zip(idx.tolist(), rounded, why, strict=True))]
        sink('{"rows": [' + ",\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "]}")
        n_rows = len(rows)
    else:
        sink('{"rows": [')
        n_rows = write_all_json(model, sink, 10)
        sink("]}")
    rec_s, rec_cpu, rec_wait = time.perf_counter() - t0, cpu_s() - c0, waited_s() - w0
    out: dict[str, object] = {
        "way": args.way, "customers": int(model.x.shape[0]), "items": int(model.x.shape[1]), "pairs": int(model.x.nnz),
        "method": model.meta["method"], "validation": {k: v for k, v in model.meta["validation"].items()
                                                       if k in ("chosen", "customers_validated",
                                                                "customers_learned_from", "skipped")},
        "fit_s": round(fit_s, 1), "recommend_and_write_s": round(rec_s, 1), "total_s": round(fit_s + rec_s, 1),
        "fit_cpu_s": round(fit_cpu, 1), "recommend_and_write_cpu_s": round(rec_cpu, 1),
        "total_cpu_s": round(fit_cpu + rec_cpu, 1), "waiting_for_cpu_s": round(fit_wait + rec_wait, 1),
        "load_average": round(os.getloadavg()[0], 1),
        "rows": n_rows, "json_mib": round(sink.chars / 2**20), "peak_rss_mib": round(peak_rss_mib()),
        "rss_after_data_mib": round(base_rss)}
    if args.way == "streamed" and args.one_customer:
        probe = [int(c) for c in np.random.default_rng(1).choice(model.customers, 20, replace=False)]
        next(iter(recommend(model, [probe[0]], 10)))  # warm: the id index is built once per loaded model
        t0 = time.perf_counter()
        for c in probe:
            next(iter(recommend(model, [c], 10)))
        out["one_customer_ms"] = round((time.perf_counter() - t0) / len(probe) * 1000, 2)
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
        out["plain_sql_one_customer_ms"] = round((time.perf_counter() - t0) / 5 * 1000, 2)
    return out


def speed(args: argparse.Namespace) -> dict[str, object]:
    """Each way in its own process, one after the other (peak RSS is per process)."""
    results: dict[str, object] = {}
    for way in args.ways.split(","):
        cmd = [sys.executable, __file__, "one", "--way", way, "--customers", str(args.customers),
               "--items", str(args.items), "--method", args.method] + (["--one-customer"] if way == "streamed" else [])
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            results[way] = {"failed": done.returncode, "stderr": done.stderr[-2000:]}
        else:
            results[way] = json.loads(done.stdout.strip().splitlines()[-1])
        print(way, json.dumps(results[way]), flush=True)
    return results


def methods(args: argparse.Namespace) -> dict[str, object]:
    from foundation.settings import get_settings
    from tools.recommendations import evaluate
    from tools.warehouse import open_warehouse

    return evaluate(open_warehouse(get_settings()), args.interactions, args.customer_col, args.item_col,
                    args.date_col, max_customers=args.max_customers)


RESTAURANTS = Path(__file__).parent / "data" / "restaurants"


def ratings_tables(threshold: int) -> dict[str, pd.DataFrame]:
    """The UCI restaurant ratings as implicit feedback: a consumer "chose" a restaurant when
    they rated it ``threshold`` or more (ratings 0–2); the rating columns are dropped, so every
    method sees the same yes/no interactions ``mara data load`` of this table would give."""
    raw = pd.read_csv(RESTAURANTS / "rating_final.csv")
    liked = raw.loc[raw["rating"] >= threshold, ["userID", "placeID"]].reset_index(drop=True)
    return {"liked": liked, "places": pd.read_csv(RESTAURANTS / "places.csv")}


def ratings(args: argparse.Namespace) -> dict[str, object]:
    """``mara recommend eval --interactions liked --item-col placeID`` on the restaurant ratings
    (the same ``evaluate`` the command calls), optionally writing the tables for ``mara data load``."""
    from tools.recommendations import evaluate

    tables = ratings_tables(args.threshold)
    if args.write_dir:
        Path(args.write_dir).mkdir(parents=True, exist_ok=True)
        for name, frame in tables.items():
            frame.to_csv(Path(args.write_dir) / f"{name}.csv", index=False)
    result = evaluate(tables, "liked", item_col="placeID", max_customers=args.max_customers)
    result["implicit"] = f"rating >= {args.threshold} of 0-2"
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--customers", type=int, default=1_000_000)
    s.add_argument("--items", type=int, default=200)
    s.add_argument("--method", default="auto")
    s.add_argument("--ways", default="streamed,dense,popularity", help="comma-separated: streamed, dense, popularity")
    o = sub.add_parser("one", help="one way, in this process (used by speed)")
    o.add_argument("--way", default="streamed", choices=["streamed", "dense", "popularity"])
    o.add_argument("--customers", type=int, default=1_000_000)
    o.add_argument("--items", type=int, default=200)
    o.add_argument("--method", default="auto")
    o.add_argument("--one-customer", action="store_true")
    r = sub.add_parser("ratings", help="HR@10 of each method on the UCI restaurant ratings (implicit)")
    r.add_argument("--threshold", type=int, default=1, help="a rating at least this (0-2) counts as chosen")
    r.add_argument("--max-customers", type=int, default=5000)
    r.add_argument("--write-dir", help="also write liked.csv and places.csv here (for mara data load)")
    m = sub.add_parser("methods")
    m.add_argument("--interactions", required=True)
    m.add_argument("--customer-col")
    m.add_argument("--item-col")
    m.add_argument("--date-col")
    m.add_argument("--max-customers", type=int, default=5000)
    args = parser.parse_args()
    if args.what == "one":
        print(json.dumps(one_way(args), default=str))
        return
    result = speed(args) if args.what == "speed" else ratings(args) if args.what == "ratings" else methods(args)
    if args.what in ("methods", "ratings"):
        for split, fig in result["splits"].items():  # type: ignore[union-attr]
            if "skipped" in fig:
                print(f"{split}: skipped ({fig['skipped']})")
                continue
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
