"""OpenAI-compatible endpoint: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Any OpenAI client or chat UI can talk to Mara through these routes (model id ``mara``). They
speak OpenAI's wire format: ``chat.completion`` JSON, or with ``stream: true`` Server-Sent
Events of ``chat.completion.chunk`` objects (a role delta first, then content deltas, a final
chunk with ``finish_reason: "stop"``, a usage chunk when ``stream_options.include_usage``, and
``data: [DONE]``). Errors use OpenAI's shape ``{"error": {"message", "type", "param", "code"}}``.

**The question.** The last ``user`` message is what Mara answers; its text parts are joined.

**Which Mara conversation a request continues** (first rule that applies):

1. the ``X-Conversation-Id`` request header, used as the conversation id as is (it must match
   the ids ``POST /v1/chat`` accepts, else 400);
2. the ``user`` field: ``"user-" + sha256(caller, user)[:32]`` — the caller (the API key) is
   part of the hash, so two keys sending the same ``user`` never land in one conversation;
3. the history: the messages before the last user message (role and whitespace-trimmed
   text of each), with the caller, are hashed. After every turn the hash of the whole transcript
   *including the reply Mara returned* is recorded against the conversation id, so a client that resends the
   full history (as OpenAI clients do) lands in the same conversation. A request with no earlier
   messages starts a new conversation; earlier messages never seen before (edited history, or
   an index that was removed) start a new conversation named ``"oai-" + hash[:32]``. The index
   lives in ``openai_conversations.sqlite`` in the workspace, so it survives restarts and is
   shared by workers on the same workspace.

Mara keeps its own copy of each conversation, so the earlier messages a client sends are
used only to find the conversation, never re-read as context. A conversation belongs to the key
that started it: one another key started is answered 404 ``conversation_not_found``.

**The reply** is Markdown: a line naming the tools used and their durations
(``_Used: query_data (42 ms)_``), the answer, then each result table (first
:data:`TABLE_ROWS` rows, with a CSV link for the rest), chart titles and sources. The
conversation id is also returned in the ``X-Conversation-Id`` response header.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.auth import Caller, require
from api.errors import ApiError, mara_error_type
from api.models import CONVERSATION_ID_PATTERN, MAX_MESSAGE_CHARS
from api.runtime import ChatAssistant, Runtime, get_runtime
from api.sse import SSE_HEADERS, events_in_threadpool
from foundation.errors import MaraError
from foundation.events import Event
from foundation.settings import touch_private

log = logging.getLogger("mara.api.openai")

MODEL_ID = "mara"
#: ``created`` of the ``mara`` model (2025-01-01T00:00:00Z); fixed so listings are stable.
MODEL_CREATED = 1735689600
#: Rows of each result table shown in the reply.
TABLE_ROWS = 20
INDEX_FILE = "openai_conversations.sqlite"
_CONVERSATION_ID = re.compile(CONVERSATION_ID_PATTERN)


# --- errors --------------------------------------------------------------------------------------


class OpenAIErrorBody(BaseModel):
    """What went wrong, as OpenAI reports it."""

    message: str
    type: str = Field(description="e.g. 'invalid_request_error', 'server_error'.")
    param: str | None = Field(default=None, description="The request field at fault, if any.")
    code: str | None = Field(default=None, description="e.g. 'model_not_found'.")


class OpenAIErrorResponse(BaseModel):
    """The body of every non-2xx response of the OpenAI-compatible routes."""

    error: OpenAIErrorBody


class OpenAIError(Exception):
    """Raised by these routes; rendered as an OpenAI error body with ``status``."""

    def __init__(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers
        self.body = OpenAIErrorBody(message=message, type=type_, param=param, code=code)

    def response(self) -> JSONResponse:
        """The JSON error response."""
        return JSONResponse(
            OpenAIErrorResponse(error=self.body).model_dump(),
            status_code=self.status,
            headers=self.headers,
        )


_HTTP_ERROR_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    429: "rate_limit_error",
}


def _from_http(exc: StarletteHTTPException) -> OpenAIError:
    """Auth, scope, rate and size errors (and other HTTP errors) in OpenAI's shape."""
    message = exc.detail if isinstance(exc.detail, str) else "Request failed."
    return OpenAIError(
        exc.status_code,
        message,
        _HTTP_ERROR_TYPES.get(exc.status_code, "invalid_request_error"),
        code=exc.type if isinstance(exc, ApiError) else None,
        headers=dict(exc.headers or {}),
    )


