"""The brand knowledge base: Chroma vectors + in-memory BM25, fused with reciprocal rank fusion.

Embeddings are always computed by Mara's own :mod:`knowledge.embeddings` encoder (passages
in int8 by :func:`knowledge.embeddings.document_encoder` unless ``embedding_precision="float32"``) and handed
to Chroma; Chroma's default embedding function (which would download an ONNX model) never
runs. ``chromadb`` is imported on first use because its import alone costs ~0.6 s.

Ingestion is idempotent per source: each chunk's metadata carries the hash of its source
file (plus chunking settings and embedding model). An unchanged source is skipped; a changed
one is re-chunked, its new chunks upserted first and only then its stale chunks deleted, so
an interruption never leaves a source without passages.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from foundation.errors import KnowledgeError
from foundation.settings import private_dir
from knowledge.bm25 import BM25Index
from knowledge.chunking import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_OVERLAP_TOKENS,
    Chunk,
    chunk_document,
    chunk_records,
    context_text,
)
from knowledge.documents import (
    MAX_FILE_BYTES,
    DocumentError,
    DocumentLimits,
    DocumentTooLarge,
    IngestIssue,
    LoadedDocument,
    SourceFile,
    discover,
    load_document,
    read_bytes,
)
from knowledge.embeddings import PRECISIONS, Encoder, document_encoder, get_encoder

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "COLLECTION_NAME",
    "IngestIssue",
    "IngestReport",
    "KnowledgeBase",
    "Passage",
    "PROGRESS_STAGE",
    "ProgressCallback",
    "SearchMode",
    "SourceInfo",
]

COLLECTION_NAME = "brand_knowledge"
RRF_K = 60
log = logging.getLogger(__name__)

_CHUNKER_VERSION = "md-v2"  # v2: passages fit the encoder window; HTML tables in Markdown as rows
_WINDOW_ATTEMPTS = 4  # re-chunkings at 3/4 of the bound before a passage may be truncated
_MIN_CHUNK_TOKENS = 32
_PAGE = 1000
_EMBED_GROUP_CHUNKS = 256  # chunks embedded together across files (memory stays bounded)

#: ``progress(stage, done, total)``, the project-wide progress convention; ingest reports
#: stage ``"knowledge"`` with files done out of files found.
ProgressCallback = Callable[[str, int, int], None]
SearchMode = Literal["hybrid", "vector", "keyword"]
PROGRESS_STAGE = "knowledge"


@dataclass(frozen=True)
class Passage:
    """A search hit: where it comes from, the passage text and its fused score (0..1)."""

    source: str
    title: str
    heading: str
    text: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class SourceInfo:
    """One ingested source document."""

    source: str
    title: str
    doc_type: str | None
    chunks: int
    content_hash: str
    ingested_at: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass
class IngestReport:
    """What an ingest did, per source."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[IngestIssue] = field(default_factory=list)
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_embedded: int = 0
    elapsed_s: float = 0.0

    @property
    def changed(self) -> int:
        """Number of sources added or updated."""
        return len(self.added) + len(self.updated)

    @property
    def ok(self) -> bool:
        """True when no path failed."""
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [e.to_dict() for e in self.errors],
            "chunks_added": self.chunks_added,
            "chunks_removed": self.chunks_removed,
            "chunks_embedded": self.chunks_embedded,
            "elapsed_s": round(self.elapsed_s, 3),
        }


@dataclass
class _Planned:
    """A changed source, chunked and waiting to be embedded and stored."""

    source: str
    chunks: list[Chunk]
    content_hash: str
    old_ids: set[str]


@dataclass
class _Corpus:
    """Every chunk of the collection, cached for BM25 and for building passages."""

    revision: str
    ids: list[str]
    documents: list[str]
    metadatas: list[dict[str, Any]]
    bm25: BM25Index
    index: dict[str, int]


def _encoder_name(encoder: Encoder) -> str:
    return str(getattr(encoder, "name", type(encoder).__qualname__))


