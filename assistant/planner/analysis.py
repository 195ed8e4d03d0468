"""The offline planner's analyst moves: a comparison, a "why", an "anything unusual" → the analysis tools.

Reads the message with the parser (the measure, filters and periods it already finds — "September vs
August" is two periods) and rules for the move itself; it does not change the parser. Follow-ups
keep the move: after a comparison, "and by channel?" breaks the same comparison down by channel.
The analysis tools word their own results (one sentence with the numbers, then details), so the reply
hooks registered here pass that text through.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from assistant.planner.hooks import ToolResult, reply_hook
from assistant.planner.lexicon import lexicon_for, phrase, static, tokenize
from assistant.planner.parser import DataQuestion, parse_question
from assistant.planner.timeframes import Timeframe, find_timeframes
from tools.analysis.calendar_words import COMPARED_RE, OVER_RE, over_unit
from tools.analysis.measures import activity_of
from tools.analysis.periods import label_range
from tools.schema_profile import SchemaProfile, name_phrase

ANALYSIS_TOOLS = ("compare_periods", "explain_change", "find_anomalies")

_UNUSUAL = re.compile(r"\b(unusual|anomal\w*|spikes?|outliers?|odd|weird|strange|abnormal|out of the ordinary)\b", re.I)
_DROP = r"(drop\w*|dip\w*|fall|fell|falling|declin\w*|decreas\w*|down|slump\w*|shrank|shrink\w*|worse|lower|go down|went down)"
_RISE = r"(rise|rose|rising|increas\w*|grow\w*|grew|jump\w*|up|spik\w*|higher|better|go up|went up|improv\w*)"
_WHY = re.compile(rf"\b(why|how come|what (drove|caused|explains|happened)|explain|reason|drivers?)\b.*?\b({_DROP}|{_RISE}|chang\w*)?\b", re.I)
_DROP_RE = re.compile(rf"\b{_DROP}\b", re.I)
_RISE_RE = re.compile(rf"\b{_RISE}\b", re.I)
_COMPARE = re.compile(r"\b(vs\.?|versus|compared?|comparison|against|than|same period last year)\b", re.I)
# one period compared with the one before it: "last week with the week before", "vs the previous month", "month over month"
_VS_PREVIOUS = re.compile(r"\b(?:(?:with|vs\.?|versus|against|to|than)\s+(?:the\s+)?(?:(?:week|month|quarter|year)\s+before|"
                          r"(?:previous|prior|preceding)\s+(?:period|week|month|quarter|year)))\b", re.I)
_LAST_YEAR = re.compile(r"\b(same (period|month|quarter|week|days) (of |a )?last year|vs\.? last year|"
                        r"versus last year|compared (to|with) last year)\b", re.I)
_RELATIVE = re.compile(r"\b(this|last|previous|current)\s+(week|month|quarter|year)\b|\b(month|year|quarter|week) to date\b|"
                       r"\b(mtd|ytd|qtd)\b", re.I)
_HALF_SAID = re.compile(r"\bhalf\s+of\b", re.I)
_MOVE_WORDS = re.compile(rf"\b(anything|something|any|were there|was there|is there|are there|unusual|anomal\w*|spikes?|"
                         rf"outliers?|odd|weird|strange|abnormal|out of the ordinary|why|how come|what (drove|caused|explains)|"
                         rf"explain( the| this| that)?|did|does|do|has|have|{_DROP}|{_RISE}|change[sd]?|so much)\b", re.I)
_AGAINST_LAST_YEAR = re.compile(r"^\s*(?:and|what about|how about|now|same)\s+(?:(?:vs\.?|versus|against|compared (?:to|with))\s+)?"
                                r"(?:the same (?:period|month|quarter|week) )?(?:of )?(?:last year|a year (?:ago|before|earlier)|"
                                r"year over year|yoy)\s*[?.!]*\s*$", re.I)
_FOLLOW = re.compile(r"^\s*(and|what about|how about|same|now|also|ok(ay)?,? and|break (it|that) down)\b", re.I)


def analysis_move(text: str) -> str | None:
    """Which analysis ``text`` asks for, if any: ``find_anomalies``, ``explain_change`` or ``compare_periods``."""
    if re.search(r"\bwhy\b|\bwhat (drove|caused|explains)\b|\bexplain (the|this|that|why)\b|\bdrivers? of\b", text, re.I):
        return "explain_change"  # "why did revenue spike": the spike is the premise, the question is what drove it
    if _UNUSUAL.search(text):
        return "find_anomalies"
    return None


def premise(text: str) -> str | None:
    """The direction a "why" question assumed: ``drop`` or ``rise`` (None: just "why did it change")."""
    if _DROP_RE.search(text):
        return "drop"
    if _RISE_RE.search(text):
        return "rise"
    return None


_YES_NO = re.compile(r"^\s*(?:was|were|is|are|did|does|do|has|have|had)\b", re.I)
_LOWER_WORDS = re.compile(r"\b(lower|less|fewer|worse|smaller|down|drop\w*|fall|fell|declin\w*|decreas\w*|shr[ai]nk\w*)\b", re.I)
_HIGHER_WORDS = re.compile(r"\b(higher|more|greater|better|bigger|up|ris\w*|rose|increas\w*|gr[eo]w\w*)\b", re.I)


def yes_no_direction(text: str, today: dt.date) -> str | None:
    """The change a yes/no comparison asks about, for the later period against the earlier: ``drop`` or
    ``rise`` (None: not a yes/no question, or no single direction). “Was March lower than Feb?” asks about
    a drop; “Was Feb lower than March?” names the earlier period first, so it asks about a rise."""
    if _YES_NO.search(text) is None or "%" in text:
        return None
    lower, higher = _LOWER_WORDS.search(text), _HIGHER_WORDS.search(text)
    if (lower is None) == (higher is None):
        return None
    direction = "drop" if lower is not None else "rise"
    frames = [f for f in find_timeframes(text, today) if f.start is not None]
    if len(frames) >= 2 and frames[0].start < frames[1].start:  # type: ignore[operator]
        direction = "rise" if direction == "drop" else "drop"
    return direction


def _period_text(frame: Timeframe, text: str) -> str:
    """What to pass as a period: a relative phrase as said (so it stays anchored and partial), else the exact days."""
    said = text.lower()[frame.span[0]:frame.span[1]] if frame.span != (0, 0) else ""
    if (m := _RELATIVE.search(said)) and not _HALF_SAID.search(said):  # "the first half of last year" is a half
        return m.group(0).lower()
    assert frame.start is not None and frame.end is not None
    return f"{frame.start}..{frame.end - dt.timedelta(days=1)}"


_PREVIOUS_WORD = re.compile(r"\b(previous|prior|preceding|before)\b", re.I)


def _before_if_previous(first: Timeframe, second: Timeframe, text: str) -> Timeframe:
    """“last 30 days vs the previous 30 days”: the timeframe reader reads both as the last 30 days; the
    second, said with “previous/prior/preceding”, is the same length just before the first."""
    if first.start is None or first.end is None or second.start is None or second.end is None:
        return second
    overlaps = second.start < first.end and first.start < second.end
    said = text[second.span[0]:second.span[1]] if second.span != (0, 0) else ""
    context = text[max(0, second.span[0] - 12):second.span[0]]
    if not overlaps or not (_PREVIOUS_WORD.search(said) or _PREVIOUS_WORD.search(context)):
        return second
    length = second.end - second.start
    return Timeframe(first.start - length, first.start, f"the {length.days} days before", (0, 0), second.unit)  # exact days


def periods_of(text: str, today: dt.date, data_end: dt.date | None = None) -> tuple[str | None, str]:
    """``(period, compare_to)`` from the message: the later period is the current one.

    One period said after a comparison word ("is revenue higher than last month?", "orders vs September")
    is the one compared *with*: the current period of the same unit ("this month") is compared to it.
    A shorthand ("MoM", "week over week", "YoY") with no period compares the current unit with the one before.
    A month said without a year is the latest such month in the data (``data_end``), not the latest before today.
    """
    frames = [f for f in find_timeframes(text, today, data_end) if f.start is not None and f.end is not None]
    over = over_unit(text)
    compare_to = "last_year" if _LAST_YEAR.search(text) or over == "year" else "previous"
    if (said := _LAST_YEAR.search(text.lower())) is not None:  # "vs the same period last year": not the year 2025
        frames = [f for f in frames if not (said.start() <= f.span[0] < said.end())]
    if len(frames) >= 2:
        frames = [frames[0], _before_if_previous(frames[0], frames[1], text)]
        first, second = sorted(frames[:2], key=lambda f: f.start or today, reverse=True)
        return _period_text(first, text), _period_text(second, text)
    if len(frames) == 1 and (unit := _compared_with(frames[0], text)) is not None:
        return f"this {unit}", _period_text(frames[0], text)
    if frames:
        return _period_text(frames[0], text), compare_to
    if over is not None:
        return ("today" if over == "day" else f"this {over}"), compare_to
    return None, compare_to


def _compared_with(frame: Timeframe, text: str) -> str | None:
    """The unit of ``frame`` when it is said right after a comparison word ("than last month"), else None."""
    if frame.span == (0, 0):
        return None
    before = text[:frame.span[0]]
    said = text[frame.span[0]:frame.span[1]].split()  # the reader may take the word in: "vs September"
    if COMPARED_RE.search(before) is None and (len(said) < 2 or COMPARED_RE.search(f"{before}{said[0]} ") is None):
        return None
    assert frame.start is not None and frame.end is not None
    unit = frame.unit or label_range(frame.start, frame.end).unit
    return unit if unit in ("week", "month", "quarter", "year") else None


def _without_periods(text: str, today: dt.date) -> str:
    """``text`` with the periods it names blanked, so a period outside the data cannot hide the measure."""
    for frame in sorted(find_timeframes(text, today), key=lambda f: f.span[0], reverse=True):
        if frame.span != (0, 0):
            text = text[:frame.span[0]] + " " + text[frame.span[1]:]
    return " ".join(text.split())


def _unknown_words(text: str, profile: SchemaProfile, today: dt.date) -> list[str]:
    """The words of ``text`` that neither the schema nor the parser's vocabulary explains (periods and the
    comparison's own words set aside) — a measure the data does not have ("refunds" with no refunds).

    Uses the parser's lexicon for this workspace (its tables, columns, values and metrics, their word forms
    and synonyms, and the marketing lexicon's fillers), so it holds on layouts it was not written for."""
    rest = OVER_RE.sub(" ", _LAST_YEAR.sub(" ", _COMPARE.sub(" ", _VS_PREVIOUS.sub(" ", _without_periods(text, today)))))
    tokens = [t for t in tokenize(rest) if t.text.isalpha()]
    covered = {i for tag in lexicon_for(profile).tag(tokens, set()) for i in range(tag.start, tag.end)}
    fillers = static()["fillers_set"]
    return [t.low for i, t in enumerate(tokens) if i not in covered and (t.norm,) not in fillers and (t.low,) not in fillers]