def _from_mara(exc: MaraError) -> OpenAIError:
    """A Mara error with the status its class carries; 5xx ones are ``server_error``."""
    status = exc.http_status
    if status >= 500:
        return OpenAIError(status, str(exc), "server_error", code=mara_error_type(exc))
    return OpenAIError(status, str(exc), code="mara_error" if status == 400 else mara_error_type(exc))


def _from_validation(exc: RequestValidationError) -> OpenAIError:
    errors = exc.errors()
    first = errors[0] if errors else {}
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    if first.get("type") == "json_invalid":
        return OpenAIError(
            400,
            f"The request body is not valid JSON: {first.get('msg', 'invalid')}.",
            code="invalid_json",
        )
    param = ".".join(loc) or None
    message = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: "
        f"{e.get('msg', 'invalid')}"
        for e in errors
    )
    return OpenAIError(400, message or "Invalid request.", param=param, code="invalid_value")


class OpenAIRoute(APIRoute):
    """A route whose every failure leaves as an OpenAI error body (not Mara's error shape)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler to translate validation, Mara and unexpected errors."""
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except OpenAIError as exc:
                return exc.response()
            except StarletteHTTPException as exc:
                return _from_http(exc).response()
            except RequestValidationError as exc:
                return _from_validation(exc).response()
            except MaraError as exc:
                return _from_mara(exc).response()
            except Exception:
                log.exception("unhandled error on %s %s", request.method, request.url.path)
                return OpenAIError(
                    500, "Mara hit an unexpected error; it has been logged.", "server_error"
                ).response()

        return route


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OpenAIErrorResponse, "description": "Invalid request (OpenAI error shape)."},
    401: {"model": OpenAIErrorResponse, "description": "No API key, or an invalid one."},
    403: {"model": OpenAIErrorResponse, "description": "The key lacks the `chat` scope."},
    413: {"model": OpenAIErrorResponse, "description": "The request body is too large."},
    429: {"model": OpenAIErrorResponse, "description": "Rate limited; see `Retry-After`."},
    404: {"model": OpenAIErrorResponse, "description": "Unknown model (`model_not_found`)."},
    500: {"model": OpenAIErrorResponse, "description": "Unexpected server error (logged)."},
    503: {"model": OpenAIErrorResponse, "description": "The workspace is missing or broken."},
}

router = APIRouter(
    prefix="/v1",
    tags=["openai-compatible"],
    route_class=OpenAIRoute,
    dependencies=[require("chat")],
)


# --- request and response bodies -----------------------------------------------------------------


class ContentPart(BaseModel):
    """One part of a message's content; only ``text`` parts are read."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    """One message of the conversation as the client sends it."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None
    name: str | None = None

    def text(self) -> str:
        """The message's text (text parts joined; other parts ignored)."""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text or "" for p in self.content or [] if p.type == "text")


class StreamOptions(BaseModel):
    """Options of a streamed response."""

    include_usage: bool = Field(
        default=False, description="Send a last chunk with token usage and no choices."
    )


class ChatCompletionRequest(BaseModel):
    """An OpenAI chat completion request. Sampling parameters are accepted and ignored."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "model": MODEL_ID,
                    "messages": [{"role": "user", "content": "How many customers do we have?"}],
                }
            ]
        },
    )

    model: str = Field(description=f"Must be `{MODEL_ID}`.")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = Field(
        default=None, max_length=256, description="Continue this user's Mara conversation."
    )
    n: int | None = Field(default=None, ge=1, le=1, description="Only 1 choice is supported.")


class Usage(BaseModel):
    """Token counts of the turn."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class AssistantMessage(BaseModel):
    """The reply message."""

    role: Literal["assistant"] = "assistant"
    content: str
    refusal: str | None = None


