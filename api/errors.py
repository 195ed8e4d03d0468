"""Every error leaves the API as ``{"error": {"type", "message"}}`` JSON — never a stack trace."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.models import ErrorBody, ErrorDetail, ErrorResponse
from foundation.errors import MaraError, NotFoundError

log = logging.getLogger("mara.api")

#: OpenAPI ``responses=`` entries for the error statuses routes can return.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorResponse, "description": "The request body or parameters are invalid."},
    500: {"model": ErrorResponse, "description": "Unexpected server error (details are logged)."},
}


def error_response(
    status: int,
    type_: str,
    message: str,
    details: list[ErrorDetail] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A JSON error response in Mara's one error shape."""
    body = ErrorResponse(error=ErrorBody(type=type_, message=message, details=details))
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


class ApiError(StarletteHTTPException):
    """An HTTP error with Mara's ``type`` and message (auth, scopes, rate and size limits).

    A Starlette ``HTTPException`` so that FastAPI passes it through unchanged, even when it is
    raised while the request body is read (the size limit does that).
    """

    def __init__(
        self, status: int, type_: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)
        self.type = type_
        self.message = message


#: OpenAPI ``responses=`` entries of routes behind API keys (see :mod:`api.auth`).
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "No API key, or an invalid or revoked one."},
    403: {"model": ErrorResponse, "description": "The key lacks the scope this route needs."},
    413: {"model": ErrorResponse, "description": "The request body is larger than allowed."},
    429: {
        "model": ErrorResponse,
        "description": "Rate limit of the key exceeded; retry after `Retry-After` seconds.",
    },
}


class NotFound(NotFoundError):
    """Raised by routes for a missing resource (conversation, artifact); a 404 error body."""


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _status_type(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "http_error"


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and message == "Not Found":
        message = f"Not found: {request.method} {request.url.path}."
    type_ = exc.type if isinstance(exc, ApiError) else _status_type(exc.status_code)
    return error_response(exc.status_code, type_, message, headers=dict(exc.headers or {}))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        ErrorDetail(
            loc=[p for p in err.get("loc", ()) if isinstance(p, str | int)],
            message=str(err.get("msg", "invalid")),
        )
        for err in exc.errors()
    ]
    summary = "; ".join(
        f"{'.'.join(str(p) for p in d.loc) or 'request'}: {d.message}" for d in details
    )
    return error_response(422, "validation_error", summary or "Invalid request.", details)


async def _mara_error(request: Request, exc: Exception) -> JSONResponse:
    """Every :class:`MaraError` leaves with the status its class carries (404, 502, 503...)."""
    assert isinstance(exc, MaraError)
    return error_response(exc.http_status, mara_error_type(exc), str(exc))


def mara_error_type(exc: MaraError) -> str:
    """The error body's ``type``: the class's ``error_type``, else its name in snake case."""
    return exc.error_type or _snake(type(exc).__name__)


async def _too_deep(request: Request, exc: Exception) -> JSONResponse:
    """Input nested deeper than Python's parsers recurse (JSON, SQL) is the client's to fix."""
    log.warning("input nested too deeply on %s %s", request.method, request.url.path)
    return error_response(
        400,
        "input_too_deep",
        "The request is nested too deeply to process (e.g. JSON or SQL with thousands of levels "
        "of brackets or function calls). Simplify it: a few dozen levels are plenty.",
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(
        500, "internal_error", "Mara hit an unexpected error; it has been logged."
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that render every failure in the one error shape."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(MaraError, _mara_error)
    app.add_exception_handler(RecursionError, _too_deep)
    app.add_exception_handler(Exception, _unexpected)
