"""The OpenAI wire bodies these routes read and write (chat completions, chunks, models, errors)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MODEL_ID = "mara"
#: ``created`` of the ``mara`` model (2025-01-01T00:00:00Z); fixed so listings are stable.
MODEL_CREATED = 1735689600


class OpenAIErrorBody(BaseModel):
    """What went wrong, as OpenAI reports it."""

    message: str
    type: str = Field(description="e.g. 'invalid_request_error', 'server_error'.")
    param: str | None = Field(default=None, description="The request field at fault, if any.")
    code: str | None = Field(default=None, description="e.g. 'model_not_found'.")


class OpenAIErrorResponse(BaseModel):
    """The body of every non-2xx response of the OpenAI-compatible routes."""

    error: OpenAIErrorBody



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
