"""Finding and reading the documents to ingest: Markdown, text, HTML, PDF, DOCX, CSV catalogs.

Every format is turned into one :class:`LoadedDocument`: either Markdown-like text that
:func:`knowledge.chunking.chunk_document` cuts along its headings (HTML headings, DOCX
"Heading N" styles and PDF outlines become Markdown headings, so every chunk carries its
heading path), or -- for CSV product catalogs -- one :class:`Record` per row.

Anything wrong with a file raises :class:`DocumentError` with a message that says what is
wrong and what is accepted; nothing is written for that file and the other files of a
folder are still ingested.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from foundation.errors import DocumentError
from knowledge.chunking import TextFormat

__all__ = [
    "MAX_FILE_BYTES",
    "SUPPORTED_SUFFIXES",
    "DocumentError",
    "DocumentLimits",
    "DocumentTooLarge",
    "IngestIssue",
    "LoadedDocument",
    "Record",
    "SourceFile",
    "discover",
    "load_document",
    "read_bytes",
    "read_document",
]

#: File suffix -> document kind.
SUPPORTED_SUFFIXES: dict[str, str] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    ".csv": "csv",
}
_ACCEPTED = ", ".join(SUPPORTED_SUFFIXES)
_BINARY_SNIFF_BYTES = 8192
#: Files larger than this are refused (a clear message, not an out-of-memory error).
MAX_FILE_BYTES = 50 * 1024 * 1024

# Lines that the Markdown chunker would take for headings or setext underlines.
_LOOKS_LIKE_HEADING = re.compile(r"^ {0,3}(#{1,6}[ \t]|=+[ \t]*$|-+[ \t]*$|(```|~~~))")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


class DocumentTooLarge(DocumentError):
    """A document over one of the caps of :class:`DocumentLimits` (a "document bomb").

    ``setting`` names the ``MARA_KB_MAX_*`` variable; ``status`` is the HTTP answer for an
    upload: 413 for the unpacked size, 422 for too many paragraphs or passages.
    """

    def __init__(self, message: str, *, setting: str, status: int) -> None:
        super().__init__(message)
        self.setting = setting
        self.status = status
        self.http_status = status


@dataclass(frozen=True)
class DocumentLimits:
    """Caps that stop a small file from unpacking into hours of embedding (issue 14).

    Checked while a document is read and chunked, *before* anything is embedded. The
    defaults hold brand documents of hundreds of pages; settings ``MARA_KB_MAX_*`` change them.
    """

    max_decompressed_bytes: int = 50 * 1024 * 1024
    max_paragraphs: int = 20_000
    max_chunks: int = 2_000

    def too_big(self, what: str, size: int) -> DocumentTooLarge:
        """The error for unpacked content of ``size`` bytes (or more) over the byte cap."""
        return DocumentTooLarge(
            f"too large: {what} unpacks to more than {self.max_decompressed_bytes:,} bytes "
            f"({size:,}+), over the cap MARA_KB_MAX_DECOMPRESSED_BYTES; split the document or "
            "raise the setting",
            setting="MARA_KB_MAX_DECOMPRESSED_BYTES",
            status=413,
        )

    def too_many_paragraphs(self, count: int) -> DocumentTooLarge:
        """The error for a document with ``count`` (or more) paragraphs."""
        return DocumentTooLarge(
            f"too many paragraphs: {count:,}+, over the cap of {self.max_paragraphs:,} "
            "(MARA_KB_MAX_PARAGRAPHS); split the document or raise the setting",
            setting="MARA_KB_MAX_PARAGRAPHS",
            status=422,
        )

    def too_many_chunks(self, count: int) -> DocumentTooLarge:
        """The error for a document cut into ``count`` (or more) passages."""
        return DocumentTooLarge(
            f"too many passages: {count:,}+, over the cap of {self.max_chunks:,} per document "
            "(MARA_KB_MAX_CHUNKS); split the document or raise the setting",
            setting="MARA_KB_MAX_CHUNKS",
            status=422,
        )

    def check_text(self, doc: LoadedDocument) -> None:
        """Refuse a converted document whose text or paragraph count is over the caps."""
        if len(doc.text) > self.max_decompressed_bytes:
            raise self.too_big("its text", len(doc.text))
        if doc.records is not None:
            paragraphs = len(doc.records)
        else:
            paragraphs = sum(1 for block in _BLOCKS.split(doc.text) if block.strip())
        if paragraphs > self.max_paragraphs:
            raise self.too_many_paragraphs(paragraphs)


_BLOCKS = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True)
class IngestIssue:
    """A path that was not ingested, and why."""

    source: str
    message: str
    #: HTTP status for an upload refused by a cap (413 size, 422 count); None otherwise.
    status: int | None = None

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"source": self.source, "message": self.message}

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


@dataclass(frozen=True)
class SourceFile:
    """A file to ingest and the source name it is stored under."""

    path: Path
    source: str

    @property
    def kind(self) -> str:
        """``"markdown"``, ``"text"``, ``"html"``, ``"pdf"``, ``"docx"`` or ``"csv"``."""
        return SUPPORTED_SUFFIXES.get(self.path.suffix.lower(), "text")

    @property
    def fmt(self) -> TextFormat:
        """How the file's text is chunked: ``"text"`` for plain text, else ``"markdown"``."""
        return "text" if self.kind == "text" else "markdown"


