"""The analysis tools the agent calls: compare periods, explain a change, find anomalies.

Thin wrappers over :mod:`.compare`, :mod:`.explain` and :mod:`.anomalies`: they resolve the metric and
periods, word the result for a marketer (one sentence with the headline numbers first, the method
behind a ``Details:`` line that front ends fold away), and keep a table plus a chart as artifacts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from foundation.errors import ToolInputError
from tools.analysis.anomalies import Detection, SparseSeries, detect_anomalies
from tools.analysis.compare import Comparison, Periods, compare, direction_word, resolve_periods
from tools.analysis.explain import UNNAMED, Breakdown, Explanation, explain
from tools.analysis.measures import Measure, Reader, counted_note, require_date, resolve_measure
from tools.analysis.periods import anchored, clip_to_data, parse_period, whole_label
from tools.charts import grouped_bar_spec, save_chart, waterfall_spec
from tools.context import ToolContext
from tools.declare import mara_tool
from tools.query_spec import Filter, Metric
from tools.results import ToolOutput, table_artifact
from tools.schema_profile import SchemaProfile
from tools.warehouse import QueryResult

MINUS = "\u2212"


# --- words and numbers ------------------------------------------------------------------------------


def number(value: float | None, unit: str | None = None) -> str:
    """A value as a marketer reads it: 12,340 · 48.20 · 4.2%."""
    if value is None:
        return "—"
    if unit == "percent":
        return f"{value:.1f}%"
    text = f"{abs(value):,.0f}" if abs(value) >= 100 else f"{abs(value):,.2f}".rstrip("0").rstrip(".")
    return (MINUS if value < 0 else "") + (text or "0")


def signed(value: float | None, unit: str | None = None) -> str:
    if value is None:
        return "—"
    if unit == "percent":
        return f"{'+' if value >= 0 else MINUS}{abs(value):.1f} points"
    return ("+" if value >= 0 else "") + number(value, unit)


def percent(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{'+' if value >= 0 else MINUS}{abs(value):.1f}%"


def _amount(value: float, unit: str | None) -> str:
    """A size of change: 1,234 · 0.6 points (a percentage moves by points, not by %)."""
    return f"{value:.1f} points" if unit == "percent" else number(value, unit)


def _title(label: str) -> str:
    return label[:1].upper() + label[1:]


def headline(c: Comparison) -> str:
    """“Revenue rose 5,200 (+8.1%) from August 2025 (64,000) to September 2025 (69,200).”"""
    unit = c.measure.unit
    p, q = c.periods.previous, c.periods.current
    if c.previous is None or c.current is None:
        missing = p if c.previous is None else q
        return (f"There is no {c.measure.label} for {missing.label}: the period has no rows to compute it from "
                f"(your data runs from {c.periods.data.first} to {c.periods.data.last}).")
    verb = direction_word(c.change)
    if verb == "did not change":
        return f"{_title(c.measure.label)} did not change from {p.label} to {q.label}: {number(c.current, unit)} in both."
    amount = _amount(abs(c.change or 0.0), unit)
    pct = f" ({percent(c.pct)})" if c.pct is not None and unit != "percent" else ""
    return (f"{_title(c.measure.label)} {verb} {amount}{pct} from {p.label} ({number(c.previous, unit)}) "
            f"to {q.label} ({number(c.current, unit)}).")


def empty_notes(c: Comparison) -> list[str]:
    out = []
    for totals, period in ((c.previous_totals, c.periods.previous), (c.current_totals, c.periods.current)):
        if totals.rows == 0:
            out.append(f"There are no {c.measure.table.name} rows in {period.label} (your data runs from "
                       f"{c.periods.data.first} to {c.periods.data.last}).")
    return out


def premise_note(c: Comparison, premise: str | None) -> str | None:
    """When the question assumed a drop (or a rise) that did not happen: say so first, with the numbers."""
    if premise not in ("drop", "rise") or c.change is None:
        return None
    if premise == "drop" and c.change < 0 or premise == "rise" and c.change > 0:
        return None
    said = "drop" if premise == "drop" else "rise"
    actually = "it rose" if c.change > 0 else "it fell" if c.change < 0 else "it stayed the same"
    amount = "" if not c.change else " " + _amount(abs(c.change), c.measure.unit) + (f" ({percent(c.pct)})" if c.pct is not None else "")
    return (f"{_title(c.measure.label)} didn't {said} in {c.periods.current.label} — {actually}{amount}, "
            f"from {number(c.previous, c.measure.unit)} in {c.periods.previous.label} to {number(c.current, c.measure.unit)}.")


# --- shared argument handling -------------------------------------------------------------------------


def _measure(profile: SchemaProfile, table: str | None, metric: Metric | str | dict[str, Any] | None,
             filters: list[Filter] | None) -> Measure:
    if metric is None:
        if profile.metric("revenue") is not None:
            metric = Metric(name="revenue")
        elif table:
            metric = Metric(agg="count")
        else:
            raise ToolInputError("Say which metric to analyse.",
                                 hint="metric: a semantic-model metric such as revenue, or {agg, column} with table.")
    if isinstance(metric, dict):  # called with plain JSON (the CLI, some tool-calling paths)
        metric = Metric.model_validate(metric)
    conditions = [f if isinstance(f, Filter) else Filter.model_validate(f) for f in filters or []]
    measure = resolve_measure(profile, table, metric, conditions)
    require_date(measure)
    return measure


def _today(today: str | None) -> dt.date:
    if not today:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(today)
    except ValueError as err:
        raise ToolInputError(f"'{today}' is not a date.", hint="Use YYYY-MM-DD.") from err


def _details(measure: Measure, periods: Periods, extra: str = "") -> str:
    filters = "; filters " + ", ".join(f"{f.column} {f.op} {f.value}" for f in measure.filters) if measure.filters else ""
    return (f"Details: {measure.label} on `{measure.table.name}` by `{measure.date.name if measure.date else '?'}`; "
            f"{periods.current.label} = {periods.current.span()}, {periods.previous.label} = {periods.previous.span()}"
            f"{filters}; data from {periods.data.first} to {periods.data.last}. {extra}").strip()


def _table(ctx: ToolContext, columns: list[str], rows: list[list[Any]], title: str) -> tuple[str, dict[str, Any]]:
    result = QueryResult(columns=columns, rows=[tuple(r) for r in rows])
    artifact_id = ctx.artifacts.save_table(result, title=title)
    return artifact_id, table_artifact(result, artifact_id, title)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _after_headline(lines: list[str]) -> int:
    """Where a line about the headline goes: right after it (a note that the period was replaced comes first)."""
    return next((i + 1 for i, line in enumerate(lines) if not _says_replaced(line)), len(lines))


def _says_replaced(note: str) -> bool:
    """The note says the period answered is not the one asked for (the data ends before it)."""
    return "nothing for" in note or ", so this is " in note


def _ordered(c: Comparison, sentence: str) -> list[str]:
    """A note that the period asked for was replaced (the data ends before it) comes before the numbers."""
    replaced = [n for n in c.periods.notes if _says_replaced(n)]
    return replaced + [sentence] + [n for n in c.periods.notes if n not in replaced] + empty_notes(c)


# --- compare ------------------------------------------------------------------------------------------


def yes_no(c: Comparison, asked: str | None, sentence: str) -> str:
    """``sentence`` answered as yes or no when the question asked whether it dropped (or rose)."""
    if asked not in ("drop", "rise") or c.change is None or not sentence:
        return sentence
    happened = c.change < 0 if asked == "drop" else c.change > 0
    return f"{'Yes' if happened else 'No'} — {sentence}"


def comparison_output(ctx: ToolContext, c: Comparison, premise: str | None = None, asked: str | None = None) -> ToolOutput:
    unit = c.measure.unit
    p, q = c.periods.previous, c.periods.current
    said = premise_note(c, premise)  # a false premise already says the change, with its numbers
    lines = [s for s in [said] if s] + [line for line in _ordered(c, "" if said else yes_no(c, asked, headline(c))) if line]
    if (counted := counted_note(ctx.profile(), c.measure)) is not None:
        lines.insert(_after_headline(lines), counted)
    if c.previous_whole is not None and c.periods.previous_whole is not None:  # the cut period in full, said beside the cut
        lines.insert(_after_headline(lines), f"All of {whole_label(c.periods.previous_whole)} (as far as your data goes): "
                                             f"{number(c.previous_whole, unit)}.")
    rows: list[list[Any]]
    if c.by:
        label = c.by.rsplit(".", 1)[-1]
        movers = sorted((g for g in c.groups if g.change is not None and g.name != "other"), key=lambda g: -abs(g.change or 0))
        if movers:
            top = movers[0]
            lines.append(f"By {label.replace('_', ' ')}, the biggest move was {top.name}: {number(top.previous, unit)} → "
                         f"{number(top.current, unit)} ({signed(top.change, unit)}).")
        rows = [[g.name, _round(g.previous), _round(g.current), _round(g.change), _round(g.pct)] for g in c.groups]
        columns = [label, p.label, q.label, "change", "change_pct"]
        if c.hidden_groups:
            lines.append(f"{c.hidden_groups:,} smaller {label.replace('_', ' ')} values are grouped as “other”.")
    else:
        rows = [[c.measure.label, _round(c.previous), _round(c.current), _round(c.change), _round(c.pct)]]
        columns = ["metric", p.label, q.label, "change", "change_pct"]
    title = f"{_title(c.measure.label)}: {q.label} vs {p.label}" + (f" by {c.by.rsplit('.', 1)[-1]}" if c.by else "")
    table_id, table = _table(ctx, columns, rows, title)
    records = []
    for row in rows[:12]:
        for period, value in ((p.label, row[1]), (q.label, row[2])):
            records.append({columns[0]: row[0], "period": period, c.measure.label: value})
    artifacts = [table]
    if any(r[c.measure.label] is not None for r in records):
        spec = grouped_bar_spec(records, category=columns[0], series="period", measure=c.measure.label, title=title,
                                number_format=".1f" if unit == "percent" else ",.0f")
        artifacts.append(save_chart(ctx.artifacts, spec, table_id=table_id))
    queries = ("One read-only query over both periods, one over all of " + whole_label(c.periods.previous_whole) + "."
               if c.previous_whole is not None and c.periods.previous_whole is not None else "One read-only query over both periods.")
    text = "\n".join(lines) + "\n\n" + _details(c.measure, c.periods, queries)
    return ToolOutput(text=text, artifacts=artifacts, data={**c.to_dict(), "artifact_id": table_id, "sentence": lines[0]})


@mara_tool(
    scope="data:read",
    examples=[
        "compare revenue in September vs August",
        "this month vs last month",
        "how did orders this quarter compare with last quarter",
        "revenue year over year",
        "Q1 vs Q2 2025 revenue by channel",
        "same period last year",
    ],
    route_offline=False,  # the planner reaches it from a parsed comparison (assistant/planner/analysis.py)
)
def compare_periods(
    ctx: ToolContext,
    period: str = "this month",
    compare_to: str = "previous",
    metric: Metric | None = None,
    table: str | None = None,
    by: str | None = None,
    filters: list[Filter] | None = None,
    same_days: bool = True,
    premise: Literal["drop", "rise"] | None = None,
    today: str | None = None,
    asked: Literal["drop", "rise"] | None = None,
) -> ToolOutput:
    """Compare a metric between two periods (absolute and % change), optionally by a dimension.

    period: 'this month', 'last month', 'this week', 'last quarter', 'this year', 'month to date',
    '2025-09', 'September 2025', 'Q3 2025', '2025' or '2025-09-01..2025-09-15' (end inclusive).
    compare_to: 'previous' (the period before), 'last_year' (same period last year) or another period.
    metric: {"name": "revenue"} (a semantic-model metric) or {"agg": "sum", "column": "total"} with table.
    by: a column to break the comparison down by (e.g. "channel"). A period still under way is compared
    with the same days of the other (same_days=false for the whole period). premise: 'drop'/'rise' when
    the user assumed one ("why did revenue drop"): the reply says first whether it happened. asked:
    'drop'/'rise' for a yes/no question ("was revenue in March lower than in Feb?"): the reply starts Yes or No.
    Relative periods are anchored to today (or `today`, YYYY-MM-DD) and to where the data ends.
    """
    profile = ctx.profile()
    measure = _measure(profile, table, metric, filters)
    reader = Reader(ctx.warehouse, profile, measure)
    periods = resolve_periods(reader, period, compare_to, today=_today(today), same_days=same_days)
    return comparison_output(ctx, compare(reader, periods, by), premise, asked)


# --- explain ------------------------------------------------------------------------------------------


def explanation_sentence(e: Explanation, after_premise: bool = False) -> str:
    """The headline and the top one to three contributors in words.

    ``after_premise``: a false-premise note already gave the change and its numbers, so the sentence
    says only what moved it ("What moved it: …"), never the same headline twice."""
    c = e.comparison
    unit = c.measure.unit
    parts = []
    if e.customers is not None:
        by_name = {line.name: line for line in e.customers.lines}
        for name, who in (("first-time", "first-time customers"), ("returning", "returning customers")):
            line = by_name.get(name)
            if line is None or not line.contribution:
                continue
            if c.measure.kind == "additive":
                verb = direction_word(line.contribution)
                parts.append(f"{who}' {c.measure.label} {verb} from {number(line.previous, unit)} to {number(line.current, unit)}")
            else:
                parts.append(f"{who} moved it by {signed(line.contribution, unit)}")
    lead = e.lead
    if lead is not None:
        movers = [line for line in lead.lines if line.name not in UNNAMED and line.contribution][:2]
        if movers:
            said = "; ".join(f"{m.name} {signed(m.contribution, unit)}" for m in movers)
            parts.append(f"by {lead.dimension}, the biggest contributions were {said}" if len(movers) > 1
                         else f"by {lead.dimension}, the biggest contribution was {said}")
    if e.volume is not None:
        orders, value = e.volume.lines
        bigger = max((orders, value), key=lambda x: abs(x.contribution))
        if bigger.contribution:
            what = "more orders" if bigger is orders and bigger.contribution > 0 else "fewer orders" if bigger is orders \
                else "a higher value per order" if bigger.contribution > 0 else "a lower value per order"
            parts.append(f"mostly {what} ({signed(bigger.contribution, unit)})")
    if after_premise:
        return ("What moved it: " + "; ".join(parts) + ".") if parts and c.change else ""
    base = headline(c)
    if not parts or not c.change:
        return base
    return base[:-1] + ": " + "; ".join(parts) + "."


def explanation_output(ctx: ToolContext, e: Explanation, premise: str | None = None) -> ToolOutput:
    c = e.comparison
    unit = c.measure.unit
    p, q = c.periods.previous, c.periods.current
    first = [s for s in [premise_note(c, premise)] if s]
    sentence = explanation_sentence(e, after_premise=bool(first))
    lines = first + [line for line in _ordered(c, sentence) if line]
    if (counted := counted_note(ctx.profile(), c.measure)) is not None:
        lines.insert(_after_headline(lines), counted)
    rows: list[list[Any]] = []
    for breakdown in [b for b in [e.customers, e.volume] if b is not None] + e.breakdowns:
        for line in breakdown.lines:
            rows.append([breakdown.dimension, line.name, _round(line.previous), _round(line.current), _round(line.contribution)])
    title = f"What changed {c.measure.label}: {p.label} → {q.label}"
    table_id, table = _table(ctx, ["breakdown", "group", p.label, q.label, "contribution"], rows, title)
    artifacts = [table]
    steps_from: Breakdown | None = e.lead if e.lead is not None else e.customers
    if steps_from is not None and c.previous is not None and c.current is not None:
        steps = [(f"{line.name}", line.contribution) for line in steps_from.lines]
        spec = waterfall_spec((p.label, c.previous), steps, (q.label, c.current),
                              title=f"{_title(c.measure.label)} by {steps_from.dimension}: {p.label} → {q.label}",
                              measure=c.measure.label, number_format=".1f" if unit == "percent" else ",.0f")
        artifacts.append(save_chart(ctx.artifacts, spec, table_id=table_id))
    method = ("Each line is a group's own change; the lines of each breakdown add up exactly to the total change."
              if c.measure.kind == "additive" else
              "Ratio metric: each group's contribution = its rate effect (its own ratio moved, at its average weight) "
              "+ its mix effect (its weight moved, at its average ratio minus the overall average); they add up exactly to the total change.")
    method += " First-time customers: first purchase ever falls in the period."
    if e.skipped:
        method += " Not used: " + ", ".join(e.skipped) + "."
    text = "\n".join(lines) + "\n\n" + _details(c.measure, c.periods, method)
    return ToolOutput(text=text, artifacts=artifacts, data={**e.to_dict(), "artifact_id": table_id,
                                                                   "sentence": " ".join([*first, sentence]).strip()})


@mara_tool(
    scope="data:read",
    examples=[
        "why did revenue drop in August?",
        "what drove the change in orders this month",
        "explain the increase in average order value",
        "which channel caused the revenue decline",
    ],
    route_offline=False,  # the planner reaches it from a "why" question (assistant/planner/analysis.py)
)
def explain_change(
    ctx: ToolContext,
    period: str = "last month",
    compare_to: str = "previous",
    metric: Metric | None = None,
    table: str | None = None,
    dimensions: list[str] | None = None,
    filters: list[Filter] | None = None,
    same_days: bool = True,
    premise: Literal["drop", "rise"] | None = None,
    today: str | None = None,
) -> ToolOutput:
    """Explain why a metric changed between two periods: exact contributions that add up to the change.

    Splits the change by each dimension (default: the category columns of the metric's table and the
    tables it references; or `dimensions`), by first-time vs returning customers, and for money sums into
    number of orders vs value per order; ratio metrics (average order value, rates) into rate and mix
    effects. Periods as in compare_periods. premise: 'drop'/'rise' when the user assumed one — the
    reply says first whether it happened, then explains the actual change.
    """
    profile = ctx.profile()
    measure = _measure(profile, table, metric, filters)
    reader = Reader(ctx.warehouse, profile, measure)
    periods = resolve_periods(reader, period, compare_to, today=_today(today), same_days=same_days)
    return explanation_output(ctx, explain(reader, periods, dimensions), premise)


# --- anomalies ----------------------------------------------------------------------------------------


def anomalies_output(ctx: ToolContext, measure: Measure, label: str, d: Detection, notes: list[str]) -> ToolOutput:
    unit = measure.unit
    grain = d.method["grain"]
    if d.anomalies:
        top = d.anomalies[:3]
        said = "; ".join(f"{a.day:%a %d %b}: {number(a.value, unit)} vs about {number(a.expected, unit)} expected "
                         f"({percent(a.pct)})" for a in top)
        more = f" (and {len(d.anomalies) - 3} more)" if len(d.anomalies) > 3 else ""
        sentence = (f"{len(d.anomalies)} unusual {grain}{'s' if len(d.anomalies) != 1 else ''} in {measure.label} "
                    f"during {label}: {said}{more}.")
    elif d.level is not None and abs(d.level.score) >= d.method["threshold"]:  # no day alone, but the whole period
        level = d.level
        size = f"{abs(level.pct):.0f}% {'above' if level.pct > 0 else 'below'}" if level.pct is not None else "away from"
        sentence = (f"No single {grain} stood out, but {label} as a whole was {size} the weeks before in {measure.label}: "
                    f"{number(level.actual, unit)} vs about {number(level.expected, unit)} expected.")
    else:
        sentence = (f"Nothing unusual in {measure.label} during {label}: every {grain} was within the normal range "
                    + ("for its weekday." if grain == "day" else "of the weeks before it."))
    flagged = {a.day: a for a in d.anomalies}
    rows = [[str(day), _round(value), _round(expected), "unusual" if day in flagged else "",
             round(flagged[day].score, 2) if day in flagged else None] for day, value, expected in d.points]
    title = f"{_title(measure.label)} per {grain}, {label}"
    table_id, table = _table(ctx, [grain, measure.label, "expected", "flag", "score"], rows, title)
    records = [{grain: r[0], "series": "actual", "value": r[1]} for r in rows] + \
              [{grain: r[0], "series": "expected", "value": r[2]} for r in rows if r[2] is not None]
    spec: dict[str, Any] = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json", "title": title, "width": "container", "height": 300,
        "data": {"values": records},
        "layer": [
            {"mark": {"type": "line", "tooltip": True},
             "encoding": {"x": {"field": grain, "type": "temporal", "title": None},
                          "y": {"field": "value", "type": "quantitative", "title": _title(measure.label)},
                          "color": {"field": "series", "type": "nominal", "title": None},
                          "strokeDash": {"field": "series", "type": "nominal", "legend": None}}},
            {"transform": [{"filter": {"field": "series", "equal": "actual"}},
                           {"filter": {"field": grain, "oneOf": [str(x) for x in flagged]}}],
             "mark": {"type": "point", "filled": True, "size": 90, "color": "#dc2626"},
             "encoding": {"x": {"field": grain, "type": "temporal"}, "y": {"field": "value", "type": "quantitative"}}},
        ],
    }
    artifacts = [table, save_chart(ctx.artifacts, spec, table_id=table_id)]
    m = d.method
    details = (f"Details: method: {m['name']}; expected = median of the same "
               f"{'weekday' if grain == 'day' else 'position'} in the {m['history_weeks']} weeks before; scale = "
               f"the Qn spread of the history's residuals{' (residuals in units of √expected)' if m['residual_unit'] != 'as is' else ''}; "
               f"unusual when |score| ≥ {m['threshold']}; "
               f"{d.judged} {grain}s judged; `{measure.table.name}` by `{measure.date.name if measure.date else '?'}`.")
    text = "\n".join([sentence, *notes]) + "\n\n" + details
    data = {"metric": measure.label, "period": label, "anomalies": [a.to_dict() for a in d.anomalies], "method": d.method,
            "judged": d.judged, "artifact_id": table_id, "sentence": sentence, "notes": notes}
    return ToolOutput(text=text, artifacts=artifacts, data=data)


@mara_tool(
    scope="data:read",
    examples=[
        "anything unusual in orders last month?",
        "were there any anomalies in revenue this quarter",
        "spot spikes or drops in daily sales",
    ],
    route_offline=False,  # the planner reaches it from "unusual / anomalies / spikes" (assistant/planner/analysis.py)
)
def find_anomalies(
    ctx: ToolContext,
    period: str = "last month",
    metric: Metric | None = None,
    table: str | None = None,
    grain: Literal["day", "week"] = "day",
    filters: list[Filter] | None = None,
    threshold: float = 3.5,
    today: str | None = None,
) -> ToolOutput:
    """Flag unusual days (or weeks) of a metric in a period: spikes and drops against its weekly rhythm.

    Each day is compared with the median of the same weekday over the 6 weeks before (robust to
    earlier outliers); a day is unusual when its deviation is ≥ `threshold` robust standard deviations.
    Periods as in compare_periods; metric {"name": "revenue"} or {"agg": "count"} with table.
    """
    if not 1.0 <= threshold <= 10.0:
        raise ToolInputError(f"threshold {threshold} is out of range.", hint="Use 1 to 10 (3.5 is the default).")
    profile = ctx.profile()
    measure = _measure(profile, table, metric, filters)
    reader = Reader(ctx.warehouse, profile, measure)
    day = _today(today)
    asked = parse_period(period, day)
    current = anchored(asked, day) if asked.start <= day else asked
    current, note = clip_to_data(current, reader.data_range())
    notes = [note] if note else []
    try:
        detection = detect_anomalies(reader, current, grain, threshold=threshold)
    except SparseSeries as err:
        if grain != "day":
            raise
        detection = detect_anomalies(reader, current, "week", threshold=threshold)  # too few rows per day: weeks
        notes.append(err.message.replace("too few to tell", "too few per day, so I looked at weeks to tell").split(":")[0]
                     + ", so I judged weeks instead.")
    return anomalies_output(ctx, measure, current.label, detection, notes)
