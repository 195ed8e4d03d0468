"""Ingesting HTML, PDF, DOCX and CSV catalogs; bad input never stops a folder or half-writes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from knowledge.chunking import chunk_document
from knowledge.documents import (
    DocumentError,
    LoadedDocument,
    discover,
    load_document,
)
from knowledge.store import KnowledgeBase

# --------------------------------------------------------------------------------------
# tiny realistic files, made with the same libraries users' tools would produce
# --------------------------------------------------------------------------------------

HTML = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Alder &amp; Peak Care Guide</title>
  <style>body { font-family: sans-serif; }</style>
  <script>var tracking = "ignore me";</script>
</head>
<body>
<nav><a href="/">Home</a> <a href="/shop">Shop</a></nav>
<h1>Care Guide</h1>
<p>How to keep your gear going for years.</p>
<h2>Down jackets</h2>
<p>Wash on a gentle cycle at 30&nbsp;°C with a down-specific detergent.</p>
<ul><li>Tumble dry low with two clean tennis balls.</li><li>Never dry-clean.</li></ul>
<h3>Storage</h3>
<p>Store uncompressed,<br>in a dry place.</p>
<h2>Tents</h2>
<table>
  <tr><th>Model</th><th>Re-proof every</th></tr>
  <tr><td>Ridgeline 2P</td><td>2 seasons</td></tr>
</table>
<pre># not a heading
keep   spacing</pre>
<p># 1 tip: this paragraph starts with a hash.</p>
</body>
</html>
"""


