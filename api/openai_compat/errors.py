"""Every failure of the OpenAI-compatible routes leaves in OpenAI's error shape."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import ApiError, mara_error_type
from api.openai_compat.schemas import OpenAIErrorBody, OpenAIErrorResponse
from foundation.errors import MaraError

log = logging.getLogger("mara.api.openai")


class OpenAIError(Exception):
    """Raised by these routes; rendered as an OpenAI error body with ``status``."""

    def __init__(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers
        self.body = OpenAIErrorBody(message=message, type=type_, param=param, code=code)

    def stream_frame(self) -> bytes:
        """The error as one SSE ``data:`` frame, for a stream whose 200 is already sent: the
        object also carries ``status``, the HTTP status the error would have had unstreamed."""
        body = {"error": {**self.body.model_dump(), "status": self.status}}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n".encode()

    def response(self) -> JSONResponse:
        """The JSON error response."""
        return JSONResponse(
            OpenAIErrorResponse(error=self.body).model_dump(),
            status_code=self.status,
            headers=self.headers,
        )


_HTTP_ERROR_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    429: "rate_limit_error",
}


def _from_http(exc: StarletteHTTPException) -> OpenAIError:
    """Auth, scope, rate and size errors (and other HTTP errors) in OpenAI's shape."""
    message = exc.detail if isinstance(exc.detail, str) else "Request failed."
    return OpenAIError(
        exc.status_code,
        message,
        _HTTP_ERROR_TYPES.get(exc.status_code, "invalid_request_error"),
        code=exc.type if isinstance(exc, ApiError) else None,
        headers=dict(exc.headers or {}),
    )


def from_mara(exc: MaraError) -> OpenAIError:
    """A Mara error with the status its class carries; 5xx ones are ``server_error``."""
    status = exc.http_status
    if status >= 500:
        return OpenAIError(status, str(exc), "server_error", code=mara_error_type(exc))
    return OpenAIError(status, str(exc), code="mara_error" if status == 400 else mara_error_type(exc))


def _from_validation(exc: RequestValidationError) -> OpenAIError:
    errors = exc.errors()
    first = errors[0] if errors else {}
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    if first.get("type") == "json_invalid":
        return OpenAIError(
            400,
            f"The request body is not valid JSON: {first.get('msg', 'invalid')}.",
            code="invalid_json",
        )
    param = ".".join(loc) or None
    message = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: "
        f"{e.get('msg', 'invalid')}"
        for e in errors
    )
    return OpenAIError(400, message or "Invalid request.", param=param, code="invalid_value")


class OpenAIRoute(APIRoute):
    """A route whose every failure leaves as an OpenAI error body (not Mara's error shape)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler to translate validation, Mara and unexpected errors."""
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except OpenAIError as exc:
                return exc.response()
            except StarletteHTTPException as exc:
                return _from_http(exc).response()
            except RequestValidationError as exc:
                return _from_validation(exc).response()
            except MaraError as exc:
                return from_mara(exc).response()
            except Exception:
                log.exception("unhandled error on %s %s", request.method, request.url.path)
                return OpenAIError(
                    500, "Mara hit an unexpected error; it has been logged.", "server_error"
                ).response()

        return route


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OpenAIErrorResponse, "description": "Invalid request (OpenAI error shape)."},
    401: {"model": OpenAIErrorResponse, "description": "No API key, or an invalid one."},
    403: {"model": OpenAIErrorResponse, "description": "The key lacks the `chat` scope."},
    413: {"model": OpenAIErrorResponse, "description": "The request body is too large."},
    429: {"model": OpenAIErrorResponse, "description": "Rate limited; see `Retry-After`."},
    404: {"model": OpenAIErrorResponse, "description": "Unknown model (`model_not_found`)."},
    500: {"model": OpenAIErrorResponse, "description": "Unexpected server error (logged)."},
    503: {"model": OpenAIErrorResponse, "description": "The workspace is missing or broken."},
}
