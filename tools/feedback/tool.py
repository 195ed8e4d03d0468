"""The ``analyze_feedback`` tool: customer text -> sentiment, themes, breakdowns, keywords."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from foundation.errors import MaraError, ToolInputError
from tools.charts import chart_spec, save_chart
from tools.context import ToolContext
from tools.declare import mara_tool
from tools.feedback.requests import feedback_table
from tools.progress import report_progress
from tools.results import ToolOutput, table_artifact
from tools.warehouse import QueryResult

if TYPE_CHECKING:
    from tools.feedback.analysis import FeedbackResult


def _signed(value: float) -> str:
    return f"{value:+.2f}"


def feedback_text(result: FeedbackResult, max_themes: int = 6) -> str:
    """The findings in a marketer's words: headline, themes with quotes, spikes, breakdown."""
    s = result.summary
    labels = s["labels"]
    where = f" ({result.keywords_for})" if s.get("filter") else ""
    lines = []
    mood = s.get("mood")
    if mood and result.quotes:
        said = {"positive": "love", "negative": "complain about"}[mood]
        about = f", {result.keywords_for}" if s.get("filter") else ""
        lines.append(f"{len(result.quotes)} customer{'s' if len(result.quotes) > 1 else ''} in their own words "
                     f"(what they {said}{about}):")
        lines += [f"{n}. “{q['text']}” ({_id_label(s)} {q['id']}, sentiment {_signed(q['sentiment'])})"
                  for n, q in enumerate(result.quotes, 1)]
    lines.append(
        f"I read {s['scored']:,} texts from {s.get('table', 'the data')}.{s.get('text_column', 'text')}{where}: "
        f"average sentiment {_signed(s['average_sentiment'])} on a -1..+1 scale — {labels['positive']:,} positive, "
        f"{labels['neutral']:,} neutral, {labels['negative']:,} negative."
        + (f" Themes and keywords below are of the {s['mood_texts']:,} {mood} ones." if mood else ""))
    for alert in result.alerts[:3]:
        if alert["kind"] == "words":
            lines.append(f"⚠ Mentions of “{'”, “'.join(alert['words'])}” jumped in {alert['month']}: "
                         f"{alert['texts']} texts vs about {alert['expected']:.0f} expected "
                         f"(sentiment {_signed(alert['sentiment'])}), e.g. “{alert['quote']}”")
        else:
            lines.append(f"⚠ Theme “{alert['theme']}” jumped in {alert['month']}: {alert['texts']} texts vs about "
                         f"{alert['expected']:.0f} expected (sentiment {_signed(alert['sentiment'])}).")
    lines.append(f"Themes ({len(result.themes)}):")
    for theme in result.themes[:max_themes]:
        quote = f" — e.g. “{theme.quotes[0]}”" if theme.quotes else ""
        lines.append(f"- {theme.label}: {theme.size:,} texts, sentiment {_signed(theme.sentiment)}{quote}")
    if len(result.themes) > max_themes:
        lines.append(f"- …and {len(result.themes) - max_themes} smaller themes (see the themes table).")
    if result.breakdown:
        groups = sorted(result.breakdown["groups"], key=lambda g: g["sentiment"])
        shown = groups if len(groups) <= 8 else groups[:4] + groups[-4:]
        lines.append(f"By {result.breakdown['column']}: " + "; ".join(
            f"{g['value']} {_signed(g['sentiment'])} ({g['texts']:,} texts, top theme {g['top_theme']})" for g in shown))
    if result.keywords:
        lines.append(f"Most distinctive words for {result.keywords_for}: {', '.join(result.keywords[:10])}.")
    lines += result.notes
    return "\n".join(lines)


def _id_label(summary: dict[str, Any]) -> str:
    table = str(summary.get("table") or "text")
    return table[:-1] if table.endswith("s") else table


def _save(ctx: ToolContext, columns: list[str], rows: list[tuple[Any, ...]], title: str) -> tuple[QueryResult, dict[str, Any]]:
    result = QueryResult(columns=columns, rows=rows)
    return result, table_artifact(result, ctx.artifacts.save_table(result, title=title), title)


def _chart(ctx: ToolContext, result: QueryResult, table: dict[str, Any], kind: str, title: str,
           x: str, y: str) -> list[dict[str, Any]]:
    try:
        return [save_chart(ctx.artifacts, chart_spec(result, kind=kind, title=title, x=x, y=y),
                           table_id=table["artifact_id"])]
    except (MaraError, ValueError, TypeError):
        return []