class Choice(BaseModel):
    """The one choice of a completion."""

    index: int = 0
    message: AssistantMessage
    logprobs: None = None
    finish_reason: Literal["stop"] = "stop"


class ChatCompletion(BaseModel):
    """A finished completion (``stream: false``)."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    system_fingerprint: str | None = None


class ChunkDelta(BaseModel):
    """What a chunk adds to the message."""

    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    """The one choice of a chunk."""

    index: int = 0
    delta: ChunkDelta
    logprobs: None = None
    finish_reason: Literal["stop"] | None = None


class ChatCompletionChunk(BaseModel):
    """One streamed chunk (``stream: true``), sent as ``data: <json>``."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None


class ModelInfo(BaseModel):
    """A model clients can ask for."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    """The models served here."""

    object: Literal["list"] = "list"
    data: list[ModelInfo]


# --- conversation index ----------------------------------------------------------------------------


def transcript_hash(messages: list[tuple[str, str]]) -> str:
    """A stable hash of (role, text) pairs; text is whitespace-trimmed."""
    canonical = json.dumps([[role, text.strip()] for role, text in messages], ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class ConversationIndex:
    """Transcript hash → conversation id, in a small SQLite file in the workspace."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        touch_private(self.path)  # a lookup may be the first use: never created with the umask's mode
        con = sqlite3.connect(self.path, timeout=10)
        if not self._ready:
            con.execute(
                "CREATE TABLE IF NOT EXISTS transcripts (hash TEXT PRIMARY KEY, "
                "conversation_id TEXT NOT NULL, updated REAL NOT NULL)"
            )
            self._ready = True
        return con

    def lookup(self, digest: str) -> str | None:
        """The conversation recorded for a transcript hash, if any."""
        with self._lock:
            con = self._connect()
            try:
                row = con.execute(
                    "SELECT conversation_id FROM transcripts WHERE hash = ?", (digest,)
                ).fetchone()
            finally:
                con.close()
        return str(row[0]) if row else None

    def record(self, digest: str, conversation_id: str) -> None:
        """Remember that a transcript belongs to a conversation."""
        with self._lock:
            touch_private(self.path)
            con = self._connect()
            try:
                with con:
                    con.execute(
                        "INSERT OR REPLACE INTO transcripts VALUES (?, ?, ?)",
                        (digest, conversation_id, time.time()),
                    )
            finally:
                con.close()


_indexes: dict[Path, ConversationIndex] = {}
_indexes_lock = threading.Lock()


def _index(runtime: Runtime) -> ConversationIndex:
    path = runtime.settings.home / INDEX_FILE
    with _indexes_lock:
        return _indexes.setdefault(path, ConversationIndex(path))


class Turn(BaseModel):
    """What a request asks: the question and where it belongs."""

    question: str
    conversation_id: str
    earlier: list[tuple[str, str]]
    #: Record the transcript after the turn (only for history-derived conversations).
    indexed: bool
    #: The caller's actor (``key:NAME``), part of every derived conversation id and index hash.
    owner: str = "api:local"


