"""Turn events into Slack messages: Block Kit blocks plus a plain-text fallback.

Pure functions, no Slack calls. Slack limits that matter here: a section's text is at most
3000 characters, a message at most 50 blocks, and ``mrkdwn`` is not Markdown
(``*bold*``, ``_italic_``, ``<url|label>``, and ``&``, ``<``, ``>`` must be escaped).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.events import Event

Block = dict[str, Any]

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
TABLE_ROWS = 15
CITATIONS = 5
FALLBACK_LIMIT = 3000

_FENCE = re.compile(r"(```.*?```|`[^`\n]+`)", re.DOTALL)
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_ITALIC = re.compile(r"(?<![\*\w])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![\*\w])")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.MULTILINE)
_BULLET = re.compile(r"^(\s*)[-*+]\s+", re.MULTILINE)
_BOLD_MARK = "\x00"


@dataclass(slots=True)
class SlackMessage:
    """A rendered reply: ``text`` is the notification/fallback, ``blocks`` the Block Kit body.

    ``charts`` are chart events to upload as PNGs; ``csv_tables`` the ids of table artifacts
    too large for the message, to upload as CSV files.
    """

    text: str
    blocks: list[Block] = field(default_factory=list)
    charts: list[dict[str, Any]] = field(default_factory=list)
    csv_tables: list[str] = field(default_factory=list)


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control sequences."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Undo Slack's escaping of an incoming message's text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def to_mrkdwn(markdown: str) -> str:
    """Convert the assistant's Markdown to Slack ``mrkdwn``; code spans are left as they are."""
    parts = _FENCE.split(markdown)
    return "".join(escape(part) if i % 2 else _convert_prose(part) for i, part in enumerate(parts))


def _convert_prose(text: str) -> str:
    text = escape(text)
    text = _HEADING.sub(lambda m: f"{_BOLD_MARK}{m.group(1)}{_BOLD_MARK}", text)
    text = _BOLD.sub(lambda m: f"{_BOLD_MARK}{m.group(1) or m.group(2)}{_BOLD_MARK}", text)
    text = _BULLET.sub(lambda m: f"{m.group(1)}• ", text)
    text = _ITALIC.sub(lambda m: f"_{m.group(1)}_", text)
    text = _LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1)}>", text)
    return text.replace(_BOLD_MARK, "*")


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` characters, at paragraph or line ends."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = rest.rfind("\n\n", 0, limit)
        if cut <= 0:
            cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = rest.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def markdown_blocks(markdown: str) -> list[Block]:
    """Section blocks holding ``markdown`` as ``mrkdwn``, split to fit Slack's limit."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
        for piece in split_text(to_mrkdwn(markdown))
    ]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value).replace("\n", " ").replace("`", "'")


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], max_width: int = 40) -> str:
    """An aligned plain-text table: header, rule, rows; numbers right-aligned, cells clipped."""
    cells = [[_cell(c)[:max_width] for c in columns]]
    cells += [[_cell(v)[:max_width] for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells if i < len(r)) for i in range(len(columns))]
    numeric = [
        all(isinstance(row[i], int | float) for row in rows if i < len(row) and row[i] is not None)
        and bool(rows)
        for i in range(len(columns))
    ]

    def line(values: list[str]) -> str:
        out = [
            v.rjust(widths[i]) if numeric[i] else v.ljust(widths[i]) for i, v in enumerate(values)
        ]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def table_blocks(table: dict[str, Any], max_rows: int = TABLE_ROWS) -> list[Block]:
    """A table event as a monospaced section plus a context line with the row count."""
    columns = [str(c) for c in table.get("columns", [])]
    rows = [list(r) if isinstance(r, list | tuple) else [r] for r in table.get("rows", [])]
    if not columns:
        return []
    shown = rows[:max_rows]
    body = format_table(columns, shown)
    while len(body) + 6 > SECTION_LIMIT and shown:  # 6 = the two code fences
        shown = shown[: len(shown) // 2]
        body = format_table(columns, shown)
    total = int(table.get("row_count", len(rows)))
    blocks: list[Block] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"```{escape(body)}```"}}
    ]
    if len(shown) < total or table.get("truncated"):
        more = "+" if table.get("truncated") else ""
        note = f"Showing {len(shown)} of {total}{more} rows."
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    return blocks


def citation_block(citations: Iterable[dict[str, Any]], limit: int = CITATIONS) -> Block | None:
    """One context block listing the sources a reply drew on (at most ``limit``; 10 elements)."""
    elements = []
    for cite in list(citations)[:limit]:
        title = escape(str(cite.get("title") or cite.get("source") or "source"))
        source = escape(str(cite.get("source") or ""))
        label = f":page_facing_up: *{title}*" + (
            f" — {source}" if source and source != title else ""
        )
        elements.append({"type": "mrkdwn", "text": label[:SECTION_LIMIT]})
    return {"type": "context", "elements": elements} if elements else None


def render_turn(events: Sequence[Event], max_rows: int = TABLE_ROWS) -> SlackMessage:
    """The Slack message for one finished turn: reply, tables, citations and a mode footer.

    Tables show at most ``max_rows`` rows; larger ones are listed in ``csv_tables``.
    """
    done = next((e.data for e in reversed(events) if e.type == "done"), {})
    reply = str(done.get("reply") or "").strip()
    if not reply:
        reply = next((str(e.data.get("message")) for e in events if e.type == "error"), "")
    reply = reply or "I have no answer to that."
    blocks = markdown_blocks(reply)
    csv_tables: list[str] = []
    for event in events:
        if event.type == "table":
            blocks += table_blocks(event.data, max_rows)
            rows = int(event.data.get("row_count") or len(event.data.get("rows") or []))
            if rows > max_rows and event.data.get("artifact_id"):
                csv_tables.append(str(event.data["artifact_id"]))
    cites = citation_block(e.data for e in events if e.type == "citation")
    if cites:
        blocks.append(cites)
    charts = [e.data for e in events if e.type == "chart" and e.data.get("spec")]
    if done.get("mode"):
        footer = f"Mara · {done['mode']} mode"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]})
    if len(blocks) > MAX_BLOCKS:
        blocks = blocks[: MAX_BLOCKS - 1] + [notice_blocks("(Reply shortened for Slack.)")[0]]
    return SlackMessage(fallback_text(reply), blocks, charts, csv_tables)


def fallback_text(markdown: str) -> str:
    """The notification text: the reply as ``mrkdwn``, clipped."""
    text = to_mrkdwn(markdown)
    return text if len(text) <= FALLBACK_LIMIT else text[: FALLBACK_LIMIT - 1] + "…"


def notice_blocks(text: str) -> list[Block]:
    """A one-section message for notices (thinking, errors, limits); ``text`` is mrkdwn."""
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}}]