def make_pdf(
    pages: list[list[str]],
    *,
    title: str | None = None,
    outline: list[tuple[int, str]] | None = None,
    password: str | None = None,
) -> bytes:
    """A text PDF written with pypdf (Helvetica text, one line per entry)."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    font_ref = writer._add_object(font)
    for lines in pages:
        page = writer.add_blank_page(612, 792)
        ops = ["BT", "/F1 11 Tf", "14 TL", "72 720 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({escaped}) Tj T*")
        ops.append("ET")
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops).encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font_ref})}
        )
    if title:
        writer.add_metadata({"/Title": title})
    for page_number, text in outline or []:
        writer.add_outline_item(title=text, page_number=page_number)
    if password:
        writer.encrypt(user_password=password, algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_docx() -> bytes:
    """A Word document written with python-docx: title, headings, a list and a table."""
    import docx

    document = docx.Document()
    document.core_properties.title = "Retail Playbook"
    document.add_heading("Retail Playbook", level=0)
    document.add_paragraph("How our stores greet and help customers.")
    document.add_heading("Greeting", level=1)
    document.add_paragraph("Say hello within ten seconds; no scripted sales pitch.")
    document.add_heading("Fitting boots", level=2)
    document.add_paragraph("Measure both feet in the afternoon.", style="List Bullet")
    document.add_paragraph("Offer the Trailhead insole trial.", style="List Bullet")
    document.add_heading("Returns desk", level=1)
    table = document.add_table(rows=2, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Case", "Action"
    table.rows[1].cells[0].text, table.rows[1].cells[1].text = "No receipt", "Look up by e-mail"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


CATALOG = (
    "sku,product_name,category,price_usd,weight_kg,description\n"
    "AP-T2,Ridgeline 2P Tent,Tents,399,1.9,Freestanding 3-season tent with two doors\n"
    'AP-J1,Stormfront Jacket,Jackets,249,0.45,"Waterproof 3-layer shell, 20,000 mm"\n'
    ",,,,,\n"
    "AP-S1,Ember -5 Sleeping Bag,Sleeping,289,1.1,Down-filled bag rated to -5 °C\n"
)


# --------------------------------------------------------------------------------------
# converters
# --------------------------------------------------------------------------------------


def test_html_headings_become_the_heading_path(tmp_path: Path) -> None:
    path = tmp_path / "care.html"
    path.write_text(HTML, encoding="utf-8")
    doc = load_document(path)
    assert doc.title == "Alder & Peak Care Guide" and doc.kind == "html"
    assert "tracking" not in doc.text and "font-family" not in doc.text and "Shop" not in doc.text
    chunks = chunk_document(doc.text, "care.html", title=doc.title, doc_type="html")
    by_heading = {c.heading: c.text for c in chunks}
    assert "30 °C" in by_heading["Care Guide > Down jackets"]
    assert "- Tumble dry low" in by_heading["Care Guide > Down jackets"]
    assert "Store uncompressed" in by_heading["Care Guide > Down jackets > Storage"]
    tents = by_heading["Care Guide > Tents"]
    assert "| Model | Re-proof every |" in tents and "| Ridgeline 2P | 2 seasons |" in tents
    assert "# not a heading\nkeep   spacing" in tents  # preformatted text kept verbatim
    assert "1 tip: this paragraph starts with a hash." in tents  # not taken for a heading
    assert all(c.title == "Alder & Peak Care Guide" for c in chunks)


def test_html_in_a_declared_legacy_charset(tmp_path: Path) -> None:
    page = '<html><head><meta charset="windows-1252"><title>Caf\xe9</title></head><body><p>Cr\xe8me br\xfbl\xe9e</p></body></html>'
    path = tmp_path / "legacy.htm"
    path.write_bytes(page.encode("cp1252"))
    doc = load_document(path)
    assert doc.title == "Café" and "Crème brûlée" in doc.text


def test_pdf_text_with_outline_headings(tmp_path: Path) -> None:
    path = tmp_path / "service.pdf"
    path.write_bytes(
        make_pdf(
            [
                ["Returns Policy", "You can return unused gear within 60 days."],
                ["Repairs", "A zipper repair costs $15 and takes two weeks."],
            ],
            title="Service Guide",
            outline=[(0, "Returns"), (1, "Repairs")],
        )
    )
    doc = load_document(path)
    assert doc.title == "Service Guide" and doc.kind == "pdf"
    chunks = chunk_document(doc.text, "service.pdf", title=doc.title)
    assert [c.heading for c in chunks] == ["Returns", "Repairs"]
    assert "60 days" in chunks[0].text and "$15" in chunks[1].text


def test_pdf_without_outline_is_cited_by_page(tmp_path: Path) -> None:
    path = tmp_path / "flyer.pdf"
    path.write_bytes(make_pdf([["Autumn sale: 20% off jackets."], ["Ends 30 November."]]))
    chunks = chunk_document(load_document(path).text, "flyer.pdf")
    assert [c.heading for c in chunks] == ["Page 1", "Page 2"]


def test_docx_styles_become_headings_lists_and_tables(tmp_path: Path) -> None:
    path = tmp_path / "playbook.docx"
    path.write_bytes(make_docx())
    doc = load_document(path)
    assert doc.title == "Retail Playbook" and doc.kind == "docx"
    chunks = chunk_document(doc.text, "playbook.docx", title=doc.title)
    by_heading = {c.heading: c.text for c in chunks}
    assert "ten seconds" in by_heading["Greeting"]
    assert "- Measure both feet" in by_heading["Greeting > Fitting boots"]
    assert "| No receipt | Look up by e-mail |" in by_heading["Returns desk"]


def test_csv_catalog_is_one_record_per_row(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text(CATALOG, encoding="utf-8")
    doc = load_document(path)
    assert doc.records is not None
    assert [r.title for r in doc.records] == [
        "Ridgeline 2P Tent",
        "Stormfront Jacket",
        "Ember -5 Sleeping Bag",
    ]
    jacket = doc.records[1]
    assert jacket.row == 2
    assert "description: Waterproof 3-layer shell, 20,000 mm" in jacket.text
    assert "price_usd: 249" in jacket.text


def test_csv_semicolons_and_name_column_detection(tmp_path: Path) -> None:
    path = tmp_path / "eu.csv"
    path.write_text("Artikel;Name des Produkts;Preis\n1;Wanderschuh Alp;129 €\n", encoding="utf-8")
    doc = load_document(path)
    assert doc.records is not None and doc.records[0].title == "Wanderschuh Alp"
    assert "Preis: 129 €" in doc.records[0].text


# --------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "broken.pdf",
            b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage",
            "corrupt or unreadable PDF",
        ),
        ("fake.pdf", b"this is not a pdf at all", "not a PDF file"),
        ("empty.pdf", b"", "empty file"),
        ("blank.html", b"   \n  ", "empty file"),
        ("scripts.html", b"<html><script>x()</script></html>", "no text in the HTML"),
        ("broken.docx", b"PK\x03\x04 not really a zip", "corrupt or unreadable DOCX"),
        ("latin1.csv", "name\ncaf\xe9\n".encode("latin-1"), "not UTF-8 CSV"),
        ("header_only.csv", b"name,price\n", "without data rows"),
        ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00binary", "binary file"),
    ],
)
def test_bad_files_get_clear_errors(
    tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentError, match=expected) as info:
        load_document(path)
    assert "accepted" in str(info.value) or "empty" in str(info.value)


def test_encrypted_and_scanned_pdfs(tmp_path: Path) -> None:
    locked = tmp_path / "locked.pdf"
    locked.write_bytes(make_pdf([["Secret pricing"]], password="s3cret"))
    with pytest.raises(DocumentError, match="password-protected PDF; accepted"):
        load_document(locked)
    scanned = tmp_path / "scan.pdf"
    scanned.write_bytes(make_pdf([[]]))
    with pytest.raises(DocumentError, match="no extractable text"):
        load_document(scanned)


def test_unsupported_and_oversized_files(tmp_path: Path) -> None:
    odt = tmp_path / "notes.odt"
    odt.write_bytes(b"PK...")
    with pytest.raises(DocumentError, match=r"unsupported file type '\.odt'; accepted: .*\.pdf"):
        load_document(odt)
    big = tmp_path / "big.txt"
    big.write_text("word " * 1000, encoding="utf-8")
    with pytest.raises(DocumentError, match=r"file too large .* the limit is"):
        load_document(big, max_bytes=1000)
    assert isinstance(load_document(big), LoadedDocument)


def test_duplicate_source_names_are_refused(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "faq.md").write_text(f"# FAQ {folder}\n\ntext", encoding="utf-8")
    files, issues = discover([tmp_path / "a", tmp_path / "b"])
    assert [f.source for f in files] == ["faq.md"]
    assert len(issues) == 1 and "duplicate source name" in issues[0].message


# --------------------------------------------------------------------------------------
# end to end through the knowledge base
# --------------------------------------------------------------------------------------


def _mixed_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "care.html").write_text(HTML, encoding="utf-8")
    (folder / "service.pdf").write_bytes(
        make_pdf(
            [["Returns Policy", "You can return unused gear within 60 days."]],
            title="Service Guide",
            outline=[(0, "Returns")],
        )
    )
    (folder / "playbook.docx").write_bytes(make_docx())
    (folder / "catalog.csv").write_text(CATALOG, encoding="utf-8")


def test_mixed_folder_ingests_and_searches(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    _mixed_folder(docs)
    (docs / "corrupt.pdf").write_bytes(b"%PDF-1.4\nnot really")
    (docs / "empty.docx").write_bytes(b"")
    kb = KnowledgeBase(tmp_path / "chroma", max_tokens=120, overlap_tokens=20)
    report = kb.ingest([docs])
    assert sorted(report.added) == ["care.html", "catalog.csv", "playbook.docx", "service.pdf"]
    errors = {e.source: e.message for e in report.errors}
    assert set(errors) == {"corrupt.pdf", "empty.docx"}
    assert "PDF" in errors["corrupt.pdf"] and "empty" in errors["empty.docx"]
    assert not {"corrupt.pdf", "empty.docx"} & {s.source for s in kb.sources()}

    sources = {s.source: s for s in kb.sources()}
    assert sources["catalog.csv"].chunks == 3 and sources["catalog.csv"].doc_type == "catalog"
    assert sources["care.html"].title == "Alder & Peak Care Guide"
    assert sources["service.pdf"].doc_type == "pdf"

    hit = kb.search("Stormfront Jacket waterproof rating", k=3)[0]
    assert (hit.source, hit.title) == ("catalog.csv", "Stormfront Jacket")
    assert "20,000 mm" in hit.text
    care = kb.search("how to wash a down jacket", k=3)
    assert care[0].source == "care.html" and care[0].heading == "Care Guide > Down jackets"
    assert kb.search("how long is the returns window", k=3)[0].source == "service.pdf"
    assert kb.search("greeting customers in store", k=3)[0].source == "playbook.docx"

    again = kb.ingest([docs])
    assert again.changed == 0 and len(again.unchanged) == 4


def test_a_file_that_breaks_keeps_its_old_passages(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    _mixed_folder(docs)
    kb = KnowledgeBase(tmp_path / "chroma")
    kb.ingest([docs])
    before = {s.source: s.chunks for s in kb.sources()}
    (docs / "service.pdf").write_bytes(b"%PDF-1.4\ntruncated by a bad upload")
    report = kb.ingest([docs])
    assert [e.source for e in report.errors] == ["service.pdf"]
    assert {s.source: s.chunks for s in kb.sources()} == before  # nothing half-written
    assert kb.search("return unused gear 60 days", k=1)[0].source == "service.pdf"


def test_changed_catalog_reuses_vectors_of_unchanged_rows(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "catalog.csv").write_text(CATALOG, encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "chroma")
    kb.ingest([docs])
    (docs / "catalog.csv").write_text(
        CATALOG.replace("Stormfront Jacket,Jackets,249", "Stormfront Jacket,Jackets,199"),
        encoding="utf-8",
    )
    report = kb.ingest([docs])
    assert report.updated == ["catalog.csv"]
    assert report.chunks_embedded == 1  # only the changed row was embedded again
    assert kb.count() == 3
    hit = kb.search("Stormfront Jacket price", k=1)[0]
    assert "price_usd: 199" in hit.text


def test_html_nested_tables_and_list_paragraphs_keep_their_text(tmp_path: Path) -> None:
    path = tmp_path / "layout.html"
    path.write_text(
        "<h2>Sizes</h2><ul><li><p>Boots run <b>true</b> to size</p></li></ul>"
        "<table><tr><td>outer<table><tr><td>inner A</td><td>inner B</td></tr></table></td>"
        "<td>right</td></tr><tr><td>z</td><td>w</td></tr></table>",
        encoding="utf-8",
    )
    text = load_document(path).text
    assert "- Boots run true to size" in text
    assert "| outer inner A inner B | right |" in text and "| z | w |" in text


def test_an_interrupted_update_is_redone_on_the_next_ingest(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "catalog.csv").write_text(CATALOG, encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "chroma")
    kb.ingest([docs])
    collection = kb._get_collection()
    first = collection.get(limit=1, include=["metadatas"])
    meta = dict(first["metadatas"][0], source_hash="from-an-older-version")
    collection.update(ids=first["ids"], metadatas=[meta])  # as if a crash hit mid-update
    report = kb.ingest([docs])
    assert report.updated == ["catalog.csv"] and report.chunks_embedded == 0
    assert kb.ingest([docs]).unchanged == ["catalog.csv"]


def test_a_chroma_server_that_is_down_fails_ingest_clearly(tmp_path: Path) -> None:
    import socket

    from foundation.errors import KnowledgeError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    (tmp_path / "a.md").write_text("# A\n\ntext", encoding="utf-8")
    kb = KnowledgeBase(None, host="127.0.0.1", port=port)
    with pytest.raises(KnowledgeError, match=r"Cannot reach the Chroma server") as info:
        kb.ingest([tmp_path / "a.md"])
    assert info.value.hint and "MARA_CHROMA_HOST" in info.value.hint


def test_dense_passages_are_chunked_to_fit_the_embedding_window(tmp_path: Path) -> None:
    """Codes and numbers need more word pieces than tiktoken tokens: nothing may be cut off."""
    from knowledge.chunking import context_text, count_tokens
    from knowledge.embeddings import MiniLMEncoder

    sizes = " ".join(
        f"Artikelnummer AP-{i:04d}-ÜBK wiegt {i * 0.37:.2f} kg (Größe {40 + i % 9})."
        for i in range(12)
    )
    assert count_tokens(sizes) < 300  # one passage by the tiktoken bound alone
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "groessen.md").write_text(f"# Größentabelle\n\n{sizes}\n", encoding="utf-8")

    kb = KnowledgeBase(tmp_path / "chroma", embedding_precision="float32")
    report = kb.ingest([docs])
    assert report.added == ["groessen.md"] and report.chunks_added >= 2

    counter = MiniLMEncoder()
    counter._tokenizer.no_truncation()
    corpus = kb._load_corpus()
    texts = [
        context_text(str(m["title"]), str(m["heading"]), d)
        for d, m in zip(corpus.documents, corpus.metadatas, strict=True)
    ]
    assert max(len(ids) for ids in counter.tokenize(texts)) < counter.max_seq_length
    assert "AP-0011-ÜBK" in " ".join(corpus.documents)  # the last item is still stored
    assert kb.ingest([docs]).unchanged == ["groessen.md"]  # and the result is stable


def test_html_tables_inside_markdown_are_chunked_as_tables(tmp_path: Path) -> None:
    """Style guides embed HTML tables: passages get Markdown rows under their header, no tags."""
    rows = "\n".join(
        f"<tr><td>{word} term {i}</td><td>Use plain word {i} instead; it reads faster.</td></tr>"
        for i, word in enumerate(["utilize", "leverage", "facilitate", "commence"] * 15)
    )
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "words.md").write_text(
        "# Words to avoid\n\n<table>\n<tr><th>Instead of</th><th>Write</th></tr>\n"
        f"{rows}\n</table>\n\n```html\n<table><tr><td>kept as code</td></tr></table>\n```\n",
        encoding="utf-8",
    )
    kb = KnowledgeBase(tmp_path / "chroma", embedding_precision="float32")
    report = kb.ingest([docs])
    assert report.chunks_added >= 3  # 60 rows do not fit one passage
    passages = kb._load_corpus().documents
    table_parts = [p for p in passages if "utilize term" in p or "commence term" in p]
    assert len(table_parts) >= 3
    for passage in table_parts:
        outside_code = passage.split("```")[0]
        assert "<td" not in outside_code and "<tr" not in outside_code
        assert passage.startswith("| Instead of | Write |\n| --- | --- |")
    assert any("<table><tr><td>kept as code</td></tr></table>" in p for p in passages)
    assert [p.source for p in kb.search("should I write utilize", k=1)] == ["words.md"]
