"""LLM mode never sends customer PII to the model; the user still sees the real values."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from assistant.agent import Assistant
from assistant.pii import PIIVault, StreamUnmasker
from assistant.testing import ScriptedOpenAIServer, ScriptedReply, ScriptedToolCall
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings
from tests.conftest import CUSTOMERS


def test_vault_masks_stably_and_restores() -> None:
    vault = PIIVault()
    text = "Write to anna.schmidt@example.com or call +49 151 3333 1909; revenue 1,005.50 on 2025-10-01."
    masked = vault.mask(text)
    assert "anna.schmidt" not in masked and "3333" not in masked
    assert "1,005.50" in masked and "2025-10-01" in masked  # numbers and dates are not PII
    assert vault.mask(text) == masked  # the same value keeps its placeholder
    assert vault.unmask(masked) == text


def test_column_values_and_allow_list() -> None:
    vault = PIIVault(allow=["city"])
    masked = vault.mask("Anna Schmidt from Berlin", [("FIRST_NAME", "Anna"), ("LAST_NAME", "Schmidt")])
    assert masked == "<FIRST_NAME_1> <LAST_NAME_1> from Berlin"


def test_columns_declared_personal_in_the_semantic_model_are_masked() -> None:
    """A column named 'city' is not personal by its name; semantic.yaml can say it is."""
    from langchain_core.messages import ToolMessage

    result = ToolMessage("", tool_call_id="t1", artifact={"data": {"columns": ["city", "n"], "rows": [["Boulder", 1]]}})
    assert PIIVault().pii_values(result) == []
    assert PIIVault(columns=lambda: {"city"}).pii_values(result) == [("CITY", "Boulder")]
    assert PIIVault(allow=["city"], columns=lambda: {"city"}).pii_values(result) == []


def test_streamed_placeholders_are_restored_across_chunks() -> None:
    vault = PIIVault()
    masked = vault.mask("mail anna@example.com now")
    unmasker = StreamUnmasker(vault)
    pieces = [masked[:7], masked[7:12], masked[12:]]
    out = "".join(unmasker.feed(p) for p in pieces) + unmasker.flush()
    assert out == "mail anna@example.com now"


@pytest.mark.integration
def test_no_raw_pii_reaches_the_model_server(settings: MaraSettings) -> None:
    def script(body: dict[str, Any]) -> ScriptedReply:
        tool_results = [m for m in body["messages"] if m["role"] == "tool"]
        if not tool_results:
            return ScriptedReply(tool_calls=[ScriptedToolCall("run_sql", {
                "sql": "SELECT first_name, last_name, email, '+4915133331909' AS phone FROM customers ORDER BY customer_id"})])
        seen = tool_results[-1]["content"]
        first = re.search(r"<FIRST_NAME_\d+>", seen)
        email = re.search(r"<EMAIL_\d+>", seen)
        assert first and email, seen
        return ScriptedReply(content=f"Your first customer is {first.group(0)} ({email.group(0)}).")

    with ScriptedOpenAIServer(script) as server:
        llm = settings.model_copy(update={"mode": None, "llm_base_url": server.base_url, "llm_max_retries": 0})
        with Assistant(llm) as assistant:
            events = list(assistant.stream("Who is our first customer?", scopes=EVERY_SCOPE))
        sent = json.dumps(server.requests)
    for _, first, last, email, *_ in CUSTOMERS:
        assert email not in sent and f'"{first}' not in sent and last not in sent
    assert "+4915133331909" not in sent
    done = events[-1].data
    assert done["reply"] == "Your first customer is Anna (anna.schmidt@example.com)."
    streamed = "".join(e.data["delta"] for e in events if e.type == "text")
    assert streamed == done["reply"]


def test_offline_mode_does_not_mask(settings: MaraSettings) -> None:
    with Assistant(settings) as assistant:
        assert assistant.vault is None


@pytest.mark.parametrize("column", ["First Name", "last-name", "E-mail", "Full Name", "first_name", "EMAIL"])
def test_personal_column_names_are_known_whatever_separates_their_words(column: str) -> None:
    from langchain_core.messages import ToolMessage

    result = ToolMessage("", tool_call_id="t1", artifact={"data": {"columns": [column, "n"], "rows": [["Anna", 1]]}})
    assert PIIVault().pii_values(result) == [(column.upper(), "Anna")]


@pytest.mark.parametrize("column", ["Campaign Name", "Product Name", "Store"])
def test_other_names_are_not_personal(column: str) -> None:
    from langchain_core.messages import ToolMessage

    result = ToolMessage("", tool_call_id="t1", artifact={"data": {"columns": [column, "n"], "rows": [["Spring", 1]]}})
    assert PIIVault().pii_values(result) == []
