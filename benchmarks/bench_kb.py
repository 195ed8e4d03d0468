"""Brand knowledge speed: encoder load, query encoding, ingest and hybrid search.

Side by side: Mara's all-MiniLM-L6-v2 through CTranslate2 (``knowledge.embeddings.get_encoder()``)
and the same bundled model through sentence-transformers (torch), the obvious alternative
(``bench_embeddings.py`` compares the runtimes in more detail, at equal thread counts). Each
encoder is measured in its own fresh processes (load = import + model load + first encode,
interpreter start excluded), interleaved so machine load hits both alike. Ingest and search run on the shipped sample brand in a temporary embedded Chroma store.

Then, side by side on the labelled question set (knowledge/eval/sample_brand.yaml): recall@5,
MRR and search latency of vector-only, BM25-only and hybrid retrieval; ingest throughput
(chunks/s, embedding included) split into its parts; and hybrid search latency over a
synthetic 10,000-chunk store (random unit vectors stored directly, so no 10-minute embed).

    python benchmarks/bench_kb.py [--runs 3] [--queries 200] [--skip-encoders] [--scale 10000]

Ingest throughput is bound by the encoder: all-MiniLM-L6-v2 costs ~21 MFLOP per token
(6 layers x 2 x 1.77 M weights), so a ~100-token chunk is ~2 GFLOP; float32 runs near the
float32 GEMM rate of the machine (measure it: this script prints both). Passages are
therefore embedded with int8 matrix products (``knowledge.embeddings.document_encoder``), and
the ingest table shows int8 (default) and float32 side by side, with the recall both give.
Chroma upserts plus chunking are ~15x faster than embedding. Re-ingesting an edited file
embeds only the passages that changed.
"""

from __future__ import annotations

