"""Conversations: list (``GET /v1/conversations``), read, rename and delete one.

A key sees and changes only the conversations it started (the owner is recorded when the
first turn is posted, see :meth:`api.runtime.Runtime.may_write`); an ``admin`` key (or the open
local API) sees them all."""

from __future__ import annotations

from typing import Any, cast

from fastapi import APIRouter, Depends, Query, Response
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool

from api.auth import Caller, require
from api.errors import AUTH_RESPONSES, ERROR_RESPONSES, NotFound
from api.models import (
    ConversationList,
    ConversationMessage,
    ConversationResponse,
    ConversationSummary,
    ErrorResponse,
    FeedbackRequest,
    FeedbackResponse,
    MessageToolCall,
    RenameRequest,
    SearchHit,
    SearchResults,
    StopResponse,
    StoredCard,
    VerifiedQuestionResponse,
)
from api.runtime import Runtime, get_runtime

router = APIRouter(prefix="/v1", tags=["conversations"], dependencies=[require("chat")])

_ROLES = {"human": "user", "ai": "assistant", "tool": "tool", "system": "system"}


SEARCH_SCAN = 200  # conversations searched per request (the most recent ones)
SEARCH_HITS = 50


@router.get(
    "/conversations/search",
    response_model=SearchResults,
    summary="Search your conversations",
    responses={**AUTH_RESPONSES, **ERROR_RESPONSES},
)
async def search_conversations(
    q: str = Query(min_length=1, max_length=200, description="Words to find (plain text, case-insensitive)."),
    runtime: Runtime = Depends(get_runtime), caller: Caller = require("chat"),
) -> SearchResults:
    """Questions and answers of the caller's own conversations that contain ``q``.

    Only the key's own conversations are searched, admin keys included (search is for finding
    one's work, not for reading others'); the open local API searches all. ``q`` is matched as
    plain text (no patterns, no SQL); the 200 most recent conversations are searched."""
    words = " ".join(q.split()).casefold()
    if not words:
        return SearchResults(query=q, hits=[])
    assistant = await runtime.assistant()
    actor = None if caller.anonymous else caller.actor

    def search() -> list[SearchHit]:
        hits: list[SearchHit] = []
        for summary in assistant.conversations(actor, SEARCH_SCAN):
            turn = 0
            for raw in assistant.history(summary["conversation_id"]):
                role = _ROLES.get(getattr(raw, "type", ""))
                turn += role == "user"
                if role not in ("user", "assistant"):
                    continue
                text = " ".join(_text(getattr(raw, "content", "")).split())
                at = text.casefold().find(words)
                if at < 0:
                    continue
                start = max(0, at - 60)
                snippet = ("…" if start else "") + text[start:start + 160] + ("…" if start + 160 < len(text) else "")
                hits.append(SearchHit(conversation_id=summary["conversation_id"], title=summary["title"],
                                      updated=summary["updated"], role=cast(Any, role), turn=max(turn, 1), snippet=snippet))
                break  # one hit per conversation: the first message that matches
            if len(hits) >= SEARCH_HITS:
                break
        return hits

    return SearchResults(query=q, hits=await run_in_threadpool(search))


@router.post(
    "/conversations/{conversation_id}/stop",
    response_model=StopResponse,
    summary="Stop the running turn",
    responses={404: {"model": ErrorResponse, "description": "No such conversation."}, **AUTH_RESPONSES, **ERROR_RESPONSES},
)
async def stop_turn(
    conversation_id: str, runtime: Runtime = Depends(get_runtime), caller: Caller = require("chat"),
) -> StopResponse:
    """Stop the conversation's running turn, its tool work included: it ends at its next step
    (well within a second for the built-in tools) with the reply "Stopped.". The owner only
    (like adding a turn); ``stopped`` is false when no turn was running on this server."""
    owner = await run_in_threadpool(runtime.ledger.owner, "conversation", conversation_id)
    if owner != caller.actor:
        raise NotFound(f"No conversation with id '{conversation_id}'.")
    return StopResponse(stopped=runtime.stop(conversation_id))


