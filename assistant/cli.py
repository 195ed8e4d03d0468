"""The ``mara`` command line: the scriptable face of every capability.

Every command that takes ``--json`` prints exactly one JSON document on stdout
(progress and messages go to stderr). Heavy modules are imported inside the
commands so that start-up stays fast.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import json
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from assistant.cli_analysis import analyze_app
from assistant.cli_brand import brand_app
from assistant.cli_copy import copy_app
from assistant.cli_eval import eval_app
from assistant.cli_feedback import feedback_app
from assistant.cli_keys import keys_app
from assistant.cli_models import audience_app, clv_app, model_app, segment_app
from assistant.cli_recommend import recommend_app
from assistant.cli_schedule import schedule_app
from assistant.cli_text import plain
from assistant.cli_usage import usage_command
from assistant.startup import long_lived_imports
from foundation.errors import MaraError, WorkspaceError
from foundation.scopes import EVERY_SCOPE
from foundation.tokens import encoding
from knowledge.sample import sample_brand_path

if TYPE_CHECKING:
    from rich.console import Console

    from foundation.settings import MaraSettings

app = typer.Typer(
    name="mara",
    help="Mara — a conversational marketing assistant over your customer data and brand knowledge.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
data_app = typer.Typer(help="Load and inspect customer data.", no_args_is_help=True)
kb_app = typer.Typer(help="Brand knowledge base: ingest documents and search them.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(kb_app, name="kb")


def _mount_model_commands() -> None:
    """`mara segment|model|clv` live in their own module (imported lazily by their commands)."""
    app.add_typer(segment_app, name="segment")
    app.add_typer(model_app, name="model")
    app.add_typer(clv_app, name="clv")
    app.add_typer(audience_app, name="audience")
    app.add_typer(copy_app, name="copy")
    app.add_typer(brand_app, name="brand")
    app.add_typer(keys_app, name="keys")
    app.add_typer(recommend_app, name="recommend")
    app.add_typer(feedback_app, name="feedback")
    app.add_typer(analyze_app, name="analyze")
    app.command("usage")(usage_command)
    app.add_typer(eval_app, name="eval")
    app.add_typer(schedule_app, name="schedule")


_mount_model_commands()

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def _settings() -> MaraSettings:
    # lazy: pydantic, pydantic_settings load slowly; only this path needs them
    from foundation.settings import get_settings

    return get_settings()


def _err() -> Console:
    # lazy: rich loads slowly; only this path needs it
    from rich.console import Console

    return Console(stderr=True)


def _emit(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _actor() -> str:
    """Who is asking, for the audit trail: the OS user running the CLI."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _require_workspace(settings: MaraSettings) -> None:
    if settings.warehouse_url:
        return
    if not settings.home.is_dir():
        raise WorkspaceError(
            f"No Mara workspace at {settings.home.resolve()}.",
            hint="Run 'mara demo' to build the demo workspace, or set MARA_HOME to your workspace folder.",
        )


def _start_checks(settings: MaraSettings) -> None:
    """At start: warn about workspace paths other users can read, and apply artifact retention."""
    # lazy: pydantic, pydantic_settings, sqlglot load slowly; only this path needs them
    from foundation.settings import permission_warnings
    from tools.results import ArtifactStore

    for warning in permission_warnings(settings.home):
        sys.stderr.write(f"Warning: {warning}\n")  # unwrapped: the chmod line is copy-pasted
    if settings.artifacts_path.is_dir():
        ArtifactStore.for_settings(settings).prune()


# --- chat ---------------------------------------------------------------------------------