@dataclass(frozen=True)
class Record:
    """One row of a CSV catalog: its title (the product name) and its fields as text."""

    title: str
    text: str
    row: int
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadedDocument:
    """A file read and converted: text to chunk (or catalog records) plus its raw bytes."""

    raw: bytes = field(repr=False)
    text: str
    fmt: TextFormat
    kind: str
    title: str | None = None
    records: list[Record] | None = None


# --------------------------------------------------------------------------------------
# discovery
# --------------------------------------------------------------------------------------


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(Path(folder) / name)
    return found


def discover(paths: Sequence[Path | str]) -> tuple[list[SourceFile], list[IngestIssue]]:
    """Expand files and folders into the files to ingest.

    A folder contributes its files of a supported type (recursively, hidden files and
    folders skipped), each named by its path relative to that folder. A file is named by
    its path as given. Missing paths, files of other types and a second file claiming a
    source name already taken (e.g. ``faq.md`` in two folders) are returned as issues.
    """
    files: list[SourceFile] = []
    issues: list[IngestIssue] = []
    seen: set[Path] = set()
    names: dict[str, Path] = {}

    def add(path: Path, source: str) -> None:
        key = path.resolve()
        if key in seen:
            return
        seen.add(key)
        if source in names:
            issues.append(
                IngestIssue(
                    source,
                    f"duplicate source name: {path.as_posix()} and {names[source].as_posix()} "
                    "would both be stored as this source; ingest the folders one at a time "
                    "or rename one file",
                )
            )
            return
        names[source] = path
        files.append(SourceFile(path=path, source=source))

    for raw in paths:
        path = Path(raw).expanduser()
        given = Path(os.path.normpath(path)).as_posix()
        if path.is_dir():
            for file in _walk(path):
                add(file, file.relative_to(path).as_posix())
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                add(path, given)
            else:
                issues.append(
                    IngestIssue(
                        given,
                        f"unsupported file type {path.suffix or '(none)'!r}; accepted: {_ACCEPTED}",
                    )
                )
        else:
            issues.append(IngestIssue(given, "no such file or folder"))
    return files, issues


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------


