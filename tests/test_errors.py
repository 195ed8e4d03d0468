"""Each Mara error class carries the HTTP status the API answers it with."""

from __future__ import annotations

import pytest

from assistant.keys import KeyNotFoundError
from foundation.errors import (
    BudgetExceeded,
    DataLoadError,
    DocumentError,
    KnowledgeError,
    MaraError,
    ModelProviderError,
    ProviderUnavailable,
    ToolInputError,
    WarehouseError,
    WorkspaceError,
)
from tools.audiences import AudienceNotFoundError
from tools.model_store import ModelNotFoundError


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ToolInputError, 400),
        (AudienceNotFoundError, 404),
        (ModelNotFoundError, 404),
        (KeyNotFoundError, 404),
        (DataLoadError, 422),
        (DocumentError, 422),
        (BudgetExceeded, 429),
        (ModelProviderError, 502),
        (ProviderUnavailable, 503),
        (WarehouseError, 503),
        (WorkspaceError, 503),
        (KnowledgeError, 503),
    ],
)
def test_error_class_carries_its_http_status(error: type[MaraError], status: int) -> None:
    assert error.http_status == status


def test_document_error_is_a_mara_error_with_a_hint() -> None:
    error = DocumentError("notes.odt: unsupported file type '.odt'.", hint="Accepted: .md, .pdf.")
    assert isinstance(error, MaraError) and str(error).endswith("Accepted: .md, .pdf.")
