"""Provider faults: does every turn survive, is the history intact, does any PII leak?

Drives the real agent in LLM mode — the real ``openai`` SDK over HTTP through
langchain-openai — against the scripted OpenAI-compatible server, on a demo workspace, with
one fault injected into every turn (and two whole-outage scenarios). The scripted model asks
for customers' names, e-mails and phones with ``run_sql`` and answers from the result.

A turn *survives* when it ends with an answer and no error event; *degraded* turns were
answered by the offline planner (with a notice) because the provider was down. *PII leaks*
counts demo e-mail addresses and phone numbers found verbatim in any request the server
received (must be 0). *history* checks that every question and answer is in the stored
conversation.

    python benchmarks/bench_faults.py [--turns 5] [--customers 300] [--seed 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TIMEOUT_S = 0.5


def _settings(home: Path, base_url: str, **extra: Any) -> Any:
    from foundation.settings import MaraSettings

    values: dict[str, Any] = {
        "home": home, "llm_base_url": base_url, "llm_model": "gpt-4o-mini", "llm_timeout_s": TIMEOUT_S,
        "llm_max_retries": 2, "llm_backoff_base_s": 0.02, "llm_backoff_max_s": 0.2,
        "circuit_failures": 5, "circuit_open_s": 60.0, **extra,
    }
    return MaraSettings(_env_file=None, **values)


def run_scenario(name: str, home: Path, schedule_for_turn: Any, turns: int, pii: list[str]) -> dict[str, Any]:
    """``schedule_for_turn(i)`` lists the faults to queue before turn ``i``."""
    from assistant.agent import Assistant
    from assistant.chat_models import reset_breakers
    from assistant.testing import ScriptedOpenAIServer
    from assistant.testing.faults import FaultInjector, leaked_values
    from foundation.scopes import EVERY_SCOPE

    reset_breakers()
    script = FaultInjector(timeout_s=TIMEOUT_S)
    survived = degraded = 0
    seconds: list[float] = []
    errors: list[str] = []
    with ScriptedOpenAIServer(script) as server, Assistant(_settings(home, server.base_url)) as assistant:
        conversation = f"bench-{name}"
        questions = []
        for i in range(turns):
            script.inject(*schedule_for_turn(i))
            question = f"Who is our first customer? (question {i + 1})"
            questions.append(question)
            started = time.perf_counter()
            result = assistant.run(question, conversation_id=conversation, actor="bench", scopes=EVERY_SCOPE)
            seconds.append(time.perf_counter() - started)
            if result.error is None and result.reply.strip():
                survived += 1
            else:
                errors.append(result.error or "empty reply")
            degraded += result.notice is not None
        history = assistant.history(conversation)
        asked = [m.content for m in history if type(m).__name__ == "HumanMessage"]
        answered = sum(1 for m in history if type(m).__name__ == "AIMessage" and not getattr(m, "tool_calls", None))
        requests = server.requests
    return {
        "fault": name,
        "injected": len(script.injected),
        "turns": turns,
        "survived": survived,
        "degraded": degraded,
        "history": "intact" if asked == questions and answered == turns else f"BROKEN ({len(asked)}/{answered})",
        "requests": len(requests),
        "leaks": len(leaked_values(requests, pii)),
        "p50_s": statistics.median(seconds),
        "max_s": max(seconds),
        "errors": errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=5, help="turns per scenario")
    parser.add_argument("--customers", type=int, default=300, help="demo customers")
    parser.add_argument("--seed", type=int, default=3, help="seed of the demo data and the mixed scenario")
    args = parser.parse_args()

    import logging

    logging.disable(logging.WARNING)
    import duckdb

    from assistant.demo_data import build_demo_data
    from assistant.testing.faults import FAULT_KINDS

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "ws"
        home.mkdir()
        build_demo_data(home / "warehouse.duckdb", customers=args.customers, seed=args.seed)
        con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
        pii = [v for row in con.execute("SELECT email, phone FROM customers").fetchall() for v in row if v]
        con.close()

        rng = random.Random(args.seed)
        scenarios: list[tuple[str, Any]] = [("none (baseline)", lambda i: [])]
        scenarios += [(kind, lambda i, k=kind: [k]) for kind in FAULT_KINDS]
        scenarios.append(("mixed, 2 per turn", lambda i: rng.sample(FAULT_KINDS, 2)))
        scenarios.append(("outage: 3 x 500 per turn", lambda i: ["server_error"] * 3))
        scenarios.append(("outage: connection refused", lambda i: ["connection_drop"] * 3))
        rows = []
        for name, schedule in scenarios:
            rows.append(run_scenario(name, home, schedule, args.turns, pii))

    head = f"{'fault injected':28} {'injected':>8} {'turns':>5} {'survived':>8} {'degraded':>8} {'history':>8} " \
           f"{'requests':>8} {'PII leaks':>9} {'p50 s':>6} {'max s':>6}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['fault']:28} {r['injected']:>8} {r['turns']:>5} {r['survived']:>8} {r['degraded']:>8} "
              f"{r['history']:>8} {r['requests']:>8} {r['leaks']:>9} {r['p50_s']:>6.2f} {r['max_s']:>6.2f}")
    total_turns = sum(r["turns"] for r in rows)
    total_survived = sum(r["survived"] for r in rows)
    total_leaks = sum(r["leaks"] for r in rows)
    print("-" * len(head))
    print(f"{'total':28} {sum(r['injected'] for r in rows):>8} {total_turns:>5} {total_survived:>8} "
          f"{sum(r['degraded'] for r in rows):>8} {'':>8} {sum(r['requests'] for r in rows):>8} {total_leaks:>9}")
    print(f"\ngoal: every turn survives ({total_survived}/{total_turns}), PII leaks = 0 ({total_leaks})")
    for r in rows:
        for error in r["errors"]:
            print(f"  {r['fault']}: {error}")
    ok = total_survived == total_turns and total_leaks == 0 and all(r["history"] == "intact" for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
