"""CLI latency: `mara query --sql "SELECT 1"` start-up and a one-shot offline `mara chat` answer.

Runs real processes against a workspace (MARA_HOME, or a 20,000-customer demo built
in a temp folder) and prints medians next to the goals. Side by side: the agent stack's
import as ``mara chat`` runs it (``langsmith.types``' and ``langgraph_sdk``'s eager ``__init__``
deferred, garbage collection paused and the result frozen, see ``assistant/startup.py``), with
the deferral only, and eagerly as before; and what importing sentence-transformers (instead of
the CTranslate2 MiniLM Mara ships) would add. CPU seconds (user + sys, median and minimum over
the runs) are printed next to wall time: on a shared machine they move less.

Child processes run with bytecode caching on (``PYTHONDONTWRITEBYTECODE`` removed), as an
installed package does: with it set and no ``__pycache__`` in the checkout, every run compiles
Mara's ~100 modules again (~0.3 s CPU of a one-shot chat that users never pay).

    python benchmarks/bench_cli.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOALS = {"query": 1.5, "chat": 1.5}  # issue 15 item 7


CPU: dict[str, float] = {}  # command label -> minimum CPU seconds over the runs
CPU_MEDIAN: dict[str, float] = {}  # command label -> median CPU seconds over the runs


def timed(cmd: list[str], env: dict[str, str], runs: int, label: str = "") -> float:
    """Median wall seconds of ``cmd`` (its CPU seconds in :data:`CPU` and :data:`CPU_MEDIAN` under ``label``)."""
    samples, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        samples.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")
    CPU[label or " ".join(cmd)] = min(cpu)
    CPU_MEDIAN[label or " ".join(cmd)] = statistics.median(cpu)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    mara = [sys.executable, "-m", "assistant.cli"]
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # cache bytecode as an installed package does (module docstring)
    home = env.get("MARA_HOME")
    if not home or not (Path(home) / "warehouse.duckdb").exists():
        home = tempfile.mkdtemp(prefix="mara-bench-")
        env["MARA_HOME"] = home
        print(f"building a 20,000-customer demo workspace in {home} …", file=sys.stderr)
        subprocess.run([*mara, "demo", "--json"], env=env, check=True, capture_output=True)
    env.pop("OPENAI_API_KEY", None)
    env.pop("OPENAI_BASE_URL", None)

    question = [*mara, "chat", "How many customers do we have?", "--json"]
    subprocess.run(question, env=env, capture_output=True)  # warm caches
    query_s = timed([*mara, "query", "--sql", "SELECT 1", "--json"], env, args.runs, "query")
    chat_s = timed(question, env, args.runs, "chat")
    python_s = timed([sys.executable, "-c", "pass"], env, args.runs, "python")
    stack = "import assistant.agent"
    as_chat = f"from assistant.startup import long_lived_imports\nwith long_lived_imports():\n    {stack}"
    chat_stack_s = timed([sys.executable, "-c", as_chat], env, args.runs, "as_chat")
    lazy_s = timed([sys.executable, "-c", stack], env, args.runs, "lazy")
    eager_s = timed([sys.executable, "-c", f"import langsmith.types, langgraph_sdk; {stack}"], env, args.runs, "eager")
    st_s = timed([sys.executable, "-c", "import sentence_transformers"], env, max(1, args.runs // 2), "st")

    def row(label: str, wall: float, key: str, goal: float | None = None) -> None:
        verdict = "" if goal is None else f"{goal:>9.1f}s  {'OK' if wall <= goal else 'MISSED'}"
        print(f"{label:<58}{wall:>9.2f}s{CPU_MEDIAN[key]:>9.2f}s{CPU[key]:>9.2f}s{verdict}")

    load = os.getloadavg()[0]
    print(f"{'measure':<58}{'median':>10}{'med CPU':>10}{'min CPU':>10}{'goal':>10}   (load {load:.1f}, {os.cpu_count()} CPUs)")
    row('mara query --sql "SELECT 1" (start-up)', query_s, "query", GOALS["query"])
    row("mara chat one-shot offline answer", chat_s, "chat", GOALS["chat"])
    row("bare python start-up (floor)", python_s, "python")
    row("agent stack import as mara chat does it (Mara)", chat_stack_s, "as_chat")
    row("agent stack import, inits deferred, GC as usual", lazy_s, "lazy")
    row("agent stack import, eager (before)", eager_s, "eager")
    row("import sentence_transformers alone", st_s, "st")
    print(f"deferring the two inits saves {CPU_MEDIAN['eager'] - CPU_MEDIAN['lazy']:.2f}s CPU per start-up, pausing "
          f"and freezing GC {CPU_MEDIAN['lazy'] - CPU_MEDIAN['as_chat']:.2f}s more (median); a chat that imported "
          f"sentence-transformers would take ≥ {chat_s + st_s:.2f}s, {(chat_s + st_s) / chat_s:.1f}× Mara's {chat_s:.2f}s")

if __name__ == "__main__":
    main()