def measure_args(question: DataQuestion | None, profile: SchemaProfile) -> dict[str, Any] | None:
    """``table``, ``metric`` and ``filters`` from the parse (the metric it found, without its row count).

    Revenue only when nothing was named (the tool's headline then names revenue); a parse that asks
    back (``clarify``) gives None, so the planner asks instead of answering about another measure.
    """
    if question is not None and question.clarify:
        return None
    if question is None or not question.spec.metrics:
        return _default_measure(profile)
    spec = question.spec
    metric = next((m for m in spec.metrics if m.alias != question.rows_alias or question.rows_alias is None), spec.metrics[0])
    args: dict[str, Any] = {"table": spec.table, "metric": metric.model_dump(mode="json", exclude_none=True)}
    if "name" in args["metric"]:
        args["metric"].pop("agg", None)
    if spec.filters:
        args["filters"] = [f.model_dump(mode="json") for f in spec.filters]
    return args


def _says(text: str, words: set[tuple[str, ...]]) -> bool:
    """``text`` says one of the lexicon phrases ``words`` (any plural, spaces or hyphens between words)."""
    low = text.lower()
    return any(re.search(r"\b" + r"[\s-]*".join(map(re.escape, w)) + r"s?\b", low) for w in words if w)


def _concept_words(concept: str) -> set[tuple[str, ...]]:
    return {phrase(str(w)) for w in static()["concepts"][concept]}


