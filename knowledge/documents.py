"""Finding and reading the documents to ingest: files and folders of Markdown or plain text."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from knowledge.chunking import TextFormat

__all__ = [
    "SUPPORTED_SUFFIXES",
    "DocumentError",
    "IngestIssue",
    "SourceFile",
    "discover",
    "read_document",
]

#: File suffix -> how the file is chunked.
SUPPORTED_SUFFIXES: dict[str, TextFormat] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
}
_ACCEPTED = ", ".join(SUPPORTED_SUFFIXES)
_BINARY_SNIFF_BYTES = 8192


class DocumentError(Exception):
    """A file that cannot be ingested; the message says why and what is accepted."""


@dataclass(frozen=True)
class IngestIssue:
    """A path that was not ingested, and why."""

    source: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"source": self.source, "message": self.message}


@dataclass(frozen=True)
class SourceFile:
    """A file to ingest and the source name it is stored under."""

    path: Path
    source: str

    @property
    def fmt(self) -> TextFormat:
        """``"markdown"`` or ``"text"``, from the file suffix."""
        return SUPPORTED_SUFFIXES.get(self.path.suffix.lower(), "text")


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

    A folder contributes its ``.md``/``.markdown``/``.txt`` files (recursively, hidden files
    and folders skipped), each named by its path relative to that folder. A file is named by
    its path as given. Missing paths and files of other types are returned as issues.
    """
    files: list[SourceFile] = []
    issues: list[IngestIssue] = []
    seen: set[Path] = set()

    def add(path: Path, source: str) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
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


def read_document(path: Path) -> tuple[str, bytes]:
    """Read a text document; return ``(text, raw bytes)``.

    Raises :class:`DocumentError` for unreadable, binary, non-UTF-8 or empty files.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot read file: {exc.strerror or exc}") from exc
    if b"\x00" in raw[:_BINARY_SNIFF_BYTES]:
        raise DocumentError(f"binary file, not text; accepted: UTF-8 text files ({_ACCEPTED})")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"not UTF-8 text (invalid byte at offset {exc.start}); save it as UTF-8"
        ) from exc
    if not text.strip():
        raise DocumentError("empty file: nothing to index")
    return text, raw
