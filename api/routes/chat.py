"""``POST /v1/chat``: one user turn, streamed as Server-Sent Events or returned as JSON."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.auth import Caller, require
from api.errors import AUTH_RESPONSES, ERROR_RESPONSES, NotFound
from api.models import ChatRequest, ChatResponse, ErrorResponse, ToolCall
from api.runtime import ChatAssistant, Runtime, get_runtime
from api.sse import SSE_HEADERS, events_in_threadpool, format_sse
from foundation.events import Event, TurnSummary

router = APIRouter(prefix="/v1", tags=["chat"])

_SSE_DOC = (
    "One frame per event, in order: `event: <type>` then `data: <json>`. Types: text "
    "(`{delta}`), tool_start, progress (`{name, message, done?, total?}` during long tools), "
    "tool_end, table, chart, citation, draft (one copy variant: labelled fields with counts and checks), usage, error, and finally done "
    "(`{reply, conversation_id, mode, tool_calls}`)."
)


@router.post(
    "/chat",
    response_model=ChatResponse,
    summary="Send a message",
    responses={
        200: {
            "description": "`stream: false` → ChatResponse JSON; `stream: true` → event stream.",
            "content": {
                "text/event-stream": {"schema": {"type": "string", "description": _SSE_DOC}}
            },
        },
        400: {"model": ErrorResponse, "description": "Mara refused the request."},
        404: {"model": ErrorResponse, "description": "The conversation is another caller's."},
        503: {"model": ErrorResponse, "description": "The workspace is missing or broken."},
        **AUTH_RESPONSES,
        **ERROR_RESPONSES,
    },
)
async def chat(
    body: ChatRequest,
    runtime: Runtime = Depends(get_runtime),
    caller: Caller = require("chat"),
) -> Any:
    """Run one turn of the conversation.

    With ``stream`` (the default) the reply is ``text/event-stream``; the conversation id is
    also sent up front in the ``X-Conversation-Id`` header. Turns of one conversation run
    one after another. Needs the ``chat`` scope. A ``conversation_id`` another key started
    is answered 404, as if it did not exist; a new one becomes the caller's.
    """
    assistant = await runtime.assistant()
    conversation_id = body.conversation_id or uuid.uuid4().hex
    if not await run_in_threadpool(runtime.may_write, conversation_id, caller):
        raise NotFound(f"No conversation with id '{conversation_id}'.")  # not confirmed to exist
    if body.stream:
        frames = _sse_frames(runtime, assistant, body.message, conversation_id, caller, body.replace_turn)
        headers = {**SSE_HEADERS, "X-Conversation-Id": conversation_id}
        return StreamingResponse(frames, media_type="text/event-stream", headers=headers)
    async with runtime.turn_locks.hold(conversation_id):
        events = await run_in_threadpool(
            lambda: list(runtime.turn(assistant, body.message, conversation_id, caller,
                                      replace_turn=body.replace_turn))
        )
    return _chat_response(events, conversation_id, runtime.mode)


async def _sse_frames(
    runtime: Runtime,
    assistant: ChatAssistant,
    message: str,
    conversation_id: str,
    caller: Caller,
    replace_turn: int | None = None,
) -> AsyncIterator[bytes]:
    async with runtime.turn_locks.hold(conversation_id):
        turn = runtime.turn(assistant, message, conversation_id, caller, replace_turn=replace_turn)
        async for event in events_in_threadpool(turn):
            yield format_sse(event)


def _chat_response(events: list[Event], conversation_id: str, mode: str) -> ChatResponse:
    turn = TurnSummary.from_events(events)
    return ChatResponse.model_validate({
        "reply": turn.reply,
        "conversation_id": turn.conversation_id or conversation_id,
        "mode": turn.mode or mode,
        "tool_calls": [ToolCall(name=c["name"], args=c.get("args") or {}) for c in turn.tool_calls],
        "events": [e.to_dict() for e in events],
    })
