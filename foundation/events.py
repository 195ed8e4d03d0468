"""Events a turn produces. Front ends (CLI, API/SSE, Slack) render these; they never
call a model or a tool themselves."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

EventType = Literal[
    "text", "tool_start", "tool_end", "progress", "table", "chart", "citation", "usage", "error", "done"
]


@dataclass(slots=True)
class Event:
    """One thing that happened in a turn, in order.

    ``type`` says what it is; ``data`` carries its fields:

    - ``text``: ``{"delta": str}`` a piece of the reply
    - ``tool_start``: ``{"id", "name", "args"}``
    - ``progress``: ``{"name", "message", "done"?, "total"?}`` long tool work under way
    - ``tool_end``: ``{"id", "name", "ok": bool, "duration_ms", "summary"}``
    - ``table``: ``{"artifact_id", "columns", "rows", "row_count", "truncated"}``
    - ``chart``: ``{"artifact_id", "title", "spec", "table_id"?, "png"?}`` (Vega-Lite v5)
    - ``citation``: ``{"source", "title", "text"}``
    - ``usage``: ``{"prompt_tokens", "completion_tokens", "total_tokens"}``
    - ``error``: ``{"message"}``
    - ``done``: ``{"reply", "conversation_id", "mode", "tool_calls"}``
    """

    type: EventType
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
