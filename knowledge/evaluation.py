"""Retrieval evaluation: a labelled question set, recall@k and MRR per retrieval method.

A question set is a YAML file (see ``knowledge/eval/sample_brand.yaml``)::

    name: My brand
    documents: ../docs            # optional; relative to this file
    questions:
      - q: What text must every marketing SMS end with?
        relevant:
          - {source: compliance.md, heading: SMS}   # heading: substring of the heading path
          - {source: voice_guide.md}                # any passage of this source

A retrieved passage is relevant when its source equals (or, for a path, ends with) the
labelled source and its heading path contains the labelled heading (case-insensitive).
``recall@k`` is the share of questions with a relevant passage in the top ``k``; MRR the
mean of ``1 / rank`` of the first relevant passage (0 when none is in the top ``k``).
The documents are ingested into a throw-away in-memory store, so the workspace is not
touched and every method sees the same index.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.store import KnowledgeBase, Passage, SearchMode

__all__ = [
    "METHODS",
    "EvalQuestion",
    "EvalReport",
    "MethodScore",
    "QuestionSet",
    "QuestionSetError",
    "default_question_set",
    "evaluate",
    "load_question_set",
]

#: Retrieval methods compared, in report order.
METHODS: tuple[SearchMode, ...] = ("vector", "keyword", "hybrid")


class QuestionSetError(ValueError):
    """The question file is missing or malformed; the message says what is expected."""


@dataclass(frozen=True)
class Target:
    """One passage that answers a question: its source and (part of) its heading path."""

    source: str
    heading: str = ""

    def matches(self, passage: Passage) -> bool:
        """Whether ``passage`` is this target."""
        src = passage.source.replace("\\", "/")
        if src != self.source and not src.endswith("/" + self.source):
            return False
        return self.heading.lower() in passage.heading.lower()


@dataclass(frozen=True)
class EvalQuestion:
    """A question and the passages that answer it."""

    text: str
    relevant: tuple[Target, ...]

    def first_relevant_rank(self, passages: Sequence[Passage]) -> int | None:
        """1-based rank of the first relevant passage, or ``None``."""
        for rank, passage in enumerate(passages, 1):
            if any(t.matches(passage) for t in self.relevant):
                return rank
        return None


@dataclass(frozen=True)
class QuestionSet:
    """A named list of labelled questions and, optionally, the documents they are about."""

    name: str
    questions: tuple[EvalQuestion, ...]
    documents: Path | None = None
    path: Path | None = None


@dataclass
class MethodScore:
    """Figures of one retrieval method over the question set."""

    method: str
    recall_at_k: float
    mrr: float
    p50_ms: float
    misses: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "method": self.method,
            "recall_at_k": round(self.recall_at_k, 4),
            "mrr": round(self.mrr, 4),
            "p50_ms": round(self.p50_ms, 2),
            "misses": self.misses,
        }


@dataclass
class EvalReport:
    """Recall@k and MRR per method for one question set."""

    name: str
    k: int
    questions: int
    chunks: int
    methods: list[MethodScore]

    def method(self, name: str) -> MethodScore:
        """The figures of one method (``"vector"``, ``"keyword"``, ``"hybrid"``)."""
        return next(m for m in self.methods if m.method == name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "k": self.k,
            "questions": self.questions,
            "chunks": self.chunks,
            "methods": {m.method: m.to_dict() for m in self.methods},
        }


def default_question_set() -> Path:
    """The shipped question set over the sample brand."""
    return Path(__file__).resolve().parent / "eval" / "sample_brand.yaml"


def _targets(raw: Any, where: str) -> tuple[Target, ...]:
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(Target(item))
        elif isinstance(item, dict) and isinstance(item.get("source"), str):
            out.append(Target(item["source"], str(item.get("heading") or "")))
        else:
            raise QuestionSetError(
                f"{where}: each 'relevant' entry needs a 'source' (and optionally a 'heading')"
            )
    if not out:
        raise QuestionSetError(f"{where}: 'relevant' is empty")
    return tuple(out)


def load_question_set(path: Path | str | None = None) -> QuestionSet:
    """Read a question set; :class:`QuestionSetError` when it is missing or malformed."""
    # lazy: yaml loads slowly; only this path needs it
    import yaml

    file = Path(path) if path is not None else default_question_set()
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise QuestionSetError(f"cannot read question set {file}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise QuestionSetError(f"question set {file} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise QuestionSetError(
            f"question set {file} needs a 'questions' list of {{q, relevant}} entries"
        )
    questions = []
    for n, item in enumerate(data["questions"], 1):
        where = f"{file.name}, question {n}"
        if not isinstance(item, dict) or not str(item.get("q") or "").strip():
            raise QuestionSetError(f"{where}: needs a 'q' (the question text)")
        questions.append(
            EvalQuestion(str(item["q"]).strip(), _targets(item.get("relevant"), where))
        )
    if not questions:
        raise QuestionSetError(f"question set {file} has no questions")
    docs = data.get("documents")
    return QuestionSet(
        name=str(data.get("name") or file.stem),
        questions=tuple(questions),
        documents=(file.parent / str(docs)).resolve() if docs else None,
        path=file,
    )


def evaluate(
    questions: QuestionSet,
    kb: KnowledgeBase | None = None,
    *,
    documents: Sequence[Path | str] | None = None,
    k: int = 5,
    methods: Sequence[SearchMode] = METHODS,
    embedding_precision: str = "int8",
) -> EvalReport:
    """Score every method on ``questions``.

    With ``kb`` the questions run against that knowledge base as it is; otherwise
    ``documents`` (default: the question set's own) are ingested into a fresh in-memory store,
    their passages embedded at ``embedding_precision``.
    """
    if kb is None:
        paths = (
            list(documents) if documents else ([questions.documents] if questions.documents else [])
        )
        if not paths:
            raise QuestionSetError(
                f"question set {questions.name!r} names no documents; pass --docs PATH"
            )
        kb = KnowledgeBase(
            None,
            collection_name=f"eval_{uuid.uuid4().hex[:12]}",
            embedding_precision=embedding_precision,
        )
        report = kb.ingest(paths)
        if not report.changed and not report.unchanged:
            problems = "; ".join(str(e) for e in report.errors) or "no documents found"
            raise QuestionSetError(f"nothing to evaluate against: {problems}")
    scores = []
    for method in methods:
        found, reciprocal, times, misses = 0, 0.0, [], []
        for question in questions.questions:
            start = time.perf_counter()
            passages = kb.search(question.text, k=k, mode=method)
            times.append(time.perf_counter() - start)
            rank = question.first_relevant_rank(passages)
            if rank is None:
                misses.append(question.text)
            else:
                found += 1
                reciprocal += 1.0 / rank
        n = len(questions.questions)
        times.sort()
        scores.append(
            MethodScore(
                method=method,
                recall_at_k=found / n,
                mrr=reciprocal / n,
                p50_ms=times[len(times) // 2] * 1e3,
                misses=misses,
            )
        )
    return EvalReport(
        name=questions.name,
        k=k,
        questions=len(questions.questions),
        chunks=kb.count(),
        methods=scores,
    )
