"""Turn events into Slack messages: Block Kit blocks plus a plain-text fallback.

Pure functions, no Slack calls. Slack limits that matter here: a section's text is at most
3000 characters, a message at most 50 blocks, and ``mrkdwn`` is not Markdown
(``*bold*``, ``_italic_``, ``<url|label>``, and ``&``, ``<``, ``>`` must be escaped).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from foundation.events import Event, TurnSummary
from tools.csv_safety import safe_row

Block = dict[str, Any]

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
TABLE_ROWS = 15
CITATIONS = 5
FALLBACK_LIMIT = 3000
BUTTON_VALUE_LIMIT = 2000

ACTION_MORE = "mara_copy_more"
ACTION_SHORTER = "mara_copy_shorter"
ACTION_EXPORT = "mara_copy_export"
ACTION_ASK = "mara_home_ask"  # home-tab example buttons: ``mara_home_ask_0``, ``_1``, …
ACTION_FEEDBACK_UP = "mara_feedback_up"
ACTION_FEEDBACK_DOWN = "mara_feedback_down"

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


def render_turn(
    events: Sequence[Event],
    max_rows: int = TABLE_ROWS,
    drafts: Sequence[CopyDraft] = (),
    thread: str | None = None,
    turn_number: int | None = None,
) -> SlackMessage:
    """The Slack message for one finished turn: reply, tables, citations and a mode footer.

    Tables show at most ``max_rows`` rows; larger ones are listed in ``csv_tables``. With copy
    ``drafts`` the reply is cut to its first paragraph (it lists the same variants) and each
    draft follows as one block per variant with its checks, then the draft's buttons, whose
    values carry ``thread``. With ``turn_number`` (1 = the conversation's first question) the
    message ends with thumbs up / down buttons rating that turn.
    """
    turn = TurnSummary.from_events(events)
    reply = turn.shown_reply() or "I have no answer to that."
    if drafts:
        blocks = markdown_blocks(reply.split("\n\n", 1)[0])
        for draft in drafts:
            blocks += copy_blocks(draft, thread)
    else:
        paragraphs = reply.split("\n\n")
        details = [p for p in paragraphs if p.startswith("Details:")]  # metrics: small print
        blocks = markdown_blocks("\n\n".join(p for p in paragraphs if p not in details))
        blocks += [
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": to_mrkdwn(d)[:SECTION_LIMIT]}],
            }
            for d in details
        ]
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
    if turn.mode:
        footer = f"Mara · {turn.mode} mode"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]})
    room = MAX_BLOCKS - (1 if turn_number is not None else 0)  # the feedback buttons always fit
    if len(blocks) > room:
        blocks = blocks[: room - 1] + [notice_blocks("(Reply shortened for Slack.)")[0]]
    if turn_number is not None:
        blocks.append(feedback_actions(turn_number, thread))
    return SlackMessage(fallback_text(reply), blocks, charts, csv_tables)


def feedback_actions(turn_number: int, thread: str | None) -> Block:
    """The 👍 / 👎 buttons under an answer; their value names the conversation's turn (and
    thread), which the click handler rates like ``POST …/turns/{n}/feedback`` does."""
    value: dict[str, Any] = {"turn": turn_number}
    if thread:
        value["thread"] = thread
    text = json.dumps(value, separators=(",", ":"))[:BUTTON_VALUE_LIMIT]

    def button(emoji: str, action_id: str) -> dict[str, Any]:
        return {
            "type": "button",
            "text": {"type": "plain_text", "text": emoji, "emoji": True},
            "action_id": action_id,
            "value": text,
        }

    return {
        "type": "actions",
        "block_id": f"mara_feedback_{turn_number}",
        "elements": [button("👍", ACTION_FEEDBACK_UP), button("👎", ACTION_FEEDBACK_DOWN)],
    }


def fallback_text(markdown: str) -> str:
    """The notification text: the reply as ``mrkdwn``, clipped."""
    text = to_mrkdwn(markdown)
    return text if len(text) <= FALLBACK_LIMIT else text[: FALLBACK_LIMIT - 1] + "…"


def notice_blocks(text: str) -> list[Block]:
    """A one-section message for notices (thinking, errors, limits); ``text`` is mrkdwn."""
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}}]


# --- copy drafts -------------------------------------------------------------------------------


@dataclass(slots=True)
class CopyDraft:
    """The variants one ``draft_copy`` call produced (each with its ``checks``)."""

    call_id: str
    channel: str
    variants: list[dict[str, Any]]
    brief: str = ""


def _field_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " | ".join(_field_text(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_field_text(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def _checks(variant: dict[str, Any]) -> list[dict[str, Any]]:
    checks = variant.get("checks")
    return [c for c in checks if isinstance(c, dict)] if isinstance(checks, list) else []


def check_summary(checks: Sequence[dict[str, Any]]) -> str:
    """``✓ all checks passed`` or ``✗ 2 of 7 checks failed`` (mrkdwn)."""
    failed = [c for c in checks if not c.get("passed")]
    if not checks:
        return ":grey_question: not checked"
    if not failed:
        return ":white_check_mark: all checks passed"
    return f":x: {len(failed)} of {len(checks)} checks failed"


def check_lines(checks: Sequence[dict[str, Any]]) -> str:
    """One line per check: failed ones first, each with its detail (mrkdwn, escaped)."""
    ordered = sorted(checks, key=lambda c: bool(c.get("passed")))
    lines = []
    for check in ordered:
        mark = ":white_check_mark:" if check.get("passed") else ":x:"
        name = escape(str(check.get("name") or "check"))
        detail = escape(str(check.get("detail") or ""))
        lines.append(f"{mark} *{name}*" + (f" — {detail}" if detail else ""))
    return "\n".join(lines)


def variant_blocks(number: int, variant: dict[str, Any]) -> list[Block]:
    """One variant: a section with its fields, a context block with its checks."""
    checks = _checks(variant)
    head = f"*Variant {number}* — {check_summary(checks)}"
    fields = [
        f"*{escape(str(name))}:* {escape(_field_text(value))}"
        for name, value in variant.items()
        if name != "checks"
    ]
    body = "\n".join([head, *fields])
    if len(body) > SECTION_LIMIT:
        body = body[: SECTION_LIMIT - 1] + "…"
    blocks: list[Block] = [{"type": "section", "text": {"type": "mrkdwn", "text": body}}]
    lines = check_lines(checks)
    if lines:
        if len(lines) > SECTION_LIMIT:
            lines = lines[: SECTION_LIMIT - 1] + "…"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": lines}]})
    return blocks


def button_value(draft: CopyDraft, thread: str | None) -> str:
    """What the draft's buttons carry back: the tool call, channel, count and thread."""
    value: dict[str, Any] = {
        "call": draft.call_id,
        "channel": draft.channel,
        "n": len(draft.variants),
    }
    if thread:
        value["thread"] = thread
    text = json.dumps(value, separators=(",", ":"))
    return text[:BUTTON_VALUE_LIMIT]


