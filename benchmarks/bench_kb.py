"""Brand knowledge speed: encoder load, query encoding, ingest and hybrid search.

Side by side: Mara's numpy all-MiniLM-L6-v2 (``knowledge.embeddings.get_encoder()``) and the
same bundled model through sentence-transformers (torch), the obvious alternative. Load
times are measured in fresh processes (import + model load, interpreter start excluded).
Ingest and search run on the shipped sample brand in a temporary embedded Chroma store.

    python benchmarks/bench_kb.py [--runs 3] [--queries 200]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LOAD_NUMPY = (
    "import time; t = time.perf_counter(); "
    "from knowledge.embeddings import get_encoder; get_encoder().encode(['warm up']); "
    "print(time.perf_counter() - t)"
)
LOAD_ST = (
    "import os, time; os.environ['HF_HUB_OFFLINE'] = '1'; t = time.perf_counter(); "
    "from knowledge.embeddings import get_encoder; get_encoder('all-MiniLM-L6-v2').encode(['warm up']); "
    "print(time.perf_counter() - t)"
)
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


def child_seconds(code: str, runs: int) -> float:
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def row(label: str, numpy_value: str, st_value: str = "", ratio: str = "") -> None:
    print(f"{label:<40}{numpy_value:>14}{st_value:>18}{ratio:>10}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per load timing")
    parser.add_argument("--queries", type=int, default=200, help="query encodings / searches")
    args = parser.parse_args()

    import numpy as np

    from knowledge.chunking import chunk_document
    from knowledge.embeddings import get_encoder
    from knowledge.sample import sample_brand_path
    from knowledge.store import KnowledgeBase

    print("measuring encoder load in fresh processes …", file=sys.stderr)
    load_np = child_seconds(LOAD_NUMPY, args.runs)
    load_st = child_seconds(LOAD_ST, args.runs)

    fast, torch_enc = get_encoder(), get_encoder("all-MiniLM-L6-v2")
    queries = [QUERIES[i % len(QUERIES)] for i in range(args.queries)]

    def query_latency(encoder: object) -> list[float]:
        samples = []
        for q in queries:
            start = time.perf_counter()
            encoder.encode([q])  # type: ignore[attr-defined]
            samples.append(time.perf_counter() - start)
        return samples

    fast.encode(queries[:3])
    torch_enc.encode(queries[:3])
    q_np, q_st = query_latency(fast), query_latency(torch_enc)

    chunks = [
        c
        for path in sorted(sample_brand_path().glob("*.md"))
        for c in chunk_document(path.read_text(encoding="utf-8"), path.name)
    ]
    texts = [c.context_text() for c in chunks]
    start = time.perf_counter()
    v_np = fast.encode(texts)
    bulk_np = time.perf_counter() - start
    start = time.perf_counter()
    v_st = torch_enc.encode(texts)
    bulk_st = time.perf_counter() - start
    parity = float(np.min(np.sum(v_np * v_st, axis=1)))

    with tempfile.TemporaryDirectory(prefix="mara-bench-kb-") as tmp:
        kb = KnowledgeBase(Path(tmp) / "chroma", encoder=fast)
        kb.count()  # open the store outside the timing
        report = kb.ingest([sample_brand_path()])
        reingest = kb.ingest([sample_brand_path()])
        kb.search("warm up")
        search_s = []
        for q in queries:
            start = time.perf_counter()
            kb.search(q, k=5)
            search_s.append(time.perf_counter() - start)

    p50_np, p50_st = statistics.median(q_np), statistics.median(q_st)
    print()
    row("measure", "numpy", "sentence-transf.", "ratio")
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
        f"{percentile(q_np, 0.95) * 1e3:.2f} ms",
        f"{percentile(q_st, 0.95) * 1e3:.2f} ms",
    )
    row(
        f"bulk encode ({len(texts)} sample chunks)",
        f"{len(texts) / bulk_np:.1f} /s",
        f"{len(texts) / bulk_st:.1f} /s",
        f"{bulk_st / bulk_np:.2f}x",
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
