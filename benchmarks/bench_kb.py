"""Brand knowledge speed: encoder load, query encoding, ingest and hybrid search.

Side by side: Mara's numpy all-MiniLM-L6-v2 (``knowledge.embeddings.get_encoder()``) and the
same bundled model through sentence-transformers (torch), the obvious alternative. Each
encoder is measured in its own fresh processes (load = import + model load + first encode,
interpreter start excluded), interleaved so machine load hits both alike. Ingest and search run on the shipped sample brand in a temporary embedded Chroma store.

    python benchmarks/bench_kb.py [--runs 3] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUERIES = [
    "what is the SMS opt-out text",
    "free shipping threshold in Germany",
    "how long is the return window",
    "tent weight",
    "which emoji can we use in an SMS",
    "win-back offer code and minimum spend",
    "email unsubscribe footer",
    "who is the family camper persona",
    "how much does a zipper repair cost",
    "when does the autumn sale end",
    "is the Stormfront jacket waterproof",
    "GDPR consent rules for email in Germany",
]


def worker(model: str | None, queries: int) -> None:
    """Measure one encoder in this (fresh) process and print the figures as JSON."""
    import numpy as np

    start = time.perf_counter()
    from knowledge.embeddings import get_encoder

    encoder = get_encoder(model)
    encoder.encode(["warm up"])
    load_s = time.perf_counter() - start

    from knowledge.chunking import chunk_document
    from knowledge.sample import sample_brand_path

    samples = []
    for i in range(queries):
        start = time.perf_counter()
        encoder.encode([QUERIES[i % len(QUERIES)]])
        samples.append(time.perf_counter() - start)
    texts = [
        c.context_text()
        for path in sorted(sample_brand_path().glob("*.md"))
        for c in chunk_document(path.read_text(encoding="utf-8"), path.name)
    ]
    start = time.perf_counter()
    vectors = encoder.encode(texts)
    bulk_s = time.perf_counter() - start
    out = Path(tempfile.mkdtemp(prefix="mara-bench-kb-")) / "vectors.npy"
    np.save(out, vectors)
    print(
        json.dumps(
            {
                "load_s": load_s,
                "query_s": samples,
                "bulk_s": bulk_s,
                "n": len(texts),
                "npy": str(out),
            }
        )
    )


def run_worker(model: str | None, queries: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", model or "numpy", "--queries", str(queries)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def row(label: str, numpy_value: str, st_value: str = "", ratio: str = "") -> None:
    print(f"{label:<40}{numpy_value:>14}{st_value:>18}{ratio:>10}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per encoder")
    parser.add_argument("--queries", type=int, default=200, help="query encodings / searches")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(None if args.worker == "numpy" else args.worker, args.queries)
        return

    import numpy as np

    from knowledge.embeddings import get_encoder
    from knowledge.sample import sample_brand_path
    from knowledge.store import KnowledgeBase

    print(f"measuring each encoder in {args.runs} fresh processes …", file=sys.stderr)
    figures: dict[str, list[dict[str, Any]]] = {"numpy": [], "st": []}
    for _ in range(args.runs):  # interleaved, so that machine load hits both alike
        figures["numpy"].append(run_worker(None, args.queries))
        figures["st"].append(run_worker("all-MiniLM-L6-v2", args.queries))

    def med(kind: str, key: str) -> float:
        return statistics.median(float(f[key]) for f in figures[kind])

    def query_p(kind: str, q: float) -> float:
        return statistics.median(percentile(list(f["query_s"]), q) for f in figures[kind])

    n = int(figures["numpy"][0]["n"])
    parity = float(
        np.min(
            np.sum(np.load(figures["numpy"][0]["npy"]) * np.load(figures["st"][0]["npy"]), axis=1)
        )
    )

    fast = get_encoder()
    with tempfile.TemporaryDirectory(prefix="mara-bench-kb-") as tmp:
        kb = KnowledgeBase(Path(tmp) / "chroma", encoder=fast)
        kb.count()  # open the store outside the timing
        report = kb.ingest([sample_brand_path()])
        reingest = kb.ingest([sample_brand_path()])
        kb.search("warm up")
        search_s = []
        for i in range(args.queries):
            start = time.perf_counter()
            kb.search(QUERIES[i % len(QUERIES)], k=5)
            search_s.append(time.perf_counter() - start)

    load_np, load_st = med("numpy", "load_s"), med("st", "load_s")
    p50_np, p50_st = query_p("numpy", 0.5), query_p("st", 0.5)
    bulk_np, bulk_st = n / med("numpy", "bulk_s"), n / med("st", "bulk_s")
    print()
    row("measure (median of runs)", "numpy", "sentence-transf.", "ratio")
    row(
        "encoder import + load (fresh process)",
        f"{load_np:.3f} s",
        f"{load_st:.3f} s",
        f"{load_st / load_np:.1f}x",
    )
    row(
        "query encode p50",
        f"{p50_np * 1e3:.2f} ms",
        f"{p50_st * 1e3:.2f} ms",
        f"{p50_st / p50_np:.1f}x",
    )
    row(
        "query encode p95",
        f"{query_p('numpy', 0.95) * 1e3:.2f} ms",
        f"{query_p('st', 0.95) * 1e3:.2f} ms",
    )
    row(
        f"bulk encode ({n} sample chunks)",
        f"{bulk_np:.1f} /s",
        f"{bulk_st:.1f} /s",
        f"{bulk_np / bulk_st:.2f}x",
    )
    row("min cosine numpy vs sentence-transf.", f"{parity:.6f}")
    print()
    row(
        f"ingest sample brand ({report.chunks_added} chunks)",
        f"{report.chunks_added / report.elapsed_s:.1f} /s",
        f"{report.elapsed_s:.2f} s total",
    )
    row("re-ingest (unchanged, skipped)", f"{reingest.elapsed_s * 1e3:.1f} ms")
    row("hybrid search p50 (k=5)", f"{statistics.median(search_s) * 1e3:.2f} ms")
    row("hybrid search p95 (k=5)", f"{percentile(search_s, 0.95) * 1e3:.2f} ms")
    print("\n(ratio > 1: numpy is faster by that factor; ingest and search use the numpy encoder)")


if __name__ == "__main__":
    main()
