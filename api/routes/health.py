"""``GET /healthz``: liveness and which brain answers."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.models import HealthResponse
from api.runtime import Runtime, get_runtime

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthResponse, summary="Liveness and chat mode")
async def healthz(runtime: Runtime = Depends(get_runtime)) -> HealthResponse:
    """Report that the server is up and whether replies come from the offline planner or an LLM.

    Cheap: does not build the assistant.
    """
    return HealthResponse(mode=runtime.mode)