class KnowledgeBase:
    """Brand knowledge over Chroma, with hybrid (vector + BM25) search.

    ``path`` selects an embedded ``PersistentClient`` folder; ``host`` (and ``port``) a Chroma
    server through ``HttpClient`` instead. With neither, an in-memory client is used. The
    encoder defaults to :func:`knowledge.embeddings.get_encoder` (MiniLM through CTranslate2). Nothing
    is opened until the first call.
    """

    def __init__(
        self,
        path: Path | None,
        host: str | None = None,
        port: int = 8000,
        encoder: Encoder | None = None,
        *,
        embedding_precision: str = "int8",
        max_tokens: int = DEFAULT_MAX_TOKENS,
        overlap_tokens: int = DEFAULT_OVERLAP_TOKENS,
        collection_name: str = COLLECTION_NAME,
        max_file_bytes: int = MAX_FILE_BYTES,
        limits: DocumentLimits | None = None,
    ) -> None:
        self.path = Path(path).expanduser() if path is not None else None
        self.host = host
        self.port = int(port)
        self.max_tokens = max_tokens
        self.overlap_tokens = overlap_tokens
        self.collection_name = collection_name
        self.max_file_bytes = int(max_file_bytes)
        self.limits = limits or DocumentLimits()
        if embedding_precision not in PRECISIONS:
            raise ValueError(
                f"embedding_precision must be one of {', '.join(PRECISIONS)}, "
                f"got {embedding_precision!r}"
            )
        self.embedding_precision = embedding_precision
        self._encoder = encoder
        self._document_encoder: Encoder | None = None
        self._client: Any = None
        self._collection: Any = None
        self._corpus: _Corpus | None = None
        self._lock = threading.RLock()

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def location(self) -> str:
        """Human-readable location of the store, for messages."""
        if self.host:
            return f"Chroma server at http://{self.host}:{self.port}"
        return f"Chroma store at {self.path}" if self.path else "in-memory Chroma store"

    @property
    def encoder(self) -> Encoder:
        """The encoder used for chunks and queries (loaded on first use)."""
        if self._encoder is None:
            self._encoder = get_encoder()
        return self._encoder

    @property
    def document_encoder(self) -> Encoder:
        """The encoder for ingested passages: the int8 twin of :attr:`encoder` by default
        (same vector space, ~2x faster; see :func:`knowledge.embeddings.document_encoder`)."""
        if self._document_encoder is None:
            self._document_encoder = document_encoder(self.encoder, self.embedding_precision)
        return self._document_encoder

    @contextmanager
    def _chroma(self, action: str) -> Iterator[None]:
        """Turn any Chroma failure into a :class:`KnowledgeError` that names the store."""
        try:
            yield
        except KnowledgeError:
            raise
        except Exception as exc:  # noqa: BLE001 - chromadb raises many unrelated types
            detail = str(exc) or type(exc).__name__
            if self.host and ("connect" in detail.lower() or "connection" in detail.lower()):
                raise KnowledgeError(
                    f"Cannot reach the {self.location} to {action}: {detail}",
                    hint="Start it (e.g. `chroma run --path DIR --port PORT`) or unset "
                    "MARA_CHROMA_HOST to use the embedded store.",
                ) from exc
            raise KnowledgeError(f"The {self.location} failed to {action}: {detail}") from exc

    def _get_collection(self) -> Any:
        if self._collection is not None:
            return self._collection
        encoder = self.encoder  # outside the Chroma error translation: its errors are its own
        with self._chroma("open the knowledge base"):
            # lazy: chromadb, rich, numpy load slowly; only this path needs them
            import chromadb
            from chromadb.config import Settings

            settings = Settings(anonymized_telemetry=False)
            if self.host:
                self._client = chromadb.HttpClient(
                    host=self.host, port=self.port, settings=settings
                )
            elif self.path is not None:
                private_dir(self.path)  # 0700: Chroma's files inside stay owner-only
                self._client = chromadb.PersistentClient(path=str(self.path), settings=settings)
            else:
                self._client = chromadb.EphemeralClient(settings=settings)
            collection = self._client.get_or_create_collection(
                self.collection_name,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={
                    "embedding_model": _encoder_name(encoder),
                    "embedding_dim": int(encoder.dim),
                    "revision": uuid.uuid4().hex,
                },
            )
        self._check_model(collection)
        self._collection = collection
        return collection

    def _check_model(self, collection: Any) -> None:
        meta = dict(collection.metadata or {})
        stored, current = meta.get("embedding_model"), _encoder_name(self.encoder)
        if stored == current:
            return
        with self._chroma("read the knowledge base"):
            empty = collection.count() == 0
        if not empty:
            raise KnowledgeError(
                f"The knowledge base in the {self.location} was built with embedding model "
                f"{stored!r}, but the configured model is {current!r}.",
                hint="Set MARA_EMBEDDING_MODEL back, or delete the knowledge base and "
                "re-ingest the documents.",
            )
        meta.update(embedding_model=current, embedding_dim=int(self.encoder.dim))
        with self._chroma("update the knowledge base"):
            collection.modify(metadata=meta)

    def _fresh_metadata(self) -> dict[str, Any]:
        """The collection's metadata as stored now (another process may have changed it)."""
        self._get_collection()
        with self._chroma("read the knowledge base"):
            collection = self._client.get_collection(self.collection_name, embedding_function=None)
        return dict(collection.metadata or {})

    def _bump_revision(self) -> None:
        """Mark the collection as changed so that every process reloads its BM25 corpus."""
        meta = self._fresh_metadata()
        meta["revision"] = uuid.uuid4().hex
        with self._chroma("update the knowledge base"):
            self._get_collection().modify(metadata=meta)
        self._corpus = None

    def _all(self, include: list[str]) -> dict[str, list[Any]]:
        """Every record of the collection (paged), with the requested fields."""
        collection = self._get_collection()
        out: dict[str, list[Any]] = {"ids": [], **{key: [] for key in include}}
        offset = 0
        with self._chroma("read the knowledge base"):
            while True:
                page = collection.get(include=include, limit=_PAGE, offset=offset)
                out["ids"].extend(page["ids"])
                for key in include:
                    out[key].extend(page[key] or [])
                if len(page["ids"]) < _PAGE:
                    return out
                offset += _PAGE

    def _load_corpus(self) -> _Corpus:
        revision = str(self._fresh_metadata().get("revision", ""))
        if self._corpus is not None and self._corpus.revision == revision:
            return self._corpus
        records = self._all(["documents", "metadatas"])
        metadatas = [dict(m or {}) for m in records["metadatas"]]
        documents = [d or "" for d in records["documents"]]
        texts = [
            context_text(str(m.get("title", "")), str(m.get("heading", "")), d)
            for m, d in zip(metadatas, documents, strict=True)
        ]
        ids = list(records["ids"])
        self._corpus = _Corpus(
            revision=revision,
            ids=ids,
            documents=documents,
            metadatas=metadatas,
            bm25=BM25Index(texts),
            index={chunk_id: i for i, chunk_id in enumerate(ids)},
        )
        return self._corpus

    # -- ingest -----------------------------------------------------------------------------

    def _content_hash(self, raw: bytes) -> str:
        settings = (
            f"{_CHUNKER_VERSION}:{self.max_tokens}:{self.overlap_tokens}:"
            f"{_encoder_name(self.encoder)}"
        )
        return hashlib.sha256(settings.encode() + b"\x00" + raw).hexdigest()

    def _source_state(self) -> dict[str, tuple[str, set[str]]]:
        """source -> (content hash, chunk ids) for everything stored."""
        state: dict[str, tuple[str, set[str]]] = {}
        records = self._all(["metadatas"])
        for chunk_id, meta in zip(records["ids"], records["metadatas"], strict=True):
            meta = meta or {}
            source = str(meta.get("source", ""))
            chunk_hash = str(meta.get("source_hash", ""))
            content_hash, ids = state.get(source, (chunk_hash, set()))
            if content_hash != chunk_hash:
                content_hash = ""  # an interrupted update left mixed versions: redo it
            ids.add(chunk_id)
            state[source] = (content_hash, ids)
        return state

    def _store_chunks(
        self,
        chunks: list[Chunk],
        vectors: np.ndarray | None,
        content_hash: str | Sequence[str],
    ) -> None:
        """Upsert ``chunks`` with ``vectors``; ``None``: the chunks are stored already with
        the right vectors (same id = same source, position and text), refresh metadata only.

        ``content_hash`` is their source's hash, or one per chunk. Few large calls are much
        cheaper than many small ones (Chroma: 970 passages in 1 call 0.36 s, in 60 calls 1.5 s).
        """
        now = datetime.now(UTC).isoformat(timespec="seconds")
        model = _encoder_name(self.encoder)
        hashes = [content_hash] * len(chunks) if isinstance(content_hash, str) else content_hash
        metadatas: list[dict[str, Any]] = []
        for c, chunk_hash in zip(chunks, hashes, strict=True):
            meta: dict[str, Any] = {
                **{f"meta_{k}": v for k, v in c.metadata.items()},
                "source": c.source,
                "title": c.title,
                "heading": c.heading,
                "position": c.position,
                "token_count": c.token_count,
                "source_hash": chunk_hash,
                "ingested_at": now,
                "embedding_model": model,
            }
            if c.doc_type:
                meta["doc_type"] = c.doc_type
            metadatas.append(meta)
        collection = self._get_collection()
        with self._chroma("store passages"):
            step = max(1, min(int(self._client.get_max_batch_size()), 5000))
            for s in range(0, len(chunks), step):
                ids = [c.id for c in chunks[s : s + step]]
                if vectors is None:
                    collection.update(ids=ids, metadatas=metadatas[s : s + step])
                    continue
                collection.upsert(
                    ids=ids,
                    embeddings=vectors[s : s + step],
                    documents=[c.text for c in chunks[s : s + step]],
                    metadatas=metadatas[s : s + step],
                )

    def _delete_ids(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        collection = self._get_collection()
        with self._chroma("delete passages"):
            for s in range(0, len(ids), _PAGE):
                collection.delete(ids=list(ids[s : s + _PAGE]))

    def _chunk(self, doc: LoadedDocument, source: str) -> list[Chunk]:
        """Chunk ``doc`` so that every passage fits the encoder's window.

        ``max_tokens`` counts tiktoken tokens, the encoder counts word pieces (all-MiniLM-L6-v2
        reads 256 and drops the rest). Dense text (numbers, codes, non-English words) can
        need more word pieces than tokens, so a document with a passage that would be cut is
        chunked again with a smaller bound: every word of a passage is in its vector.
        """
        max_tokens, overlap = self.max_tokens, self.overlap_tokens
        window = getattr(self.encoder, "max_seq_length", None)
        tokenize = getattr(self.encoder, "tokenize", None)
        for _ in range(_WINDOW_ATTEMPTS):
            chunks = self._chunk_at(doc, source, max_tokens, overlap)
            if len(chunks) > self.limits.max_chunks:  # before any tokenizing or embedding
                raise self.limits.too_many_chunks(len(chunks))
            if window is None or tokenize is None or max_tokens <= _MIN_CHUNK_TOKENS:
                return chunks
            lengths = [len(ids) for ids in tokenize([c.context_text() for c in chunks])]
            if not lengths or max(lengths) < int(window):  # == window: it was truncated
                return chunks
            max_tokens = max(_MIN_CHUNK_TOKENS, int(max_tokens * 0.75))
            overlap = min(overlap, max_tokens // 4)
            log.debug(
                "%s: a passage exceeds the %s-piece window; chunking at %d tokens",
                source,
                window,
                max_tokens,
            )
        return chunks

    def _chunk_at(
        self, doc: LoadedDocument, source: str, max_tokens: int, overlap: int
    ) -> list[Chunk]:
        if doc.records is not None:
            return chunk_records(
                [(r.title, r.text, {"row": r.row}) for r in doc.records],
                source,
                max_tokens=max_tokens,
                overlap_tokens=overlap,
            )
        return chunk_document(
            doc.text,
            source,
            fmt=doc.fmt,
            max_tokens=max_tokens,
            overlap_tokens=overlap,
            title=doc.title,
            doc_type=None if doc.kind in ("markdown", "text") else doc.kind,
        )

    def _plan(
        self, file: SourceFile, state: dict[str, tuple[str, set[str]]], report: IngestReport
    ) -> _Planned | None:
        """Read, hash and chunk one file; ``None`` when it is unchanged or unusable.

        Nothing is written here, so a file that fails leaves the store as it was.
        """
        old_hash, old_ids = state.get(file.source, ("", set()))
        try:
            raw = read_bytes(file.path, self.max_file_bytes)
            if old_ids and old_hash == self._content_hash(raw):
                report.unchanged.append(file.source)
                return None
            doc = load_document(file.path, raw=raw, limits=self.limits)
            chunks = self._chunk(doc, file.source)
        except DocumentTooLarge as exc:
            report.errors.append(IngestIssue(file.source, str(exc), status=exc.status))
            return None
        except DocumentError as exc:
            report.errors.append(IngestIssue(file.source, str(exc)))
            return None
        except Exception as exc:  # noqa: BLE001 - a bug in one converter must not stop the rest
            report.errors.append(
                IngestIssue(file.source, f"could not convert ({type(exc).__name__}: {exc})")
            )
            return None
        if not chunks:
            report.errors.append(IngestIssue(file.source, "no text to index (only front matter?)"))
            return None
        return _Planned(file.source, chunks, self._content_hash(doc.raw), old_ids)

    def _commit(self, plans: list[_Planned], report: IngestReport) -> None:
        """Embed a group of planned files together (better batching), then store each.

        A chunk whose id is already stored for its source (same position and text) keeps its
        vector: only new or edited passages of a changed file are embedded again.
        """
        fresh = [[c for c in plan.chunks if c.id not in plan.old_ids] for plan in plans]
        texts = [c.context_text() for chunks in fresh for c in chunks]
        # Each encoder batches its own way (MiniLM: 4, sentence-transformers: 32).
        vectors = (self.document_encoder if texts else self.encoder).encode(texts)
        report.chunks_embedded += len(texts)
        # New passages of every file first (one upsert), then kept passages' metadata, and only
        # then the stale passages: an interruption never leaves a source without passages.
        self._store_chunks(
            [c for chunks in fresh for c in chunks],
            vectors,
            [plan.content_hash for plan, chunks in zip(plans, fresh, strict=True) for _ in chunks],
        )
        kept = [
            (c, plan.content_hash) for plan in plans for c in plan.chunks if c.id in plan.old_ids
        ]
        if kept:
            self._store_chunks([c for c, _ in kept], None, [h for _, h in kept])
        for plan in plans:
            stale = sorted(plan.old_ids - {c.id for c in plan.chunks})
            self._delete_ids(stale)
            (report.updated if plan.old_ids else report.added).append(plan.source)
            report.chunks_added += len(plan.chunks)
            report.chunks_removed += len(stale)

    def ingest(
        self, paths: Sequence[Path | str], progress: ProgressCallback | None = None
    ) -> IngestReport:
        """Ingest files and folders (Markdown, text, HTML, PDF, DOCX, CSV); idempotent per source.

        Files that cannot be read (missing, binary, not UTF-8, empty, too large, corrupt or
        encrypted, unsupported type, a duplicate source name) are listed in
        ``report.errors`` and leave their stored passages untouched; every other file is
        still ingested. Passages of a changed file that did not change keep their vectors.
        ``progress("knowledge", done, total)`` is called at the start and as each file is
        finished (stored, skipped or failed).
        """
        started = time.perf_counter()
        report = IngestReport()
        files, issues = discover(paths)
        report.errors.extend(issues)
        done = 0

        def tick(sources: Sequence[str]) -> None:
            nonlocal done
            done += len(sources)
            if progress is not None:
                progress(PROGRESS_STAGE, done, len(files))

        tick([])

        with self._lock:
            state = self._source_state() if files else {}
            group: list[_Planned] = []
            try:
                for file in files:
                    plan = self._plan(file, state, report)
                    if plan is None:
                        tick([file.source])
                        continue
                    group.append(plan)
                    if sum(len(p.chunks) for p in group) >= _EMBED_GROUP_CHUNKS:
                        self._commit(group, report)
                        tick([p.source for p in group])
                        group = []
                if group:
                    self._commit(group, report)
                    tick([p.source for p in group])
            finally:
                if report.changed:
                    self._bump_revision()
        report.elapsed_s = time.perf_counter() - started
        return report

    # -- queries ----------------------------------------------------------------------------

    def search(self, query: str, k: int = 5, *, mode: SearchMode = "hybrid") -> list[Passage]:
        """The ``k`` passages that best match ``query``.

        ``mode="hybrid"`` (default) fuses the vector and BM25 rankings by reciprocal rank
        fusion, scaled so that a passage ranked first by both scores 1.0; ``"vector"`` and
        ``"keyword"`` use one retriever alone (cosine similarity / BM25 score normalised to
        the best hit), for evaluation and comparison.
        """
        if mode not in ("hybrid", "vector", "keyword"):
            raise ValueError(f"mode must be 'hybrid', 'vector' or 'keyword', got {mode!r}")
        query = query.strip()
        if not query or k < 1:
            return []
        with self._lock:
            corpus = self._load_corpus()
            if not corpus.ids:
                return []
            n_candidates = min(len(corpus.ids), max(4 * k, 20))
            vector_hits: list[tuple[str, float]] = []
            if mode != "keyword":
                vector = self.encoder.encode([query])
                with self._chroma("search"):
                    hits = self._get_collection().query(
                        query_embeddings=vector, n_results=n_candidates, include=["distances"]
                    )
                vector_hits = [
                    (i, 1.0 - float(d))
                    for i, d in zip(hits["ids"][0], hits["distances"][0], strict=True)
                    if i in corpus.index
                ]
            keyword_hits: list[tuple[str, float]] = []
            if mode != "vector":
                keyword_hits = [(corpus.ids[i], s) for i, s in corpus.bm25.top(query, n_candidates)]
            if mode == "vector":
                best = vector_hits[:k]
            elif mode == "keyword":
                top_score = keyword_hits[0][1] if keyword_hits else 1.0
                best = [(i, s / top_score) for i, s in keyword_hits[:k]]
            else:
                fused: dict[str, float] = {}
                for ranking in (vector_hits, keyword_hits):
                    for rank, (chunk_id, _) in enumerate(ranking):
                        fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank + 1)
                top = 2.0 / (RRF_K + 1)
                best = [
                    (i, s / top) for i, s in sorted(fused.items(), key=lambda item: -item[1])[:k]
                ]
            passages = []
            for chunk_id, score in best:
                i = corpus.index[chunk_id]
                meta = corpus.metadatas[i]
                passages.append(
                    Passage(
                        source=str(meta.get("source", "")),
                        title=str(meta.get("title", "")),
                        heading=str(meta.get("heading", "")),
                        text=corpus.documents[i],
                        score=round(min(1.0, max(0.0, score)), 4),
                    )
                )
            return passages

    def sources(self) -> list[SourceInfo]:
        """Every ingested source with its title, type, chunk count and content hash."""
        with self._lock:
            records = self._all(["metadatas"])
        grouped: dict[str, list[dict[str, Any]]] = {}
        for meta in records["metadatas"]:
            meta = meta or {}
            grouped.setdefault(str(meta.get("source", "")), []).append(meta)
        out = []
        for source, metas in sorted(grouped.items()):
            first = metas[0]
            out.append(
                SourceInfo(
                    source=source,
                    title=str(first.get("title", "")),
                    doc_type=str(first["doc_type"]) if first.get("doc_type") else None,
                    chunks=len(metas),
                    content_hash=str(first.get("source_hash", "")),
                    ingested_at=str(max(str(m.get("ingested_at", "")) for m in metas)),
                )
            )
        return out

    def remove(self, source: str) -> int:
        """Delete every passage of ``source``; return how many were deleted (0 if unknown)."""
        with self._lock:
            collection = self._get_collection()
            with self._chroma("read the knowledge base"):
                ids = list(collection.get(where={"source": source}, include=[])["ids"])
            self._delete_ids(ids)
            if ids:
                self._bump_revision()
            return len(ids)

    def count(self) -> int:
        """Number of stored passages (chunks)."""
        collection = self._get_collection()
        with self._chroma("read the knowledge base"):
            return int(collection.count())
