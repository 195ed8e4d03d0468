"""Every turn and tool call lands in the audit trail, redacted, with who, rows and tokens."""

from __future__ import annotations

import datetime as dt

from assistant.agent import Assistant
from assistant.audit import AuditLog
from assistant.settings import MaraSettings


def test_turns_and_tools_are_audited_without_raw_pii(settings: MaraSettings) -> None:
    with Assistant(settings) as assistant:
        assistant.run("revenue by country", conversation_id="a1", actor="key:marketing")
        assistant.run("is anna.schmidt@example.com or +49 151 3333 1909 a customer?", conversation_id="a1", actor="key:marketing")
    records = AuditLog(settings.home / "audit.sqlite").query(conversation_id="a1")
    kinds = [(r.kind, r.name) for r in records]
    assert kinds[:2] == [("tool", "query_data"), ("turn", "offline")]
    tool = records[0]
    assert tool.actor == "key:marketing" and tool.ok and tool.rows == 3 and tool.duration_ms is not None
    assert tool.args["dimensions"] == ["customers.country"]
    turn = records[1]
    assert turn.prompt_tokens and turn.completion_tokens and "Germany" in (turn.detail or "")
    raw = str([r.to_dict() for r in records])
    assert "anna.schmidt@example.com" not in raw and "3333" not in raw and "[email]" in raw


def test_since_filters(settings: MaraSettings) -> None:
    with Assistant(settings) as assistant:
        assistant.run("hello", conversation_id="a2")
    log = AuditLog(settings.home / "audit.sqlite")
    assert log.query(since=dt.datetime(2000, 1, 1))
    assert log.query(since=dt.datetime(2999, 1, 1)) == []
