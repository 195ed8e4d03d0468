"""Mara's events as the Markdown of one OpenAI reply (streamed or whole, identical)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from api.openai_compat.schemas import Usage
from foundation.events import Event

#: Rows of each result table shown in the reply.
TABLE_ROWS = 20


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