import argparse
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
    cmd = [sys.executable, __file__, "--worker", model or "bundled", "--queries", str(queries)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def row(label: str, numpy_value: str, st_value: str = "", ratio: str = "") -> None:
    print(f"{label:<44}{numpy_value:>14}{st_value:>18}{ratio:>12}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per encoder")
    parser.add_argument("--queries", type=int, default=200, help="query encodings / searches")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument(
        "--skip-encoders", action="store_true", help="skip the Mara vs sentence-transformers part"
    )
    parser.add_argument(
        "--scale", type=int, default=10_000, help="chunks for the search-at-scale part"
    )
    parser.add_argument(
        "--copies", type=int, default=10, help="copies of the sample brand for the large ingest"
    )
    args = parser.parse_args()
    if args.worker:
        worker(None if args.worker == "bundled" else args.worker, args.queries)
        return
    if not args.skip_encoders:
        compare_encoders(args)
    retrieval_and_ingest(args)


def compare_encoders(args: argparse.Namespace) -> None:
    """Mara's encoder vs sentence-transformers; ingest and search of the sample brand."""

    import numpy as np

    from knowledge.embeddings import get_encoder
    from knowledge.sample import sample_brand_path
    from knowledge.store import KnowledgeBase

    print(f"measuring each encoder in {args.runs} fresh processes …", file=sys.stderr)
    figures: dict[str, list[dict[str, Any]]] = {"mara": [], "st": []}
    for _ in range(args.runs):  # interleaved, so that machine load hits both alike
        figures["mara"].append(run_worker(None, args.queries))
        figures["st"].append(run_worker("all-MiniLM-L6-v2", args.queries))

    def med(kind: str, key: str) -> float:
        return statistics.median(float(f[key]) for f in figures[kind])

    def query_p(kind: str, q: float) -> float:
        return statistics.median(percentile(list(f["query_s"]), q) for f in figures[kind])

    n = int(figures["mara"][0]["n"])
    parity = float(
        np.min(
            np.sum(np.load(figures["mara"][0]["npy"]) * np.load(figures["st"][0]["npy"]), axis=1)
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

    load_np, load_st = med("mara", "load_s"), med("st", "load_s")
    p50_np, p50_st = query_p("mara", 0.5), query_p("st", 0.5)
    bulk_np, bulk_st = n / med("mara", "bulk_s"), n / med("st", "bulk_s")
    print()
    row("measure (median of runs)", "CTranslate2", "sentence-transf.", "ratio")
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
        f"{query_p('mara', 0.95) * 1e3:.2f} ms",
        f"{query_p('st', 0.95) * 1e3:.2f} ms",
    )
    row(
        f"bulk encode ({n} sample chunks)",
        f"{bulk_np:.1f} /s",
        f"{bulk_st:.1f} /s",
        f"{bulk_np / bulk_st:.2f}x",
    )
    row("min cosine Mara vs sentence-transf.", f"{parity:.6f}")
    print()
    row(
        f"ingest sample brand ({report.chunks_added} chunks)",
        f"{report.chunks_added / report.elapsed_s:.1f} /s",
        f"{report.elapsed_s:.2f} s total",
    )
    row("re-ingest (unchanged, skipped)", f"{reingest.elapsed_s * 1e3:.1f} ms")
    row("hybrid search p50 (k=5)", f"{statistics.median(search_s) * 1e3:.2f} ms")
    row("hybrid search p95 (k=5)", f"{percentile(search_s, 0.95) * 1e3:.2f} ms")
    print(
        "\n(ratio > 1: Mara's encoder is faster by that factor; search encodes queries in float32, "
        "ingest embeds passages in int8, see below)"
    )


def retrieval_and_ingest(args: argparse.Namespace) -> None:
    """Recall and latency per retrieval method, ingest throughput, search at scale."""
    import numpy as np

    from knowledge.chunking import chunk_document
    from knowledge.embeddings import document_encoder, get_encoder
    from knowledge.evaluation import evaluate, load_question_set
    from knowledge.sample import sample_brand_path
    from knowledge.store import KnowledgeBase

    encoder = get_encoder()
    encoder.encode(["warm up"])
    int8 = document_encoder(encoder, "int8")
    int8.encode(["warm up"])
    qset = load_question_set()
    with tempfile.TemporaryDirectory(prefix="mara-bench-kb-") as tmp:
        kb = KnowledgeBase(Path(tmp) / "chroma", encoder=encoder)
        kb.count()
        report = kb.ingest([sample_brand_path()])
        quality = evaluate(qset, kb, k=5)
        exact = KnowledgeBase(Path(tmp) / "float32", encoder=encoder, embedding_precision="float32")
        exact.count()
        report_f32 = exact.ingest([sample_brand_path()])
        quality_f32 = evaluate(qset, exact, k=5)

        # a larger ingest: the sample brand copied N times (each copy its own source)
        corpus = Path(tmp) / "corpus"
        for i in range(args.copies):
            folder = corpus / f"brand-{i:02d}"
            folder.mkdir(parents=True)
            for path in sample_brand_path().glob("*.md"):
                text = path.read_text(encoding="utf-8")
                (folder / path.name).write_text(f"{text}\n\nRevision {i}.\n", encoding="utf-8")
        large: dict[str, Any] = {}
        for precision in ("int8", "float32"):
            store = KnowledgeBase(
                Path(tmp) / f"large-{precision}", encoder=encoder, embedding_precision=precision
            )
            store.count()
            large[precision] = store.ingest([corpus])

        # the parts of an ingest: chunking, embedding, storing
        start = time.perf_counter()
        chunks = [
            c
            for path in sorted(sample_brand_path().glob("*.md"))
            for c in chunk_document(path.read_text(encoding="utf-8"), path.name)
        ]
        chunk_s = time.perf_counter() - start
        texts = [c.context_text() for c in chunks] * 4
        tokens = sum(len(ids) for ids in encoder.tokenize(texts))  # type: ignore[attr-defined]
        start = time.perf_counter()
        vectors = encoder.encode(texts)[: len(chunks)]
        embed_s = time.perf_counter() - start
        start = time.perf_counter()
        int8_vectors = int8.encode(texts)[: len(chunks)]
        embed_int8_s = time.perf_counter() - start
        cosine = float(np.min(np.sum(vectors * int8_vectors, axis=1)))
        store = KnowledgeBase(Path(tmp) / "store-only", encoder=encoder)
        store.count()
        start = time.perf_counter()
        store._store_chunks(chunks, vectors, "bench")
        store_s = time.perf_counter() - start

        # an edited document: only its changed passages are embedded again
        docs = Path(tmp) / "docs"
        docs.mkdir()
        for path in sample_brand_path().glob("*.md"):
            (docs / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
        edit = KnowledgeBase(Path(tmp) / "edit", encoder=encoder)
        edit.ingest([docs])
        faq = docs / "faq.md"
        faq.write_text(faq.read_text(encoding="utf-8") + "\n## New question\n\nA new answer.\n")
        edited = edit.ingest([docs])

        scale_p50 = scale_n = 0.0
        if args.scale:
            big = KnowledgeBase(Path(tmp) / "scale", encoder=encoder)
            big.count()
            rng = np.random.default_rng(7)
            words = " ".join(c.text for c in chunks).split()
            synthetic = []
            for i in range(args.scale):
                base = chunks[i % len(chunks)]
                picked = rng.choice(len(words), size=60)
                text = " ".join(words[j] for j in picked)
                synthetic.append(
                    type(base)(
                        id=f"syn{i}",
                        source=f"synthetic/{i // 50}.md",
                        title=base.title,
                        heading=base.heading,
                        position=i % 50,
                        text=text,
                        token_count=80,
                    )
                )
            vecs = rng.standard_normal((args.scale, encoder.dim)).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            big._store_chunks(synthetic, vecs, "synthetic")
            big._bump_revision()
            big.search("warm up")
            lat = []
            for i in range(min(args.queries, 100)):
                start = time.perf_counter()
                big.search(QUERIES[i % len(QUERIES)], k=5)
                lat.append(time.perf_counter() - start)
            scale_p50, scale_n = statistics.median(lat), big.count()

    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(1).standard_normal((1024, 384)).astype(np.float32)
    w = np.random.default_rng(2).standard_normal((384, 1536)).astype(np.float32)
    with threadpool_limits(1, user_api="blas"):
        a @ w
        start = time.perf_counter()
        for _ in range(10):
            a @ w
        gemm = 10 * 2 * a.shape[0] * a.shape[1] * w.shape[1] / (time.perf_counter() - start)
    flop_per_chunk = 2 * 10.6e6 * 100  # ~100 word pieces per sample chunk

    n = report.chunks_added
    print()
    print(f"retrieval on {quality.questions} labelled questions ({quality.chunks} chunks, k=5)")
    row("method", "recall@5", "MRR", "p50 search")
    labels = {"vector": "vector only", "keyword": "BM25 only", "hybrid": "hybrid (RRF)"}
    for m in quality.methods:
        row(labels[m.method], f"{m.recall_at_k:.3f}", f"{m.mrr:.3f}", f"{m.p50_ms:.1f} ms")
    for m in quality_f32.methods:
        if m.method != "keyword":
            row(
                f"{labels[m.method]}, float32 passages",
                f"{m.recall_at_k:.3f}",
                f"{m.mrr:.3f}",
                f"{m.p50_ms:.1f} ms",
            )
    print()
    row("ingest (embedding incl.)", "int8 (default)", "float32", "ratio")
    row(
        f"  sample brand, fresh ({n} chunks)",
        f"{n / report.elapsed_s:.1f} /s",
        f"{report_f32.chunks_added / report_f32.elapsed_s:.1f} /s",
        f"{report_f32.elapsed_s / report.elapsed_s:.2f}x",
    )
    big_n = large["int8"].chunks_added
    row(
        f"  {args.copies} copies of it ({big_n} chunks)",
        f"{big_n / large['int8'].elapsed_s:.1f} /s",
        f"{large['float32'].chunks_added / large['float32'].elapsed_s:.1f} /s",
        f"{large['float32'].elapsed_s / large['int8'].elapsed_s:.2f}x",
    )
    row(
        f"  embedding only ({len(texts)} passages)",
        f"{len(texts) / embed_int8_s:.1f} /s",
        f"{len(texts) / embed_s:.1f} /s",
        f"{embed_s / embed_int8_s:.2f}x",
    )
    row(
        f"  word pieces embedded ({tokens / len(texts):.0f} per passage)",
        f"{tokens / embed_int8_s:,.0f} /s",
        f"{tokens / embed_s:,.0f} /s",
    )
    row("  min cosine int8 vs float32 passage", f"{cosine:.4f}")
    row("  chunking only", f"{len(chunks) / chunk_s:.0f} /s")
    row("  Chroma upsert only", f"{len(chunks) / store_s:.0f} /s")
    cores = min(4, os.cpu_count() or 1)  # the encoder's default worker threads
    row(
        f"float32 GEMM, 1 thread × {cores} cores (ceiling)",
        f"{gemm / 1e9:.0f} GFLOP/s",
        f"~{cores * gemm / flop_per_chunk:.0f} chunks/s max",
    )
    row(
        f"re-ingest after editing faq.md ({edited.chunks_embedded} embedded)",
        f"{edited.elapsed_s:.2f} s",
        f"{edited.chunks_added} chunks kept",
    )
    if args.scale:
        row(f"hybrid search p50 over {int(scale_n):,} chunks", f"{scale_p50 * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