def _signup_words() -> set[tuple[str, ...]]:
    """The lexicon's words for joining ("sign-ups", "registered", "joined"): the customer concept's words
    that are not synonyms of "customer" itself."""
    people = next(({phrase(str(w)) for w in group} for group in static()["synonyms"] if "customer" in group), set())
    return _concept_words("customer") - people


def active_customers(measure: dict[str, Any], profile: SchemaProfile, text: str) -> dict[str, Any]:
    """“Number of customers this month vs last month”: the customers who *ordered* in each period (active
    customers), not the rows of the customers table dated by sign-up — unless the question says sign-ups.
    “New customers” are the semantic model's (first order in the period) when it defines them.

    A count of the customers table becomes the distinct customers of the order log that links to it
    (the semantic model's ``active_customers`` when it defines one); the tool's answer says which it counted."""
    metric = measure.get("metric") or {}
    base = profile.table(str(measure.get("table") or ""))
    if metric.get("agg") != "count" or metric.get("column") or base is None:
        return measure
    found = activity_of(profile, base)
    if found is None:
        return measure
    orders, column = found
    if _says(text, _concept_words("new_customers")):
        defined = profile.metric("new_customers")
        kept_new = {"filters": measure["filters"]} if measure.get("filters") else {}
        return {"metric": {"name": "new_customers"}, **kept_new} if defined is not None and defined.table == orders.name \
            else measure
    if _says(text, _signup_words()):
        return measure
    kept = {"filters": measure["filters"]} if measure.get("filters") else {}  # "customers in Germany": via the join
    if (defined := profile.metric("active_customers")) is not None and defined.table == orders.name:
        return {"metric": {"name": "active_customers"}, **kept}
    return {"table": orders.name, "metric": {"agg": "count_distinct", "column": f"{orders.name}.{column}",
                                             "alias": "active_customers"}, **kept}


