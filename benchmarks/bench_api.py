"""Offline mode through the API: turn latency and throughput, sequential vs. concurrent.

Starts ``mara serve`` on a demo workspace (offline planner, no rate limit) in its own process,
then streams ``POST /v1/chat`` turns over real HTTP:

1. sequential — one turn at a time (the baseline);
2. concurrent — N conversations at once, each a question and a follow-up in the same
   conversation, all streamed (Server-Sent Events read to ``done``).

It prints p50/p95 turn latency, throughput, the concurrent/sequential throughput ratio, the
errors seen (must be 0) and the server's resident memory before and after.

    python benchmarks/bench_api.py [--customers 20000] [--conversations 50] [--sequential 40]
                                   [--soak 1000] [--home DIR] [--port 8765]

``--soak N`` then runs N more turns (4 at a time, in fresh and continued conversations) and
prints the server's resident memory every N/10 turns, to show it stays steady.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from assistant.demo_data import build_demo_data

QUESTIONS = [
    "revenue by country",
    "How many customers do we have?",
    "orders per month",
    "average order value by channel",
]
FOLLOW_UP = "and last month?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def turn(
    client: httpx.AsyncClient, message: str, conversation_id: str | None
) -> tuple[float, str | None, str | None]:
    """One streamed turn: (seconds, conversation id, error or None)."""
    body = {"message": message, "conversation_id": conversation_id, "stream": True}
    started = time.perf_counter()
    done: dict[str, object] | None = None
    error: str | None = None
    async with client.stream("POST", "/v1/chat", json=body) as response:
        if response.status_code != 200:
            await response.aread()
            return time.perf_counter() - started, None, f"HTTP {response.status_code}"
        event = None
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event in ("done", "error"):
                data = json.loads(line[6:])
                if event == "done":
                    done = data
                else:
                    error = str(data.get("message") or data)
    elapsed = time.perf_counter() - started
    if done is None:
        return elapsed, None, error or "no done event"
    if done.get("degraded"):  # the LLM failed and the turn was answered offline
        return elapsed, str(done.get("conversation_id")), error or f"degraded: {done.get('notice')}"
    return elapsed, str(done.get("conversation_id")), error


async def sequential(url: str, n: int) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        started = time.perf_counter()
        for i in range(n):
            seconds, _, error = await turn(client, QUESTIONS[i % len(QUESTIONS)], None)
            latencies.append(seconds)
            errors += error is not None
        wall = time.perf_counter() - started
    return latencies, errors, wall


async def concurrent(url: str, conversations: int) -> tuple[list[float], int, float, int]:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=conversations + 5)

    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:

        async def conversation(i: int) -> None:
            nonlocal errors
            seconds, cid, error = await turn(client, QUESTIONS[i % len(QUESTIONS)], None)
            latencies.append(seconds)
            errors += error is not None
            if cid is None:
                errors += 1
                return
            seconds, cid2, error = await turn(client, FOLLOW_UP, cid)
            latencies.append(seconds)
            errors += error is not None or cid2 != cid

        started = time.perf_counter()
        await asyncio.gather(*(conversation(i) for i in range(conversations)))
        wall = time.perf_counter() - started
    return latencies, errors, wall, len(latencies)


async def soak(url: str, turns: int, pid: int) -> int:
    """``turns`` more turns, 4 at a time; print the server's RSS every tenth of the way."""
    errors = 0
    done = 0
    every = max(1, turns // 10)
    samples = [rss_mib(pid)]
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:

        async def worker(w: int) -> None:
            nonlocal errors, done
            cid: str | None = None
            while done < turns:
                done += 1
                n = done
                message = FOLLOW_UP if cid and n % 2 else QUESTIONS[n % len(QUESTIONS)]
                _, new_cid, error = await turn(
                    client, message, cid if message == FOLLOW_UP else None
                )
                errors += error is not None
                cid = new_cid
                if n % every == 0:
                    samples.append(rss_mib(pid))

        started = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(4)))
        wall = time.perf_counter() - started
    print(
        f"soak: {turns} turns in {wall:.1f} s, errors {errors}; server RSS MiB every {every} turns: "
        + " ".join(f"{m:.0f}" for m in samples)
    )
    return errors


def mara_command() -> str:
    mara = shutil.which("mara", path=str(Path(sys.executable).parent)) or shutil.which("mara")
    if mara is None:
        sys.exit("the 'mara' command is not installed (pip install -e .)")
    return mara