@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationResponse,
    response_model_exclude_none=True,
    summary="Read a conversation",
    responses={
        404: {"model": ErrorResponse, "description": "No such conversation."},
        **AUTH_RESPONSES,
        **ERROR_RESPONSES,
    },
)
async def get_conversation(
    conversation_id: str, runtime: Runtime = Depends(get_runtime), caller: Caller = require("chat")
) -> ConversationResponse:
    """The conversation's messages, oldest first: user, assistant (with tool calls) and tool."""
    assistant = await runtime.assistant()
    await _check_owner(runtime, conversation_id, caller)
    stored = await run_in_threadpool(assistant.history, conversation_id)
    messages = [m for m in (to_message(raw) for raw in stored) if m is not None]
    if not messages:
        raise NotFound(f"No conversation with id '{conversation_id}'.")
    return ConversationResponse(conversation_id=conversation_id, messages=messages)


@router.get(
    "/conversations",
    response_model=ConversationList,
    summary="List conversations",
    responses={**AUTH_RESPONSES, **ERROR_RESPONSES},
)
async def list_conversations(
    limit: int = Query(default=50, ge=1, le=500), runtime: Runtime = Depends(get_runtime), caller: Caller = require("chat"),
) -> ConversationList:
    """The caller's conversations, most recent first (all of them for an admin key)."""
    assistant = await runtime.assistant()
    everyone = _sees_all(caller)
    rows = await run_in_threadpool(assistant.conversations, None if everyone else caller.actor, limit)
    return ConversationList(conversations=[ConversationSummary(**{k: v for k, v in r.items() if k != "actor"}) for r in rows])


@router.patch(
    "/conversations/{conversation_id}",
    response_model=ConversationSummary,
    summary="Rename a conversation",
    responses={404: {"model": ErrorResponse, "description": "No such conversation."}, **AUTH_RESPONSES, **ERROR_RESPONSES},
)
async def rename_conversation(
    conversation_id: str, body: RenameRequest, runtime: Runtime = Depends(get_runtime), caller: Caller = require("chat"),
) -> ConversationSummary:
    """Give the conversation a title (shown in the web chat's list)."""
    assistant = await runtime.assistant()
    await _check_owner(runtime, conversation_id, caller)
    if not await run_in_threadpool(assistant.rename_conversation, conversation_id, body.title, actor=caller.actor):
        raise NotFound(f"No conversation with id '{conversation_id}'.")
    rows = await run_in_threadpool(assistant.conversations, None, 500)
    found = next((r for r in rows if r["conversation_id"] == conversation_id), None)
    if found is None:
        raise NotFound(f"No conversation with id '{conversation_id}'.")
    return ConversationSummary(**{k: v for k, v in found.items() if k != "actor"})


@router.delete(
    "/conversations/{conversation_id}",
    status_code=204,
    summary="Delete a conversation",
    responses={404: {"model": ErrorResponse, "description": "No such conversation."}, **AUTH_RESPONSES, **ERROR_RESPONSES},
)
async def delete_conversation(
    conversation_id: str, runtime: Runtime = Depends(get_runtime), caller: Caller = require("chat"),
) -> Response:
    """Forget the conversation's messages; the audit trail keeps the record that it existed."""
    assistant = await runtime.assistant()
    await _check_owner(runtime, conversation_id, caller)
    if not await run_in_threadpool(assistant.delete_conversation, conversation_id, actor=caller.actor):
        raise NotFound(f"No conversation with id '{conversation_id}'.")
    return Response(status_code=204)


