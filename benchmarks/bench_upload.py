"""A large data upload through the API while the chat keeps answering.

Starts ``mara serve`` on a small demo workspace in its own process, writes a CSV of about
``--mb`` MB (synthetic web events: id, customer, timestamp, page, amount) and then, side by side:

1. **idle** — chat turns with nothing else running (the baseline);
2. **API upload** — ``POST /v1/data/tables`` (what the web chat's workspace panel sends) with a
   progress id: the client's bytes sent and the server's load stage/percent are sampled while
   chat turns run on the same server; the file is read into a scratch DuckDB file and only the
   final copy holds the warehouse's write lock;
3. **``mara data load``** — the obvious alternative: the CLI loads the same file straight into the
   warehouse (its write lock held for the whole read) while the same chat turns run.

It prints, for each, chat turns answered, errors, p50 / p95 / max turn latency, and for the
upload the progress samples (how often progress moved) and the time until the table answers a
question. Runs in well under 2 minutes for 100 MB on a laptop.

    python benchmarks/bench_upload.py [--mb 100] [--customers 2000] [--home DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling bench_api

from bench_api import pct, start_server, stop  # noqa: E402

from assistant.demo_data import build_demo_data  # noqa: E402

QUESTION = "How many customers do we have?"


def write_csv(path: Path, megabytes: int, customers: int) -> int:
    """A CSV of about ``megabytes`` MB; returns its row count."""
    rng = random.Random(7)
    pages = ["home", "tents", "jackets", "boots", "packs", "checkout", "sale", "blog"]
    target = megabytes * 1_000_000
    rows = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("event_id,customer_id,event_time,page,amount\n")
        chunk: list[str] = []
        size = 0
        while size < target:
            rows += 1
            day = 1 + rows % 28
            line = (
                f"{rows},{rng.randrange(1, customers + 1)},2026-0{1 + rows % 9}-{day:02d} "
                f"{rows % 24:02d}:{rows % 60:02d}:00,{pages[rows % 8]},{rng.random() * 200:.2f}\n"
            )
            chunk.append(line)
            size += len(line)
            if len(chunk) == 10_000:
                out.write("".join(chunk))
                chunk = []
        out.write("".join(chunk))
    return rows


class Chatter:
    """Chat turns in a loop on their own thread until stopped: latencies and errors."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=120) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    response = client.post("/v1/chat", json={"message": QUESTION, "stream": False})
                    if response.status_code != 200 or "customers" not in response.json().get("reply", ""):
                        self.errors.append(f"{response.status_code}: {response.text[:120]}")
                except httpx.HTTPError as err:
                    self.errors.append(type(err).__name__)
                self.latencies.append(time.perf_counter() - started)

    def __enter__(self) -> Chatter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def line(self, label: str, seconds: float) -> str:
        ms = [x * 1000 for x in self.latencies]
        return (
            f"{label:<22} {seconds:6.1f} s  turns {len(ms):3d}  errors {len(self.errors):2d}  "
            f"p50 {pct(ms, 0.5):7.0f} ms  p95 {pct(ms, 0.95):7.0f} ms  max {max(ms, default=float('nan')):7.0f} ms"
        )


def chunks(path: Path, sent: list[int], size: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while block := handle.read(size):
            sent[0] += len(block)
            yield block


def upload(url: str, csv: Path, table: str) -> tuple[float, dict[str, object], list[tuple[float, str, float]]]:
    """POST the file as multipart (streamed) while sampling progress; (seconds, body, samples)."""
    boundary = "mara-bench-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="table"\r\n\r\n{table}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="progress_id"\r\n\r\nbench-upload-1\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{csv.name}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    sent = [0]
    total = csv.stat().st_size
    samples: list[tuple[float, str, float]] = []
    done = threading.Event()
    started = time.perf_counter()

    def body() -> Iterator[bytes]:
        yield head
        yield from chunks(csv, sent)
        yield tail

    def sample() -> None:
        with httpx.Client(base_url=url, timeout=10) as client:
            while not done.is_set():
                stage, percent = "sending", 100.0 * sent[0] / total
                if sent[0] >= total:
                    response = client.get("/v1/data/loads/bench-upload-1")
                    if response.status_code == 200:
                        stage, percent = response.json()["stage"], response.json()["percent"]
                samples.append((time.perf_counter() - started, stage, percent))
                time.sleep(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    response = httpx.post(
        f"{url}/v1/data/tables", content=body(), timeout=600,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}",
                 "Content-Length": str(len(head) + total + len(tail))},
    )
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if response.status_code != 201:
        sys.exit(f"upload failed: {response.status_code} {response.text[:300]}")
    return seconds, response.json(), samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--home", type=Path, default=None)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="mara-bench-upload-"))
    home = args.home or tmp / "ws"
    try:
        t0 = time.perf_counter()
        home.mkdir(parents=True, exist_ok=True)
        build_demo_data(home / "warehouse.duckdb", customers=args.customers)
        csv = tmp / "web_events.csv"
        rows = write_csv(csv, args.mb, args.customers)
        print(f"setup: demo workspace + {csv.stat().st_size / 1e6:.0f} MB CSV ({rows:,} rows) "
              f"in {time.perf_counter() - t0:.1f} s")
        mara = shutil.which("mara") or str(Path(sys.executable).with_name("mara"))
        server, url = start_server(mara, home, 0, {"MARA_MAX_DATA_UPLOAD_BYTES": str(2 * csv.stat().st_size)})
        try:
            httpx.post(f"{url}/v1/chat", json={"message": QUESTION, "stream": False}, timeout=120)  # warm up
            with Chatter(url) as idle:
                time.sleep(5)
            print(idle.line("idle", 5))

            with Chatter(url) as during:
                seconds, report, samples = upload(url, csv, "web_events")
            print(during.line("during API upload", seconds))
            moves = len({(stage, round(p)) for _, stage, p in samples})
            stages = " → ".join(dict.fromkeys(stage for _, stage, _ in samples))
            print(f"  upload: {report['rows']:,} rows in {seconds:.1f} s; progress sampled {len(samples)}× "
                  f"every 0.25 s, {moves} distinct values; stages {stages}")
            asked = time.perf_counter()
            answer = httpx.post(f"{url}/v1/chat", json={"message": "How many web events are there?",
                                                        "stream": False}, timeout=120).json()["reply"]
            print(f"  next question about it answered in {time.perf_counter() - asked:.2f} s: {answer.splitlines()[0][:90]}")

            env = {**{k: v for k, v in os.environ.items() if not k.startswith("MARA_")}, "MARA_HOME": str(home)}
            with Chatter(url) as cli:
                started = time.perf_counter()
                done = subprocess.run([mara, "data", "load", str(csv), "--table", "web_events_cli"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                if done.returncode != 0:
                    print(f"  mara data load failed: {done.stderr.strip().splitlines()[-1:]}")
                cli_seconds = time.perf_counter() - started
            print(cli.line("during mara data load", cli_seconds))
            for label, chatter in (("API upload", during), ("mara data load", cli)):
                worst = max(chatter.latencies, default=0.0) / max(pct(idle.latencies, 0.5), 1e-9)
                print(f"  worst turn during {label}: {worst:.1f}× the idle median")
        finally:
            stop(server)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