def read_bytes(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The file's bytes; :class:`DocumentError` when unreadable, empty or over ``max_bytes``."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentError(
                f"file too large ({size / 1e6:.1f} MB); the limit is {max_bytes / 1e6:.0f} MB "
                "per file: split it into smaller documents"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot read file: {exc.strerror or exc}") from exc
    if not raw.strip():
        raise DocumentError("empty file: nothing to index")
    return raw


def _decode_text(raw: bytes, what: str, encoding: str | None = None) -> str:
    if b"\x00" in raw[:_BINARY_SNIFF_BYTES]:
        raise DocumentError(
            f"binary file, not {what}; accepted: UTF-8 text ({_ACCEPTED}), PDF, DOCX"
        )
    try:
        text = raw.decode(encoding or "utf-8-sig")
    except (UnicodeDecodeError, LookupError) as exc:
        offset = (
            f" (invalid byte at offset {exc.start})" if isinstance(exc, UnicodeDecodeError) else ""
        )
        raise DocumentError(
            f"not UTF-8 {what}{offset}; save it as UTF-8 (accepted: UTF-8 {_ACCEPTED})"
        ) from exc
    if not text.strip():
        raise DocumentError("empty file: nothing to index")
    return text


def read_document(path: Path, max_bytes: int = MAX_FILE_BYTES) -> tuple[str, bytes]:
    """Read a UTF-8 text document; return ``(text, raw bytes)``.

    Raises :class:`DocumentError` for unreadable, binary, non-UTF-8, empty or too large files.
    """
    raw = read_bytes(path, max_bytes)
    return _decode_text(raw, "text"), raw


def _escape_line(line: str) -> str:
    """Keep converted body text from being read as a Markdown heading or fence."""
    return "\\" + line.lstrip() if _LOOKS_LIKE_HEADING.match(line) else line


def _escape_block(text: str) -> str:
    return "\n".join(_escape_line(line) for line in text.split("\n"))


def _heading(level: int, text: str) -> str:
    text = _SPACES.sub(" ", text).strip().lstrip("#").strip()
    return f"{'#' * max(1, min(level, 6))} {text}" if text else ""


def _md_table(rows: list[list[str]], header: bool) -> str:
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    cells = [
        [_SPACES.sub(" ", c.replace("|", "/")).strip() for c in r] + [""] * (width - len(r))
        for r in rows
    ]
    lines = ["| " + " | ".join(r) + " |" for r in cells]
    if header and len(lines) > 1:
        lines.insert(1, "| " + " | ".join("---" for _ in range(width)) + " |")
    return "\n".join(lines)


# -- HTML ------------------------------------------------------------------------------

_HTML_SKIP = {"script", "style", "noscript", "template", "svg", "nav", "iframe", "head"}
_HTML_BLOCK = {
    "p", "div", "section", "article", "main", "header", "footer", "aside", "blockquote",
    "ul", "ol", "dl", "dt", "dd", "figure", "figcaption", "form", "fieldset", "address",
    "details", "summary", "hr", "body", "html",
}  # fmt: skip
_HTML_VOID = {"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "wbr", "source"}
_META_CHARSET = re.compile(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_\-]+)", re.IGNORECASE)


class _HTMLToMarkdown(HTMLParser):
    """HTML -> Markdown-ish text: headings, paragraphs, list items, tables, preformatted."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.title = ""
        self.first_h1 = ""
        self._buf: list[str] = []
        self._skip: list[str] = []
        self._in_title = False
        self._heading = 0
        self._pre = 0
        self._list_item = False
        self._table: list[list[str]] | None = None
        self._nested_tables = 0  # tables inside a table cell are flattened into that cell
        self._table_header = False
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    # text flow ---------------------------------------------------------------------
    def _flush(self) -> None:
        text = "".join(self._buf)
        self._buf = []
        if self._pre:
            return
        text = _SPACES.sub(" ", text.replace("\n", " ")).strip()
        if not text:
            return
        if self._heading:
            block = _heading(self._heading, text)
            if self._heading == 1 and not self.first_h1:
                self.first_h1 = _SPACES.sub(" ", text).strip()
        else:
            block = _escape_line(("- " if self._list_item else "") + text)
        self._list_item = False
        if block:
            self.blocks.append(block)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":  # read even though the rest of <head> is skipped
            self._in_title = True
            return
        if tag == "body" and "head" in self._skip:  # an unclosed <head>
            self._skip.clear()
        if self._skip:
            if tag not in _HTML_VOID:
                self._skip.append(tag)
            return
        if tag in _HTML_SKIP:
            self._skip.append(tag)
            return
        if self._cell is not None and (self._nested_tables or tag not in ("td", "th", "tr")):
            if tag == "table":
                self._nested_tables += 1
            self._cell.append(" ")
            return
        if tag in ("td", "th"):
            if self._row is None:
                self._row = []
            self._cell = []
            if tag == "th" and self._table is not None and not self._table:
                self._table_header = True
            return
        if tag == "tr":
            self._row = []
            return
        if tag == "table":
            self._flush()
            self._table, self._table_header = [], False
            return
        if re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading = int(tag[1])
        elif tag == "pre":
            self._flush()
            self._pre += 1
        elif tag == "li":
            self._flush()
            self._list_item = True
        elif tag == "br":
            if self._pre:
                self._buf.append("\n")
            else:
                self._flush()
        elif tag in _HTML_BLOCK:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
            return
        if self._skip:
            if tag == self._skip[-1]:
                self._skip.pop()
            elif tag in self._skip:
                while self._skip and self._skip.pop() != tag:
                    pass
            return
        if self._nested_tables and self._cell is not None:
            if tag == "table":
                self._nested_tables -= 1
            self._cell.append(" ")
            return
        if tag in ("td", "th"):
            if self._cell is not None and self._row is not None:
                self._row.append("".join(self._cell))
            self._cell = None
            return
        if tag == "tr":
            if self._row is not None and self._table is not None:
                self._table.append(self._row)
            elif self._row:
                self.blocks.append(_escape_line(" | ".join(c.strip() for c in self._row)))
            self._row = None
            return
        if tag == "table":
            if self._row:
                self._table = (self._table or []) + [self._row]
            if self._table:
                table = _md_table(self._table, self._table_header)
                if table:
                    self.blocks.append(table)
            self._table, self._row, self._cell = None, None, None
            return
        if self._cell is not None:
            return
        if re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading = 0
        elif tag == "pre" and self._pre:
            code = "".join(self._buf).strip("\n")
            self._buf = []
            self._pre -= 1
            if code.strip():
                self.blocks.append(f"```\n{code.replace('```', 'ʼʼʼ')}\n```")
        elif tag == "li" or tag in _HTML_BLOCK:
            self._flush()
            if tag == "li":
                self._list_item = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
            return
        if self._skip:
            return
        if self._cell is not None:
            self._cell.append(data)
        else:
            self._buf.append(data)

    def result(self) -> str:
        self._flush()
        if self._table:
            self.blocks.append(_md_table(self._table, self._table_header))
        return "\n\n".join(b for b in self.blocks if b)


def _load_html(raw: bytes) -> LoadedDocument:
    encoding = None
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        declared = _META_CHARSET.search(raw[:4096])
        if declared:
            encoding = declared.group(1).decode("ascii")
    text = _decode_text(raw, "HTML", encoding)
    parser = _HTMLToMarkdown()
    try:
        parser.feed(text)
        parser.close()
        body = parser.result()
    except Exception as exc:  # noqa: BLE001 - html.parser is lenient; anything else is a bug
        raise DocumentError(f"cannot parse HTML: {exc}") from exc
    if not body.strip():
        raise DocumentError(
            "no text in the HTML body (only markup or scripts?); accepted: HTML pages with visible text"
        )
    title = _SPACES.sub(" ", parser.title).strip() or parser.first_h1 or None
    return LoadedDocument(raw=raw, text=body, fmt="markdown", kind="html", title=title)


# -- PDF -------------------------------------------------------------------------------


def _pdf_outline(reader: Any) -> list[tuple[int, int, str]]:
    """``(page index, depth, title)`` of the PDF's bookmarks, in document order."""
    out: list[tuple[int, int, str]] = []

    def walk(items: list[Any], depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception:  # noqa: BLE001 - broken bookmarks are ignored
                continue
            title = _SPACES.sub(" ", str(getattr(item, "title", "") or "")).strip()
            if title and page is not None and page >= 0:
                out.append((int(page), depth, title))

    try:
        walk(list(reader.outline), 1)
    except Exception:  # noqa: BLE001
        return []
    return sorted(out, key=lambda t: t[0])


def _load_pdf(raw: bytes, limits: DocumentLimits | None = None) -> LoadedDocument:
    limits = limits or DocumentLimits()
    accepted = "accepted: unencrypted PDFs with a text layer"
    try:
        # lazy: optional dependency (its ImportError is handled here)
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError as exc:  # pragma: no cover - pypdf is a dependency
        raise DocumentError("reading PDF needs the 'pypdf' package (pip install pypdf)") from exc
    if not raw.lstrip()[:5] == b"%PDF-":
        raise DocumentError(f"not a PDF file (no %PDF header); {accepted}")
    try:
        reader = PdfReader(io.BytesIO(raw), strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except Exception as exc:  # noqa: BLE001 - missing crypto backend, bad password
                raise DocumentError(
                    f"encrypted PDF that cannot be opened without a password; {accepted}"
                ) from exc
            if not opened:
                raise DocumentError(f"password-protected PDF; {accepted}")
        pages: list[str] = []
        extracted = 0
        for page in reader.pages:  # stop at the cap, not after extracting everything
            pages.append(page.extract_text() or "")
            extracted += len(pages[-1])
            if extracted > limits.max_decompressed_bytes:
                raise limits.too_big("the PDF's text", extracted)
        outline = _pdf_outline(reader)
        meta = reader.metadata
        title = str(meta.title).strip() if meta is not None and meta.title else None
    except DocumentError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise DocumentError(
            f"corrupt or unreadable PDF ({exc or type(exc).__name__}); {accepted}"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types on broken files
        raise DocumentError(
            f"corrupt or unreadable PDF ({type(exc).__name__}: {exc}); {accepted}"
        ) from exc
    if not any(p.strip() for p in pages):
        raise DocumentError(
            "the PDF has no extractable text (a scanned image?); OCR it first. " + accepted
        )
    blocks: list[str] = []
    marks = {page: [(d, t) for p, d, t in outline if p == page] for page, _, _ in outline}
    for index, page_text in enumerate(pages):
        if outline:
            for depth, title_text in marks.get(index, []):
                blocks.append(_heading(depth, title_text))
        else:
            blocks.append(_heading(1, f"Page {index + 1}"))
        body = "\n".join(line.rstrip() for line in page_text.replace("\r", "\n").split("\n"))
        if body.strip():
            blocks.append(_escape_block(body.strip()))
    return LoadedDocument(
        raw=raw, text="\n\n".join(b for b in blocks if b), fmt="markdown", kind="pdf", title=title
    )


# -- DOCX ------------------------------------------------------------------------------

_DOCX_HEADING = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)


_DOCX_PARAGRAPH = re.compile(rb"<w:p[ >/]")
_SCAN_BYTES = 1 << 20


def _check_zip(raw: bytes, limits: DocumentLimits, what: str) -> None:
    """Refuse a DOCX/XLSX-style zip whose members unpack past the caps, before parsing it.

    The members' declared sizes bound what :mod:`zipfile` will ever return (it stops at the
    declared size and checks the CRC), so summing them is an honest upper bound. The main
    document part is then streamed once to count paragraphs without building an XML tree.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # the loader reports a corrupt file with its own message
    with archive:
        members = archive.infolist()
        total = sum(max(0, m.file_size) for m in members)
        if total > limits.max_decompressed_bytes:
            raise limits.too_big(what, total)
        names = {m.filename for m in members}
        if "word/document.xml" not in names:
            return
        count, tail = 0, b""
        with archive.open("word/document.xml") as part:
            while block := part.read(_SCAN_BYTES):
                window = tail + block
                count += len(_DOCX_PARAGRAPH.findall(window)) - len(_DOCX_PARAGRAPH.findall(tail))
                tail = window[-8:]
                if count > limits.max_paragraphs:
                    raise limits.too_many_paragraphs(count)


def _load_docx(raw: bytes, limits: DocumentLimits | None = None) -> LoadedDocument:
    limits = limits or DocumentLimits()
    accepted = "accepted: Word .docx files (Word 2007 or later; save .doc files as .docx)"
    try:
        # lazy: optional dependency (its ImportError is handled here)
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph
    except ImportError as exc:  # pragma: no cover - python-docx is a dependency
        raise DocumentError("reading DOCX needs the 'python-docx' package") from exc
    _check_zip(raw, limits, "the DOCX")
    try:
        document = docx.Document(io.BytesIO(raw))
        blocks: list[str] = []
        title = (document.core_properties.title or "").strip() or None
        seen = 0
        for item in document.iter_inner_content():
            seen += 1
            if seen > limits.max_paragraphs:  # any namespace prefix: counted again here
                raise limits.too_many_paragraphs(seen)
            if isinstance(item, Paragraph):
                text = _SPACES.sub(" ", item.text).strip()
                if not text:
                    continue
                style = (item.style.name if item.style is not None else "") or ""
                level = _DOCX_HEADING.match(style.strip())
                if style.strip().lower() == "title":  # the document title, above Heading 1
                    title = title or text
                elif level:
                    blocks.append(_heading(int(level.group(1)), text))
                elif "list" in style.lower():
                    blocks.append(_escape_line(f"- {text}"))
                else:
                    blocks.append(_escape_block(text))
            elif isinstance(item, Table):
                rows = [[cell.text for cell in row.cells] for row in item.rows]
                table = _md_table(rows, header=True)
                if table:
                    blocks.append(table)
    except DocumentError:
        raise
    except Exception as exc:  # noqa: BLE001 - zipfile/lxml/python-docx raise many types
        raise DocumentError(
            f"corrupt or unreadable DOCX ({type(exc).__name__}: {exc}); {accepted}"
        ) from exc
    text = "\n\n".join(b for b in blocks if b)
    if not text.strip():
        raise DocumentError("the DOCX has no text; " + accepted)
    return LoadedDocument(raw=raw, text=text, fmt="markdown", kind="docx", title=title)


# -- CSV catalogs ----------------------------------------------------------------------

_NAME_COLUMNS = ("product_name", "product", "name", "title", "item_name", "item", "model")


def _norm(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")


def _name_column(headers: list[str]) -> str:
    normalized = {_norm(h): h for h in headers}
    for candidate in _NAME_COLUMNS:
        if candidate in normalized:
            return normalized[candidate]
    for header in headers:
        if "name" in _norm(header) or "title" in _norm(header):
            return header
    return headers[0]


def _load_csv(raw: bytes) -> LoadedDocument:
    text = _decode_text(raw, "CSV")
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise DocumentError(
            f"malformed CSV at line {reader.line_num}: {exc}; accepted: a CSV with a header row"
        ) from exc
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise DocumentError(
            "CSV catalog without data rows; accepted: a header row and one row per product"
        )
    headers = [h.strip() or f"column {i + 1}" for i, h in enumerate(rows[0])]
    name_col = _name_column(headers)
    records: list[Record] = []
    for number, row in enumerate(rows[1:], start=1):
        fields = {
            h: _SPACES.sub(" ", v).strip()
            for h, v in zip(headers, row, strict=False)
            if v and v.strip()
        }
        if not fields:
            continue
        name = fields.get(name_col) or f"Row {number}"
        body = "\n".join(f"{h}: {v}" for h, v in fields.items())
        records.append(Record(title=name, text=body, row=number, fields=fields))
    return LoadedDocument(raw=raw, text="", fmt="text", kind="csv", records=records)


# -- dispatch --------------------------------------------------------------------------


_FENCED = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
_TABLE_TAG = re.compile(r"<(/?)table\b[^>]*>", re.IGNORECASE)


def _html_table_to_markdown(html: str) -> str:
    parser = _HTMLToMarkdown()
    parser.feed(html)
    parser.close()
    return parser.result()


def html_tables_to_markdown(text: str) -> str:
    """Raw HTML ``<table>`` blocks in Markdown become Markdown tables (fenced code is left alone).

    Style guides often embed HTML tables; as markup they would be chunked mid-tag and embedded
    as noise, as Markdown rows they are split with their header row kept.
    """
    out: list[str] = []
    pos = 0
    for fence in [*_FENCED.finditer(text), None]:
        end = fence.start() if fence is not None else len(text)
        out.append(_convert_tables(text[pos:end]))
        if fence is not None:
            out.append(fence.group(0))
            pos = fence.end()
    return "".join(out)


def _convert_tables(text: str) -> str:
    out: list[str] = []
    pos = depth = 0
    start = -1
    for tag in _TABLE_TAG.finditer(text):
        if not tag.group(1):
            if depth == 0:
                start = tag.start()
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                out.append(text[pos:start])
                table = _html_table_to_markdown(text[start : tag.end()])
                out.append(f"\n\n{table}\n\n" if table else "")
                pos = tag.end()
    out.append(text[pos:])  # an unclosed <table> stays as it was
    return "".join(out)


def _load_markdown(raw: bytes) -> LoadedDocument:
    text = html_tables_to_markdown(_decode_text(raw, "text"))
    return LoadedDocument(raw=raw, text=text, fmt="markdown", kind="markdown")


def _load_text(raw: bytes) -> LoadedDocument:
    return LoadedDocument(raw=raw, text=_decode_text(raw, "text"), fmt="text", kind="text")


_LOADERS: dict[str, Callable[[bytes], LoadedDocument]] = {
    "markdown": _load_markdown,
    "text": _load_text,
    "html": _load_html,
    "pdf": _load_pdf,
    "docx": _load_docx,
    "csv": _load_csv,
}


def load_document(
    path: Path,
    max_bytes: int = MAX_FILE_BYTES,
    raw: bytes | None = None,
    limits: DocumentLimits | None = None,
) -> LoadedDocument:
    """Read and convert one file by its suffix (``raw``: its bytes, when already read).

    Raises :class:`DocumentError` (never anything else) for unsupported types, unreadable,
    empty, binary, non-UTF-8, corrupt, encrypted or too large files, and
    :class:`DocumentTooLarge` for one over ``limits`` (unpacked size, paragraphs).
    """
    limits = limits or DocumentLimits()
    kind = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DocumentError(
            f"unsupported file type {path.suffix or '(none)'!r}; accepted: {_ACCEPTED}"
        )
    if raw is None:
        raw = read_bytes(path, max_bytes)
    elif not raw.strip():
        raise DocumentError("empty file: nothing to index")
    try:
        if kind in ("docx", "pdf"):  # containers: capped while they are unpacked
            doc = (_load_docx if kind == "docx" else _load_pdf)(raw, limits)
        else:
            doc = _LOADERS[kind](raw)
        limits.check_text(doc)
        return doc
    except DocumentError:
        raise
    except RecursionError as exc:
        raise DocumentError(f"{kind.upper()} too deeply nested to read") from exc
