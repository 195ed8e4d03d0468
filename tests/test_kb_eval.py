"""Retrieval quality on the labelled sample-brand questions, and the `mara kb` commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.evaluation import (
    EvalReport,
    QuestionSetError,
    default_question_set,
    evaluate,
    load_question_set,
)
from knowledge.sample import sample_brand_path
from knowledge.store import KnowledgeBase


@pytest.fixture(scope="module")
def sample_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    kb = KnowledgeBase(tmp_path_factory.mktemp("kb-eval") / "chroma")
    assert kb.ingest([sample_brand_path()]).ok
    return kb


@pytest.fixture(scope="module")
def report(sample_kb: KnowledgeBase) -> EvalReport:
    return evaluate(load_question_set(), sample_kb, k=5)


def test_question_set_is_large_and_labelled() -> None:
    qset = load_question_set()
    assert len(qset.questions) >= 40
    assert qset.documents == sample_brand_path()
    sources = {t.source for q in qset.questions for t in q.relevant}
    assert sources == {
        p.name for p in sample_brand_path().glob("*.md")
    }  # every document asked about
    assert len({q.text for q in qset.questions}) == len(qset.questions)


def test_every_label_points_at_a_real_passage(sample_kb: KnowledgeBase) -> None:
    from knowledge.chunking import chunk_document

    headings = {
        (p.name, c.heading.lower())
        for p in sample_brand_path().glob("*.md")
        for c in chunk_document(p.read_text(encoding="utf-8"), p.name)
    }
    for question in load_question_set().questions:
        for target in question.relevant:
            assert any(
                src == target.source and target.heading.lower() in heading
                for src, heading in headings
            ), (question.text, target)


def test_hybrid_recall_at_5_is_at_least_0_9(report: EvalReport) -> None:
    hybrid = report.method("hybrid")
    assert hybrid.recall_at_k >= 0.9, hybrid.misses
    assert 0 < hybrid.mrr <= hybrid.recall_at_k
    # fusion is never worse than its weaker retriever, and helps keyword search a lot
    assert hybrid.recall_at_k >= min(m.recall_at_k for m in report.methods)
    assert hybrid.recall_at_k >= report.method("keyword").recall_at_k
    assert {m.method for m in report.methods} == {"vector", "keyword", "hybrid"}


def test_float32_passages_score_alike(report: EvalReport) -> None:
    """The default int8 passage vectors lose nothing the question set can measure."""
    exact = evaluate(load_question_set(), k=5, embedding_precision="float32")
    assert exact.method("hybrid").recall_at_k >= 0.9
    for method in ("vector", "hybrid"):
        assert abs(exact.method(method).recall_at_k - report.method(method).recall_at_k) <= 0.05
        assert abs(exact.method(method).mrr - report.method(method).mrr) <= 0.05


def test_report_json_shape(report: EvalReport) -> None:
    doc = report.to_dict()
    assert doc["k"] == 5 and doc["questions"] >= 40 and doc["chunks"] > 30
    for method in ("vector", "keyword", "hybrid"):
        figures = doc["methods"][method]
        assert 0.0 <= figures["recall_at_k"] <= 1.0 and 0.0 <= figures["mrr"] <= 1.0


def test_search_modes(sample_kb: KnowledgeBase) -> None:
    for mode in ("vector", "keyword", "hybrid"):
        hits = sample_kb.search("Reply STOP to opt out", k=3, mode=mode)  # type: ignore[arg-type]
        assert len(hits) == 3 and all(0 <= h.score <= 1 for h in hits)
        assert hits == sorted(hits, key=lambda h: -h.score)
    with pytest.raises(ValueError, match="mode must be"):
        sample_kb.search("x", mode="fuzzy")  # type: ignore[arg-type]


def test_bad_question_sets(tmp_path: Path) -> None:
    with pytest.raises(QuestionSetError, match="cannot read"):
        load_question_set(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("questions:\n  - q: no label\n", encoding="utf-8")
    with pytest.raises(QuestionSetError, match="needs a 'source'"):
        load_question_set(bad)
    bad.write_text("just: a mapping\n", encoding="utf-8")
    with pytest.raises(QuestionSetError, match="'questions' list"):
        load_question_set(bad)
    assert default_question_set().exists()


def test_a_question_set_about_other_documents(tmp_path: Path) -> None:
    """The evaluator works on any documents: here a tiny style guide it has never seen."""
    docs = tmp_path / "guide"
    docs.mkdir()
    (docs / "style.md").write_text(
        "# Style\n\n## Numbers\n\nSpell out one to nine; use numerals for 10 and above.\n\n"
        "## Dates\n\nWrite 3 March 2026, never 03/03/26.\n",
        encoding="utf-8",
    )
    qfile = tmp_path / "questions.yaml"
    qfile.write_text(
        "name: tiny guide\ndocuments: guide\nquestions:\n"
        "  - q: how do we format dates\n    relevant: [{source: style.md, heading: Dates}]\n"
        "  - q: when to write numbers as words\n    relevant: [{source: style.md, heading: Numbers}]\n",
        encoding="utf-8",
    )
    result = evaluate(load_question_set(qfile), k=1)
    assert result.questions == 2 and result.chunks == 2
    assert result.method("hybrid").recall_at_k == 1.0


# --------------------------------------------------------------------------------------
# the CLI, as a user runs it
# --------------------------------------------------------------------------------------


def _mara(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MARA_", "OPENAI_"))}
    env["MARA_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=home.parent,
    )


@pytest.mark.integration
def test_kb_commands_end_to_end(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "shipping.md").write_text("# Shipping\n\n## Sweden\n\nFree over 600 kr.\n", "utf-8")
    (docs / "catalog.csv").write_text("name,price\nRidgeline 2P Tent,$399\n", "utf-8")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\nnope")

    run = _mara("kb", "ingest", str(docs), "--json", home=home)
    assert run.returncode == 1  # one file failed; the rest is in
    doc = json.loads(run.stdout)
    assert sorted(doc["added"]) == ["catalog.csv", "shipping.md"]
    assert doc["errors"][0]["source"] == "broken.pdf" and "PDF" in doc["errors"][0]["message"]

    run = _mara("kb", "sources", "--json", home=home)
    assert run.returncode == 0, run.stderr
    assert {s["source"]: s["chunks"] for s in json.loads(run.stdout)} == {
        "catalog.csv": 1,
        "shipping.md": 1,
    }

    run = _mara("kb", "remove", "catalog.csv", "--json", home=home)
    assert run.returncode == 0 and json.loads(run.stdout) == {"source": "catalog.csv", "removed": 1}
    run = _mara("kb", "remove", "catalog", home=home)
    assert run.returncode == 1 and "No source named 'catalog'" in run.stderr
    assert "mara kb sources" in run.stderr and run.stdout == ""

    run = _mara("kb", "eval", "--precision", "fp16", home=home)
    assert run.returncode != 0 and "--precision 'fp16' is not an embedding precision" in run.stderr
    assert "int8 or float32" in run.stderr

    run = _mara("kb", "eval", "--json", home=home)
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout)
    assert figures["questions"] >= 40 and figures["methods"]["hybrid"]["recall_at_k"] >= 0.9
