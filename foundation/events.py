"""Events a turn produces. Front ends (CLI, API/SSE, Slack, OpenAI-compatible) render these;
they never call a model or a tool themselves.

``Event.data`` of each ``type`` has the shape of one ``TypedDict`` below (:data:`EVENT_DATA`
maps them); the API's OpenAPI schema is built from the same classes, so clients see the real
payloads. :meth:`TurnSummary.from_events` is the one place that picks a finished turn's reply,
usage and error out of its events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict  # pydantic needs this one on Python 3.11

EventType = Literal[
    "text", "tool_start", "tool_end", "progress", "table", "chart", "citation", "draft", "usage", "error", "done"
]

#: Payloads may carry more keys than declared (a tool's table keeps its ``sql``...); pydantic
#: keeps them when it validates a payload (``extra: allow``).
_OPEN: dict[str, Any] = {"extra": "allow"}


class TextData(TypedDict):
    """A piece of the reply, in order."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    delta: str


class ToolStartData(TypedDict):
    """The model called a tool."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    id: str
    name: str
    args: dict[str, Any]


class ProgressData(TypedDict):
    """A long tool reports how it is getting on (``done`` of ``total`` steps when counted)."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    name: str | None
    message: str
    done: NotRequired[int]
    total: NotRequired[int]


class ToolEndData(TypedDict):
    """A tool finished; ``summary`` is the start of what it told the model."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    id: str
    name: str | None
    ok: bool
    duration_ms: float | None
    summary: str


class TableData(TypedDict):
    """A result table (at most 200 rows here; the whole one is the artifact's CSV)."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    artifact_id: str
    title: NotRequired[str]
    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    sql: NotRequired[str | None]


class ChartData(TypedDict):
    """A chart: a Vega-Lite v5 ``spec``; ``png`` names the rendered file when there is one."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    artifact_id: str
    title: str
    spec: dict[str, Any]
    table_id: NotRequired[str]
    png: NotRequired[str]


class CitationData(TypedDict):
    """A brand passage the reply drew on."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    source: str
    title: str
    text: str
    heading: NotRequired[str | None]
    score: NotRequired[float]


class DraftFieldItem(TypedDict):
    """One string of a draft field: as written (merge fields kept), previewed for the sample
    customer, its length with merge fields at channel width and, for SMS, encoding and segments."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    text: str
    preview: str
    chars: int
    sms: NotRequired[dict[str, Any]]


class DraftField(TypedDict):
    """A labelled field of a draft ("Subject line"), its limit and its strings."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    name: str
    label: str
    limit: int | None
    is_list: bool
    items: list[DraftFieldItem]
    merge_fields: list[str]


class DraftCheck(TypedDict):
    """One check of a draft (length, banned words, claims, disclaimer...), with its detail."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    name: str
    passed: bool
    detail: str


class DraftData(TypedDict):
    """One drafted copy variant (``variant`` of ``of``) for ``channel``: its fields and checks;
    ``sample_customer`` holds the made-up values its merge fields are previewed with."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    channel: str
    channel_label: str
    variant: int
    of: int
    brief: str
    fields: list[DraftField]
    checks: list[DraftCheck]
    sample_customer: dict[str, str]
    mode: NotRequired[str]
    note: NotRequired[str]


class UsageData(TypedDict):
    """Tokens of the turn (all its model calls) and their cost when the price is known."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: NotRequired[float | None]


class ErrorData(TypedDict):
    """Something failed; the message says what and how to fix it."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    message: str


class ToolCallData(TypedDict):
    """One tool call of the turn, in the ``done`` event."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    name: str
    args: dict[str, Any]


class DoneData(TypedDict):
    """The turn is over: its whole reply; ``notice`` when the offline planner stood in."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]
    reply: str
    conversation_id: str
    mode: str
    tool_calls: list[ToolCallData]
    notice: NotRequired[str]
    degraded: NotRequired[bool]


#: The payload class of each event type.
EVENT_DATA: dict[str, type] = {
    "text": TextData,
    "tool_start": ToolStartData,
    "tool_end": ToolEndData,
    "progress": ProgressData,
    "table": TableData,
    "chart": ChartData,
    "citation": CitationData,
    "draft": DraftData,
    "usage": UsageData,
    "error": ErrorData,
    "done": DoneData,
}


@dataclass(slots=True)
class Event:
    """One thing that happened in a turn, in order: ``type`` says what, ``data`` carries its
    fields in the shape of ``EVENT_DATA[type]``."""

    type: EventType
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class TurnSummary:
    """What a finished turn amounts to, for front ends that show it whole (not streamed)."""

    reply: str = ""
    conversation_id: str | None = None
    mode: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    notice: str | None = None
    finished: bool = False  # a ``done`` event was seen

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> TurnSummary:
        """The reply, ids and tool calls of the last ``done`` event, the last ``usage`` and the
        first ``error`` message (a turn that did not finish has ``finished`` false)."""
        summary = cls()
        for event in events:
            if event.type == "done":
                data = event.data
                summary.reply = str(data.get("reply") or "")
                summary.conversation_id = data.get("conversation_id")
                summary.mode = data.get("mode")
                summary.tool_calls = list(data.get("tool_calls") or [])
                summary.notice = data.get("notice")
                summary.finished = True
            elif event.type == "usage":
                summary.usage = dict(event.data)
            elif event.type == "error" and summary.error is None:
                summary.error = str(event.data.get("message"))
        return summary

    def shown_reply(self) -> str:
        """The reply to show: the reply, else the error message, else ``""``."""
        return self.reply.strip() or (self.error or "")
