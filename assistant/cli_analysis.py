"""``mara analyze compare|explain|anomalies``: the analyst moves from the command line.

With ``--json`` each prints one JSON document (the CLI contract): the tool's structured result —
``compare``: ``{"metric","current":{"start","end","label","partial","value","rows"},"previous":{...},
"change","pct_change","by","groups":[...],"notes":[...],"data_range","sentence"}``; ``explain``: the
same plus ``"breakdowns"``, ``"customers"`` and ``"volume"`` (contributions that add up to the change);
``anomalies``: ``{"metric","period","anomalies":[{"date","value","expected","score","kind"}],"method"}``.
Without ``--json`` the marketer's sentence and the method details are printed.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from foundation.errors import ToolInputError

analyze_app = typer.Typer(help="Compare periods, explain a change, find unusual days.", no_args_is_help=True)

Metric = Annotated[str | None, typer.Option("--metric", help="A semantic-model metric (revenue, aov, orders ...).")]
Agg = Annotated[str | None, typer.Option("--agg", help="Instead of --metric: sum|count|avg of --column on --table.")]
Column = Annotated[str | None, typer.Option("--column", help="The column --agg applies to.")]
Table = Annotated[str | None, typer.Option("--table", help="The table (needed with --agg).")]
Period = Annotated[str, typer.Option("--period", help="'this month', 'last month', '2025-09', 'Q3 2025', '2025-09-01..2025-09-15' ...")]
CompareTo = Annotated[str, typer.Option("--compare-to", help="'previous', 'last_year' or another period.")]
Today = Annotated[str | None, typer.Option("--today", help="Anchor relative periods to this date (YYYY-MM-DD).")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def _metric(metric: str | None, agg: str | None, column: str | None) -> dict[str, Any] | None:
    if metric and agg:
        raise ToolInputError("Give --metric or --agg, not both.")
    if metric:
        return {"name": metric}
    if agg:
        if agg not in ("sum", "count", "avg", "count_distinct", "min", "max"):
            raise ToolInputError(f"--agg {agg!r} is not an aggregate.", hint="Use sum, count, avg, count_distinct, min or max.")
        return {"agg": agg, **({"column": column} if column else {})}
    return None


def _print(output: Any, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(output.data, ensure_ascii=False, default=str) + "\n")
    else:
        sys.stdout.write(output.text + "\n")


def _context() -> Any:
    # lazy: pydantic settings, duckdb and the tools load slowly; only these commands need them
    from foundation.settings import get_settings
    from tools.context import ToolContext

    return ToolContext(get_settings())


@analyze_app.command("compare")
def compare_command(
    period: Period = "this month", compare_to: CompareTo = "previous", metric: Metric = None, agg: Agg = None,
    column: Column = None, table: Table = None,
    by: Annotated[str | None, typer.Option("--by", help="Break the comparison down by this column.")] = None,
    whole_periods: Annotated[bool, typer.Option("--whole-periods", help="Compare a partial period with the whole other one.")] = False,
    today: Today = None, as_json: Json = False,
) -> None:
    """Compare a metric between two periods (absolute and % change), optionally by a column."""
    # lazy: the analysis tools import the warehouse stack; only this command needs them
    from tools.analysis.analysis_tools import compare_periods

    _print(compare_periods(_context(), period=period, compare_to=compare_to, metric=_metric(metric, agg, column),  # type: ignore[arg-type]
                           table=table, by=by, same_days=not whole_periods, today=today), as_json)


@analyze_app.command("explain")
def explain_command(
    period: Period = "last month", compare_to: CompareTo = "previous", metric: Metric = None, agg: Agg = None,
    column: Column = None, table: Table = None,
    dimension: Annotated[list[str] | None, typer.Option("--dimension", help="Split by this column (repeatable; default: all).")] = None,
    today: Today = None, as_json: Json = False,
) -> None:
    """Explain the change of a metric: contributions by column, customer type and orders vs value."""
    # lazy: the analysis tools import the warehouse stack; only this command needs them
    from tools.analysis.analysis_tools import explain_change

    _print(explain_change(_context(), period=period, compare_to=compare_to, metric=_metric(metric, agg, column),  # type: ignore[arg-type]
                          table=table, dimensions=dimension or None, today=today), as_json)


@analyze_app.command("anomalies")
def anomalies_command(
    period: Period = "last month", metric: Metric = None, agg: Agg = None, column: Column = None, table: Table = None,
    grain: Annotated[str, typer.Option("--grain", help="day or week.")] = "day",
    threshold: Annotated[float, typer.Option("--threshold", help="Robust z-score at or above which a point is unusual.")] = 3.5,
    today: Today = None, as_json: Json = False,
) -> None:
    """Flag unusual days (or weeks) of a metric against its weekly rhythm."""
    # lazy: the analysis tools import the warehouse stack; only this command needs them
    from tools.analysis.analysis_tools import find_anomalies

    if grain not in ("day", "week"):
        raise ToolInputError(f"--grain {grain!r} is not accepted.", hint="Use day or week.")
    _print(find_anomalies(_context(), period=period, metric=_metric(metric, agg, column), table=table,  # type: ignore[arg-type]
                          grain=grain, threshold=threshold, today=today), as_json)  # type: ignore[arg-type]
