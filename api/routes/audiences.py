"""``GET/POST /v1/audiences`` and ``GET /v1/audiences/{name}.csv`` (scope ``data:read``).

An audience is a saved rule (RFM segment, behavioural cluster, model score or read-only
query) plus its members, computed when it is saved. The CSV export joins the members to the
customers table; with ``channel`` only customers who opted in to it are exported.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from api.auth import require
from api.errors import AUTH_RESPONSES, ERROR_RESPONSES
from api.models import AudienceCreate, AudienceList, AudienceModel, ErrorResponse
from api.runtime import Runtime, get_runtime
from tools.audiences import (
    delete_audience,
    export_audience,
    list_audiences,
    load_audience,
    refresh_audience,
    save_audience,
)

router = APIRouter(prefix="/v1", tags=["audiences"], dependencies=[require("data:read")])


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RfmParams(_Params):
    segments: list[str] = Field(min_length=1)
    orders_table: str = "orders"


class ClusterParams(_Params):
    cluster: str
    table: str = "orders"
    k: int | None = Field(default=None, ge=2, le=20)


class ModelParams(_Params):
    model_id: str
    top: int | None = Field(default=None, ge=1)
    threshold: float | None = Field(default=None, ge=0, le=1)
    table: str | None = None


class QueryParams(_Params):
    sql: str = Field(min_length=1, max_length=20_000)


PARAMS: dict[str, type[_Params]] = {
    "rfm_segment": RfmParams,
    "cluster": ClusterParams,
    "model": ModelParams,
    "query": QueryParams,
}


def _model(audience: Any) -> AudienceModel:
    return AudienceModel.model_validate(audience.to_dict())


@router.get(
    "/audiences",
    response_model=AudienceList,
    summary="List saved audiences",
    responses={**AUTH_RESPONSES, **ERROR_RESPONSES},
)
async def get_audiences(runtime: Runtime = Depends(get_runtime)) -> AudienceList:
    """Every saved audience with its rule and size."""
    audiences = await run_in_threadpool(list_audiences, runtime.settings.home)
    return AudienceList(audiences=[_model(a) for a in audiences])


@router.post(
    "/audiences",
    response_model=AudienceModel,
    status_code=201,
    summary="Save an audience",
    responses={
        400: {"model": ErrorResponse, "description": "Unknown segment, cluster, model or table."},
        **AUTH_RESPONSES,
        **ERROR_RESPONSES,
    },
)
async def create_audience(
    body: AudienceCreate, runtime: Runtime = Depends(get_runtime)
) -> AudienceModel:
    """Compute the members now and save the audience (replacing one of the same name)."""
    try:
        params = PARAMS[body.kind].model_validate(body.params).model_dump(exclude_none=True)
    except ValidationError as err:
        raise RequestValidationError(
            [
                {**e, "loc": ("body", "params", *e.get("loc", ())), "msg": e.get("msg", "invalid")}
                for e in err.errors()
            ]
        ) from None
    home = runtime.settings.home

    def save() -> Any:
        return save_audience(runtime.tools.warehouse, home, body.name, body.kind, params)

    return _model(await run_in_threadpool(save))


@router.get(
    "/audiences/{name}.csv",
    response_class=FileResponse,
    summary="Export an audience as CSV",
    responses={
        200: {"content": {"text/csv": {}}, "description": "Members, header row first."},
        400: {"model": ErrorResponse, "description": "Unknown column or channel."},
        404: {"model": ErrorResponse, "description": "No such audience."},
        **AUTH_RESPONSES,
        **ERROR_RESPONSES,
    },
)
async def export_audience_csv(
    name: str,
    runtime: Runtime = Depends(get_runtime),
    columns: list[str] | None = Query(
        default=None, description="Customer columns to export (repeat or comma-separate)."
    ),
    channel: str | None = Query(
        default=None, max_length=40, description="Only customers opted in to it (email, sms…)."
    ),
    raw: bool = Query(
        default=False,
        description="Cells as stored, for machine import. By default text cells starting with "
        "=, +, -, @, tab or CR get a leading ' so spreadsheets do not run them as formulas.",
    ),
) -> FileResponse:
    """The audience's members joined to the customers table (formula-neutralised unless ``raw``)."""
    wanted = [c.strip() for item in columns or [] for c in item.split(",") if c.strip()] or None
    home = runtime.settings.home
    tmp = Path(tempfile.mkstemp(prefix="mara-audience-", suffix=".csv")[1])

    def export() -> dict[str, Any]:
        load_audience(home, name)  # 404 before touching the warehouse
        return export_audience(
            runtime.tools.warehouse, home, name, tmp, columns=wanted, channel=channel, raw=raw
        )

    try:
        counts = await run_in_threadpool(export)  # an unknown audience: a 404 (its http_status)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return FileResponse(
        tmp,
        media_type="text/csv; charset=utf-8",
        filename=f"audience-{Path(name).name}.csv",
        headers={
            "X-Rows": str(counts["rows"]),
            "X-Excluded-No-Opt-In": str(counts["excluded_no_opt_in"]),
        },
        background=BackgroundTask(tmp.unlink, missing_ok=True),
    )


@router.post(
    "/audiences/{name}/refresh",
    response_model=AudienceModel,
    summary="Recompute an audience's members",
    responses={
        404: {"model": ErrorResponse, "description": "No such audience."},
        **AUTH_RESPONSES,
        **ERROR_RESPONSES,
    },
)
async def refresh_audience_members(
    name: str, runtime: Runtime = Depends(get_runtime)
) -> AudienceModel:
    """Apply the saved rule to today's data again (the size may change)."""
    home = runtime.settings.home
    return _model(
        await run_in_threadpool(refresh_audience, runtime.tools.warehouse, home, name)
    )


@router.delete(
    "/audiences/{name}",
    response_model=AudienceModel,
    summary="Delete an audience",
    responses={
        404: {"model": ErrorResponse, "description": "No such audience."},
        **AUTH_RESPONSES,
        **ERROR_RESPONSES,
    },
)
async def delete_saved_audience(name: str, runtime: Runtime = Depends(get_runtime)) -> AudienceModel:
    """Forget the audience (its rule and members); customer data is untouched."""
    return _model(await run_in_threadpool(delete_audience, runtime.settings.home, name))