@mara_tool(
    scope="data:read",
    examples=[
        "what are customers complaining about",
        "analyse the sentiment of our reviews",
        "how do reviews of our tents feel this quarter vs last",
        "which themes drive 1-star reviews",
        "what do 1-star reviews mention most",
        "quote three customers who love the backpacks",
        "what do customers say about our products",
        "customer feedback themes",
        "summarise the survey answers",
        "what are the main topics in support tickets",
        "are reviews getting more negative",
        "sentiment of reviews by category",
        "what do customers love about our tents",
    ],
)
def analyze_feedback(
    ctx: ToolContext,
    table: str | None = None,
    text_column: str | None = None,
    id_column: str | None = None,
    by: str | None = None,
    where: dict[str, Any] | None = None,
    mood: Literal["positive", "negative"] | None = None,
    quotes: int = 3,
) -> ToolOutput:
    """Read customer text (reviews, survey answers, tickets, comments): sentiment per text
    (-1..+1, negative/neutral/positive), themes with keywords, size, sentiment and quotes,
    spikes of a theme in one month, and keywords.

    table/text_column: the table and its text column (found automatically when omitted).
    by: a column to break sentiment and themes down by — of the table or of a table it links
    to (e.g. "category" via product_id), or "month". where: only rows matching
    {column: value or [values]}, e.g. {"rating": [1]} for 1-star reviews; its keywords are
    then what sets those rows apart from the rest. mood: "positive" for what customers love
    (“quote three customers who love the backpacks”), "negative" for what they complain about:
    themes and keywords of those texts only, and `quotes` (1-10) of them, the clearest first.
    """
    if table is None or text_column is None:
        found = feedback_table(ctx.profile())
        if found is None:
            raise ToolInputError("No table with a text column (reviews, comments, answers) was found in the data.")
        table = table or found[0].name
        if text_column is None:
            chosen = ctx.profile().table(table)
            text = next((c.name for c in chosen.columns if c.role == "text"), None) if chosen else None
            text_column = found[1].name if table == found[0].name else text
            if text_column is None:
                raise ToolInputError(f"Name the text column of {table}: it has no text column I can tell.")
    cache_dir = ctx.settings.home / "cache" / "feedback" if ctx.settings.home.is_dir() else None
    report_progress(f"reading {table}.{text_column}")
    # lazy: numpy and the sentiment/theme code load slowly; every chat turn builds this tool
    from tools.feedback.analysis import analyze_table

    if not 1 <= int(quotes) <= 10:
        raise ToolInputError(f"quotes is how many quotes to give, 1 to 10 (got {quotes}).")
    result = analyze_table(ctx.warehouse, ctx.profile(), table, text_column, id_column, by, where, cache_dir,
                           mood=mood, quotes=int(quotes))
    themes, themes_art = _save(
        ctx, ["theme", "texts", "sentiment", "keywords", "quote"],
        [(t.label, t.size, round(t.sentiment, 3), ", ".join(t.keywords), t.quotes[0] if t.quotes else "")
         for t in result.themes], f"Themes in {table}.{text_column}")
    artifacts = [themes_art, *_chart(ctx, themes, themes_art, "bar", "Texts per theme", "theme", "texts")]
    if result.breakdown:
        col = result.breakdown["column"]
        groups, groups_art = _save(
            ctx, [col, "texts", "sentiment", "negative_share", "top_theme"],
            [(g["value"], g["texts"], g["sentiment"], g["negative_share"], g["top_theme"]) for g in result.breakdown["groups"]],
            f"Sentiment by {col}")
        kind = "line" if col == "month" else "bar"
        artifacts += [groups_art, *_chart(ctx, groups, groups_art, kind, f"Average sentiment by {col}", col, "sentiment")]
    names = {t.id: t.label for t in result.themes}
    _, per_text = _save(ctx, ["id", "sentiment", "label", "theme"],
                        [(r["id"], r["sentiment"], r["label"], names[r["theme"]]) for r in result.rows],
                        f"Sentiment per text in {table}")
    artifacts.append(per_text)
    data = {k: v for k, v in result.to_dict().items() if k not in ("rows", "not_scored")}
    data["artifact_id"] = themes_art["artifact_id"]
    return ToolOutput(text=feedback_text(result), artifacts=artifacts, data=data)
