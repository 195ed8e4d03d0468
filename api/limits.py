"""Request size limits: ``MARA_MAX_BODY_BYTES`` (1 MiB) for JSON bodies,
``MARA_MAX_UPLOAD_BYTES`` (20 MiB) for knowledge-base uploads and
``MARA_MAX_DATA_UPLOAD_BYTES`` (512 MiB) for data files → 413 with a JSON error body.

A declared ``Content-Length`` over the limit is refused before the app runs; a body without
one (chunked) is counted as it is read and refused as soon as it passes the limit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from api.errors import ApiError, error_response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Paths that accept file uploads (the upload limit applies to them).
UPLOAD_PATHS = frozenset({"/v1/kb/documents"})
#: Paths that accept data files (``POST /v1/data/tables``; its own, larger limit).
DATA_UPLOAD_PATHS = frozenset({"/v1/data/tables"})


def _size(n: int) -> str:
    return f"{n / 1_048_576:g} MiB" if n >= 1_048_576 else f"{n / 1024:g} KiB"


def too_large(limit: int, upload: bool, data: bool = False) -> ApiError:
    what = "A data file" if data else "An upload" if upload else "A request body"
    hint = (
        "Split the file (e.g. by year) or raise MARA_MAX_DATA_UPLOAD_BYTES."
        if data
        else "Split the documents into several uploads or raise MARA_MAX_UPLOAD_BYTES."
        if upload
        else "Send less data per request (upload documents to /v1/kb/documents) or raise "
        "MARA_MAX_BODY_BYTES."
    )
    return ApiError(413, "payload_too_large", f"{what} may be at most {_size(limit)}. {hint}")


class BodySizeLimit:
    """Pure ASGI middleware enforcing the size limits."""

    def __init__(
        self, app: ASGIApp, max_body: int, max_upload: int, max_data_upload: int | None = None
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.max_data_upload = max_upload if max_data_upload is None else max_data_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        data = scope.get("path") in DATA_UPLOAD_PATHS and scope.get("method") == "POST"
        upload = data or scope.get("path") in UPLOAD_PATHS
        limit = self.max_data_upload if data else self.max_upload if upload else self.max_body
        declared = None
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    response = error_response(
                        400, "bad_request", "The Content-Length header is not a number."
                    )
                    await response(scope, receive, send)
                    return
        if declared is not None and declared > limit:
            error = too_large(limit, upload, data)
            response = error_response(
                413, error.type, error.message, headers={"Connection": "close"}
            )
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(limit, upload, data)
            return message

        await self.app(scope, counting_receive, send)
