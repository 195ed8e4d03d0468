"""Review of issue 14: text from data or users printed by the CLI is shown literally.

A customer name ``Anna [/x]`` crashed ``mara query`` (Rich ``MarkupError``) and a feedback
comment ``[link=https://evil.example]…`` (any chat key can write one) became a hyperlink in
the admin's ``mara eval feedback``; escape sequences (``ESC ]8;;``, ``ESC [2J``) reached the
terminal unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from assistant.audit import AuditLog
from assistant.cli import app
from assistant.evaluation.feedback import record_feedback
from assistant.settings import get_settings

HOSTILE = "Anna [/x] [link=https://evil.example]verify[/link] \x1b]8;;https://evil.example\x1b\\ \x1b[2J"
ESCAPES = "Bert \x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ \x1b[2J"
runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("CREATE TABLE customers (customer_id INTEGER, first_name VARCHAR)")
        con.execute("INSERT INTO customers VALUES (1, ?), (2, ?)", [HOSTILE, ESCAPES])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MARA_HOME", str(tmp_path))
        mp.setenv("COLUMNS", "300")
        get_settings.cache_clear()
        yield tmp_path
    get_settings.cache_clear()


def test_query_prints_markup_in_data_as_text(home: Path) -> None:
    result = runner.invoke(app, ["query", "--sql", "SELECT first_name FROM customers WHERE customer_id = 1"])
    assert result.exit_code == 0, result.output
    assert "[link=https://evil.example]verify[/link]" in result.output


def test_query_drops_escape_sequences_from_data(home: Path) -> None:
    result = runner.invoke(app, ["query", "--sql", "SELECT first_name FROM customers WHERE customer_id = 2"])
    assert result.exit_code == 0, result.output
    assert "Bert" in result.output and "\x1b" not in result.output


def test_feedback_listing_shows_a_hostile_comment_as_text(home: Path) -> None:
    from langchain_core.messages import AIMessage, HumanMessage

    history = [HumanMessage(content="How many customers?"), AIMessage(content="300.")]
    record_feedback(AuditLog(home / "audit.sqlite"), history, "c1", 1, "down", actor="key:mallory", comment=HOSTILE)
    result = runner.invoke(app, ["eval", "feedback"])
    assert result.exit_code == 0, result.output
    assert "[/link]" in result.output and "\x1b" not in result.output
