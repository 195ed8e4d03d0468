"""``POST /v1/kb/search`` (scope ``data:read``) and ``POST /v1/kb/documents`` (``kb:write``).

Uploads are multipart ``files`` of the types the knowledge base reads
(:data:`knowledge.documents.SUPPORTED_SUFFIXES`: UTF-8 Markdown and text, …), up to
``MARA_MAX_UPLOAD_BYTES`` per request. Each document is stored under its file name, so
uploading a file with the same name again replaces that document (unchanged content is
skipped).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, File, UploadFile
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
from foundation.settings import private_dir
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
    base = Path((raw or "").replace("\\", "/")).name
    name = _UNSAFE.sub("-", base).strip(" .-")
    if not name:
        raise ApiError(400, "invalid_file_name", f"The upload {raw!r} has no usable file name.")
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        accepted = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise ApiError(
            415,
            "unsupported_file_type",
            f"'{name}' is not a supported document type ({suffix or 'no extension'}); "
            f"accepted: {accepted}.",
        )
    return name


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
            return runtime.knowledge.ingest([folder])

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