def _default_measure(profile: SchemaProfile) -> dict[str, Any] | None:
    """Revenue when nothing is named ("this month vs last month"): the semantic model's, else the
    orders table's money column summed."""
    if profile.metric("revenue") is not None:
        return {"metric": {"name": "revenue"}}
    orders = [t for t in profile.tables if t.by_role("date") and t.by_role("money")]
    if not orders:
        return None
    table = min(orders, key=lambda t: (t.key is None, -t.rows))
    money = table.by_role("money")[0]
    return {"table": table.name, "metric": {"agg": "sum", "column": f"{table.name}.{money.name}", "alias": "revenue"}}


_BY_WORDS = re.compile(r"\b(split by|broken down by|for each|by|per|across)\s+((?:[a-z][a-z_-]*)(?:\s+[a-z][a-z_-]*){0,3})", re.I)
_NOT_A_GROUPING = frozenset(["how", "much", "far", "the", "a", "an", "what", "far", "about", "around"])


def dimension_of(text: str, profile: SchemaProfile, table: str | None) -> str | None:
    """The column a "by X" phrase names (a category, flag or non-personal text column such as city, of the
    table or a table it references; the tools show the top values plus "other").

    The words after "by" run on into the rest of the question ("by plan this month vs last month"),
    so the longest run of them that names a column wins.
    """
    tables = profile.tables
    if table and (base := profile.table(table)) is not None:
        tables = [base] + [other for other, _, _ in profile.parents(base)]
    for m in _BY_WORDS.finditer(text):
        words = m.group(2).lower().split()
        for n in range(len(words), 0, -1):
            said = " ".join(words[:n]).replace("_", " ").rstrip("s")
            for t in tables:
                for column in t.columns:
                    if column.role in ("category", "flag", "text") and not column.pii:
                        phrase = name_phrase(column.name).rstrip("s")
                        if said in (phrase, column.name.lower().replace("_", " ").rstrip("s")) or phrase.endswith(" " + said):
                            return f"{t.name}.{column.name}"
    return None


