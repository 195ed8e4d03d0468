"""Benchmark: build the "Alder & Peak" demo warehouse and report speed and memory.

    .venv/bin/python benchmarks/bench_demo.py                 # 20,000 customers (goal <= 30 s)
    .venv/bin/python benchmarks/bench_demo.py --customers 1000000

Prints wall time, rows written per second, peak resident memory of this process and the row
count of every table. The build goes into a temporary directory that is removed afterwards.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.demo_data import build_demo_data  # noqa: E402

GOAL_SECONDS = {20_000: 30.0, 1_000_000: 300.0}


def _peak_rss_mib() -> float:
    """Peak resident set size of this process in MiB (ru_maxrss is KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns 1 when a known goal is missed, else 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000, help="customers to simulate")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)

    def progress(stage: str, done: int, total: int) -> None:
        if not args.quiet and stage == "customers":
            print(f"  {stage}: {done:,}/{total:,}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="mara-bench-demo-") as tmp:
        path = Path(tmp) / "demo.duckdb"
        summary = build_demo_data(path, customers=args.customers, seed=args.seed,
                                  progress=progress)
        size_mib = path.stat().st_size / 2**20
    rows = sum(summary.tables.values())
    goal = GOAL_SECONDS.get(args.customers)
    goal_text = f" (goal <= {goal:.0f} s)" if goal else ""
    print(f"demo build {args.customers} customers: {summary.seconds:.1f} s{goal_text}")
    print(f"rows written: {rows:,} ({rows / summary.seconds:,.0f} rows/s)")
    print(f"peak RSS: {_peak_rss_mib():,.0f} MiB; database file: {size_mib:,.0f} MiB")
    for name, count in summary.tables.items():
        print(f"  {name:<13} {count:>12,}")
    return 1 if goal is not None and summary.seconds > goal else 0


if __name__ == "__main__":
    raise SystemExit(main())
