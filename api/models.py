"""Pydantic models for every request and response body, so ``/openapi.json`` documents them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from foundation.events import (
    ChartData,
    CitationData,
    DoneData,
    DraftData,
    ErrorData,
    ProgressData,
    TableData,
    TextData,
    ToolEndData,
    ToolStartData,
    UsageData,
)

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
    replace_turn: int | None = Field(
        default=None, ge=1, le=10_000,
        description="Regenerate / edit and resend: this message replaces question N (1 = the first) of "
        "the conversation and everything after it. A number past the last question adds a new turn.",
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


class TextEvent(BaseModel):
    """A ``text`` event: :class:`foundation.events.TextData`."""

    type: Literal["text"]
    data: TextData

class ToolStartEvent(BaseModel):
    """A ``tool_start`` event: :class:`foundation.events.ToolStartData`."""

    type: Literal["tool_start"]
    data: ToolStartData

class ToolEndEvent(BaseModel):
    """A ``tool_end`` event: :class:`foundation.events.ToolEndData`."""

    type: Literal["tool_end"]
    data: ToolEndData

class ProgressEvent(BaseModel):
    """A ``progress`` event: :class:`foundation.events.ProgressData`."""

    type: Literal["progress"]
    data: ProgressData

class TableEvent(BaseModel):
    """A ``table`` event: :class:`foundation.events.TableData`."""

    type: Literal["table"]
    data: TableData

class ChartEvent(BaseModel):
    """A ``chart`` event: :class:`foundation.events.ChartData`."""

    type: Literal["chart"]
    data: ChartData

class CitationEvent(BaseModel):
    """A ``citation`` event: :class:`foundation.events.CitationData`."""

    type: Literal["citation"]
    data: CitationData

class DraftEvent(BaseModel):
    """A ``draft`` event: :class:`foundation.events.DraftData`."""

    type: Literal["draft"]
    data: DraftData

class UsageEvent(BaseModel):
    """A ``usage`` event: :class:`foundation.events.UsageData`."""

    type: Literal["usage"]
    data: UsageData

class ErrorEvent(BaseModel):
    """A ``error`` event: :class:`foundation.events.ErrorData`."""

    type: Literal["error"]
    data: ErrorData

class DoneEvent(BaseModel):
    """A ``done`` event: :class:`foundation.events.DoneData`."""

    type: Literal["done"]
    data: DoneData


#: One event of a turn, its ``data`` shaped by its ``type`` (the OpenAPI schema shows each).
ChatEvent = Annotated[
    TextEvent | ToolStartEvent | ToolEndEvent | ProgressEvent | TableEvent | ChartEvent | CitationEvent | DraftEvent | UsageEvent | ErrorEvent | DoneEvent,
    Field(discriminator="type"),
]


class ChatResponse(BaseModel):
    """A finished turn (``stream: false``)."""

    reply: str
    conversation_id: str
    mode: Mode
    tool_calls: list[ToolCall]
    events: list[ChatEvent]


class MessageToolCall(BaseModel):
    """A tool call requested by an assistant message."""

    id: str | None = None
    name: str
    args: dict[str, Any] = Field(default_factory=dict)


class StoredCard(BaseModel):
    """A result card of a stored turn: a ``table``, ``chart``, ``draft`` or ``citation`` event's type and data."""

    type: Literal["table", "chart", "draft", "citation"]
    data: dict[str, Any]


class ConversationMessage(BaseModel):
    """One stored message of a conversation."""

    role: Literal["user", "assistant", "tool", "system"]
    content: str
    tool_calls: list[MessageToolCall] | None = None
    name: str | None = Field(default=None, description="Tool name (tool messages).")
    tool_call_id: str | None = Field(default=None, description="Call answered (tool messages).")
    cards: list[StoredCard] | None = Field(
        default=None, description="Result cards the tool produced (tool messages), as its turn streamed them."
    )


class ConversationResponse(BaseModel):
    """A stored conversation, oldest message first."""

    conversation_id: str
    messages: list[ConversationMessage]


class ConversationSummary(BaseModel):
    """One conversation in the list: its title (first message or a rename), times and turn count."""

    conversation_id: str
    title: str
    started: str
    updated: str
    turns: int


class ConversationList(BaseModel):
    """The caller's conversations, most recent first."""

    conversations: list[ConversationSummary]


class SearchHit(BaseModel):
    """A conversation with a message containing the searched words, and where."""

    conversation_id: str
    title: str
    updated: str
    role: Literal["user", "assistant"]
    turn: int = Field(description="The question the matching message belongs to (1 = the first).")
    snippet: str = Field(description="The matching message around the first match (at most 160 characters).")


class SearchResults(BaseModel):
    """Matches in the caller's own conversations, most recent conversation first."""

    query: str
    hits: list[SearchHit]


class StopResponse(BaseModel):
    """Whether a running turn of the conversation was told to stop."""

    stopped: bool