def copy_actions(draft: CopyDraft, thread: str | None) -> Block:
    """The "More variants", "Shorter" and "Export CSV" buttons of one draft."""
    value = button_value(draft, thread)

    def button(label: str, action_id: str) -> dict[str, Any]:
        return {
            "type": "button",
            "text": {"type": "plain_text", "text": label},
            "action_id": action_id,
            "value": value,
        }

    return {
        "type": "actions",
        "block_id": f"mara_copy_{draft.call_id}"[:255],
        "elements": [
            button("More variants", ACTION_MORE),
            button("Shorter", ACTION_SHORTER),
            button("Export CSV", ACTION_EXPORT),
        ],
    }


def copy_blocks(draft: CopyDraft, thread: str | None = None) -> list[Block]:
    """A draft as Block Kit: per variant its fields and checks, dividers between, then buttons."""
    blocks: list[Block] = []
    for number, variant in enumerate(draft.variants, 1):
        blocks.append({"type": "divider"})
        blocks += variant_blocks(number, variant)
    blocks.append(copy_actions(draft, thread))
    return blocks


def copy_csv(variants: Sequence[dict[str, Any]]) -> str:
    """The variants as CSV: ``variant``, each field, ``checks_passed``, then one column per
    check holding ``passed`` or ``failed: <detail>``."""
    fields: list[str] = []
    check_names: list[str] = []
    for variant in variants:
        fields += [k for k in variant if k != "checks" and k not in fields]
        names = [str(c.get("name")) for c in _checks(variant)]
        check_names += [n for n in names if n not in check_names]
    out = io.StringIO()
    writer = csv.writer(out)  # cells pass through tools.csv_safety (no formulas in spreadsheets)
    writer.writerow(safe_row(["variant", *fields, "checks_passed", *(f"check_{n}" for n in check_names)]))
    for number, variant in enumerate(variants, 1):
        checks = {str(c.get("name")): c for c in _checks(variant)}
        results = []
        for name in check_names:
            check = checks.get(name)
            if check is None:
                results.append("")
            elif check.get("passed"):
                results.append("passed")
            else:
                results.append(f"failed: {check.get('detail') or ''}".strip())
        passed = all(c.get("passed") for c in checks.values())
        writer.writerow(safe_row([number, *(_field_text(variant.get(f)) for f in fields), passed, *results]))
    return out.getvalue()


