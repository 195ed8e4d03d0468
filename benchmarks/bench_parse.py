"""How long a question's parse takes on a wide schema: the semantic parser vs. the old extractor.

A synthetic 50-table schema (each table: an id, a link to its neighbour, a date, two money and two
number columns, four category columns with 20 values each) and twenty marketer questions. The
parser's lexicon is built once per schema (cached per profile), so the first parse is reported
apart from the steady state. The old pattern-by-pattern extractor is loaded from git history
(``--old-ref``, default the commit before it was replaced) and timed in the same run.

    python benchmarks/bench_parse.py [--runs 20] [--old-ref d6f73a7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.planner.lexicon import build_lexicon
from assistant.planner.parser import parse_question
from tools.schema_profile import ColumnProfile, SchemaProfile, TableProfile

QUESTIONS = [
    "how many customers do we have",
    "revenue by region last quarter",
    "top 10 products by revenue",
    "average order value in 2025",
    "orders per month this year",
    "which channel brought the most revenue?",
    "how many customers in segment 7 opted in",
    "revenue from tier 3 customers since March 2025",
    "total discount by store 12 last month",
    "compare revenue in September vs August",
    "what share of orders were returned",
    "how many orders over $200",
    "units sold by category 4",
    "how many subscriptions did we get last week",
    "revenue by campaign type for premium members",
    "top 5 stores by number of visits",
    "monthly revenue trend",
    "how many shipments were late in Q3 2025",
    "average basket size by country",
    "how many invoices came from partner 11",
]
TODAY = dt.date(2025, 11, 15)
_NOUNS = ["customer", "order", "product", "store", "campaign", "visit", "session", "subscription", "invoice", "shipment",
          "refund", "review", "ticket", "payment", "coupon", "partner", "supplier", "warehouse", "region", "event"]


def synthetic_profile(tables: int = 50) -> SchemaProfile:
    """``tables`` related tables with a realistic mix of roles and category values."""
    out = []
    for i in range(tables):
        noun = _NOUNS[i % len(_NOUNS)] + ("" if i < len(_NOUNS) else f"_{i // len(_NOUNS)}")
        columns = [ColumnProfile(f"{noun}_id", "BIGINT", "id")]
        if i:
            previous = _NOUNS[(i - 1) % len(_NOUNS)] + ("" if i - 1 < len(_NOUNS) else f"_{(i - 1) // len(_NOUNS)}")
            columns.append(ColumnProfile(f"{previous}_id", "BIGINT", "id"))
        columns += [
            ColumnProfile(f"{noun}_date", "DATE", "date", min="2023-01-01", max="2025-11-14"),
            ColumnProfile("total", "DECIMAL", "money"), ColumnProfile(f"{noun}_discount", "DECIMAL", "money"),
            ColumnProfile("quantity", "INTEGER", "number"), ColumnProfile(f"{noun}_score", "DOUBLE", "number"),
            ColumnProfile("is_premium", "BOOLEAN", "flag"),
        ]
        for name in ("segment", "tier", "store", "category"):
            values = [f"{name} {v}" for v in range(20)] if i % 2 else [f"{name.title()}{v}" for v in range(20)]
            columns.append(ColumnProfile(f"{name}" if i % 3 else f"{noun}_{name}", "VARCHAR", "category", values=values))
        columns.append(ColumnProfile("country", "VARCHAR", "category", values=["Germany", "France", "United States", "Japan"]))
        out.append(TableProfile(f"{noun}s", 1000 * (i + 1), columns))
    return SchemaProfile(tables=out)


def timings(fn: Callable[[str], Any], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        for question in QUESTIONS:
            start = time.perf_counter()
            fn(question)
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def old_extractor(ref: str) -> Callable[[str, SchemaProfile, dt.date], Any] | None:
    """``parse_data_question`` of the pattern-by-pattern extractor at ``ref``, or None without git history."""
    root = Path(__file__).resolve().parent.parent
    folder = Path(tempfile.mkdtemp(prefix="old_planner_")) / "old_planner"
    folder.mkdir()
    for name in ("extract", "vocabulary", "timeframes"):
        try:
            source = subprocess.run(["git", "-C", str(root), "show", f"{ref}:assistant/planner/{name}.py"],
                                    capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            return None
        (folder / f"{name}.py").write_text(source.replace("assistant.planner.", "old_planner."))
    (folder / "__init__.py").write_text("")
    sys.path.insert(0, str(folder.parent))
    spec = importlib.util.find_spec("old_planner.extract")
    if spec is None:
        return None
    module = importlib.import_module("old_planner.extract")
    return module.parse_data_question  # type: ignore[no-any-return]


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--tables", type=int, default=50)
    parser.add_argument("--old-ref", default="d6f73a7", help="git ref of the old extractor")
    args = parser.parse_args()
    profile = synthetic_profile(args.tables)
    columns = sum(len(t.columns) for t in profile.tables)
    print(f"schema: {len(profile.tables)} tables, {columns} columns, {len(QUESTIONS)} questions x {args.runs} runs")

    start = time.perf_counter()
    build_lexicon(profile)
    print(f"lexicon build (once per schema): {(time.perf_counter() - start) * 1000:.1f} ms")
    start = time.perf_counter()
    parse_question(QUESTIONS[0], profile, TODAY)  # builds and caches this profile's lexicon
    print(f"first parse (with lexicon build): {(time.perf_counter() - start) * 1000:.1f} ms")
    new = timings(lambda q: parse_question(q, profile, TODAY), args.runs)
    print(f"semantic parser   p50 {statistics.median(new):6.2f} ms   p95 {pct(new, 0.95):6.2f} ms")
    old = old_extractor(args.old_ref)
    if old is None:
        print(f"old extractor: not available (no git history for {args.old_ref})")
        return
    previous = timings(lambda q: old(q, profile, TODAY), args.runs)
    print(f"old extractor     p50 {statistics.median(previous):6.2f} ms   p95 {pct(previous, 0.95):6.2f} ms")
    print(f"ratio (parser / old, p50): {statistics.median(new) / statistics.median(previous):.2f}x")


if __name__ == "__main__":
    main()
