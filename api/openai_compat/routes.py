"""The routes: ``GET /v1/models``, ``GET /v1/models/{model}`` and ``POST /v1/chat/completions``."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.auth import Caller, require
from api.openai_compat.conversations import (
    ConversationIndex,
    Turn,
    conversation_index,
    plan_turn,
    remember,
)
from api.openai_compat.errors import ERRORS, OpenAIError, OpenAIRoute, from_mara
from api.openai_compat.renderer import ReplyRenderer, render_reply
from api.openai_compat.schemas import (
    MODEL_CREATED,
    MODEL_ID,
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    ChunkDelta,
    ModelInfo,
    ModelList,
    Usage,
)
from api.runtime import ChatAssistant, Runtime, get_runtime
from api.sse import SSE_HEADERS, events_in_threadpool
from foundation.errors import MaraError

log = logging.getLogger("mara.api.openai")

router = APIRouter(
    prefix="/v1",
    tags=["openai-compatible"],
    route_class=OpenAIRoute,
    dependencies=[require("chat")],
)

_MODELS = ModelList(data=[ModelInfo(id=MODEL_ID, created=MODEL_CREATED, owned_by="mara")])


@router.get("/models", response_model=ModelList, summary="List models", responses=ERRORS)
async def list_models() -> ModelList:
    """The one model served here: ``mara``."""
    return _MODELS


@router.get(
    "/models/{model}", response_model=ModelInfo, summary="Retrieve a model", responses=ERRORS
)
async def get_model(model: str) -> ModelInfo:
    """``mara``, or a 404 ``model_not_found``."""
    _check_model(model, param=None)
    return _MODELS.data[0]


def _check_model(model: str, param: str | None = "model") -> None:
    if model != MODEL_ID:
        raise OpenAIError(
            404,
            f"The model `{model}` does not exist. This server serves one model: `{MODEL_ID}`.",
            param=param,
            code="model_not_found",
        )


_STREAM_DOC = (
    "`data: <chat.completion.chunk JSON>` frames: a role delta, content deltas, a chunk with "
    '`finish_reason: "stop"`, a usage chunk when `stream_options.include_usage`, then '
    "`data: [DONE]`. A failure after the stream started: one `data: {\"error\": {...}}` frame "
    "(OpenAI's error object plus `status`, the HTTP status it has unstreamed), then `data: [DONE]`."
)


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    summary="Create a chat completion",
    responses={
        200: {
            "description": "`stream: false` → chat.completion JSON; `stream: true` → SSE chunks.",
            "content": {
                "text/event-stream": {"schema": {"type": "string", "description": _STREAM_DOC}}
            },
        },
        **ERRORS,
    },
)
async def chat_completions(
    body: ChatCompletionRequest,
    request: Request,
    runtime: Runtime = Depends(get_runtime),
    x_conversation_id: str | None = Header(
        default=None, description="Continue this Mara conversation (overrides `user`)."
    ),
    caller: Caller = require("chat"),
) -> Any:
    """Answer the last user message as Mara; see the module docs for conversation mapping."""
    _check_model(body.model)
    index = conversation_index(runtime)
    turn = await run_in_threadpool(plan_turn, body, x_conversation_id, index, caller.actor)
    if not await run_in_threadpool(runtime.may_write, turn.conversation_id, caller):
        raise OpenAIError(  # another key's conversation: not confirmed to exist
            404,
            f"No conversation with id '{turn.conversation_id}'.",
            param="X-Conversation-Id" if x_conversation_id else None,
            code="conversation_not_found",
        )
    assistant = await runtime.assistant()
    completion_id = "chatcmpl-" + uuid.uuid4().hex
    created = int(time.time())
    base_url = str(request.base_url).rstrip("/")
    headers = {"X-Conversation-Id": turn.conversation_id}
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        frames = _stream(
            runtime,
            assistant,
            turn,
            index,
            base_url,
            ChatCompletionChunk(id=completion_id, created=created, model=body.model, choices=[]),
            include_usage,
            caller,
        )
        return StreamingResponse(
            frames, media_type="text/event-stream", headers={**SSE_HEADERS, **headers}
        )

    def run() -> tuple[str, Usage]:
        events = runtime.turn(assistant, turn.question, turn.conversation_id, caller)
        return render_reply(events, base_url)

    async with runtime.turn_locks.hold(turn.conversation_id):
        content, usage = await run_in_threadpool(run)
        if turn.indexed:
            await run_in_threadpool(remember, index, turn, content)
    completion = ChatCompletion(
        id=completion_id,
        created=created,
        model=body.model,
        usage=usage,
        choices=[Choice(message=AssistantMessage(content=content))],
    )
    return JSONResponse(completion.model_dump(), headers=headers)


def _frame(chunk: ChatCompletionChunk, include_usage: bool) -> bytes:
    """One ``data:`` frame. Deltas carry only their set fields (the final one is ``{}``), as
    OpenAI sends them; ``usage`` is present (null until the last chunk) only when asked for."""
    data = chunk.model_dump(exclude=None if include_usage else {"usage"})
    for choice in data["choices"]:
        choice["delta"] = {k: v for k, v in choice["delta"].items() if v is not None}
    return f"data: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


async def _stream(
    runtime: Runtime,
    assistant: ChatAssistant,
    turn: Turn,
    index: ConversationIndex,
    base_url: str,
    template: ChatCompletionChunk,
    include_usage: bool,
    caller: Caller,
) -> AsyncIterator[bytes]:
    def chunk(delta: ChunkDelta, finish: Literal["stop"] | None = None) -> bytes:
        choice = ChunkChoice(delta=delta, finish_reason=finish)
        return _frame(template.model_copy(update={"choices": [choice]}), include_usage)

    async with runtime.turn_locks.hold(turn.conversation_id):
        yield chunk(ChunkDelta(role="assistant", content=""))
        pieces: list[str] = []
        usage = Usage()
        try:
            renderer = ReplyRenderer(base_url)
            events = events_in_threadpool(
                runtime.turn(assistant, turn.question, turn.conversation_id, caller)
            )
            async for event in events:
                for piece in renderer.feed(event):
                    if isinstance(piece, Usage):
                        usage = piece
                    else:
                        pieces.append(piece)
                        yield chunk(ChunkDelta(content=piece))
            for piece in renderer.finish():
                pieces.append(piece)
                yield chunk(ChunkDelta(content=piece))
        except Exception as exc:  # the status is sent already: report in-stream, then end
            if isinstance(exc, MaraError):  # the status, type and code it has unstreamed
                error = from_mara(exc)
            else:
                log.exception("streamed turn failed")
                error = OpenAIError(
                    500, "Mara hit an unexpected error; it has been logged.", "server_error"
                )
            yield error.stream_frame()
            yield b"data: [DONE]\n\n"
            return
        yield chunk(ChunkDelta(), "stop")
        if include_usage:
            last = template.model_copy(update={"choices": [], "usage": usage})
            yield _frame(last, include_usage)
        yield b"data: [DONE]\n\n"
        if turn.indexed:
            await run_in_threadpool(remember, index, turn, "".join(pieces))
