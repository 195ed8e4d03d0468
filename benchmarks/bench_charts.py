"""Charts: time to build Vega-Lite specs from query results and to render PNGs offline.

    .venv/bin/python benchmarks/bench_charts.py [--runs 20]

Prints the median time of :func:`tools.charts.chart_spec` for typical result shapes
(12 months, 30 countries, a 10,000-row scatter), the spec's JSON size, and
:func:`tools.charts.render_png` cold (first call starts vl-convert's engine) and warm.
Side by side: the spec built by hand as a plain dict with the same inline values
(the floor any chart builder pays), so the ratio shows what shape detection costs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.charts import chart_spec, render_png  # noqa: E402
from tools.warehouse import QueryResult  # noqa: E402


def median_ms(fn: Callable[[], Any], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def hand_spec(result: QueryResult) -> dict[str, Any]:
    """The minimal alternative: inline values and a fixed bar encoding, no inspection."""
    values = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    return {
        "data": {"values": values},
        "mark": "bar",
        "encoding": {
            "x": {"field": result.columns[0], "type": "nominal"},
            "y": {"field": result.columns[-1], "type": "quantitative"},
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(7)
    shapes = {
        "line, 12 months": QueryResult(
            ["month", "revenue"],
            [(dt.date(2025, m, 1), rng.uniform(1e5, 1e6)) for m in range(1, 13)],
            column_types=["DATE", "DOUBLE"],
        ),
        "bar, 30 countries": QueryResult(
            ["country", "revenue"], [(f"Country {i}", rng.uniform(1e3, 1e6)) for i in range(30)]
        ),
        "scatter, 10,000 rows": QueryResult(
            ["recency_days", "monetary"],
            [(rng.randint(0, 720), rng.uniform(5, 5000)) for _ in range(10_000)],
        ),
    }
    print(f"{'shape':<24}{'chart_spec ms':>15}{'by hand ms':>12}{'ratio':>8}{'spec KiB':>10}")
    for name, result in shapes.items():
        ours = median_ms(functools.partial(chart_spec, result), args.runs)
        floor = median_ms(functools.partial(hand_spec, result), args.runs)
        size = len(json.dumps(chart_spec(result))) / 1024
        print(f"{name:<24}{ours:>15.2f}{floor:>12.2f}{ours / floor:>8.1f}{size:>10.1f}")

    spec = chart_spec(shapes["bar, 30 countries"])
    start = time.perf_counter()
    png = render_png(spec)
    cold = (time.perf_counter() - start) * 1000
    warm = median_ms(lambda: render_png(spec), max(3, args.runs // 4))
    print(
        f"render_png (bar, 30 countries): cold {cold:.0f} ms, warm {warm:.0f} ms, "
        f"{len(png) / 1024:.0f} KiB"
    )


if __name__ == "__main__":
    main()
