"""Brand knowledge: chunking, idempotent ingestion, hybrid search, errors, the sample brand."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from foundation.errors import KnowledgeError
from knowledge.bm25 import BM25Index, tokenize
from knowledge.chunking import chunk_document, count_tokens, parse_front_matter
from knowledge.sample import sample_brand_path
from knowledge.store import KnowledgeBase

# --------------------------------------------------------------------------------------
# chunking
# --------------------------------------------------------------------------------------

DOC = """---
title: Current Offers
type: offers
owner: CRM
---

# Offers

Everything marketing may promote.

## Autumn sale

20% off jackets until 30 November.

### Terms

Selected styles only.

```bash
# not a heading
echo hi
```

## Win-back

Code COMEBACK15, 15% off.
"""


def test_front_matter_becomes_metadata() -> None:
    meta, body = parse_front_matter(DOC)
    assert meta["title"] == "Current Offers" and meta["type"] == "offers"
    assert body.lstrip().startswith("# Offers")
    assert parse_front_matter("no front matter") == ({}, "no front matter")
    assert parse_front_matter("---\n: : bad yaml [\n---\ntext")[0] == {}


def test_chunks_follow_headings() -> None:
    chunks = chunk_document(DOC, "offers.md")
    headings = [c.heading for c in chunks]
    assert headings == [
        "Offers",
        "Offers > Autumn sale",
        "Offers > Autumn sale > Terms",
        "Offers > Win-back",
    ]
    assert all(c.title == "Current Offers" and c.doc_type == "offers" for c in chunks)
    assert chunks[0].metadata == {"owner": "CRM"}
    assert "# not a heading" in chunks[2].text  # fenced code is not split on '#'
    assert [c.position for c in chunks] == [0, 1, 2, 3]
    assert chunks[1].context_text().startswith("Current Offers > Offers > Autumn sale\n\n")


def test_chunk_ids_are_stable_and_distinct() -> None:
    first = chunk_document(DOC, "offers.md")
    again = chunk_document(DOC, "offers.md")
    other = chunk_document(DOC, "other.md")
    assert [c.id for c in first] == [c.id for c in again]
    assert len({c.id for c in first}) == len(first)
    assert not {c.id for c in first} & {c.id for c in other}


def test_setext_headings_and_plain_text() -> None:
    text = "Shipping\n========\n\nWe ship to ten countries.\n\nReturns\n-------\n\n60 days."
    assert [c.heading for c in chunk_document(text, "a.md")] == [
        "Shipping",
        "Shipping > Returns",
    ]
    plain = chunk_document("# not markdown here\n\nsecond paragraph", "notes.txt", fmt="text")
    assert len(plain) == 1 and plain[0].heading == "" and plain[0].title == "Notes"


@pytest.mark.parametrize("max_tokens", [16, 40, 120, 300])
def test_chunks_respect_the_token_bound(max_tokens: int) -> None:
    for path in sample_brand_path().glob("*.md"):
        chunks = chunk_document(
            path.read_text(encoding="utf-8"), path.name, max_tokens=max_tokens, overlap_tokens=8
        )
        assert chunks
        assert all(count_tokens(c.text) <= max_tokens for c in chunks), path.name
        assert all(c.token_count == count_tokens(c.text) for c in chunks)


def test_long_sections_split_with_overlap_and_table_headers() -> None:
    paragraphs = "\n\n".join(
        f"Paragraph {i} explains shipping rule number {i} in some detail." for i in range(30)
    )
    rows = "\n".join(f"| Country {i} | {i * 10} € |" for i in range(30))
    text = f"# Guide\n\n## Rules\n\n{paragraphs}\n\n## Table\n\n| Country | Threshold |\n| --- | --- |\n{rows}\n"
    chunks = chunk_document(text, "guide.md", max_tokens=80, overlap_tokens=20)
    rules = [c for c in chunks if c.heading == "Guide > Rules"]
    assert len(rules) > 3
    for before, after in zip(rules, rules[1:], strict=False):
        assert before.text.split("\n\n")[-1] == after.text.split("\n\n")[0]  # overlap
    tables = [c for c in chunks if c.heading == "Guide > Table"]
    assert len(tables) > 1
    assert all(c.text.startswith("| Country | Threshold |") for c in tables)
    joined = "\n".join(c.text for c in rules)
    assert all(f"rule number {i} " in joined for i in range(30))  # nothing lost


def test_chunking_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        chunk_document("x", "a.md", max_tokens=4)
    with pytest.raises(ValueError):
        chunk_document("x", "a.md", max_tokens=100, overlap_tokens=100)


def test_bm25_ranks_keyword_matches() -> None:
    index = BM25Index(["free shipping in Germany over 60 €", "returns within 60 days", "tents"])
    assert index.top("Germany shipping", 3)[0][0] == 0
    assert index.top("unrelated words", 3) == []
    assert tokenize("Tents weigh 1.9 kg, the 20,000 mm rating") == [
        "tent",
        "weigh",
        "1.9",
        "kg",
        "20,000",
        "mm",
        "rating",
    ]


# --------------------------------------------------------------------------------------
# the sample brand documents
# --------------------------------------------------------------------------------------


def test_sample_brand_documents_are_complete() -> None:
    folder = sample_brand_path()
    expected = {
        "voice_guide.md",
        "product_facts.md",
        "offers.md",
        "compliance.md",
        "audience_personas.md",
        "faq.md",
    }
    assert expected <= {p.name for p in folder.glob("*.md")}
    for name in expected:
        text = (folder / name).read_text(encoding="utf-8")
        meta, body = parse_front_matter(text)
        assert meta.get("title") and meta.get("type"), name
        assert 400 <= len(body.split()) <= 1600, name
    compliance = (folder / "compliance.md").read_text(encoding="utf-8")
    assert "Reply STOP to opt out" in compliance
    offers = (folder / "offers.md").read_text(encoding="utf-8")
    faq = (folder / "faq.md").read_text(encoding="utf-8")
    for threshold in ("$75", "CA$100", "£50", "60 €", "600 kr", "A$120"):
        assert threshold in offers and threshold in faq, threshold
    assert "60 days" in faq


# --------------------------------------------------------------------------------------
# knowledge base over a real embedded Chroma
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    kb = KnowledgeBase(tmp_path_factory.mktemp("kb") / "chroma")
    report = kb.ingest([sample_brand_path()])
    assert report.ok and len(report.added) == 6
    assert report.chunks_added == kb.count() > 30
    return kb


def test_sample_ingest_lists_sources(sample_kb: KnowledgeBase) -> None:
    sources = {s.source: s for s in sample_kb.sources()}
    assert set(sources) >= {"faq.md", "offers.md", "compliance.md", "voice_guide.md"}
    assert sources["offers.md"].title == "Current Offers and Promotions"
    assert sources["offers.md"].doc_type == "offers"
    assert sum(s.chunks for s in sources.values()) == sample_kb.count()


def test_reingest_is_idempotent(sample_kb: KnowledgeBase) -> None:
    before = sample_kb.count()
    calls: list[tuple[str, int, int]] = []
    report = sample_kb.ingest([sample_brand_path()], progress=lambda *a: calls.append(a))
    assert report.changed == 0 and len(report.unchanged) == 6 and not report.errors
    assert sample_kb.count() == before
    assert calls[0] == ("knowledge", 0, 6) and calls[-1] == ("knowledge", 6, 6)


QUESTIONS = [
    ("what is the SMS opt-out text", "compliance.md"),
    ("free shipping threshold in Germany", "offers.md"),
    ("how long is the return window", "faq.md"),
    ("tent weight", "product_facts.md"),
    ("which emoji can we use in an SMS", "voice_guide.md"),
    ("win-back offer code and minimum spend", "offers.md"),
    ("email unsubscribe footer", "compliance.md"),
    ("who is the family camper persona", "audience_personas.md"),
    ("how much does a zipper repair cost", "faq.md"),
    ("when does the autumn sale end", "offers.md"),
    ("is the Stormfront jacket waterproof", "product_facts.md"),
    ("GDPR consent rules for email in Germany", "compliance.md"),
    ("gold member perks", "offers.md"),
    ("which sustainability claims are allowed", "product_facts.md"),
]


@pytest.mark.parametrize(("question", "expected"), QUESTIONS)
def test_search_finds_the_right_document(
    sample_kb: KnowledgeBase, question: str, expected: str
) -> None:
    passages = sample_kb.search(question, k=3)
    assert expected in [p.source for p in passages], [(p.source, p.heading) for p in passages]
    assert all(0 < p.score <= 1 for p in passages)
    assert passages == sorted(passages, key=lambda p: -p.score)


def test_search_returns_cited_passages(sample_kb: KnowledgeBase) -> None:
    top = sample_kb.search("SMS opt-out text", k=5)
    assert len(top) == 5
    assert any("Reply STOP to opt out" in p.text for p in top)
    assert top[0].title and top[0].heading
    assert sample_kb.search("   ") == []
    assert sample_kb.search("tents", k=0) == []


def _write_docs(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "shipping.md").write_text(
        "---\ntitle: Shipping\ntype: faq\n---\n# Shipping\n\n## Sweden\n\nFree over 600 kr.\n\n"
        "## Italy\n\nFree over 60 €.\n",
        encoding="utf-8",
    )
    (folder / "notes.txt").write_text("Kayak paddles ship separately.\n", encoding="utf-8")


def test_changed_file_replaces_its_chunks(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    _write_docs(docs)
    kb = KnowledgeBase(tmp_path / "chroma")
    first = kb.ingest([docs])
    assert sorted(first.added) == ["notes.txt", "shipping.md"]
    assert kb.count() == 3  # Sweden, Italy, notes (the bare "# Shipping" heading has no text)
    (docs / "shipping.md").write_text(
        "---\ntitle: Shipping\n---\n# Shipping\n\n## Sweden\n\nFree over 600 kr.\n\n"
        "## Norway\n\nWe do not ship to Norway yet.\n",
        encoding="utf-8",
    )
    second = kb.ingest([docs])
    assert second.updated == ["shipping.md"] and second.unchanged == ["notes.txt"]
    assert second.chunks_added == 2 and second.chunks_removed == 1  # Italy went away
    texts = [p.text for p in kb.search("shipping to Italy", k=10)]
    assert not any("60 €" in t for t in texts)
    assert any("Norway" in t for t in texts)
    assert {s.source: s.chunks for s in kb.sources()} == {"notes.txt": 1, "shipping.md": 2}
    assert kb.count() == 3
    assert kb.remove("shipping.md") == 2
    assert kb.remove("shipping.md") == 0
    assert [s.source for s in kb.sources()] == ["notes.txt"]


def test_bad_files_are_reported_and_the_rest_ingested(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    _write_docs(docs)
    (docs / "empty.md").write_text("  \n", encoding="utf-8")
    (docs / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00binary")
    (docs / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (docs / "front_matter_only.md").write_text("---\ntitle: Nothing\n---\n", encoding="utf-8")
    (docs / "ignored.odt").write_bytes(b"PK\x03\x04")
    (docs / "truncated.pdf").write_bytes(b"%PDF-1.4")
    (docs / ".hidden.md").write_text("# hidden", encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "chroma")
    report = kb.ingest([docs, tmp_path / "missing", docs / "ignored.odt"])
    assert sorted(report.added) == ["notes.txt", "shipping.md"]
    errors = {e.source: e.message for e in report.errors}
    assert set(errors) == {
        "empty.md",
        "image.md",
        "latin1.txt",
        "front_matter_only.md",
        "truncated.pdf",
        Path(tmp_path / "missing").as_posix(),
        Path(docs / "ignored.odt").as_posix(),
    }
    assert "empty" in errors["empty.md"]
    assert "binary" in errors["image.md"]
    assert "UTF-8" in errors["latin1.txt"]
    assert "no such file" in errors[Path(tmp_path / "missing").as_posix()]
    assert re.search(
        r"unsupported file type '\.odt'.*\.md", errors[(docs / "ignored.odt").as_posix()]
    )
    assert "PDF" in errors["truncated.pdf"] and "accepted" in errors["truncated.pdf"]
    assert kb.count() == 3


def test_a_single_file_is_named_as_given(tmp_path: Path) -> None:
    _write_docs(tmp_path)
    kb = KnowledgeBase(tmp_path / "chroma")
    report = kb.ingest([tmp_path / "notes.txt"])
    assert report.added == [(tmp_path / "notes.txt").as_posix()]
    assert kb.search("kayak paddles", k=1)[0].source == (tmp_path / "notes.txt").as_posix()


def test_a_second_instance_sees_new_documents(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    _write_docs(docs)
    reader = KnowledgeBase(tmp_path / "chroma")
    assert reader.search("kayak") == []
    KnowledgeBase(tmp_path / "chroma").ingest([docs])
    assert reader.search("kayak paddles", k=1)[0].source == "notes.txt"


class _OtherEncoder:
    """A stand-in for a different embedding model."""

    name = "some/other-model"
    dim = 384

    def encode(self, texts, batch_size=32):  # type: ignore[no-untyped-def]
        import numpy as np

        return np.ones((len(texts), 384), dtype=np.float32) / np.sqrt(384)


def test_switching_embedding_model_is_a_clear_error(tmp_path: Path) -> None:
    _write_docs(tmp_path / "docs")
    KnowledgeBase(tmp_path / "chroma").ingest([tmp_path / "docs"])
    with pytest.raises(KnowledgeError, match="built with embedding model") as info:
        KnowledgeBase(tmp_path / "chroma", encoder=_OtherEncoder()).search("kayak")
    assert info.value.hint and "re-ingest" in info.value.hint


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_chroma_server_is_a_clear_error() -> None:
    kb = KnowledgeBase(None, host="127.0.0.1", port=_free_port())
    with pytest.raises(
        KnowledgeError, match=r"Cannot reach the Chroma server at http://127\.0\.0\.1"
    ):
        kb.search("anything")


# --------------------------------------------------------------------------------------
# a real Chroma server
# --------------------------------------------------------------------------------------


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    chroma = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "chroma"
    binary = str(chroma) if chroma.exists() else shutil.which("chroma")
    if binary is None:
        pytest.skip("the chroma CLI is not installed")
    port = _free_port()
    proc = subprocess.Popen(
        [
            binary,
            "run",
            "--path",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("chroma server did not start")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.integration
def test_chroma_server_round_trip(chroma_server: int) -> None:
    kb = KnowledgeBase(None, host="127.0.0.1", port=chroma_server)
    report = kb.ingest([sample_brand_path()])
    assert report.ok and report.changed == 6
    assert kb.ingest([sample_brand_path()]).changed == 0
    assert kb.search("free shipping threshold in Germany", k=3)[0].source in {
        "offers.md",
        "faq.md",
    }
    assert kb.remove("faq.md") > 0
    assert "faq.md" not in {s.source for s in kb.sources()}