def plan_turn(
    body: ChatCompletionRequest, header_id: str | None, index: ConversationIndex,
    owner: str = "api:local",
) -> Turn:
    """Pick the question and the conversation id by the rules in the module docstring."""
    last = max((i for i, m in enumerate(body.messages) if m.role == "user"), default=None)
    if last is None:
        raise OpenAIError(
            400,
            "messages must contain a user message: Mara answers the last one.",
            param="messages",
            code="missing_user_message",
        )
    question = body.messages[last].text()
    if not question.strip():
        raise OpenAIError(
            400,
            "The last user message has no text.",
            param=f"messages.{last}.content",
            code="empty_message",
        )
    if len(question) > MAX_MESSAGE_CHARS:
        raise OpenAIError(
            400,
            f"The last user message is longer than {MAX_MESSAGE_CHARS} characters.",
            param=f"messages.{last}.content",
            code="message_too_long",
        )
    earlier: list[tuple[str, str]] = [(m.role, m.text()) for m in body.messages[:last]]
    if header_id is not None:
        if not _CONVERSATION_ID.match(header_id):
            raise OpenAIError(
                400,
                "X-Conversation-Id must be 1-128 letters, digits, '_', '.', ':' or '-', "
                "starting with a letter or digit.",
                param="X-Conversation-Id",
                code="invalid_conversation_id",
            )
        return Turn(
            question=question, conversation_id=header_id, earlier=earlier, indexed=False,
            owner=owner,
        )
    if body.user:
        derived = json.dumps([owner, body.user], ensure_ascii=False)
        user_id = "user-" + hashlib.sha256(derived.encode()).hexdigest()[:32]
        return Turn(
            question=question, conversation_id=user_id, earlier=earlier, indexed=False, owner=owner
        )
    if not earlier:
        return Turn(
            question=question,
            conversation_id="oai-" + uuid.uuid4().hex,
            earlier=[],
            indexed=True,
            owner=owner,
        )
    digest = transcript_hash([("owner", owner), *earlier])
    found = index.lookup(digest)
    return Turn(
        question=question,
        conversation_id=found or "oai-" + digest[:32],
        earlier=earlier,
        indexed=True,
        owner=owner,
    )


# --- rendering events as Markdown ------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        text = f"{value:,.2f}" if not value.is_integer() else f"{int(value):,}"
    elif isinstance(value, int):
        text = f"{value:,}" if abs(value) >= 10_000 else str(value)
    else:
        text = str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


def table_markdown(data: dict[str, Any], base_url: str = "") -> str:
    """A ``table`` event as a Markdown table of its first :data:`TABLE_ROWS` rows."""
    columns = [str(c) for c in data.get("columns") or []]
    if not columns:
        return ""
    rows = list(data.get("rows") or [])
    total = int(data.get("row_count") or len(rows))
    lines = []
    if data.get("title"):
        lines.append(f"**{_cell(data['title'])}**\n")
    lines.append("| " + " | ".join(_cell(c) for c in columns) + " |")
    lines.append("| " + " | ".join("---" for _ in columns) + " |")
    for row in rows[:TABLE_ROWS]:
        lines.append("| " + " | ".join(_cell(v) for v in list(row)[: len(columns)]) + " |")
    shown = min(len(rows), TABLE_ROWS)
    if total > shown:
        more = f"_Showing {shown} of {total:,} rows"
        if data.get("artifact_id"):
            more += f" — full table: {base_url}/v1/artifacts/{data['artifact_id']}.csv"
        lines.append("\n" + more + "_")
    return "\n".join(lines)


def _tool_summary(ends: list[dict[str, Any]]) -> str:
    parts = []
    for end in ends:
        bits = [] if end.get("ok", True) else ["failed"]
        duration = end.get("duration_ms")
        if isinstance(duration, int | float):
            bits.append(f"{round(duration)} ms")
        parts.append(f"{end.get('name') or 'tool'}" + (f" ({', '.join(bits)})" if bits else ""))
    return f"_Used: {', '.join(parts)}_\n\n"


