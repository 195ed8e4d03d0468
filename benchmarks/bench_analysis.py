"""Analyst moves, measured: speed of a comparison and an explanation on 7 M orders next to the pandas
way, and anomaly precision/recall next to a plain z-score.

Speed: a synthetic order log (``--orders``, default 7,000,000; 500,000 customers, 4 channels, 10
countries via the customers table, 3 years) in a DuckDB workspace. Mara's ``compare`` (one query over
both periods) and ``explain`` (one GROUPING SETS query: totals, first-time vs returning customers, 3
dimensions, order count) run on the warehouse; the pandas way loads the joined frame and computes the
same numbers (period filter, group-bys, first purchase per customer). Goal: ≤ 1.5 s each. The first
explanation reads every customer's first order date (cold); later ones take them from the cache
(tools/analysis/first_orders.py) while the table is unchanged — both are printed.

Anomalies: ``--series`` synthetic daily order counts (400 days, weekly rhythm ×0.8–×1.4, slow trend,
Poisson noise around 200/day) with injected spikes (+45–100 %), drops (−45–70 %) and week-long level
shifts (±45 %). Mara's detector (same-weekday median of 6 weeks, residuals in units of √expected,
Qn-scaled robust z ≥ 3.5) vs a plain z-score (|value − mean| ≥ 3 sd of the whole series). Goal: precision
and recall ≥ 0.8. Specificity: of the 30-day blocks with nothing injected ("normal months"), how many
had at least one day flagged — a false alarm a marketer would read.

    python benchmarks/bench_analysis.py [--orders 7000000] [--runs 3] [--series 40] [--home DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np

from foundation.settings import MaraSettings
from tools.analysis import first_orders
from tools.analysis.anomalies import robust_anomalies, zscore_anomalies
from tools.analysis.compare import compare, resolve_periods
from tools.analysis.explain import Explanation, explain
from tools.analysis.measures import Reader, resolve_measure
from tools.context import ToolContext
from tools.query_spec import Metric

CURRENT, PREVIOUS = "2025-09", "2025-08"


def build(db: Path, orders: int) -> None:
    con = duckdb.connect(str(db))
    con.execute("""CREATE TABLE customers AS SELECT i AS customer_id,
        ['Germany','France','United States','United Kingdom','Spain','Italy','Sweden','Norway','Poland','Austria'][1 + CAST(hash(i) % 10 AS INTEGER)] AS country,
        ['gold','silver','bronze','none'][1 + CAST(hash(i * 3) % 4 AS INTEGER)] AS loyalty_tier
        FROM range(1, 500001) t(i)""")
    con.execute(f"""CREATE TABLE orders AS SELECT i AS order_id,
        CAST(1 + hash(i * 7) % 500000 AS BIGINT) AS customer_id,
        DATE '2023-01-01' + CAST(hash(i * 11) % 1096 AS INTEGER) AS order_date,
        CAST(round(10 + (hash(i * 13) % 40000) / 100.0, 2) AS DECIMAL(10, 2)) AS total,
        ['web','app','store','marketplace'][1 + CAST(hash(i * 5) % 4 AS INTEGER)] AS channel
        FROM range(1, {orders + 1}) t(i)""")
    con.close()


CPU: dict[str, float] = {}


def timed(fn, runs: int, name: str = "") -> tuple[float, object]:  # type: ignore[no-untyped-def]
    """Median wall time of ``runs`` calls (and, under ``name``, the median CPU seconds of this process:
    DuckDB's threads included, so a loaded machine shows up as wall ≫ CPU / cores)."""
    samples, cpu, result = [], [], None
    for _ in range(runs):
        start, used = time.perf_counter(), time.process_time()
        result = fn()
        samples.append(time.perf_counter() - start)
        cpu.append(time.process_time() - used)
    if name:
        CPU[name] = statistics.median(cpu)
    return statistics.median(samples), result


def pandas_way(frame):  # type: ignore[no-untyped-def]
    """The same numbers as Mara's explanation, computed on an in-memory frame."""
    import pandas as pd

    firsts = frame.groupby("customer_id")["order_date"].min().rename("first")
    out = {}
    for label, month in (("previous", PREVIOUS), ("current", CURRENT)):
        start = pd.Timestamp(f"{month}-01")
        end = start + pd.offsets.MonthBegin(1)
        rows = frame[(frame.order_date >= start) & (frame.order_date < end)]
        rows = rows.join(firsts, on="customer_id")
        kind = np.where(rows["first"] >= start, "first-time", "returning")
        out[label] = {"total": rows.total.sum(), "orders": len(rows),
                      "types": rows.groupby(kind).total.sum().to_dict(),
                      **{d: rows.groupby(d).total.sum().to_dict() for d in ("channel", "country", "loyalty_tier")}}
    return out


def speed(args: argparse.Namespace) -> dict[str, float]:
    home = args.home or Path(tempfile.mkdtemp(prefix="mara-bench-analysis-"))
    db = home / "warehouse.duckdb"
    if not db.exists():
        t = time.perf_counter()
        build(db, args.orders)
        print(f"built {args.orders:,} orders in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    ctx = ToolContext(MaraSettings(home=home, _env_file=None))  # type: ignore[call-arg]
    profile = ctx.profile()
    measure = resolve_measure(profile, "orders", Metric(agg="sum", column="orders.total", alias="revenue"))
    reader = Reader(ctx.warehouse, profile, measure)
    today = dt.date(2025, 12, 1)
    dims = ["orders.channel", "customers.country", "customers.loyalty_tier"]
    compare_s, comparison = timed(lambda: compare(reader, resolve_periods(reader, CURRENT, PREVIOUS, today=today)), args.runs,
                                  "compare")
    first_orders.clear()  # the first explanation reads every customer's first date (cold), later ones reuse them
    cold_s, _ = timed(lambda: explain(reader, resolve_periods(reader, CURRENT, PREVIOUS, today=today), dims), 1, "cold")
    explain_s, explanation = timed(lambda: explain(reader, resolve_periods(reader, CURRENT, PREVIOUS, today=today), dims),
                                   args.runs, "explain")
    con = duckdb.connect(str(db), read_only=True)
    load_s, frame = timed(lambda: con.execute(
        "SELECT o.customer_id, CAST(o.order_date AS TIMESTAMP) AS order_date, CAST(o.total AS DOUBLE) AS total, o.channel, "
        "c.country, c.loyalty_tier FROM orders o JOIN customers c USING (customer_id)").df(), 1)
    pandas_s, reference = timed(lambda: pandas_way(frame), args.runs, "pandas")
    con.close()
    ref = reference["current"]["total"] - reference["previous"]["total"]  # type: ignore[index]
    assert isinstance(explanation, Explanation)
    change = explanation.comparison.change or 0.0
    assert abs(change - ref) < 0.01, (change, ref)
    lines = sum(c.contribution for c in explanation.breakdowns[0].lines)
    assert abs(lines - change) < 1e-6
    print(f"\n{args.orders:,} orders — {CURRENT} vs {PREVIOUS} revenue (median of {args.runs})")
    load = os.getloadavg()[0]
    print(f"  mara compare_periods      {compare_s:7.3f} s wall, {CPU['compare']:.3f} s CPU   (goal ≤ 1.5 s)")
    print(f"  mara explain_change       {explain_s:7.3f} s wall, {CPU['explain']:.3f} s CPU   (goal ≤ 1.5 s; totals, "
          "customer type, 3 dimensions, orders; first-order dates cached)")
    print(f"    first call (cold)       {cold_s:7.3f} s wall, {CPU['cold']:.3f} s CPU   (reads every customer's first date "
          "once per state of the table)")
    print(f"  pandas, frame in memory   {pandas_s:7.3f} s wall, {CPU['pandas']:.3f} s CPU   (+ {load_s:.2f} s to load the joined frame once)")
    print(f"  load average during the run: {load:.1f} on {os.cpu_count()} cores")
    print(f"  explain vs pandas incl. load: {(pandas_s + load_s) / explain_s:.1f}× faster; "
          f"vs pandas compute only: {pandas_s / explain_s:.1f}×")
    print(f"  same change as pandas: {change:,.2f} (pandas {ref:,.2f}); contributions add up exactly")
    del comparison
    return {"compare_s": compare_s, "explain_s": explain_s, "explain_cold_s": cold_s, "pandas_s": pandas_s, "pandas_load_s": load_s}


def synthetic_series(rng: np.random.Generator, days: int = 400) -> tuple[list[float], set[int]]:
    weekly = np.array([0.8, 0.85, 0.9, 0.95, 1.1, 1.4, 1.3])
    t = np.arange(days)
    level = 200 * (1 + 0.3 * t / days) * (1 + 0.1 * np.sin(2 * np.pi * t / 365)) * weekly[t % 7]
    effect = np.ones(days)
    truth: set[int] = set()
    taken = np.zeros(days, dtype=bool)
    taken[:49] = True  # the first 7 weeks are history

    def free(start: int, length: int) -> bool:
        return start + length <= days and not taken[max(0, start - 3):start + length + 3].any()

    for kind, count in (("spike", 5), ("drop", 5), ("shift", 2)):
        placed = 0
        while placed < count:
            length = 7 if kind == "shift" else 1
            start = int(rng.integers(49, days - length))
            if not free(start, length):
                continue
            size = {"spike": rng.uniform(1.45, 2.0), "drop": rng.uniform(0.3, 0.55),
                    "shift": rng.choice([0.55, 1.45])}[kind]
            effect[start:start + length] = size
            taken[start:start + length] = True
            truth.update(range(start, start + length))
            placed += 1
    values = rng.poisson(level * effect).astype(float)
    return list(values), truth


def monthly_calls(series: list[float], first: int, month: int = 30, history: int = 42) -> set[int]:
    """What the tool does: each month judged against the six weeks before it (not the whole series)."""
    flagged: set[int] = set()
    for begin in range(first, len(series), month):
        window = series[begin - history:begin + month]
        flagged.update(begin - history + i for i in robust_anomalies(window, start=history)[0])
    return flagged


def months(first: int, days: int, month: int = 30) -> list[set[int]]:
    """The 30-day blocks the tool is asked about, as day indices."""
    return [set(range(begin, min(begin + month, days))) for begin in range(first, days, month)]


def anomalies(args: argparse.Namespace) -> dict[str, float]:
    rng = np.random.default_rng(args.seed)
    mara, plain = "mara robust (same-weekday median, Qn z ≥ 3.5)", "plain z-score (|z| ≥ 3)"
    scores = {mara: [0, 0, 0, 0, 0], plain: [0, 0, 0, 0, 0]}  # tp, fp, fn, normal months, of them alarmed
    for _ in range(args.series):
        series, truth = synthetic_series(rng)
        judged = set(range(49, len(series)))
        found = {mara: monthly_calls(series, 49), plain: set(zscore_anomalies(series)) & judged}
        for name, flagged in found.items():
            tp = len(flagged & truth)
            scores[name][0] += tp
            scores[name][1] += len(flagged) - tp
            scores[name][2] += len(truth - flagged)
            for block in months(49, len(series)):
                if not block & truth:
                    scores[name][3] += 1
                    scores[name][4] += bool(block & flagged)
    print(f"\nanomalies — {args.series} series × 400 days, 5 spikes + 5 drops + 2 week-long shifts each (seed {args.seed})")
    out = {}
    for name, (tp, fp, fn, normal, alarmed) in scores.items():
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        print(f"  {name:50s} precision {precision:.3f}  recall {recall:.3f}  "
              f"normal months with a false alarm {alarmed}/{normal}")
        out[name] = (precision, recall)
    return {"robust_precision": out[next(iter(out))][0], "robust_recall": out[next(iter(out))][1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=7_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--series", type=int, default=40)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--home", type=Path, default=None, help="reuse a workspace built by an earlier run")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    anomalies(args)
    if not args.skip_speed:
        speed(args)


if __name__ == "__main__":
    main()