def unmatched_grouping(text: str) -> str | None:
    """The words of a "by X" that named no column (``dimension_of`` found none): said back, never dropped."""
    for m in _BY_WORDS.finditer(text):
        if m.group(1).lower() in ("per", "across"):
            continue  # "revenue per order": a ratio, not a grouping
        word = m.group(2).split()[0]
        if word.lower() not in _NOT_A_GROUPING:
            return word
    return None


def analysis_call(text: str, earlier: Sequence[BaseMessage], profile: SchemaProfile, today: dt.date | None,
                  tool_names: Sequence[str], question: DataQuestion | None) -> AIMessage | None:
    """The analysis tool call ``text`` asks for, or None to let the planner answer it another way."""
    if not any(name in tool_names for name in ANALYSIS_TOOLS):
        return None
    day = today or dt.date.today()
    follow = _follow_up(text, earlier, profile, day)
    if follow is not None:
        return follow if follow.tool_calls and follow.tool_calls[0]["name"] in tool_names else None
    move = analysis_move(text)
    period, compare_to = periods_of(text, day)
    two_periods = len([f for f in find_timeframes(text, day) if f.start]) >= 2
    if move is None and (two_periods and _COMPARE.search(text) or _LAST_YEAR.search(text) or _VS_PREVIOUS.search(text)
                         or OVER_RE.search(text) or _said_against_one_period(text, day)
                         or (question is not None and question.compare)):
        move = "compare_periods"
    if move is None or move not in tool_names:
        return None
    cleaned = OVER_RE.sub(" ", _LAST_YEAR.sub(" ", _MOVE_WORDS.sub(" ", text)))
    if cleaned != text:  # "anything unusual in orders": the parser reads "orders" without the move's words
        question = parse_question(" ".join(cleaned.split()), profile, day) or question
    if question is not None and question.clarify:  # "orders last month" past the data's end: the parser refuses the
        # period, but the tool moves it to the latest complete period itself — read the measure without the periods
        question = parse_question(_without_periods(cleaned, day), profile, day) or question
    if question is not None and question.clarify:
        return None  # something named that the data does not have: ask (the planner says the parser's question)
    if (question is None or not question.spec.metrics) and (unknown := _unknown_words(cleaned, profile, day)):
        # "compare refunds …" with no refunds in the data: ask, never answer with revenue in its place
        return AIMessage(content=f"I couldn't find “{' '.join(unknown)}” in your data. Which measure should I use — "
                                 "for example revenue or orders?")
    measure = measure_args(question, profile)
    if measure is None:
        return None
    measure = active_customers(measure, profile, text)
    if (end := _data_end(profile, measure.get("table"))) is not None:  # "Jan vs Dec": the latest such months in the data
        period, compare_to = periods_of(text, day, end)
    args: dict[str, Any] = dict(measure)
    args["period"] = period or ("last month" if move != "compare_periods" else "this month")
    if today is not None:
        args["today"] = today.isoformat()
    if move != "find_anomalies":
        args["compare_to"] = compare_to
        if move == "explain_change" and (said := premise(text)):
            args["premise"] = said
        elif move == "compare_periods" and (said := yes_no_direction(text, day)):
            args["asked"] = said  # "was revenue in March lower than in Feb?": the reply starts with Yes or No
        by = dimension_of(text, profile, args.get("table"))
        if by:
            args["by" if move == "compare_periods" else "dimensions"] = by if move == "compare_periods" else [by]
        elif (said := unmatched_grouping(text)) is not None:
            return AIMessage(content=f"I couldn't find “{said}” to break {move_subject(args)} down by in your data. "
                                     "Which column should I use — or shall I compare the total?")
    return _call(move, args)


