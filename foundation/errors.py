"""Mara's exception classes. Every message says what was wrong and what is accepted.

Each class carries the HTTP status the API answers it with (``http_status``), so one
exception handler in :mod:`api.errors` maps them all and routes never re-catch to translate:
400 the request is wrong, 404 a named thing does not exist, 413 too large, 422 a file or
document that cannot be processed, 429 a spent budget, 502 the LLM provider failed, 503 the
warehouse, workspace or knowledge store is unavailable.
"""

from __future__ import annotations

from typing import ClassVar


class MaraError(Exception):
    """Base class: an error Mara explains to the user in one line (no traceback)."""

    exit_code = 1
    #: The HTTP status of the API's answer (an instance may narrow it, e.g. 413 vs 422).
    http_status: int = 400
    #: The ``type`` of the API's error body; ``None``: the class name in snake case.
    error_type: ClassVar[str | None] = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class NotFoundError(MaraError):
    """A named thing (audience, model, key, conversation, artifact...) does not exist."""

    http_status = 404
    error_type = "not_found"


class SettingsError(MaraError):
    """An environment variable or .env entry has a value Mara cannot use."""

    http_status = 500  # the server is misconfigured, not the request


class WorkspaceError(MaraError):
    """The workspace is missing, incomplete or corrupt."""

    http_status = 503


class WarehouseError(MaraError):
    """The customer-data warehouse cannot be reached or read."""

    http_status = 503


class UnsafeQueryError(MaraError):
    """SQL that is not a single read-only SELECT/WITH over known tables."""


class QueryError(MaraError):
    """A query that is read-only but cannot run (unknown column, bad syntax, timeout...)."""


class DataLoadError(MaraError):
    """A file that cannot be loaded into the warehouse."""

    http_status = 422


class ModelProviderError(MaraError):
    """The LLM endpoint is down, timed out or answered something that is not a chat reply."""

    http_status = 502


class ToolInputError(MaraError):
    """A tool was called with arguments the model can fix; the message goes back to it as a retry."""


class KnowledgeError(MaraError):
    """The brand knowledge base cannot ingest or search."""

    http_status = 503


class DocumentError(KnowledgeError):
    """A file that cannot be ingested; the message says why and what is accepted."""

    http_status = 422


class SemanticModelError(MaraError):
    """The workspace's semantic.yaml is not valid YAML or does not match the data."""


class ProviderUnavailable(ModelProviderError):
    """The circuit breaker is open: the LLM endpoint failed repeatedly and is skipped for a while."""

    http_status = 503


class StreamInterrupted(ModelProviderError):
    """The LLM endpoint dropped a streamed answer part-way through."""


class BudgetExceeded(MaraError):
    """The caller spent its token budget for the day; the turn is refused."""

    http_status = 429


class RequestRefused(MaraError):
    """A request Mara will not carry out (secrets, mutating SQL, data beyond the caller's scopes)."""


class TurnCancelled(MaraError):
    """The user pressed Stop: the running turn (its tool work included) ends at its next step."""

    http_status = 409