@app.command()
def chat(
    message: Annotated[str | None, typer.Argument(help="Ask one question and exit; omit for a REPL.")] = None,
    conversation: Annotated[str | None, typer.Option("--conversation", "-c", help="Continue this conversation id.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Talk to Mara: one question with MESSAGE, or an interactive session without."""
    with long_lived_imports():  # the agent stack's objects live as long as the process: no GC scans of them
        settings = _settings()
        _require_workspace(settings)
        _start_checks(settings)
        if settings.resolved_mode == "offline":
            _warm_up_in_background()
        # lazy: langgraph, langchain, langchain_core load slowly; only this path needs them
        from assistant.agent import Assistant
        from assistant.planner.compose import OFFLINE_NOTICE

        assistant = Assistant(settings)
    with assistant:
        if assistant.mode == "offline" and not as_json:  # said once here, not after every reply
            _err().print(OFFLINE_NOTICE, style="dim", markup=False, soft_wrap=True)
        if message is not None:
            if as_json:
                result = assistant.run(message, conversation, actor=_actor(), scopes=EVERY_SCOPE)
                if result.error:
                    raise MaraError(result.error)
                _emit(result.to_json())
                return
            if not _render_turn(assistant, message, conversation):  # noqa: SIM102
                raise typer.Exit(1)
            return
        _repl(assistant, conversation)


def _warm_up_in_background() -> None:
    """Load the embedding model and tokenizer while the agent's modules import (2 cores, one turn)."""
    def warm() -> None:
        # lazy: numpy loads slowly; only this path needs it
        from knowledge.embeddings import get_encoder

        get_encoder()
        encoding()

    threading.Thread(target=warm, name="mara-warm-up", daemon=True).start()


def _render_turn(assistant: Any, message: str, conversation_id: str | None) -> tuple[str, bool] | None:
    """Stream one turn to the terminal; returns (conversation_id, ok)."""
    # lazy: rich, markdown_it load slowly; only this path needs them
    from rich.console import Console
    from rich.markdown import Markdown
    from rich.table import Table

    out, err = Console(), _err()
    reply_shown = False
    done: dict[str, Any] = {}
    failed = False
    for event in assistant.stream(message, conversation_id, actor=_actor(), scopes=EVERY_SCOPE):
        data = event.data
        if event.type == "tool_start":
            err.print(f"[dim]→ {data['name']}({json.dumps(data['args'], default=str)[:160]})[/dim]")
        elif event.type == "progress":
            share = f" ({data['done']}/{data['total']})" if data.get("total") else ""
            err.print(f"[dim]  … {data.get('message', '')}{share}[/dim]", markup=True, highlight=False)
        elif event.type == "tool_end":
            mark = "[green]✓[/green]" if data["ok"] else "[red]✗[/red]"
            err.print(f"[dim]{mark} {data['name']} {data.get('duration_ms') or 0:.0f} ms[/dim]")
        elif event.type == "table":
            table = Table(title=data.get("title") or None, show_lines=False)
            for column in data["columns"]:
                table.add_column(plain(column))
            for row in data["rows"][:20]:
                table.add_row(*[plain(v) for v in row])
            out.print(table)
            if data["row_count"] > 20:
                err.print(f"[dim]… {data['row_count']} rows; CSV: {assistant.settings.artifacts_path / (data['artifact_id'] + '.csv')}[/dim]")
        elif event.type == "chart":
            _print_chart(assistant, data)
        elif event.type == "error":
            failed = True
            err.print(f"[red]Error:[/red] {data['message']}")
        elif event.type == "done":
            done = data
    if done.get("reply") and not reply_shown:
        out.print(Markdown(done["reply"]))
    if failed:
        return None
    return done.get("conversation_id", ""), True


def _print_chart(assistant: Any, data: dict[str, Any]) -> None:
    """Terminals cannot draw Vega-Lite: write the chart as a PNG next to its spec and say where."""
    # lazy: pydantic, pydantic_settings, sqlglot load slowly; only this path needs them
    from foundation.settings import write_private
    from tools.charts import render_png

    path = assistant.settings.artifacts_path / f"{data['artifact_id']}.png"
    try:
        if not path.exists():
            write_private(path, render_png(data["spec"]))
        _err().print(f"[dim]chart: {data.get('title') or 'chart'} → {path}[/dim]")
    except (MaraError, OSError, ValueError) as err:
        _err().print(f"[dim]chart not rendered ({err}); open it in the web chat.[/dim]")


def _repl(assistant: Any, conversation_id: str | None) -> None:
    err = _err()
    err.print(f"[bold]Mara[/bold] ({assistant.mode} mode). Ask about your customers, orders, products or brand. Ctrl-D to quit.")
    while True:
        try:
            message = input("you › ").strip()
        except (EOFError, KeyboardInterrupt):
            err.print()
            return
        if not message:
            continue
        if message in {"/quit", "/exit"}:
            return
        result = _render_turn(assistant, message, conversation_id)
        if result:
            conversation_id = result[0]


# --- serve / demo ----------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default MARA_HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default MARA_PORT or 8000).")] = None,
) -> None:
    """Run the API and the web chat."""
    # lazy: pandas, uvicorn, fastapi load slowly; only this path needs them
    import uvicorn

    from api.app import create_app

    settings = _settings()
    _require_workspace(settings)
    _start_checks(settings)
    bind_host, bind_port = host or settings.host, port or settings.port
    settings = settings.model_copy(update={"host": bind_host, "port": bind_port})  # auth knows the real bind address
    _err().print(f"Mara is serving on http://{bind_host}:{bind_port}  ({settings.resolved_mode} mode, workspace {settings.home.resolve()})")
    uvicorn.run(create_app(settings), host=bind_host, port=bind_port, log_level="warning")


@app.command()
def demo(
    customers: Annotated[int, typer.Option(help="Number of synthetic customers.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 7,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Last day of the history, YYYY-MM-DD (default: yesterday, "
                                              "so 'this month vs last month' works; fix it for reproducible builds).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """(Re)build the demo workspace: a synthetic outdoor-gear retailer plus its brand knowledge."""
    last_day = demo_as_of(as_of)
    # lazy: duckdb, rich, numpy load slowly; only this path needs them
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from assistant.demo_data import build_demo_data
    from foundation.settings import private_dir

    settings = _settings()
    private_dir(settings.home)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=_err(), transient=as_json) as progress:
        tasks: dict[str, Any] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        summary = build_demo_data(settings.duckdb_path, customers=customers, seed=seed, as_of=last_day, progress=on_progress)
        (settings.home / "schema_profile.json").unlink(missing_ok=True)
        # lazy: duckdb, numpy, pydantic load slowly; only this path needs them
        from assistant.demo_data import TABLE_DESCRIPTIONS
        from tools.semantic_model import refresh_workspace_model

        refresh_workspace_model(settings, changed=list(summary.tables), descriptions=TABLE_DESCRIPTIONS)
        kb = _knowledge(settings)
        report = kb.ingest([sample_brand_path()], progress=on_progress)
    # lazy: pydantic, yaml load slowly; only this path needs them
    from knowledge.brand import write_demo_brand

    result = {
        "workspace": str(settings.home.resolve()),
        "as_of": last_day.isoformat(),
        "tables": summary.tables,
        "seconds": round(summary.seconds, 2),
        "knowledge": _as_dict(report),
        "brand_profile": str(write_demo_brand(settings.home)),
        "semantic_model": str(settings.home / "semantic.yaml"),
    }
    if as_json:
        _emit(result)
    else:
        _err().print(f"[green]Demo workspace ready[/green] at {result['workspace']}: " + ", ".join(f"{k} {v:,}" for k, v in summary.tables.items()))
        _err().print("Try: mara chat \"How many customers do we have?\"  or  make run")


def demo_as_of(text: str | None, today: dt.date | None = None) -> dt.date:
    """The demo's last day of history: ``text`` (YYYY-MM-DD, not in the future), else yesterday."""
    today = today or dt.date.today()
    if text is None:
        return today - dt.timedelta(days=1)
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise MaraError(f"--as-of '{text}' is not a date.", hint="Use YYYY-MM-DD, e.g. --as-of 2026-10-31.") from None
    if day > today:
        raise MaraError(f"--as-of {day} is in the future; the demo's history ends on or before today ({today}).",
                             hint="Leave it out for yesterday, or give a past date.")
    if day.year < 2000:
        raise MaraError(f"--as-of {day} is too early.", hint="Use a date from 2000 on.")
    return day


def _knowledge(settings: MaraSettings) -> Any:
    # lazy: sqlglot loads slowly; only this path needs it
    from tools.context import open_knowledge

    return open_knowledge(settings)


def _as_dict(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


# --- data ----------------------------------------------------------------------------------------


@data_app.command("load")
def data_load(
    path: Annotated[Path, typer.Argument(help="CSV, TSV, Parquet, JSON lines or Excel (.xlsx) file.")],
    table: Annotated[str | None, typer.Option(help="Table name (default: from the file name).")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace an existing table of that name.")] = False,
    encoding: Annotated[str, typer.Option(help="Text encoding of CSV/TSV files: utf-8, latin-1 or utf-16.")] = "utf-8",
    as_json: JsonFlag = False,
) -> None:
    """Load a file into the workspace warehouse (atomically: all rows or nothing) and update semantic.yaml."""
    # lazy: imported only on this path (keeps the module's own import light)
    from tools.data_load import load_file

    settings = _settings()
    if settings.warehouse_url:
        raise MaraError("MARA_WAREHOUSE_URL points at an external database; load data there with its own tools.")
    # lazy: rich, pydantic, yaml load slowly; only this path needs them
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    from tools.semantic_model import FILE_NAME, Inference, refresh_workspace_model

    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                  console=_err(), transient=True) as progress:
        task = progress.add_task(f"Loading {path.name}", total=100)
        report = load_file(settings.duckdb_path, path, table, replace=replace, encoding=encoding,
                           progress=lambda percent: progress.update(task, completed=percent))
        progress.update(task, completed=100)
    (settings.home / "schema_profile.json").unlink(missing_ok=True)
    inferences: list[Inference] = []
    refresh_workspace_model(settings, changed=[report.table], money={report.table: report.money_columns}, report=inferences)
    if as_json:
        _emit(_as_dict(report) | {"semantic_model": str(settings.home / FILE_NAME),
                                  "inferred": inferences[0].to_dict() if inferences else None})
    else:
        inferred = ", ".join(f"{c['name']} ({c['type']})" for c in report.columns[:12])
        _err().print(f"[green]Loaded[/green] {report.rows:,} rows into '{report.table}' ({len(report.columns)} columns: {inferred}"
                     f"{' …' if len(report.columns) > 12 else ''}).")
        for note in report.notes:
            _err().print(f"  {note}")
        for info in inferences:  # what Mara now assumes about the table, in plain lines
            _err().print("Inferred: " + "\n  ".join(info.lines()), markup=False, highlight=False)
        _err().print(f"Semantic model updated: {settings.home / FILE_NAME} (review it: mara data model)")


@data_app.command("model")
def data_model(
    generate: Annotated[bool, typer.Option("--generate", help="Rebuild semantic.yaml from the data (the old file is kept as semantic.yaml.bak).")] = False,
    check: Annotated[bool, typer.Option("--check", help="Only validate semantic.yaml against the data; exit 1 when it does not match.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Show (or validate, or regenerate) the semantic model: tables' grain, keys, dates, money, categories, metrics."""
    # lazy: pydantic, yaml, sqlglot load slowly; only this path needs them
    from tools.context import ToolContext
    from tools.schema_profile import load_profile
    from tools.semantic_model import (
        FILE_NAME,
        infer_semantic_model,
        load_semantic_model,
        save_semantic_model,
    )
    from tools.warehouse import open_warehouse

    settings = _settings()
    _require_workspace(settings)
    path = settings.home / FILE_NAME
    if generate:
        cache = None if settings.warehouse_url else settings.home / "schema_profile.json"
        generated, inferences = infer_semantic_model(load_profile(open_warehouse(settings), cache))
        if path.exists():
            path.replace(path.with_suffix(".yaml.bak"))
        save_semantic_model(generated, path)
        for info in inferences.values():  # what Mara now assumes, table by table
            _err().print("Inferred: " + "\n  ".join(info.lines()), markup=False, highlight=False)
    model = load_semantic_model(path)
    if model is None:
        raise MaraError(f"No semantic model at {path}.", hint="Create one with 'mara data model --generate'.")
    profile = ToolContext(settings).profile()  # applies the model: raises SemanticModelError on a mismatch
    if check:
        _err().print(f"[green]{path.name} matches the data[/green]: {len(model.tables)} tables, "
                     f"{len(model.relationships)} relationships, {len(model.metrics)} metrics.")
        return
    if as_json:
        extra = {"inferred": [i.to_dict() for i in inferences.values()]} if generate else {}
        _emit({"path": str(path), **model.model_dump(exclude_none=True), **extra})
        return
    # lazy: rich loads slowly; only this path needs it
    from rich.console import Console
    from rich.table import Table

    view = Table("table", "grain", "key", "customer key", "main date", "money", "categories", title=str(path))
    for name, section in model.tables.items():
        if profile.table(name) is None:
            continue
        view.add_row(name, section.grain or "", section.primary_key or "", section.customer_key or "",
                     section.main_date or "", ", ".join(section.money), ", ".join(section.categories))
    Console().print(view)
    metrics = Table("metric", "table", "definition", "description")
    for name, metric in model.metrics.items():
        definition = (f"{metric.agg}({metric.column or '*'})" if metric.agg else
                      f"{metric.ratio[0]} / {metric.ratio[1]}" if metric.ratio else f"% customers with ≥{metric.min_orders} rows")
        metrics.add_row(name, metric.table, definition, metric.description or "")
    Console().print(metrics)
    Console().print("Relationships: " + "; ".join(model.relationships))


@data_app.command("tables")
def data_tables(as_json: JsonFlag = False) -> None:
    """List tables with row counts and columns."""
    # lazy: sqlglot loads slowly; only this path needs it
    from tools.warehouse import open_warehouse

    settings = _settings()
    _require_workspace(settings)
    tables = [t.to_dict() for t in open_warehouse(settings).tables()]
    if as_json:
        _emit(tables)
        return
    # lazy: rich loads slowly; only this path needs it
    from rich.console import Console
    from rich.table import Table

    view = Table("table", "rows", "columns")
    for t in tables:
        view.add_row(t["name"], f"{t['rows']:,}", ", ".join(c["name"] for c in t["columns"]))
    Console().print(view)


@app.command()
def query(
    sql: Annotated[str, typer.Option("--sql", help="One read-only SELECT / WITH statement.")],
    as_json: JsonFlag = False,
) -> None:
    """Run read-only SQL against the warehouse (anything else is refused before it runs)."""
    # lazy: sqlglot loads slowly; only this path needs it
    from tools.warehouse import open_warehouse

    settings = _settings()
    _require_workspace(settings)
    result = open_warehouse(settings).query(
        sql, row_cap=settings.query_row_cap, timeout_s=settings.query_timeout_s,
        max_bytes=settings.max_result_bytes,
    )
    if as_json:
        _emit(result.to_dict())
        return
    # lazy: rich loads slowly; only this path needs it
    from rich.console import Console
    from rich.table import Table

    view = Table()
    for column in result.columns:
        view.add_column(plain(column))
    for row in result.rows[:100]:
        view.add_row(*[plain(v) for v in row])
    Console().print(view)
    if result.row_count > 100 or result.truncated:
        _err().print(f"[dim]{result.row_count}{'+' if result.truncated else ''} rows; first 100 shown.[/dim]")


@app.command()
def slack() -> None:
    """Run the Slack bot over Socket Mode (no public URL needed): needs SLACK_BOT_TOKEN and SLACK_APP_TOKEN."""
    # lazy: pandas, slack_bolt, fastapi load slowly; only this path needs them
    from api.slack.settings import SlackSettings
    from api.slack.socket_mode import run_socket_mode

    slack_settings = SlackSettings.socket_mode_from_env()
    if slack_settings is None:
        raise MaraError(
            "Socket Mode needs SLACK_BOT_TOKEN (xoxb-...) and SLACK_APP_TOKEN (xapp-...).",
            hint="Create an app-level token with the connections:write scope; see the Slack section of the README.",
        )
    settings = _settings()
    _require_workspace(settings)
    _err().print("Mara is connected to Slack over Socket Mode. Ctrl-C to stop.")
    run_socket_mode(settings, slack_settings)


# --- audit --------------------------------------------------------------------------------------


@app.command()
def audit(
    since: Annotated[str | None, typer.Option(help="Only records at or after this date/time (ISO, e.g. 2026-11-01).")] = None,
    conversation: Annotated[str | None, typer.Option("--conversation", "-c", help="Only this conversation.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many records.")] = 1000,
    as_json: JsonFlag = False,
) -> None:
    """Show the audit trail: every turn and tool call, who made it, rows, durations, tokens."""

    # lazy: langgraph, langchain, langchain_core load slowly; only this path needs them
    from assistant.audit import open_audit

    settings = _settings()
    _require_workspace(settings)
    start = None
    if since:
        try:
            start = dt.datetime.fromisoformat(since)
        except ValueError as err:
            raise MaraError(f"--since {since!r} is not a date.", hint="Use ISO format, e.g. 2026-11-01 or 2026-11-01T09:30.") from err
    records = open_audit(settings).query(start, conversation, limit)
    if as_json:
        _emit([r.to_dict() for r in records])
        return
    # lazy: rich loads slowly; only this path needs it
    from rich.console import Console
    from rich.table import Table

    view = Table("time", "actor", "kind", "name", "ok", "rows", "ms", "tokens")
    for r in records:
        tokens = "" if r.prompt_tokens is None else f"{r.prompt_tokens}+{r.completion_tokens}"
        view.add_row(r.ts, r.actor, r.kind, r.name, "✓" if r.ok else "✗", "" if r.rows is None else str(r.rows),
                     "" if r.duration_ms is None else f"{r.duration_ms:.0f}", tokens)
    Console().print(view)


# --- knowledge ------------------------------------------------------------------------------------


@kb_app.command("ingest")
def kb_ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (.md .txt .html .pdf .docx .csv).")],
    as_json: JsonFlag = False,
) -> None:
    """Add documents to the brand knowledge base (unchanged files are skipped)."""
    # lazy: rich loads slowly; only this path needs it
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from foundation.settings import private_dir

    settings = _settings()
    private_dir(settings.home)
    kb = _knowledge(settings)
    with Progress(TextColumn("Ingesting"), BarColumn(), MofNCompleteColumn(), TextColumn("files"),
                  TimeElapsedColumn(), console=_err(), transient=True) as progress:
        task = progress.add_task("knowledge", total=None)

        def on_progress(_stage: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = kb.ingest(paths, progress=on_progress)
    summary = _as_dict(report)
    if as_json:
        _emit(summary)
    else:
        rate = summary["chunks_embedded"] / summary["elapsed_s"] if summary["elapsed_s"] else 0.0
        _err().print(
            f"[green]{len(summary['added'])} added, {len(summary['updated'])} updated, "
            f"{len(summary['unchanged'])} unchanged[/green] ({summary['chunks_added']} chunks stored, "
            f"{summary['chunks_embedded']} embedded in {summary['elapsed_s']:.1f} s, {rate:.0f}/s)."
        )
        for error in summary["errors"]:
            _err().print(f"[red]Not ingested:[/red] {error['source']}: {error['message']}")
    if summary["errors"]:
        raise typer.Exit(1)  # the rest was ingested; the exit code says something was not


@kb_app.command("search")
def kb_search(
    query_text: Annotated[str, typer.Argument(metavar="QUERY", help="What to look for.")],
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="Number of passages.")] = 5,
    mode: Annotated[str, typer.Option("--mode", help="hybrid (default), vector or keyword.")] = "hybrid",
    as_json: JsonFlag = False,
) -> None:
    """Search the brand knowledge base."""
    if mode not in ("hybrid", "vector", "keyword"):
        raise MaraError(f"--mode {mode!r} is not a search mode.", hint="Use hybrid, vector or keyword.")
    settings = _settings()
    passages = _knowledge(settings).search(query_text, k=k, mode=mode)  # type: ignore[arg-type]
    rows = [{"source": p.source, "title": p.title, "text": p.text, "score": round(float(p.score), 4)} for p in passages]
    if as_json:
        _emit(rows)
        return
    for row in rows:
        _err().print(f"[bold]{row['source']}[/bold] — {row['title']} ({row['score']})\n{row['text'][:400]}\n")


@kb_app.command("sources")
def kb_sources(as_json: JsonFlag = False) -> None:
    """List the ingested documents: source, title, type, chunks, when ingested."""
    sources = _knowledge(_settings()).sources()
    if as_json:
        _emit([s.to_dict() for s in sources])
        return
    # lazy: rich loads slowly; only this path needs it
    from rich.console import Console
    from rich.table import Table

    if not sources:
        _err().print("The knowledge base is empty. Add documents with: mara kb ingest PATH")
        return
    view = Table("source", "title", "type", "chunks", "ingested")
    for s in sources:
        view.add_row(plain(s.source), plain(s.title), s.doc_type or "", str(s.chunks), s.ingested_at)
    Console().print(view)


@kb_app.command("remove")
def kb_remove(
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="A source name as `mara kb sources` lists it.")],
    as_json: JsonFlag = False,
) -> None:
    """Delete every passage of one source from the knowledge base."""
    kb = _knowledge(_settings())
    removed = kb.remove(source)
    if not removed:
        known = [s.source for s in kb.sources()]
        close = [k for k in known if source.lower() in k.lower() or k.lower() in source.lower()]
        raise MaraError(
            f"No source named {source!r} in the knowledge base.",
            hint=(f"Did you mean: {', '.join(close[:5])}? " if close else "")
            + "`mara kb sources` lists the source names.",
        )
    if as_json:
        _emit({"source": source, "removed": removed})
    else:
        _err().print(f"[green]Removed {source}[/green] ({removed} passages).")


@kb_app.command("eval")
def kb_eval(
    questions: Annotated[Path | None, typer.Option("--questions", help="Labelled question set (YAML); default: the sample brand's.")] = None,
    docs: Annotated[list[Path] | None, typer.Option("--docs", help="Documents to evaluate on (default: the set's own).")] = None,
    workspace: Annotated[bool, typer.Option("--workspace", help="Evaluate the workspace's knowledge base as it is.")] = False,
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="Cut-off for recall@k and MRR.")] = 5,
    precision: Annotated[str | None, typer.Option("--precision", help="int8 or float32: how passages are embedded (default: MARA_EMBEDDING_PRECISION).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Retrieval quality: recall@k and MRR for vector-only, BM25-only and hybrid search."""
    # lazy: numpy loads slowly; only this path needs it
    from knowledge.evaluation import QuestionSetError, evaluate, load_question_set

    if precision not in (None, "int8", "float32"):
        raise MaraError(f"--precision {precision!r} is not an embedding precision.", hint="Use int8 or float32.")
    if precision and workspace:
        raise MaraError("--precision applies to a fresh evaluation store, not --workspace.",
                        hint="Drop one of them; the workspace keeps the vectors it has.")
    try:
        qset = load_question_set(questions)
        kb = _knowledge(_settings()) if workspace else None
        report = evaluate(
            qset, kb, documents=docs or None, k=k,
            embedding_precision=precision or _settings().embedding_precision,
        )
    except QuestionSetError as err:
        raise MaraError(str(err), hint="See knowledge/eval/sample_brand.yaml for the format.") from err
    if as_json:
        _emit(report.to_dict())
        return
    # lazy: rich loads slowly; only this path needs it
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"{report.name}: {report.questions} questions, {report.chunks} chunks", markup=False, highlight=False)
    view = Table("method", f"recall@{k}", "MRR", "p50 ms")
    labels = {"vector": "vector only", "keyword": "BM25 only", "hybrid": "hybrid (RRF)"}
    for m in report.methods:
        view.add_row(labels.get(m.method, m.method), f"{m.recall_at_k:.3f}", f"{m.mrr:.3f}", f"{m.p50_ms:.1f}")
    console.print(view)
    for q in report.method("hybrid").misses:
        _err().print(f"[yellow]hybrid missed:[/yellow] {q}")


def main() -> None:
    """Entry point: one-line errors, non-zero exit codes, no tracebacks for known problems."""
    # lazy: imported only on this path (keeps the module's own import light)
    from assistant.logs import configure_logging

    try:
        settings = _settings()
        configure_logging(settings.log_level, settings.log_format)
        app()
    except MaraError as err:
        sys.stderr.write(f"Error: {err}\n")
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        sys.exit(130)


if __name__ == "__main__":
    main()
