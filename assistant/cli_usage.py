"""``mara usage``: tokens and cost per conversation, actor, day or model.

Mount with ``app.command("usage")(usage_command)`` in :mod:`assistant.cli`. With ``--json`` it
prints exactly one document: ``{"by", "since", "groups": [{<by>, "turns", "prompt_tokens",
"completion_tokens", "total_tokens", "cost_usd", "models"}], "total": {...}}``. Errors are
:class:`~foundation.errors.MaraError` subclasses (one line from the main CLI).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Annotated, Any

import typer

from foundation.errors import MaraError


def _settings() -> Any:
    # lazy: pydantic, pydantic_settings load slowly; only this path needs them
    from foundation.settings import get_settings

    return get_settings()


def parse_since(value: str | None) -> dt.date | dt.datetime | None:
    """``--since``: an ISO date or date-time (UTC unless it names a zone)."""
    if not value:
        return None
    try:
        if len(value) <= 10:
            return dt.date.fromisoformat(value)
        return dt.datetime.fromisoformat(value)
    except ValueError as err:
        raise MaraError(f"--since {value!r} is not a date.", hint="Use ISO format, e.g. 2026-11-01 or 2026-11-01T09:30.") from err


def usage_command(
    since: Annotated[str | None, typer.Option("--since", help="Only turns at or after this date/time (ISO, UTC).")] = None,
    by: Annotated[str, typer.Option("--by", help="Group by conversation, actor, day or model.")] = "day",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
) -> None:
    """Tokens and cost of the assistant's turns, per conversation, actor (key/user), day or model."""
    # lazy: pydantic, pydantic_settings load slowly; only this path needs them
    from assistant.usage import GROUP_FIELDS, usage_report

    if by not in GROUP_FIELDS:
        raise MaraError(f"--by {by!r} is not a grouping.", hint=f"Use one of: {', '.join(GROUP_FIELDS)}.")
    settings = _settings()
    report = usage_report(settings, parse_since(since), by)
    if as_json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    # lazy: rich loads slowly; only this path needs it
    from rich.console import Console
    from rich.table import Table

    view = Table(by, "turns", "prompt", "completion", "total", "cost (USD)")
    for row in report["groups"]:
        view.add_row(str(row[by]), str(row["turns"]), f"{row['prompt_tokens']:,}", f"{row['completion_tokens']:,}",
                     f"{row['total_tokens']:,}", f"{row['cost_usd']:.4f}")
    total = report["total"]
    view.add_row("total", str(total["turns"]), f"{total['prompt_tokens']:,}", f"{total['completion_tokens']:,}",
                 f"{total['total_tokens']:,}", f"{total['cost_usd']:.4f}", style="bold")
    Console().print(view)
