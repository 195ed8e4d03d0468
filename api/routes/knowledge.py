"""``POST /v1/kb/search`` (scope ``data:read``) and ``POST /v1/kb/documents`` (``kb:write``).

Uploads are multipart ``files`` of the types the knowledge base reads
(:data:`knowledge.documents.SUPPORTED_SUFFIXES`: UTF-8 Markdown and text, …), up to
``MARA_MAX_UPLOAD_BYTES`` per request. Each document is stored under its file name, so
uploading a file with the same name again replaces that document (unchanged content is
skipped).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, File, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.auth import require
from api.errors import AUTH_RESPONSES, ERROR_RESPONSES, ApiError
from api.models import (
    ErrorResponse,
    IngestResponse,
    KnowledgeSearchRequest,
    KnowledgeSearchResponse,
    PassageModel,
)
from api.runtime import Runtime, get_runtime
from api.uploads import base_name, upload_name
from foundation.settings import private_dir, write_private
from knowledge.documents import SUPPORTED_SUFFIXES

if TYPE_CHECKING:
    from knowledge.store import IngestReport

router = APIRouter(prefix="/v1/kb", tags=["knowledge"])

MAX_FILES = 50
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


@router.post(
    "/search",
    response_model=KnowledgeSearchResponse,
    summary="Search brand knowledge",
    dependencies=[require("data:read")],
    responses={**AUTH_RESPONSES, **ERROR_RESPONSES},
)
async def kb_search(
    body: KnowledgeSearchRequest, runtime: Runtime = Depends(get_runtime)
) -> KnowledgeSearchResponse:
    """The passages that best match the query, with their sources to cite."""
    passages = await run_in_threadpool(lambda: runtime.knowledge.search(body.query, k=body.k))
    return KnowledgeSearchResponse(
        query=body.query,
        passages=[
            PassageModel(
                source=p.source, title=p.title, heading=p.heading, text=p.text, score=p.score
            )
            for p in passages
        ],
    )


def safe_name(raw: str | None) -> str:
    """The upload's base name with unusual characters replaced; 400 when nothing is left."""
    name = _UNSAFE.sub("-", base_name(raw)).strip(" .-")
    if not name:
        raise ApiError(400, "invalid_file_name", f"The upload {raw!r} has no usable file name.")
    return upload_name(name, SUPPORTED_SUFFIXES, "document")


@router.post(
    "/documents",
    response_model=IngestResponse,
    summary="Upload brand documents",
    dependencies=[require("kb:write")],
    responses={
        400: {"model": ErrorResponse, "description": "No document could be ingested."},
        413: {"model": ErrorResponse, "description": "A document unpacks past MARA_KB_MAX_DECOMPRESSED_BYTES."},
        415: {"model": ErrorResponse, "description": "A file type that is not accepted."},
        422: {"model": ErrorResponse, "description": "Too many paragraphs or passages (MARA_KB_MAX_PARAGRAPHS, MARA_KB_MAX_CHUNKS)."},
        503: {"model": ErrorResponse, "description": "Other uploads fill the ingestion queue; retry."},
        **AUTH_RESPONSES,
        **ERROR_RESPONSES,
    },
)
async def kb_upload(
    files: list[UploadFile] = File(
        description=f"Documents: {', '.join(sorted(SUPPORTED_SUFFIXES))}."
    ),
    runtime: Runtime = Depends(get_runtime),
) -> IngestResponse:
    """Ingest the uploaded documents into the knowledge base (chunked, embedded, indexed)."""
    if not files:
        raise ApiError(400, "no_files", "Upload at least one file in the 'files' field.")
    if len(files) > MAX_FILES:
        raise ApiError(400, "too_many_files", f"Upload at most {MAX_FILES} files per request.")
    names = [safe_name(f.filename) for f in files]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ApiError(
            400, "duplicate_file_name", f"Each file needs its own name: {', '.join(duplicates)}."
        )
    contents = [(name, await upload.read()) for upload, name in zip(files, names, strict=True)]

    def ingest() -> IngestReport:  # on the ingestion thread, not the event loop
        with tempfile.TemporaryDirectory(prefix="mara-upload-") as tmp:
            folder = Path(tmp)
            for name, data in contents:
                (folder / name).write_bytes(data)
            private_dir(runtime.settings.home)
            report = runtime.knowledge.ingest([folder])
            kept = documents_dir(runtime.settings.home)
            for name, data in contents:  # the copy that re-ingesting reads (owner-only)
                if name not in {e.source for e in report.errors}:
                    write_private(kept / name, data)
            return report

    report = await runtime.ingest.run(ingest)
    result = IngestResponse.model_validate(report.to_dict())
    if result.errors and not (result.added or result.updated or result.unchanged):
        problems = "; ".join(f"{e.source}: {e.message}" for e in result.errors)
        capped = [e.status for e in report.errors if e.status is not None]
        if capped:  # a document bomb: 413 for the unpacked size, else 422 (too many parts)
            status = 413 if 413 in capped else 422
            kind = "document_too_large" if status == 413 else "document_too_complex"
            raise ApiError(status, kind, f"No document was ingested. {problems}")
        raise ApiError(400, "ingest_failed", f"No document was ingested. {problems}")
    return result


