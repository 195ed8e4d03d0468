"""Embedding runtimes side by side: the bundled all-MiniLM-L6-v2 through CTranslate2 (float32
for queries, int8 for passages: what Mara ships) against sentence-transformers (torch, when
installed). The hand-written numpy forward pass that CTranslate2 replaced was measured by this
script in the commit "Embeddings: one CTranslate2 MiniLMEncoder …" (f26b327 on branch h15),
where it ran as a fourth runtime; its figures are in README.md and CHANGELOG.md.

Each runtime is measured in its own fresh processes (load = imports + model build + first
encode, interpreter start excluded), interleaved so that machine load hits all alike, at
equal thread counts: ``--threads`` batches at once, one core each (numpy: single-threaded
BLAS on that many worker threads; CTranslate2: that many inter-op threads of one intra-op
thread; torch: ``torch.set_num_threads``). A query is one of `mara kb eval`'s questions. Bulk is the shipped
sample brand's passages (``--copies`` times). Cosines are against sentence-transformers' own
vectors of the same texts when it is installed (else against CTranslate2 float32); recall
is ``mara kb eval`` on the labelled question set (knowledge/eval/sample_brand.yaml) with
each runtime's query vectors over int8 passages. Nothing is downloaded: sentence-transformers
loads the bundled weights from the installed package, offline.

    python benchmarks/bench_embeddings.py [--runs 3] [--queries 200] [--threads 2] [--copies 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


RUNTIMES = {
    "ct2-float32": "CTranslate2 float32",
    "ct2-int8": "CTranslate2 int8",
    "st": "sentence-transf.",
}


def available(runtime: str) -> bool:
    if runtime == "st":
        return importlib.util.find_spec("sentence_transformers") is not None
    return True


def passages(copies: int) -> list[str]:
    from knowledge.chunking import chunk_document
    from knowledge.sample import sample_brand_path

    texts = [
        c.context_text()
        for path in sorted(sample_brand_path().glob("*.md"))
        for c in chunk_document(path.read_text(encoding="utf-8"), path.name)
    ]
    return [f"{t} ({i})" if i else t for i in range(copies) for t in texts]


def make(runtime: str, threads: int) -> Any:
    """The encoder of ``runtime`` at ``threads`` (imports included: they are part of load)."""
    if runtime.startswith("ct2-"):
        from knowledge.embeddings import MiniLMEncoder

        return MiniLMEncoder(compute_type=runtime[4:], workers=threads)  # type: ignore[arg-type]
    import torch

    torch.set_num_threads(threads)
    from knowledge.embeddings import SentenceTransformersEncoder

    return SentenceTransformersEncoder("all-MiniLM-L6-v2")


def worker(runtime: str, args: argparse.Namespace) -> None:
    """Measure one runtime in this (fresh) process and print the figures as JSON."""
    import numpy as np

    start = time.perf_counter()
    encoder = make(runtime, args.threads)
    encoder.encode(["warm up"])
    load_s = time.perf_counter() - start
    from knowledge.evaluation import load_question_set

    queries = [q.text for q in load_question_set().questions]  # the labelled questions of kb eval
    samples = []
    for i in range(args.queries):
        start = time.perf_counter()
        encoder.encode([queries[i % len(queries)]])
        samples.append(time.perf_counter() - start)
    texts = passages(args.copies)
    start = time.perf_counter()
    vectors = encoder.encode(texts)
    bulk_s = time.perf_counter() - start
    out = Path(tempfile.mkdtemp(prefix="mara-bench-emb-")) / "vectors.npy"
    np.save(out, vectors)
    print(json.dumps({"load_s": load_s, "query_s": samples, "bulk_s": bulk_s, "n": len(texts),
                      "npy": str(out)}))


def run_worker(runtime: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", runtime, "--queries", str(args.queries),
           "--threads", str(args.threads), "--copies", str(args.copies)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True, env=env)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def recall(runtime: str, threads: int) -> tuple[float, float]:
    """Hybrid recall@5 and MRR of ``mara kb eval`` with ``runtime``'s query vectors over int8
    passages (the shipped default for passages)."""
    from knowledge.embeddings import MiniLMEncoder
    from knowledge.evaluation import evaluate, load_question_set
    from knowledge.sample import sample_brand_path
    from knowledge.store import KnowledgeBase

    queries = make(runtime, threads)
    with tempfile.TemporaryDirectory(prefix="mara-bench-emb-") as tmp:
        kb = KnowledgeBase(Path(tmp) / "chroma", encoder=queries)
        kb._document_encoder = MiniLMEncoder(compute_type="int8", workers=threads)
        kb.ingest([sample_brand_path()])
        hybrid = evaluate(load_question_set(), kb, k=5).method("hybrid")
    return hybrid.recall_at_k, hybrid.mrr


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per runtime")
    parser.add_argument("--queries", type=int, default=200, help="single-query encodings per process")
    parser.add_argument("--threads", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--copies", type=int, default=2, help="copies of the sample brand for bulk")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args)
        return

    import numpy as np

    runtimes = [r for r in RUNTIMES if available(r)]
    print(f"measuring {', '.join(runtimes)} in {args.runs} fresh processes each, "
          f"{args.threads} threads …", file=sys.stderr)
    figures: dict[str, list[dict[str, Any]]] = {r: [] for r in runtimes}
    for _ in range(args.runs):  # interleaved, so that machine load hits all alike
        for runtime in runtimes:
            figures[runtime].append(run_worker(runtime, args))

    def med(runtime: str, key: str) -> float:
        return statistics.median(float(f[key]) for f in figures[runtime])

    def query_p(runtime: str, q: float) -> float:
        return statistics.median(percentile(list(f["query_s"]), q) for f in figures[runtime])

    vectors = {r: np.load(figures[r][0]["npy"]) for r in runtimes}
    reference = "st" if "st" in runtimes else "ct2-float32"
    n = int(figures[runtimes[0]][0]["n"])
    scores = {r: recall(r, args.threads) for r in runtimes if r != "ct2-int8"}

    def line(label: str, values: dict[str, str]) -> None:
        print(f"{label:<34}" + "".join(f"{values.get(r, ''):>22}" for r in runtimes))

    print()
    line(f"measure ({args.threads} threads, median)", RUNTIMES)
    line("load (imports + build + 1st)", {r: f"{med(r, 'load_s'):.3f} s" for r in runtimes})
    line("query encode p50", {r: f"{query_p(r, 0.5) * 1e3:.2f} ms" for r in runtimes})
    line("query encode p95", {r: f"{query_p(r, 0.95) * 1e3:.2f} ms" for r in runtimes})
    line(f"bulk encode ({n} passages)", {r: f"{n / med(r, 'bulk_s'):.1f} /s" for r in runtimes})
    for label, agg in (("min", np.min), ("mean", np.mean)):
        line(f"{label} cosine vs {RUNTIMES[reference]}",
             {r: f"{float(agg(np.sum(vectors[r] * vectors[reference], axis=1))):.6f}" for r in runtimes})
    line("kb eval hybrid recall@5 (int8 passages)", {r: f"{scores[r][0]:.3f}" for r in scores})
    line("kb eval hybrid MRR", {r: f"{scores[r][1]:.3f}" for r in scores})
    print("\n(kb eval: each runtime encodes the queries; passages are CTranslate2 int8, the shipped default)")


if __name__ == "__main__":
    main()
