"""Pydantic models for every request and response body, so ``/openapi.json`` documents them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assistant.events import EventType

MAX_MESSAGE_CHARS = 20_000
CONVERSATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"

Mode = Literal["offline", "llm"]


class ErrorDetail(BaseModel):
    """One problem found in a request (validation errors list one per field)."""

    loc: list[str | int] = Field(description="Where the problem is, e.g. ['body', 'message'].")
    message: str


class ErrorBody(BaseModel):
    """What went wrong, in one line; never a stack trace."""

    type: str = Field(description="Machine-readable kind, e.g. 'not_found', 'validation_error'.")
    message: str = Field(description="Human-readable explanation naming what is accepted.")
    details: list[ErrorDetail] | None = None


class ErrorResponse(BaseModel):
    """The body of every non-2xx response."""

    error: ErrorBody


class HealthResponse(BaseModel):
    """Liveness plus which brain answers."""

    status: Literal["ok"] = "ok"
    mode: Mode


class ChatRequest(BaseModel):
    """One user message; omit ``conversation_id`` to start a new conversation."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"message": "How many customers do we have?", "stream": False}]
        },
    )

    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    conversation_id: str | None = Field(
        default=None,
        pattern=CONVERSATION_ID_PATTERN,
        description="Continue this conversation (letters, digits, '_', '.', ':', '-'; ≤128 chars).",
    )
    stream: bool = Field(
        default=True,
        description="true: text/event-stream of events; false: one JSON document when done.",
    )

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("message must contain some text, not only whitespace")
        return value


class ToolCall(BaseModel):
    """A tool the assistant called during the turn."""

    name: str
    args: dict[str, Any] = Field(default_factory=dict)


class EventModel(BaseModel):
    """One event of a turn; see :class:`assistant.events.Event` for each type's ``data``."""

    type: EventType
    data: dict[str, Any] = Field(default_factory=dict)


class ChatResponse(BaseModel):
    """A finished turn (``stream: false``)."""

    reply: str
    conversation_id: str
    mode: Mode
    tool_calls: list[ToolCall]
    events: list[EventModel]


class MessageToolCall(BaseModel):
    """A tool call requested by an assistant message."""

    id: str | None = None
    name: str
    args: dict[str, Any] = Field(default_factory=dict)


class ConversationMessage(BaseModel):
    """One stored message of a conversation."""

    role: Literal["user", "assistant", "tool", "system"]
    content: str
    tool_calls: list[MessageToolCall] | None = None
    name: str | None = Field(default=None, description="Tool name (tool messages).")
    tool_call_id: str | None = Field(default=None, description="Call answered (tool messages).")


class ConversationResponse(BaseModel):
    """A stored conversation, oldest message first."""

    conversation_id: str
    messages: list[ConversationMessage]
