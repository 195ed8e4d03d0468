"""``GET /v1/artifacts/{id}.csv``: download a full result table."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from api.auth import Caller, require
from api.errors import AUTH_RESPONSES, ERROR_RESPONSES, NotFound
from api.models import ErrorResponse
from api.runtime import Runtime, get_runtime
from tools.results import download_name

router = APIRouter(prefix="/v1", tags=["artifacts"], dependencies=[require("chat", "data:read")])


@router.get(
    "/artifacts/{artifact_id}.csv",
    response_class=FileResponse,
    summary="Download a result table as CSV",
    responses={
        200: {"content": {"text/csv": {}}, "description": "The full table, header row first."},
        404: {"model": ErrorResponse, "description": "No such artifact."},
        **AUTH_RESPONSES,
        **ERROR_RESPONSES,
    },
)
async def download_artifact(
    artifact_id: str,
    runtime: Runtime = Depends(get_runtime),
    caller: Caller = require("chat", "data:read"),
) -> FileResponse:
    """The CSV behind a ``table`` event's ``artifact_id``, named after the result's title: for
    the key whose turn or query made it (an admin key and the open local API may fetch any); others get 404."""
    if not await run_in_threadpool(runtime.may_read, "artifact", artifact_id, caller):
        raise NotFound(f"No artifact with id '{artifact_id}'.")
    try:
        path = runtime.artifacts.csv_path(artifact_id)
    except KeyError:
        raise NotFound(f"No artifact with id '{artifact_id}'.") from None
    title = str(runtime.artifacts.metadata(artifact_id).get("title") or "")
    return FileResponse(  # named after the result: "revenue-by-country.csv" (sanitised, see download_name)
        path, media_type="text/csv; charset=utf-8", filename=download_name(title, f"mara-{artifact_id}")
    )
