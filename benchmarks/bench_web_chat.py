"""Web chat latency on the demo (issue 19): first token and a finished simple answer, p50.

Starts ``mara serve`` on a demo workspace (offline planner) in its own process and asks simple
questions the way the web chat does — ``POST /v1/chat`` streamed as Server-Sent Events over real
HTTP — timing the first ``text`` frame (first token) and the ``done`` frame (finished answer).
Next to it, the obvious alternative measured in the same run on the same server: the same
question with ``stream: false`` (one JSON document when done), where the first word a user sees
arrives only with the whole answer.

    python benchmarks/bench_web_chat.py [--customers 20000] [--turns 30] [--home DIR]

Goals (issue 19): first token ≤ 300 ms and finished simple answer ≤ 1 s, p50.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import httpx
from bench_api import mara_command, pct, start_server  # same folder (run as a script)

from assistant.demo_data import build_demo_data

SIMPLE = ["How many customers do we have?", "revenue by country", "How many orders per month?",
          "average order value"]


def streamed(client: httpx.Client, message: str) -> tuple[float, float]:
    """(seconds to the first text frame, seconds to done) of one streamed turn."""
    started = time.perf_counter()
    first = None
    event = None
    with client.stream("POST", "/v1/chat", json={"message": message, "stream": True}) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "text" and first is None:
                first = time.perf_counter() - started
            elif line.startswith("data: ") and event == "done":
                json.loads(line[6:])
                break
    finished = time.perf_counter() - started
    return (first if first is not None else finished), finished


def whole(client: httpx.Client, message: str) -> float:
    """Seconds until the ``stream: false`` JSON answer is complete."""
    started = time.perf_counter()
    client.post("/v1/chat", json={"message": message, "stream": False}).raise_for_status()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--home", type=Path, default=None)
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="mara-bench-web-")) / "ws"
    if not (home / "warehouse.duckdb").exists():
        home.mkdir(parents=True, exist_ok=True)
        build_demo_data(home / "warehouse.duckdb", customers=args.customers)
    server, url = start_server(mara_command(), home, 0, {})
    try:
        with httpx.Client(base_url=url, timeout=120) as client:
            for message in SIMPLE:  # warm up: the assistant, the warehouse, the planner's models
                streamed(client, message)
            firsts, dones, wholes = [], [], []
            for i in range(args.turns):
                message = SIMPLE[i % len(SIMPLE)]
                first, done = streamed(client, message)
                firsts.append(first)
                dones.append(done)
                wholes.append(whole(client, message))  # the alternative, interleaved
    finally:
        server.terminate()
        server.wait(timeout=10)
    ms = lambda s: f"{s * 1000:.0f} ms"  # noqa: E731
    print(f"demo: {args.customers:,} customers, {args.turns} turns each way, offline planner, "
          f"questions: {', '.join(SIMPLE)}")
    print(f"streamed (web chat)  first token p50 {ms(pct(firsts, 0.5))} (p95 {ms(pct(firsts, 0.95))}); "
          f"finished p50 {ms(pct(dones, 0.5))} (p95 {ms(pct(dones, 0.95))})")
    print(f"stream: false        first word = whole answer p50 {ms(pct(wholes, 0.5))} (p95 {ms(pct(wholes, 0.95))})")
    print(f"first token is {pct(wholes, 0.5) / max(pct(firsts, 0.5), 1e-9):.1f}x sooner than the whole JSON answer")
    print(f"goals: first token <= 300 ms: {'met' if pct(firsts, 0.5) <= 0.3 else 'MISSED'}; "
          f"finished <= 1 s: {'met' if pct(dones, 0.5) <= 1.0 else 'MISSED'}")


if __name__ == "__main__":
    main()
