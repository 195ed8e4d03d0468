"""Revenue by country on the demo retailer: Mara's pushed-down query vs. the pandas way.

The pandas way is what "chat with your data" agents execute: load the frames, merge,
group by. Mara compiles `query_data` to one SQL statement that DuckDB runs in place.

    python benchmarks/bench_query.py [--customers 1000000] [--runs 5] [--home DIR]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from assistant.demo_data import build_demo_data
from foundation.settings import MaraSettings
from tools.context import ToolContext
from tools.data import run_query_spec
from tools.query_spec import QuerySpec
from tools.semantic_model import apply_semantic_model, generate_semantic_model
from tools.warehouse import DuckDBWarehouse


def median_time(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--home", type=Path, default=None, help="reuse a workspace built with this size")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="mara-bench-query-"))
    db = home / "warehouse.duckdb"
    if not db.exists():
        print(f"building a {args.customers:,}-customer demo in {home} …", file=sys.stderr)
        build_demo_data(db, customers=args.customers)
    ctx = ToolContext(MaraSettings(home=home, _env_file=None))  # type: ignore[call-arg]
    ctx._profile = apply_semantic_model(ctx.profile(), generate_semantic_model(ctx.profile()))
    orders = ctx.warehouse.query("SELECT count(*) FROM orders").rows[0][0]
    customers = ctx.warehouse.query("SELECT count(*) FROM customers").rows[0][0]
    spec = QuerySpec.model_validate(
        {"table": "orders", "metrics": [{"agg": "sum", "column": "total_usd", "alias": "revenue"}],
         "dimensions": ["customers.country"]}
    )
    sql = "SELECT c.country, sum(o.total_usd) FROM orders o JOIN customers c USING (customer_id) GROUP BY 1"

    mara_spec = median_time(lambda: run_query_spec(ctx, spec), args.runs)
    mara_sql = median_time(lambda: ctx.warehouse.query(sql), args.runs)
    # `mara query --sql` per call: a cold warehouse (open the file, validate against its tables, run)
    # next to the same SQL run directly in DuckDB on the same file.
    cold_mara = median_time(lambda: DuckDBWarehouse(db).query(sql, row_cap=10_000), args.runs)

    def duckdb_direct() -> None:
        with duckdb.connect(str(db), read_only=True) as con:
            con.execute(sql).fetchall()

    direct = median_time(duckdb_direct, args.runs)
    rss_query = peak_rss_mib()

    def pandas_way() -> None:
        with ctx.warehouse.connect() as con:  # type: ignore[attr-defined]
            o = con.execute("SELECT customer_id, total_usd FROM orders").df()
            c = con.execute("SELECT customer_id, country FROM customers").df()
        o["total_usd"] = o["total_usd"].astype(float)
        o.merge(c, on="customer_id").groupby("country")["total_usd"].sum()

    pandas_s = median_time(pandas_way, max(1, args.runs // 2))
    rss_pandas = peak_rss_mib()

    repeat = QuerySpec.model_validate({"table": "orders", "metrics": [{"name": "repeat_rate"}, {"name": "aov"}],
                                       "dimensions": ["customers.country"]})
    mara_repeat = median_time(lambda: run_query_spec(ctx, repeat), args.runs)

    excluded = _excluded_statuses(ctx)  # the same orders the semantic metrics leave out

    def pandas_repeat() -> dict[str, tuple[float, float]]:
        with ctx.warehouse.connect() as con:  # type: ignore[attr-defined]
            o = con.execute("SELECT customer_id, total_usd, status FROM orders").df()
            c = con.execute("SELECT customer_id, country FROM customers").df()
        o = o[~o["status"].isin(excluded) | o["status"].isna()]
        o["total_usd"] = o["total_usd"].astype(float)
        per = o.merge(c, on="customer_id").groupby(["country", "customer_id"]).agg(n=("total_usd", "size"), s=("total_usd", "sum"))
        out = per.groupby("country").agg(repeat=("n", lambda n: (n >= 2).mean() * 100), s=("s", "sum"), n=("n", "sum"))
        return {str(k): (float(r["repeat"]), float(r["s"] / r["n"])) for k, r in out.iterrows()}

    expected = pandas_repeat()
    got = {str(r[0]): (float(r[1]), float(r[2])) for r in run_query_spec(ctx, repeat).data["rows"]}
    assert got.keys() == expected.keys() and all(
        abs(got[k][0] - expected[k][0]) < 0.06 and abs(got[k][1] - expected[k][1]) < 0.006 for k in got
    ), (got, expected)  # both ways compute the same numbers
    pandas_repeat_s = median_time(pandas_repeat, max(1, args.runs // 2))

    print(f"revenue by country over {orders:,} orders ({customers:,} customers), median of {args.runs}")
    print(f"{'path':<50}{'seconds':>10}")
    print(f"{'query_data (structured → SQL, DuckDB)':<50}{mara_spec:>10.3f}   goal ≤ 1.0 s  {'OK' if mara_spec <= 1 else 'MISSED'}")
    print(f"{'run_sql (validated SQL, DuckDB)':<50}{mara_sql:>10.3f}")
    print(f"{'pandas: load frames, merge, groupby':<50}{pandas_s:>10.3f}")
    overhead = cold_mara / direct - 1
    print(f"{'mara query path (cold: open, validate, run)':<50}{cold_mara:>10.3f}   goal ≤ +25% over DuckDB: "
          f"{overhead:+.0%} {'OK' if overhead <= 0.25 else 'MISSED'}")
    print(f"{'the same SQL directly in DuckDB (same file)':<50}{direct:>10.3f}")
    print(f"ratio pandas / query_data: {pandas_s / mara_spec:.1f}×")
    print(f"{'repeat rate + AOV by country (semantic metrics)':<50}{mara_repeat:>10.3f}")
    print(f"{'pandas: merge, per-customer groupby':<50}{pandas_repeat_s:>10.3f}   ratio {pandas_repeat_s / mara_repeat:.1f}×")
    print(f"peak RSS after the query path: {rss_query:,.0f} MiB (goal ≤ 2048); after pandas: {rss_pandas:,.0f} MiB")


def _excluded_statuses(ctx: ToolContext) -> list[str]:
    """Statuses the generated metrics exclude (empty when the orders table has no status)."""
    revenue = ctx.profile().metric("revenue")
    for item in revenue.where if revenue else ():
        if item.column == "status" and item.op == "not in":
            return list(item.value)
    return []


if __name__ == "__main__":
    main()