def documents_dir(home: Path) -> Path:
    """Where uploaded documents are kept (owner-only), so they can be ingested again."""
    return private_dir(Path(home) / "documents")


class SourceModel(BaseModel):
    """One ingested document."""

    source: str
    title: str
    doc_type: str | None = None
    chunks: int
    ingested_at: str
    reingestable: bool = Field(description="Mara has the file to read again.")


def _stored_copy(home: Path, source: str) -> Path | None:
    """The file a source can be read again from: the kept upload, else its own absolute path."""
    kept = documents_dir(home) / source
    if "/" not in source and kept.is_file():
        return kept
    path = Path(source)
    if path.is_absolute() and path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
        return path
    return None


@router.get(
    "/documents",
    response_model=list[SourceModel],
    summary="List brand documents",
    dependencies=[require("data:read")],
    responses={**AUTH_RESPONSES, **ERROR_RESPONSES},
)
async def kb_sources(runtime: Runtime = Depends(get_runtime)) -> list[SourceModel]:
    """Every ingested document with its passage count (as ``mara kb sources --json``)."""

    def read() -> list[SourceModel]:
        home = runtime.settings.home
        return [
            SourceModel(
                source=s.source, title=s.title, doc_type=s.doc_type, chunks=s.chunks,
                ingested_at=s.ingested_at, reingestable=_stored_copy(home, s.source) is not None,
            )
            for s in runtime.knowledge.sources()
        ]

    return await run_in_threadpool(read)


def _known(runtime: Runtime, source: str) -> None:
    if source not in {s.source for s in runtime.knowledge.sources()}:
        raise ApiError(404, "unknown_document", f"No document {source!r} in the knowledge base.")


@router.delete(
    "/documents/{source:path}",
    summary="Remove a brand document",
    dependencies=[require("kb:write")],
    responses={404: {"model": ErrorResponse, "description": "No such document."}, **AUTH_RESPONSES, **ERROR_RESPONSES},
)
async def kb_remove(source: str, runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    """Delete every passage of the document (and Mara's kept copy of an upload)."""

    def remove() -> dict[str, Any]:
        _known(runtime, source)
        removed = runtime.knowledge.remove(source)
        if "/" not in source:
            (documents_dir(runtime.settings.home) / source).unlink(missing_ok=True)
        return {"source": source, "removed": removed}

    return await runtime.ingest.run(remove)


@router.post(
    "/documents/{source:path}/reingest",
    response_model=IngestResponse,
    summary="Read a brand document again",
    dependencies=[require("kb:write")],
    responses={
        404: {"model": ErrorResponse, "description": "No such document."},
        409: {"model": ErrorResponse, "description": "Mara has no copy of the file to read."},
        **AUTH_RESPONSES,
        **ERROR_RESPONSES,
    },
)
async def kb_reingest(source: str, runtime: Runtime = Depends(get_runtime)) -> IngestResponse:
    """Chunk and embed the document again from Mara's copy (e.g. after the embedding settings
    changed); its passages are replaced."""

    def again() -> IngestReport:
        _known(runtime, source)
        path = _stored_copy(runtime.settings.home, source)
        if path is None:
            raise ApiError(
                409, "no_copy",
                f"Mara keeps no copy of {source!r} (it was ingested from a folder); upload the "
                "file again to replace it.",
            )
        if "/" in source:  # an absolute path (mara kb ingest FILE): ingested under its own name
            return _reingest(runtime, [path], source)
        with tempfile.TemporaryDirectory(prefix="mara-reingest-") as tmp:
            shutil.copyfile(path, Path(tmp) / source)
            return _reingest(runtime, [Path(tmp)], source)

    return IngestResponse.model_validate((await runtime.ingest.run(again)).to_dict())


def _reingest(runtime: Runtime, paths: list[Path], source: str) -> IngestReport:
    report = runtime.knowledge.ingest(paths)
    if source in report.unchanged:  # same bytes: drop the passages and embed them afresh
        runtime.knowledge.remove(source)
        report = runtime.knowledge.ingest(paths)
    return report
