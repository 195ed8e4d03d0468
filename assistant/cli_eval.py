"""`mara eval questions|routing`: how far to trust Mara's answers on a question set."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from assistant.cli_text import plain
from foundation.errors import MaraError
from foundation.settings import get_settings

eval_app = typer.Typer(help="Measure answer accuracy and routing on question sets.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
_COLOURS = {"right": "green", "wrong": "red", "declined": "yellow", "invalid": "magenta"}


def _emit(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@eval_app.command("questions")
def eval_questions(
    file: Annotated[Path, typer.Argument(help="Question set (YAML) next to its data files.")],
    mode: Annotated[str, typer.Option("--mode", help="offline (the built-in planner) or llm (the configured endpoint).")] = "offline",
    as_json: JsonFlag = False,
) -> None:
    """Ask every question through the agent, score the replies against SQL truths: right, wrong, declined."""
    # lazy: rich, yaml load slowly; only this path needs them
    from rich.console import Console

    from assistant.evaluation.answers import QuestionResult, run_question_set

    if mode not in ("offline", "llm"):
        raise MaraError(f"--mode {mode!r} is not a mode.", hint="Use offline or llm.")
    err = Console(stderr=True)

    def progress(result: QuestionResult) -> None:
        colour = _COLOURS[result.outcome]
        err.print(f"[dim]{result.id}[/dim] [{colour}]{result.outcome}[/{colour}] {result.question[:70]}",
                  highlight=False)

    result = run_question_set(file, mode=mode, settings=get_settings(), progress=progress)  # type: ignore[arg-type]
    if as_json:
        _emit(result.to_dict())
        return
    print_set_result(result, Console())


def print_set_result(result: Any, console: Any) -> None:
    """Per-question table, then the totals (and set-level problems)."""
    # lazy: rich loads slowly; only this path needs it
    from rich.table import Table

    table = Table(title=f"{result.name} ({result.mode}, today {result.today})", show_lines=False)
    for column in ("id", "question", "outcome", "expected", "figures in reply", "s", "tools"):
        table.add_column(column, overflow="fold")
    for r in result.results:
        colour = _COLOURS[r.outcome]
        expected = r.why.split(": ", 1)[-1] if r.outcome == "invalid" else _short(r.expected)
        table.add_row(
            r.id, ("↳ " if r.follow_up else "") + r.question, f"[{colour}]{r.outcome}[/{colour}]", expected,
            _short(r.figures[:6]), "" if r.latency_s is None else f"{r.latency_s:.2f}",
            ", ".join(c["name"] for c in r.tool_calls),
        )
    console.print(table)
    t = result.totals()
    console.print(
        f"accuracy {t['accuracy']:.1f}% ({t['right']}/{t['scored']})  wrong {t['wrong_pct']:.1f}% ({t['wrong']})  "
        f"declined {t['declined_pct']:.1f}% ({t['declined']})  invalid {t['invalid']}  "
        f"latency p50 {_secs(t['latency_p50_s'])} p95 {_secs(t['latency_p95_s'])}",
        highlight=False,
    )
    for problem in result.problems:
        console.print(f"[red]problem:[/red] {problem}", highlight=False)


def _short(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.6g}"
    if isinstance(value, list):
        return ", ".join(_short(v) for v in value)
    return str(value)


def _secs(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}s"


@eval_app.command("routing")
def eval_routing(
    file: Annotated[Path, typer.Argument(help="Routing set (YAML): requests with the capability expected.")],
    as_json: JsonFlag = False,
) -> None:
    """Send each request through the offline planner (on a demo workspace) and compare the capability reached."""
    # lazy: rich, yaml load slowly; only this path needs them
    from rich.console import Console
    from rich.table import Table

    from assistant.evaluation.routing import RoutingResult, run_routing_set

    err = Console(stderr=True)
    err.print("[dim]building the workspaces (the demo with 500 customers; answer sets named by data:) …[/dim]")

    def progress(result: RoutingResult) -> None:
        mark = "[green]✓[/green]" if result.right else f"[red]✗ {result.got}[/red]"
        err.print(f"[dim]{result.id}[/dim] {mark} {result.request[:70]}", highlight=False)

    report = run_routing_set(file, progress=progress)
    if as_json:
        _emit(report.to_dict())
        return
    console = Console()
    table = Table(title=f"{report.name} (offline)")
    for column in ("id", "request", "expected", "reached"):
        table.add_column(column, overflow="fold")
    for r in report.results:
        colour = "green" if r.right else "red"
        table.add_row(r.id, ("↳ " if r.follow_up else "") + r.request, r.expect, f"[{colour}]{r.got}[/{colour}]")
    console.print(table)
    totals = report.totals()
    console.print(f"routing accuracy {totals['accuracy']:.1f}% ({totals['right']}/{totals['requests']})", highlight=False)
    for capability, row in totals["per_capability"].items():
        confused = ", ".join(f"{k} {v}" for k, v in row["confused_with"].items())
        console.print(f"  {capability}: {row['right']}/{row['requests']}" + (f" (went to {confused})" if confused else ""),
                      highlight=False)


@eval_app.command("feedback")
def eval_feedback(
    rating: Annotated[str | None, typer.Option("--rating", help="Only 'up' or only 'down' ratings.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Rated answers (latest rating per turn), most recent first: thumbs-down ones are there for review."""
    # lazy: langgraph, langchain, langchain_core load slowly; only this path needs them
    from assistant.audit import open_audit
    from assistant.evaluation.feedback import list_feedback

    if rating not in (None, "up", "down"):
        raise MaraError(f"--rating {rating!r} is not a rating.", hint="Use up or down.")
    rows = list_feedback(open_audit(get_settings()), rating)
    if as_json:
        _emit(rows)
        return
    # lazy: rich loads slowly; only this path needs it
    from rich.console import Console
    from rich.table import Table

    table = Table("conversation", "turn", "rating", "question", "comment", "promoted")
    for row in rows:
        table.add_row(plain(row["conversation_id"]), str(row["turn"]), row["rating"], plain(str(row["question"])[:80]),
                      plain(row["comment"] or ""), "yes" if row["promoted"] else "")
    Console().print(table)


@eval_app.command("promote")
def eval_promote(
    conversation: Annotated[str, typer.Argument(help="Conversation id.")],
    turn: Annotated[int, typer.Argument(help="Turn number (1 = the first question).", min=1)],
    as_json: JsonFlag = False,
) -> None:
    """Make a thumbed-up data answer a verified question in semantic.yaml (an admin's decision)."""
    # lazy: langgraph, langchain, langchain_core load slowly; only this path needs them
    from assistant.audit import open_audit
    from assistant.evaluation.feedback import promote

    settings = get_settings()
    entry = promote(open_audit(settings), settings.home, conversation, turn, actor=f"cli:{getpass.getuser()}")
    if as_json:
        _emit(entry)
        return
    # lazy: rich loads slowly; only this path needs it
    from rich.console import Console

    Console(stderr=True).print(f"[green]Verified question added[/green]: “{entry['question']}”", highlight=False)
