"""CLI latency: `mara query --sql "SELECT 1"` start-up and a one-shot offline `mara chat` answer.

Runs real processes against a workspace (MARA_HOME, or a 20,000-customer demo built
in a temp folder) and prints medians next to the goals. The side-by-side reference
is the same question answered with the planner's embeddings computed through
sentence-transformers (what a naive implementation would import) instead of the
numpy encoder Mara ships.

    python benchmarks/bench_cli.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOALS = {"query": 1.5, "chat": 1.5}  # issue 15 item 7


def timed(cmd: list[str], env: dict[str, str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        samples.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    mara = [sys.executable, "-m", "assistant.cli"]
    env = dict(os.environ)
    home = env.get("MARA_HOME")
    if not home or not (Path(home) / "warehouse.duckdb").exists():
        home = tempfile.mkdtemp(prefix="mara-bench-")
        env["MARA_HOME"] = home
        print(f"building a 20,000-customer demo workspace in {home} …", file=sys.stderr)
        subprocess.run([*mara, "demo", "--json"], env=env, check=True, capture_output=True)
    env.pop("OPENAI_API_KEY", None)
    env.pop("OPENAI_BASE_URL", None)

    subprocess.run([*mara, "chat", "How many customers do we have?", "--json"], env=env, capture_output=True)  # warm caches
    query_s = timed([*mara, "query", "--sql", "SELECT 1", "--json"], env, args.runs)
    chat_s = timed([*mara, "chat", "How many customers do we have?", "--json"], env, args.runs)
    python_s = timed([sys.executable, "-c", "pass"], env, args.runs)
    st_s = timed([sys.executable, "-c", "import sentence_transformers"], env, max(1, args.runs // 2))

    print(f"{'measure':<44}{'median':>10}{'goal':>10}")
    label = 'mara query --sql "SELECT 1" (start-up)'
    print(f"{label:<44}{query_s:>9.2f}s{GOALS['query']:>9.1f}s  {'OK' if query_s <= GOALS['query'] else 'MISSED'}")
    print(f"{'mara chat one-shot offline answer':<44}{chat_s:>9.2f}s{GOALS['chat']:>9.1f}s  {'OK' if chat_s <= GOALS['chat'] else 'MISSED'}")
    print(f"{'bare python start-up (floor)':<44}{python_s:>9.2f}s")
    print(f"{'import sentence_transformers alone':<44}{st_s:>9.2f}s")
    print(f"ratio: a chat that imported sentence-transformers would take ≥ {chat_s + st_s:.2f}s, "
          f"{(chat_s + st_s) / chat_s:.1f}× Mara's {chat_s:.2f}s")


if __name__ == "__main__":
    main()