class RenameRequest(BaseModel):
    """A new title for a conversation."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=120)


# --- data, knowledge, audiences, copy --------------------------------------------------------


class ColumnInfoModel(BaseModel):
    """A column of a warehouse table."""

    name: str
    type: str


class TableInfoModel(BaseModel):
    """A warehouse table."""

    name: str
    rows: int
    columns: list[ColumnInfoModel]


class QueryResponse(BaseModel):
    """The result of a structured query; the full table is also kept as a CSV artifact."""

    title: str
    sql: str = Field(description="The read-only SQL the spec compiled to.")
    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool = Field(description="True when the row cap or the result size cap cut the result.")
    truncated_reason: str | None = Field(
        default=None, description="'rows' (MARA_QUERY_ROW_CAP) or 'bytes' (MARA_MAX_RESULT_BYTES)."
    )
    artifact_id: str
    csv_url: str = Field(description="Download the full result as CSV.")


class KnowledgeSearchRequest(BaseModel):
    """Search the brand knowledge base (vector + keyword search, fused)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"query": "tone of voice", "k": 3}]}
    )

    query: str = Field(min_length=1, max_length=2000)
    k: int = Field(default=5, ge=1, le=50, description="Number of passages.")

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("query must contain some text, not only whitespace")
        return value


class PassageModel(BaseModel):
    """A knowledge-base passage to cite."""

    source: str
    title: str
    heading: str
    text: str
    score: float = Field(description="Fused rank score, 1.0 = first for both retrievers.")


class KnowledgeSearchResponse(BaseModel):
    """Passages best first."""

    query: str
    passages: list[PassageModel]


class IngestIssueModel(BaseModel):
    """A document that was not ingested, and why."""

    source: str
    message: str


class IngestResponse(BaseModel):
    """What an upload did; a document with an already ingested file name replaces it."""

    added: list[str]
    updated: list[str]
    unchanged: list[str]
    errors: list[IngestIssueModel]
    chunks_added: int
    chunks_removed: int
    elapsed_s: float


AudienceKind = Literal["rfm_segment", "cluster", "model", "query"]


class AudienceModel(BaseModel):
    """A saved audience: its rule and how many customers it held when last refreshed."""

    name: str
    kind: AudienceKind
    params: dict[str, Any]
    size: int
    created: str
    refreshed: str


class AudienceList(BaseModel):
    """Saved audiences."""

    audiences: list[AudienceModel]


class AudienceCreate(BaseModel):
    """Save (or replace) an audience; members are computed now from the current data.

    ``params`` by ``kind``: ``rfm_segment`` → ``{"segments": ["At Risk"], "orders_table"?}``;
    ``cluster`` → ``{"cluster": NAME, "table"?, "k"?}``; ``model`` → ``{"model_id", "top"? |
    "threshold"?, "table"?}``; ``query`` → ``{"sql": "SELECT customer_id FROM ..."}``.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "At risk", "kind": "rfm_segment", "params": {"segments": ["At Risk"]}}
            ]
        },
    )

    name: str = Field(min_length=1, max_length=100, pattern=r"[A-Za-z0-9]")
    kind: AudienceKind
    params: dict[str, Any] = Field(default_factory=dict)


class CopyRequest(BaseModel):
    """A copy brief: variants for one channel, checked against its limits and brand rules."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "channel": "sms",
                    "brief": "Autumn sale: 20% off jackets until 30 November",
                    "segment": "At Risk",
                    "variants": 2,
                }
            ]
        },
    )

    channel: str = Field(
        min_length=1, max_length=40, description="email, sms, push, google_rsa, meta_ad or social."
    )
    brief: str = Field(min_length=1, max_length=4000, description="What the message is about.")
    segment: str | None = Field(default=None, max_length=100, description="e.g. 'At Risk'.")
    variants: int = Field(default=3, ge=1, le=10)
    offer: str | None = Field(default=None, max_length=500)
    tone: str | None = Field(default=None, max_length=100)
    language: str = Field(default="en", min_length=2, max_length=20)
    offline: bool = Field(
        default=False, description="Use the offline generator even when an LLM is configured."
    )
    fields: list[str] | None = Field(
        default=None,
        max_length=6,
        description="Draft only these fields: e.g. ['subject'] (subject lines with preheaders), ['headline'].",
    )


class CopyResponse(BaseModel):
    """Variants (the channel's fields plus ``checks``) and usage, as ``mara copy --json``."""

    variants: list[dict[str, Any]]
    usage: dict[str, Any]


class CopyBatchRequest(BaseModel):
    """Several briefs (or one brief for several segments) in one request."""

    model_config = ConfigDict(extra="forbid")

    items: list[CopyRequest] = Field(min_length=1, max_length=20)


class CopyBatchItem(BaseModel):
    """One brief's result, or the error that brief got."""

    ok: bool
    result: CopyResponse | None = None
    error: ErrorBody | None = None


class CopyBatchResponse(BaseModel):
    """Results in the order of the briefs."""

    results: list[CopyBatchItem]


# --- feedback on answers ---------------------------------------------------------------------


class FeedbackRequest(BaseModel):
    """A rating of one answer: ``up`` (right) or ``down`` (kept with the turn for review)."""

    model_config = ConfigDict(extra="forbid")

    rating: Literal["up", "down"]
    comment: str | None = Field(default=None, max_length=2000)


class FeedbackResponse(BaseModel):
    conversation_id: str
    turn: int
    rating: Literal["up", "down"]


class VerifiedQuestionResponse(BaseModel):
    """The verified question written to semantic.yaml (``query`` spec or ``sql``)."""

    question: str
    query: dict[str, Any] | None = None
    sql: str | None = None
    verified_by: str | None = None
