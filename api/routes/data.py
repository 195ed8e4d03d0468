"""``GET /v1/data/tables`` and ``POST /v1/query``: the warehouse, read-only (scope ``data:read``).

A query is a structured spec (:class:`tools.query_spec.QuerySpec`: metrics, dimensions,
filters, time range and grain) compiled to one read-only SELECT with foreign-key joins; it
cannot express unsafe SQL, and unknown names get an error listing the valid ones.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request
from pydantic import ConfigDict
from starlette.concurrency import run_in_threadpool

from api.auth import Caller, require
from api.errors import AUTH_RESPONSES, ERROR_RESPONSES
from api.models import ColumnInfoModel, ErrorResponse, QueryResponse, TableInfoModel
from api.runtime import Runtime, get_runtime
from tools.query_spec import QuerySpec, compile_query
from tools.warehouse import _jsonable

router = APIRouter(prefix="/v1", tags=["data"], dependencies=[require("data:read")])

_RESPONSES = {
    400: {"model": ErrorResponse, "description": "Unknown table or column (valid ones named)."},
    503: {"model": ErrorResponse, "description": "The workspace is missing or broken."},
    **AUTH_RESPONSES,
    **ERROR_RESPONSES,
}


class QueryRequest(QuerySpec):
    """A structured query over one base table (its rows are what is counted or summed)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "table": "orders",
                    "metrics": [{"agg": "sum", "column": "total", "alias": "revenue"}],
                    "dimensions": ["customers.country"],
                    "order": "desc",
                    "limit": 10,
                }
            ]
        },
    )


@router.get(
    "/data/tables",
    response_model=list[TableInfoModel],
    summary="List warehouse tables",
    responses=_RESPONSES,
)
async def data_tables(runtime: Runtime = Depends(get_runtime)) -> list[TableInfoModel]:
    """Tables with row counts and columns (as ``mara data tables --json``)."""
    tables = await run_in_threadpool(lambda: runtime.tools.warehouse.tables())
    return [
        TableInfoModel(
            name=t.name,
            rows=t.rows,
            columns=[ColumnInfoModel(name=c.name, type=c.type) for c in t.columns],
        )
        for t in tables
    ]


@router.post(
    "/query", response_model=QueryResponse, summary="Run a structured query", responses=_RESPONSES
)
async def query(
    body: QueryRequest,
    request: Request,
    runtime: Runtime = Depends(get_runtime),
    caller: Caller = require("data:read"),
) -> QueryResponse:
    """Compile the spec to read-only SQL, run it (row cap, timeout) and return every row.

    The full result is also saved as an artifact: ``csv_url`` downloads it.
    """
    spec = QuerySpec.model_validate(body.model_dump())

    def run() -> QueryResponse:
        ctx = runtime.tools
        settings = runtime.settings
        deadline = time.monotonic() + settings.query_timeout_s  # query, fetch and CSV together
        sql = compile_query(spec, ctx.profile(), dialect=ctx.warehouse.dialect)
        result = ctx.warehouse.query(
            sql, row_cap=settings.query_row_cap, timeout_s=settings.query_timeout_s,
            max_bytes=settings.max_result_bytes, deadline=deadline,
        )
        title = _title(spec)
        artifact_id = runtime.artifacts.save_table(result, title=title, deadline=deadline)
        runtime.own_artifact(artifact_id, caller)
        return QueryResponse(
            title=title,
            sql=result.sql,
            columns=list(result.columns),
            rows=[[_jsonable(v) for v in row] for row in result.rows],
            row_count=result.row_count,
            truncated=result.truncated,
            truncated_reason=result.truncated_reason,
            artifact_id=artifact_id,
            csv_url=str(request.url_for("download_artifact", artifact_id=artifact_id).path),
        )

    return await run_in_threadpool(run)


def _title(spec: QuerySpec) -> str:
    metrics = ", ".join(
        m.alias or (f"{m.agg} {m.column}" if m.column else f"{spec.table} count")
        for m in spec.metrics
    )
    by = [d.rsplit(".", 1)[-1] for d in spec.dimensions] + (
        [spec.time_grain] if spec.time_grain else []
    )
    title = metrics + (f" by {', '.join(by)}" if by else "")
    return title[:1].upper() + title[1:]