def start_server(mara: str, home: Path, port: int, extra_env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """``mara serve`` on ``home`` in its own process, once /healthz answers."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MARA_", "OPENAI_"))},
        "MARA_HOME": str(home),
        "MARA_RATE_LIMIT_PER_MINUTE": "0",
        "MARA_LOG_LEVEL": "ERROR",
        **extra_env,
    }
    server = subprocess.Popen(
        [mara, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return server, url
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            err = server.stderr.read().decode() if server.stderr else ""
            server.kill()
            sys.exit(f"mara serve did not start:\n{err}")
        time.sleep(0.2)


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


def llm_overhead(home: Path, turns: int) -> None:
    """LLM mode against an instant scripted model: what Mara adds to each turn besides the model.

    Each turn is two model calls (a query_data tool call, then the answer); the scripted
    server answers at once, so the turn latency is Mara's own overhead (HTTP, agent loop,
    PII masking, the query, rendering, persistence) plus two local round trips.
    """
    from assistant.testing import ScriptedOpenAIServer, ScriptedReply, ScriptedToolCall

    model_seconds: list[float] = []

    def script(body: dict[str, object]) -> ScriptedReply:
        started = time.perf_counter()
        messages = body.get("messages") or []
        last = messages[-1] if isinstance(messages, list) and messages else {}
        if isinstance(last, dict) and last.get("role") == "tool":
            reply = ScriptedReply(content="Revenue by country is in the table above; the United States leads.")
        else:
            reply = ScriptedReply(tool_calls=[ScriptedToolCall("query_data", {
                "table": "orders", "metrics": [{"agg": "sum", "column": "total_usd", "alias": "revenue"}],
                "dimensions": ["customers.country"]})])
        model_seconds.append(time.perf_counter() - started)
        return reply

    with ScriptedOpenAIServer(script) as model:
        server, url = start_server(mara_command(), home, 0, {
            "MARA_MODE": "llm", "MARA_LLM_BASE_URL": model.base_url, "OPENAI_API_KEY": "sk-bench-not-a-real-key",
        })
        try:
            asyncio.run(sequential(url, 2))  # warm up
            latencies, errors, wall = asyncio.run(sequential(url, turns))
        finally:
            stop(server)
    ms = 1000.0
    print(f"LLM mode, instant scripted model (2 model calls per turn): {len(latencies)} turns — "
          f"p50 {ms * statistics.median(latencies):.0f} ms, p95 {ms * pct(latencies, 0.95):.0f} ms, errors {errors}")
    print(f"non-LLM overhead per turn ≈ p50 {ms * statistics.median(latencies):.0f} ms "
          f"(the scripted model itself spent {ms * sum(model_seconds) / max(1, len(latencies)):.2f} ms per turn)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--sequential", type=int, default=40, help="turns in the baseline")
    parser.add_argument("--soak", type=int, default=0, help="extra turns watching server memory")
    parser.add_argument("--home", type=Path, default=None, help="reuse this demo workspace")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--llm-turns", type=int, default=20, help="turns in LLM mode against a scripted model (0 = skip)")
    args = parser.parse_args()

    home = args.home or Path(tempfile.mkdtemp(prefix="mara-bench-api-"))
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "warehouse.duckdb").exists():
        print(f"building a {args.customers:,}-customer demo in {home} …", file=sys.stderr)
        build_demo_data(home / "warehouse.duckdb", customers=args.customers)
    server, url = start_server(mara_command(), home, args.port, {"MARA_MODE": "offline"})
    try:
        started = time.perf_counter()
        warm = asyncio.run(sequential(url, 1))  # builds the assistant, loads the encoder
        print(f"first turn (cold start): {1000 * (time.perf_counter() - started):.0f} ms")
        asyncio.run(sequential(url, len(QUESTIONS)))  # warm every question once
        rss_before = rss_mib(server.pid)

        seq, seq_errors, seq_wall = asyncio.run(sequential(url, args.sequential))
        con, con_errors, con_wall, con_turns = asyncio.run(concurrent(url, args.conversations))
        rss_after = rss_mib(server.pid)

        seq_tps = len(seq) / seq_wall
        con_tps = con_turns / con_wall
        ms = 1000.0
        print(f"workspace: {home} (offline mode, {args.customers:,} customers)")
        print(
            f"sequential : {len(seq)} turns in {seq_wall:.2f} s — p50 {ms * statistics.median(seq):.0f} ms, "
            f"p95 {ms * pct(seq, 0.95):.0f} ms, {seq_tps:.1f} turns/s, errors {seq_errors + warm[1]}"
        )
        print(
            f"concurrent : {args.conversations} conversations × 2 turns = {con_turns} turns in "
            f"{con_wall:.2f} s — p50 {ms * statistics.median(con):.0f} ms, "
            f"p95 {ms * pct(con, 0.95):.0f} ms, {con_tps:.1f} turns/s, errors {con_errors}"
        )
        print(f"throughput ratio concurrent/sequential: {con_tps / seq_tps:.2f}×")
        print(f"server RSS: {rss_before:.0f} MiB before → {rss_after:.0f} MiB after")
        soak_errors = asyncio.run(soak(url, args.soak, server.pid)) if args.soak else 0
        if seq_errors or con_errors or soak_errors:
            sys.exit(1)
    finally:
        stop(server)
    if args.llm_turns:
        llm_overhead(home, args.llm_turns)


if __name__ == "__main__":
    main()
