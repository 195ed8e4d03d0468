"""``GET /v1/conversations/{id}``: a stored conversation's messages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from api.auth import require
from api.errors import AUTH_RESPONSES, ERROR_RESPONSES, NotFound
from api.models import ConversationMessage, ConversationResponse, ErrorResponse, MessageToolCall
from api.runtime import Runtime, get_runtime

router = APIRouter(prefix="/v1", tags=["conversations"], dependencies=[require("chat")])

_ROLES = {"human": "user", "ai": "assistant", "tool": "tool", "system": "system"}


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
    conversation_id: str, runtime: Runtime = Depends(get_runtime)
) -> ConversationResponse:
    """The conversation's messages, oldest first: user, assistant (with tool calls) and tool."""
    assistant = await runtime.assistant()
    stored = await run_in_threadpool(assistant.history, conversation_id)
    messages = [m for m in (to_message(raw) for raw in stored) if m is not None]
    if not messages:
        raise NotFound(f"No conversation with id '{conversation_id}'.")
    return ConversationResponse(conversation_id=conversation_id, messages=messages)


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
    )


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return "" if content is None else str(content)