# --- App Home ------------------------------------------------------------------------------------


def home_view(
    mode: str,
    examples: Sequence[str],
    tables: Sequence[tuple[str, int]] | None,
    model: str | None = None,
) -> dict[str, Any]:
    """The App Home tab: what Mara does, the mode, the workspace's tables, example buttons."""
    if mode == "llm":
        mode_text = (
            f":brain: *LLM mode* — answers are written by `{escape(model or 'the LLM')}`, "
            "using Mara's tools for data, knowledge and copy."
        )
    else:
        mode_text = (
            ":gear: *Offline mode* — answered by Mara's built-in planner, no LLM involved. "
            "It understands common questions; set `OPENAI_API_KEY` or `MARA_LLM_BASE_URL` "
            "on the server for free-form answers."
        )
    abilities = "\n".join(
        [
            "• *Explore customer data* — counts, revenue, trends, top lists, read-only SQL",
            "• *Segments and audiences* — RFM segments, churn risk, lifetime value",
            "• *Brand knowledge* — policies, voice and disclaimers, with sources",
            "• *Copy* — email, SMS, push and ad variants checked against your brand rules",
        ]
    )
    blocks: list[Block] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": "Mara, your marketing assistant"},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": abilities}},
        {"type": "section", "text": {"type": "mrkdwn", "text": mode_text}},
    ]
    if tables:
        listed = "\n".join(f"• `{escape(name)}` — {rows:,} rows" for name, rows in tables[:20])
        more = f"\n…and {len(tables) - 20} more" if len(tables) > 20 else ""
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*Your data*\n{listed}{more}"[:SECTION_LIMIT]},
            }
        )
    elif tables is not None:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "*Your data*\nNo tables yet — run `mara demo`."},
            }
        )
    blocks += [
        {"type": "divider"},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*Try asking* — click one and I'll answer in our direct messages, or "
                "mention `@Mara` in a channel, or use `/mara <question>`.",
            },
        },
    ]
    buttons = [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": question[:75]},
            "action_id": f"{ACTION_ASK}_{i}",
            "value": question[:BUTTON_VALUE_LIMIT],
        }
        for i, question in enumerate(examples[:20])
    ]
    for start in range(0, len(buttons), 5):
        blocks.append({"type": "actions", "elements": buttons[start : start + 5]})
    return {"type": "home", "blocks": blocks[:100]}
