"""``POST /v1/copy`` and ``POST /v1/copy/batch``: on-brand copy drafts (scope ``copy``).

A thin wrapper over :func:`tools.copywriting.draft_copy` (the function behind ``mara copy``):
the workspace's brand rules, the customers table's columns as merge fields, and the chat
model in LLM mode (offline templates otherwise, or when ``offline`` is set).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from api.auth import require
from api.errors import AUTH_RESPONSES, ERROR_RESPONSES
from api.models import (
    CopyBatchItem,
    CopyBatchRequest,
    CopyBatchResponse,
    CopyRequest,
    CopyResponse,
    ErrorBody,
    ErrorResponse,
)
from api.runtime import Runtime, get_runtime
from foundation.errors import MaraError, WorkspaceError
from tools.copywriting import draft_copy, load_brand

router = APIRouter(prefix="/v1", tags=["copy"], dependencies=[require("copy")])


def draft(runtime: Runtime, body: CopyRequest) -> CopyResponse:
    """Draft one brief (blocking: run it in a worker thread)."""
    # lazy: yaml loads slowly; only this path needs it
    from tools.copywriting.service import catalog_items, customer_columns

    settings = runtime.settings
    model: Any = None
    if not body.offline and settings.resolved_mode == "llm":
        # lazy: imported only on this path (keeps the module's own import light)
        from assistant.chat_models import make_chat_model

        model = make_chat_model(settings)
    result = draft_copy(
        body.channel,
        body.brief,
        variants=body.variants,
        segment=body.segment,
        offer=body.offer,
        tone=body.tone,
        language=body.language,
        brand=load_brand(settings.home),
        merge_fields=customer_columns(runtime.tools),
        model=model,
        fields=body.fields,
        catalog=catalog_items(runtime.tools),
    )
    return CopyResponse.model_validate(result.to_dict())


@router.post(
    "/copy",
    response_model=CopyResponse,
    summary="Draft copy",
    responses={
        400: {
            "model": ErrorResponse,
            "description": "Unknown channel, empty brief, bad merge field.",
        },
        **AUTH_RESPONSES,
        **ERROR_RESPONSES,
    },
)
async def copy(body: CopyRequest, runtime: Runtime = Depends(get_runtime)) -> CopyResponse:
    """Variants for the channel, each with its checks (limits, banned words, disclaimers…)."""
    return await run_in_threadpool(draft, runtime, body)


@router.post(
    "/copy/batch",
    response_model=CopyBatchResponse,
    response_model_exclude_none=True,
    summary="Draft copy for several briefs",
    responses={**AUTH_RESPONSES, **ERROR_RESPONSES},
)
async def copy_batch(
    body: CopyBatchRequest, runtime: Runtime = Depends(get_runtime)
) -> CopyBatchResponse:
    """One result per brief, in order; a brief that fails gets its error, the others still run."""

    def run() -> CopyBatchResponse:
        results = []
        for item in body.items:
            try:
                results.append(CopyBatchItem(ok=True, result=draft(runtime, item)))
            except WorkspaceError:
                raise
            except MaraError as err:
                error = ErrorBody(type="mara_error", message=str(err))
                results.append(CopyBatchItem(ok=False, error=error))
        return CopyBatchResponse(results=results)

    return await run_in_threadpool(run)
