"""Thumbs up / down on an answer, kept with its turn; a thumbed-up data answer can become a verified question.

Feedback is an audit record (``kind="feedback"``, name ``up`` or ``down``) holding the turn's
number, question, the first 500 characters of the reply and the tool calls, so it survives the
conversation being deleted and is reviewable with ``mara eval feedback``. Because it outlives the
conversation, the reply and question are stored masked like a turn's audit detail: e-mails, phones
and the personal values (names, addresses) the turn's tool results showed become placeholders. An admin promotes a thumbs-up with ``mara eval promote``
(or ``POST /v1/conversations/{id}/turns/{n}/promote``): the turn's question and the query that
answered it are appended to ``verified_questions`` in ``semantic.yaml``.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from assistant.audit import AuditLog, AuditRecord, now
from assistant.pii import PIIVault
from foundation.errors import MaraError

Rating = Literal["up", "down"]

#: Characters of the rated reply kept in the audit trail (as much as a turn's audit detail).
REPLY_KEPT = 500


class FeedbackError(MaraError):
    """Feedback on a turn that does not exist, or a promotion that cannot be made."""

    http_status = 404  # the API answers "no such turn / no promotable answer there"
    error_type = "not_found"


def turn_of(history: list[Any], turn: int) -> dict[str, Any]:
    """Turn ``turn`` (1 = the first question) of a conversation: its question, reply and tool calls."""
    starts = [i for i, m in enumerate(history) if isinstance(m, HumanMessage)]
    if not 1 <= turn <= len(starts):
        raise FeedbackError(f"The conversation has no turn {turn}; it has {len(starts)}.",
                            hint="Turns are numbered from 1 (the first question).")
    start = starts[turn - 1]
    end = starts[turn] if turn < len(starts) else len(history)
    calls: list[dict[str, Any]] = []
    personal: list[tuple[str, str]] = []
    reply = ""
    vault = PIIVault()
    for message in history[start + 1 : end]:
        if isinstance(message, AIMessage):
            calls += [{"name": c["name"], "args": c["args"]} for c in message.tool_calls]
            if not message.tool_calls:
                reply = _text(message.content)
        elif isinstance(message, ToolMessage):
            personal += vault.pii_values(message)
    return {"question": _text(history[start].content), "reply": reply, "tool_calls": calls, "personal": personal}


def record_feedback(
    audit: AuditLog, history: list[Any], conversation_id: str, turn: int, rating: str, *,
    actor: str, comment: str | None = None,
) -> dict[str, Any]:
    """Store a rating of turn ``turn``; the latest rating of a turn is the one that counts."""
    if rating not in ("up", "down"):
        raise FeedbackError(f"Rating {rating!r} is not one of: up, down.")
    found = turn_of(history, turn)
    personal = found["personal"]
    args = {"turn": turn, "question": _masked(found["question"][:2000], personal),
            "reply": _masked(found["reply"][:REPLY_KEPT], personal),
            "tool_calls": found["tool_calls"][:5], "comment": (comment or "")[:2000] or None}
    audit.append(AuditRecord(now(), actor, conversation_id, "feedback", rating, args, ok=True))
    return {"conversation_id": conversation_id, "turn": turn, "rating": rating}


def list_feedback(audit: AuditLog, rating: str | None = None, limit: int = 10_000) -> list[dict[str, Any]]:
    """The current rating of every rated turn (latest wins), most recent first; only ``rating`` when given."""
    latest: dict[tuple[str, int], AuditRecord] = {}
    promoted: set[tuple[str, int]] = set()
    for record in audit.query(limit=limit, kinds=("feedback", "verified")):  # not the oldest N of every kind
        if record.kind == "feedback":
            latest[(record.conversation_id, int(record.args.get("turn", 0)))] = record
        elif record.kind == "verified" and record.name == "promote":
            promoted.add((record.conversation_id, int(record.args.get("turn", 0))))
    out = []
    for (conversation, turn), record in sorted(latest.items(), key=lambda kv: kv[1].ts, reverse=True):
        if rating is not None and record.name != rating:
            continue
        out.append({"conversation_id": conversation, "turn": turn, "rating": record.name, "ts": record.ts,
                    "actor": record.actor, "question": record.args.get("question"), "reply": record.args.get("reply"),
                    "comment": record.args.get("comment"), "tool_calls": record.args.get("tool_calls", []),
                    "promoted": (conversation, turn) in promoted})
    return out


def promote(audit: AuditLog, home: Any, conversation_id: str, turn: int, *, actor: str) -> dict[str, Any]:
    """Make a thumbed-up turn a verified question in ``home/semantic.yaml``; returns the entry written."""
    # lazy: yaml loads slowly; only this path needs it
    from tools.semantic_model import (
        FILE_NAME,
        SemanticModel,
        VerifiedQuestion,
        load_semantic_model,
        save_semantic_model,
    )

    rated = {(f["conversation_id"], f["turn"]): f for f in list_feedback(audit)}
    found = rated.get((conversation_id, turn))
    if found is None or found["rating"] != "up":
        raise FeedbackError(f"Turn {turn} of conversation {conversation_id} has no thumbs-up.",
                            hint="Only answers rated up can be promoted (mara eval feedback lists them).")
    data = [c for c in found["tool_calls"] if c["name"] in ("query_data", "run_sql")]
    if not data:
        raise FeedbackError(f"Turn {turn} of conversation {conversation_id} was not answered by a data query.",
                            hint="Only answers computed with query_data or run_sql become verified questions.")
    call = data[-1]
    entry = (VerifiedQuestion(question=found["question"], query=call["args"], verified_by=actor)
             if call["name"] == "query_data"
             else VerifiedQuestion(question=found["question"], sql=str(call["args"].get("sql")), verified_by=actor))
    path = home / FILE_NAME
    model = load_semantic_model(path) or SemanticModel()
    existing = model.verified_questions or []
    model.verified_questions = [v for v in existing if v.question.strip().lower() != entry.question.strip().lower()] + [entry]
    save_semantic_model(model, path)
    audit.append(AuditRecord(now(), actor, conversation_id, "verified", "promote",
                             {"turn": turn, "question": entry.question}, ok=True))
    return entry.model_dump(mode="json", exclude_none=True, exclude_defaults=True)


def _masked(text: str, personal: list[tuple[str, str]]) -> str:
    """``text`` with e-mails, phones and the turn's personal values replaced by placeholders
    (a throwaway vault: the audit keeps no way back)."""
    return PIIVault().mask(text, personal) if text else text


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return str(content or "")
