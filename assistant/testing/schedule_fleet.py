"""Several ``mara serve`` processes on one workspace, and schedules all due in the same minute:
the harness of ``benchmarks/bench_schedules.py`` and of the two-server test.

:func:`run_fleet` builds a tiny workspace (an orders table with a semantic model), starts the
servers, adds ``count`` metric-check schedules due at the next whole minute (at least
``lead_s`` ahead) that post to a local :class:`WebhookReceiver` (allow-listed), makes the
receiver answer 503 to the first ``fail_first`` requests, and waits until every run was
delivered. It reports, from the receiver and from the runs table, what happened.
"""

from __future__ import annotations

import collections
import datetime as dt
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import httpx

from assistant.schedules import new_schedule
from assistant.schedules.store import ScheduleStore
from assistant.testing.webhook_receiver import WebhookReceiver
from foundation.settings import MaraSettings
from tools.semantic_model import refresh_workspace_model

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class FleetReport:
    servers: int
    schedules: int
    due: dt.datetime
    delivered: int  # distinct idempotency keys answered 2xx
    last_delivery_s: float  # seconds after the due minute
    first_delivery_s: float
    runs: int  # rows in the runs table (one per started run)
    distinct_run_keys: int
    starts_by_server: dict[str, int] = field(default_factory=dict)
    retried_keys: int = 0  # keys that needed more than one request
    retried_keys_same: int = 0  # of those, how many kept one idempotency key and one body
    requests: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "due": self.due.isoformat()}


def build_workspace(home: Path, days: int = 120) -> MaraSettings:
    """An orders table (a few rows a day up to yesterday) and its semantic model."""
    home.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute("CREATE TABLE customers (customer_id INTEGER, country VARCHAR)")
    con.execute("INSERT INTO customers SELECT i, CASE WHEN i % 2 = 0 THEN 'DE' ELSE 'FR' END FROM range(1, 51) t(i)")
    con.execute("CREATE TABLE orders (order_id INTEGER, customer_id INTEGER, order_date DATE, total DECIMAL(10,2))")
    con.execute(f"""INSERT INTO orders SELECT i, 1 + i % 50, current_date - CAST(1 + i % {days} AS INTEGER),
                    20 + (i * 37) % 180 FROM range(1, {days * 5}) t(i)""")
    con.close()
    settings = MaraSettings(home=home, mode="offline", _env_file=None)  # type: ignore[call-arg]
    refresh_workspace_model(settings)
    return settings


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_servers(home: Path, n: int, env_extra: dict[str, str]) -> list[tuple[subprocess.Popen[bytes], str]]:
    """Start ``n`` servers on ``home`` and wait for each to answer ``/healthz``.

    A server that exits before answering is started again on a new port (twice at most): the
    port was free when probed but another process of the test run may bind it first. Each
    server's stderr goes to ``<home>/serve-<port>.log``, whose tail is in the error if it
    still does not start.
    """
    return [_start_one(home, env_extra) for _ in range(n)]


def _start_one(home: Path, env_extra: dict[str, str], attempts: int = 3,
               timeout_s: float = 120.0) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ, "MARA_HOME": str(home), "PYTHONPATH": str(ROOT), **env_extra}
    failure = ""
    for _ in range(attempts):
        port = _free_port()
        url, log_path = f"http://127.0.0.1:{port}", home / f"serve-{port}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)], env=env,
                                    cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + timeout_s
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    return proc, url
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=15)
        tail = log_path.read_text(errors="replace")[-2000:]
        failure = f"mara serve at {url} did not start (exit {proc.returncode}); its stderr ends:\n{tail}"
    raise RuntimeError(failure)


def stop_servers(servers: list[tuple[subprocess.Popen[bytes], str]]) -> None:
    for proc, _ in servers:
        proc.terminate()
    for proc, _ in servers:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def run_fleet(home: Path, *, servers: int = 2, count: int = 100, fail_first: int = 10, lead_s: float = 15.0,
              timeout_s: float = 150.0, log=print) -> FleetReport:  # type: ignore[no-untyped-def]
    settings = build_workspace(home)
    env = {"MARA_WEBHOOK_ALLOW": "127.0.0.1", "MARA_SCHEDULE_POLL_S": "2", "MARA_DELIVERY_BACKOFF_S": "0.5",
           "MARA_SCHEDULE_WORKERS": "8", "MARA_LOG_LEVEL": "ERROR"}
    settings = settings.model_copy(update={"webhook_allow": "127.0.0.1"})
    with WebhookReceiver() as hook:
        fleet = start_servers(home, servers, env)
        try:
            now = dt.datetime.now(dt.UTC)
            due = (now + dt.timedelta(seconds=lead_s + 60)).replace(second=0, microsecond=0)
            if (due - now).total_seconds() > lead_s + 60:
                due -= dt.timedelta(minutes=1)
            store = ScheduleStore(settings)
            for i in range(count):
                store.add(new_schedule(settings, owner="key:bench", cadence=f"{due.minute} {due.hour} * * *",
                                       destinations=[f"webhook:{hook.url}"], metric="revenue" if i % 2 else "orders",
                                       period="day", name=f"bench {i}", scopes=["chat", "data:read"]))
            hook.fail_next(fail_first, status=503)
            log(f"{count} schedules due at {due:%H:%M:%S} UTC on {servers} server(s); waiting…")
            deadline = time.time() + (due - dt.datetime.now(dt.UTC)).total_seconds() + timeout_s
            while time.time() < deadline:
                if len({r.headers["idempotency-key"] for r in hook.ok()}) >= count:
                    break
                time.sleep(0.5)
            time.sleep(1.0)
            ok = hook.ok()
            by_key: dict[str, list[Any]] = collections.defaultdict(list)
            for request in hook.requests:
                by_key[request.headers["idempotency-key"]].append(request)
            retried = [reqs for reqs in by_key.values() if len(reqs) > 1]
            same = [reqs for reqs in retried if len({r.body for r in reqs}) == 1]
            all_runs = store.runs_of(limit=10 * count)
            starts = collections.Counter(r.holder.split(":")[1] for r in all_runs)
            first_ok: dict[str, float] = {}
            for request in ok:
                key = request.headers["idempotency-key"]
                first_ok[key] = min(first_ok.get(key, request.at), request.at)
            stamps = sorted(first_ok.values())
            store.close()
            return FleetReport(
                servers=servers, schedules=count, due=due, delivered=len(first_ok),
                last_delivery_s=(stamps[-1] - due.timestamp()) if stamps else float("nan"),
                first_delivery_s=(stamps[0] - due.timestamp()) if stamps else float("nan"),
                runs=len(all_runs), distinct_run_keys=len({r.run_key for r in all_runs}),
                starts_by_server=dict(starts), retried_keys=len(retried), retried_keys_same=len(same),
                requests=len(hook.requests),
            )
        finally:
            stop_servers(fleet)
