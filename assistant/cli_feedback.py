"""``mara feedback analyze``: sentiment, themes and keywords of a table's text column.

With ``--json`` it prints one JSON document (the CLI contract):
``{"rows":[{"id","sentiment","label","theme"}], "themes":[{"label","size","keywords","sentiment","quotes"}],
"summary", "breakdown", "keywords", "alerts", "not_scored", "notes"}``; progress goes to stderr.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from foundation.errors import ToolInputError

feedback_app = typer.Typer(help="Customer feedback: sentiment, themes and keywords from text.", no_args_is_help=True)


def _where(pairs: list[str]) -> dict[str, Any]:
    """``["rating=1,2", "category=Tents"]`` -> ``{"rating": [1, 2], "category": "Tents"}``."""
    out: dict[str, Any] = {}
    for pair in pairs:
        column, sep, raw = pair.partition("=")
        if not sep or not column.strip() or not raw.strip():
            raise ToolInputError(f"--where takes COLUMN=VALUE[,VALUE...] (got {pair!r}).")
        values: list[Any] = [int(v) if v.strip().lstrip("-").isdigit() else v.strip() for v in raw.split(",")]
        out[column.strip()] = values if len(values) > 1 else values[0]
    return out


@feedback_app.command("analyze")
def analyze(
    table: Annotated[str, typer.Option("--table", help="Table holding the texts.")],
    text_col: Annotated[str, typer.Option("--text-col", help="Column with the customer text.")],
    id_col: Annotated[str | None, typer.Option("--id-col", help="Id column (default: the table's key).")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Break down by this column (or one of a linked table; 'month').")] = None,
    where: Annotated[list[str] | None, typer.Option("--where", help="Only rows with COLUMN=VALUE[,VALUE]; repeatable.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
) -> None:
    """Score sentiment per text, find themes with keywords and quotes, break them down."""
    # lazy: numpy, scikit-learn, the encoder load slowly; only this command needs them
    from foundation.settings import get_settings
    from tools.context import ToolContext
    from tools.feedback.analysis import analyze_table
    from tools.feedback.tool import feedback_text

    settings = get_settings()
    ctx = ToolContext(settings)
    sys.stderr.write(f"… analysing {table}.{text_col}\n")
    cache_dir = settings.home / "cache" / "feedback" if settings.home.is_dir() else None
    result = analyze_table(ctx.warehouse, ctx.profile(), table, text_col, id_col, by, _where(where or []), cache_dir)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False, default=str) + "\n")
    else:
        sys.stdout.write(feedback_text(result, max_themes=12) + "\n")