def _data_end(profile: SchemaProfile, table: str | None) -> dt.date | None:
    """The last date in ``table`` (its main date column), if the profile knows it."""
    found = profile.table(table) if table else None
    column = profile.main_date(found) if found is not None else None
    try:
        return dt.date.fromisoformat(column.max[:10]) if column is not None and column.max else None
    except ValueError:
        return None


def _said_against_one_period(text: str, day: dt.date) -> bool:
    """One period, said after a comparison word: "is revenue higher than last month?"."""
    frames = [f for f in find_timeframes(text, day) if f.start is not None and f.end is not None]
    return len(frames) == 1 and _compared_with(frames[0], text) is not None


def move_subject(args: dict[str, Any]) -> str:
    """The measure of a planned call in words: its metric name or alias ("revenue", "orders")."""
    metric = args.get("metric") or {}
    return str(metric.get("name") or metric.get("alias") or "it").replace("_", " ")


def _follow_up(text: str, earlier: Sequence[BaseMessage], profile: SchemaProfile, day: dt.date) -> AIMessage | None:
    """“and by channel?”, “and last year?” after an analysis: the same call with that one part changed."""
    if not _FOLLOW.match(text):
        return None
    previous = _last_analysis(earlier)
    if previous is None:
        return None
    name, args = previous
    args = dict(args)
    by = dimension_of(text, profile, args.get("table"))
    if _AGAINST_LAST_YEAR.match(text) and name != "find_anomalies":  # "and vs last year?": the same period, a year before
        args["compare_to"] = "last_year"
        args.pop("premise", None)
        return _call(name, args)
    frames = [f for f in find_timeframes(text, day) if f.start]
    if by is None and not frames and not _LAST_YEAR.search(text):
        filters = _follow_up_filters(text, profile, day)
        if not filters:
            return None
        said = {f["column"] for f in filters}  # "what about France?": the same analysis, for France
        args["filters"] = [f for f in args.get("filters", []) if f.get("column") not in said] + filters
        args.pop("premise", None)
        return _call(name, args)
    if by is not None:
        if name == "compare_periods":
            args["by"] = by
        elif name == "explain_change":
            args["dimensions"] = [by]
        else:
            name = "compare_periods"
            args = {**{k: v for k, v in args.items() if k not in ("grain", "threshold")}, "by": by}
    if frames:
        period, compare_to = periods_of(text, day)
        args["period"] = period
        if len(frames) >= 2 or _LAST_YEAR.search(text):
            args["compare_to"] = compare_to
    elif _LAST_YEAR.search(text) and name != "find_anomalies":
        args["compare_to"] = "last_year"
    args.pop("premise", None)
    return _call(name, args)


def _follow_up_filters(text: str, profile: SchemaProfile, day: dt.date) -> list[dict[str, Any]]:
    """The value filters a short follow-up names ("what about France?"), read by the parser."""
    question = parse_question(_FOLLOW.sub(" ", text), profile, day)
    if question is None or question.clarify or not question.spec.filters:
        return []
    return [f.model_dump(mode="json") for f in question.spec.filters]


def _last_analysis(earlier: Sequence[BaseMessage]) -> tuple[str, dict[str, Any]] | None:
    for message in reversed(earlier):
        if isinstance(message, AIMessage):
            for call in reversed(message.tool_calls):
                if call["name"] in ANALYSIS_TOOLS:
                    return call["name"], dict(call["args"])
            if message.tool_calls:
                return None  # a newer question went elsewhere
    return None


def _call(name: str, args: dict[str, Any]) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[{"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:12]}", "type": "tool_call"}],
        additional_kwargs={"mara_plan": {"tool": name, "analysis": True}},
    )


@reply_hook(*ANALYSIS_TOOLS)
def _analysis_reply(result: ToolResult) -> str:
    return result.content  # already worded: headline sentence, notes, then a Details: line