@router.post(
    "/conversations/{conversation_id}/turns/{turn}/feedback",
    response_model=FeedbackResponse,
    status_code=201,
    summary="Rate an answer (thumbs up / down)",
    responses={404: {"model": ErrorResponse, "description": "No such conversation or turn."}, **AUTH_RESPONSES, **ERROR_RESPONSES},
)
async def rate_turn(
    conversation_id: str, body: FeedbackRequest, turn: int = PathParam(ge=1, le=10_000),
    runtime: Runtime = Depends(get_runtime), caller: Caller = require("chat"),
) -> FeedbackResponse:
    """Store a rating of turn ``turn`` (1 = the first question); the latest rating counts. A thumbs-down
    is kept with the turn for review (``mara eval feedback``); an admin can promote a thumbs-up."""
    # lazy: langgraph, langchain, langchain_core load slowly; only this path needs them
    from assistant.evaluation.feedback import record_feedback

    assistant = await runtime.assistant()
    # a rating is a write: the owner only, admins included (as for turns, Runtime.may_write)
    owner = await run_in_threadpool(runtime.ledger.owner, "conversation", conversation_id)
    if owner != caller.actor:
        raise NotFound(f"No conversation with id '{conversation_id}'.")
    history = await run_in_threadpool(assistant.history, conversation_id)
    if not history:
        raise NotFound(f"No conversation with id '{conversation_id}'.")
    agent: Any = assistant  # the real Assistant: its audit trail keeps the feedback
    saved = await run_in_threadpool(lambda: record_feedback(  # FeedbackError: 404 (its http_status)
        agent.audit, history, conversation_id, turn, body.rating, actor=caller.actor, comment=body.comment))
    return FeedbackResponse(**saved)


@router.post(
    "/conversations/{conversation_id}/turns/{turn}/promote",
    response_model=VerifiedQuestionResponse,
    response_model_exclude_none=True,
    summary="Promote a thumbed-up answer to a verified question (admin)",
    responses={404: {"model": ErrorResponse, "description": "No thumbed-up data answer there."}, **AUTH_RESPONSES, **ERROR_RESPONSES},
)
async def promote_turn(
    conversation_id: str, turn: int = PathParam(ge=1, le=10_000),
    runtime: Runtime = Depends(get_runtime), caller: Caller = require("admin"),
) -> VerifiedQuestionResponse:
    """Write the turn's question and the query that answered it to ``verified_questions`` in semantic.yaml."""
    # lazy: langgraph, langchain, langchain_core load slowly; only this path needs them
    from assistant.evaluation.feedback import promote

    agent: Any = await runtime.assistant()
    entry = await run_in_threadpool(lambda: promote(  # FeedbackError: 404 (its http_status)
        agent.audit, agent.settings.home, conversation_id, turn, actor=caller.actor))
    return VerifiedQuestionResponse(**entry)


def _sees_all(caller: Caller) -> bool:
    return caller.anonymous or "admin" in caller.scopes


async def _check_owner(runtime: Runtime, conversation_id: str, caller: Caller) -> None:
    """404 (not 403: ids of others' conversations are not confirmed) unless the caller owns the
    conversation (:meth:`Runtime.may_read`: its owner, an admin key, the open local API)."""
    if not await run_in_threadpool(runtime.may_read, "conversation", conversation_id, caller):
        raise NotFound(f"No conversation with id '{conversation_id}'.")


def to_message(raw: Any) -> ConversationMessage | None:
    """A LangChain message as an API message; ``None`` for kinds the API does not show."""
    role = _ROLES.get(getattr(raw, "type", ""))
    if role is None:
        return None
    calls = [
        MessageToolCall(id=c.get("id"), name=c["name"], args=c.get("args") or {})
        for c in getattr(raw, "tool_calls", None) or []
    ]
    return ConversationMessage(
        role=role,  # type: ignore[arg-type]
        content=_text(getattr(raw, "content", "")),
        tool_calls=calls or None,
        name=getattr(raw, "name", None) if role == "tool" else None,
        tool_call_id=getattr(raw, "tool_call_id", None) if role == "tool" else None,
        cards=_cards(raw) if role == "tool" else None,
    )


def _cards(raw: Any) -> list[StoredCard] | None:
    """The tool message's result cards, rebuilt from its stored artifact by the code that streamed them."""
    # lazy: assistant.agent loads langgraph; the runtime has already imported it to answer
    from assistant.agent import result_events

    cards = [StoredCard(type=e.type, data=e.data) for e in result_events(raw)]  # type: ignore[arg-type]
    return cards or None


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return "" if content is None else str(content)