class ReplyRenderer:
    """Turns Mara events into Markdown content pieces (and the turn's :class:`Usage`).

    Tool summaries are emitted just before the text that follows them; tables, charts and
    sources are appended after the answer. Streaming and non-streaming replies both come
    from here, so they are identical.
    """

    def __init__(self, base_url: str = "") -> None:
        self.base_url = base_url
        self._pending_tools: list[dict[str, Any]] = []
        self._extras: list[str] = []
        self._sources: list[str] = []

    def feed(self, event: Event) -> list[str | Usage]:
        """What to send after ``event``."""
        data = event.data
        if event.type == "tool_end":
            self._pending_tools.append(data)
        elif event.type == "text":
            delta = str(data.get("delta") or "")
            if delta:
                out: list[str | Usage] = []
                if self._pending_tools:
                    out.append(_tool_summary(self._pending_tools))
                    self._pending_tools = []
                out.append(delta)
                return out
        elif event.type == "table":
            table = table_markdown(data, self.base_url)
            if table:
                self._extras.append(table)
        elif event.type == "chart":
            title = _cell(data.get("title") or "chart")
            self._extras.append(f"_Chart: {title} (shown in Mara's web chat)_")
        elif event.type == "citation":
            label = _cell(data.get("title") or data.get("source") or "source")
            source = _cell(data.get("source") or "")
            suffix = f" — {source}" if source and source != label else ""
            self._sources.append(f"{len(self._sources) + 1}. {label}{suffix}")
        elif event.type == "usage":
            return [
                Usage(
                    prompt_tokens=int(data.get("prompt_tokens") or 0),
                    completion_tokens=int(data.get("completion_tokens") or 0),
                    total_tokens=int(data.get("total_tokens") or 0),
                )
            ]
        return []

    def finish(self) -> list[str]:
        """What to send after the last event."""
        out: list[str] = []
        if self._pending_tools:
            out.append(_tool_summary(self._pending_tools).rstrip("\n"))
        if self._sources:
            self._extras.append("**Sources**\n\n" + "\n".join(self._sources))
        out.extend("\n\n" + extra for extra in self._extras)
        return out


def render_reply(events: Iterable[Event], base_url: str = "") -> tuple[str, Usage]:
    """The whole reply of a finished turn, and its usage."""
    renderer = ReplyRenderer(base_url)
    pieces: list[str] = []
    usage = Usage()
    for event in events:
        for piece in renderer.feed(event):
            if isinstance(piece, Usage):
                usage = piece
            else:
                pieces.append(piece)
    pieces.extend(renderer.finish())
    return "".join(pieces), usage


# --- routes ----------------------------------------------------------------------------------------

_MODELS = ModelList(data=[ModelInfo(id=MODEL_ID, created=MODEL_CREATED, owned_by="mara")])


@router.get("/models", response_model=ModelList, summary="List models", responses=_ERRORS)
async def list_models() -> ModelList:
    """The one model served here: ``mara``."""
    return _MODELS


@router.get(
    "/models/{model}", response_model=ModelInfo, summary="Retrieve a model", responses=_ERRORS
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
    "`data: [DONE]`."
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
        **_ERRORS,
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
    index = _index(runtime)
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
            await run_in_threadpool(_remember, index, turn, content)
    completion = ChatCompletion(
        id=completion_id,
        created=created,
        model=body.model,
        usage=usage,
        choices=[Choice(message=AssistantMessage(content=content))],
    )
    return JSONResponse(completion.model_dump(), headers=headers)


def _remember(index: ConversationIndex, turn: Turn, reply: str) -> None:
    transcript = [("owner", turn.owner), *turn.earlier, ("user", turn.question), ("assistant", reply)]
    index.record(transcript_hash(transcript), turn.conversation_id)


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
            if isinstance(exc, MaraError):
                error = OpenAIError(400, str(exc), code="mara_error")
            else:
                log.exception("streamed turn failed")
                error = OpenAIError(
                    500, "Mara hit an unexpected error; it has been logged.", "server_error"
                )
            body = OpenAIErrorResponse(error=error.body).model_dump()
            yield f"data: {json.dumps(body)}\n\n".encode()
            yield b"data: [DONE]\n\n"
            return
        yield chunk(ChunkDelta(), "stop")
        if include_usage:
            last = template.model_copy(update={"choices": [], "usage": usage})
            yield _frame(last, include_usage)
        yield b"data: [DONE]\n\n"
        if turn.indexed:
            await run_in_threadpool(_remember, index, turn, "".join(pieces))
