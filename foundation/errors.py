"""Mara's exception classes. Every message says what was wrong and what is accepted."""

from __future__ import annotations


class MaraError(Exception):
    """Base class: an error Mara explains to the user in one line (no traceback)."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class SettingsError(MaraError):
    """An environment variable or .env entry has a value Mara cannot use."""


class WorkspaceError(MaraError):
    """The workspace is missing, incomplete or corrupt."""


class WarehouseError(MaraError):
    """The customer-data warehouse cannot be reached or read."""


class UnsafeQueryError(MaraError):
    """SQL that is not a single read-only SELECT/WITH over known tables."""


class QueryError(MaraError):
    """A query that is read-only but cannot run (unknown column, bad syntax, timeout...)."""


class DataLoadError(MaraError):
    """A file that cannot be loaded into the warehouse."""


class ModelProviderError(MaraError):
    """The LLM endpoint is down, timed out or answered something that is not a chat reply."""


class ToolInputError(MaraError):
    """A tool was called with arguments the model can fix; the message goes back to it as a retry."""


class KnowledgeError(MaraError):
    """The brand knowledge base cannot ingest or search."""


class DocumentError(KnowledgeError):
    """A file that cannot be ingested; the message says why and what is accepted."""


class SemanticModelError(MaraError):
    """The workspace's semantic.yaml is not valid YAML or does not match the data."""


class ProviderUnavailable(ModelProviderError):
    """The circuit breaker is open: the LLM endpoint failed repeatedly and is skipped for a while."""


class StreamInterrupted(ModelProviderError):
    """The LLM endpoint dropped a streamed answer part-way through."""


class BudgetExceeded(MaraError):
    """The caller spent its token budget for the day; the turn is refused."""


class RequestRefused(MaraError):
    """A request Mara will not carry out (secrets, mutating SQL, data beyond the caller's scopes)."""
