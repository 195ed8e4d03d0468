"""Write the offline planner's final reply from the tool results of the turn."""

from __future__ import annotations

import datetime as dt
import decimal
import re
from contextvars import ContextVar
from typing import Any

from tools.results import format_value

#: Said once per session by the front ends (the web chat's mode badge, the CLI's banner), not
#: appended to every reply: the turn's ``mode`` ("offline") tells them when it applies.
OFFLINE_NOTICE = (
    "Offline mode: answered by Mara's built-in planner, no LLM involved. "
    "Set OPENAI_API_KEY or MARA_LLM_BASE_URL for free-form answers."
)


def fmt(value: Any) -> str:
    """A number or date the way a marketer reads it."""
    if isinstance(value, decimal.Decimal):
        value = float(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() and abs(value) >= 1000 else f"{value:,.2f}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return "—" if value is None else str(value)


#: The result's column formats while a reply is composed (``tools.results.format_value`` reads them).
_FORMATS: ContextVar[dict[str, dict[str, Any] | None] | None] = ContextVar("mara_formats", default=None)


def compose_query_reply(plan: dict[str, Any], data: dict[str, Any]) -> str:
    """Sentence(s) stating the numbers of a query result, then how they were computed."""
    formats = data.get("formats") or []
    token = _FORMATS.set(dict(zip(data.get("columns") or [], formats, strict=False)))
    try:
        answer = _query_answer(plan, data)
    finally:
        _FORMATS.reset(token)
    # table names after FROM/JOIN — not a column reference ("IS NOT DISTINCT FROM h.\"country\"")
    tables = re.findall(r'(?:FROM|JOIN)\s+"?(\w+)"?(?![."\w])', str(data.get("sql", "")), flags=re.I)
    if not tables:
        return answer
    names = list(dict.fromkeys(tables))
    how = f"`{names[0]}`" + (f" joined to {', '.join(f'`{n}`' for n in names[1:])}" if len(names) > 1 else "")
    return f"{answer}\n\n_How: one read-only query over {how}._"


def _metric_fmt(value: Any, column: str, kind: str = "value") -> str:
    """A metric value: in the result column's format when the semantic model gives one (money with its
    currency, percentages; :func:`tools.results.format_value`), else percentages (``*_pct`` columns,
    shares of 0..1) as ``74.3%`` and the rest via :func:`fmt`."""
    known = (_FORMATS.get() or {}).get(column)
    if known is not None and known.get("kind") in ("money", "percent") and kind not in ("share",):
        return format_value(value, known)
    if isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
        if column.endswith("_pct"):
            return f"{float(value):.1f}%"
        if kind == "percent":  # a semantic-model percentage, already 0-100
            return f"{float(value):.1f}%"
        if kind == "share":  # an average of a flag: 0..1
            number = float(value) * 100 if abs(float(value)) <= 1 else float(value)
            # no more digits than the value has: a ratio rounded to 0.43 is 43%, not 43.0%
            shown = str(value).rstrip("0").split(".")[1] if "." in str(value) else ""
            digits = 1 if abs(float(value)) > 1 else max(0, min(1, len(shown) - 2))
            return f"{number:.{digits}f}%"
    return fmt(value)


def _shape(plan: dict[str, Any], data: dict[str, Any]) -> tuple[list[str], list[list[Any]], int | None]:
    """The result as the question sees it: the rows-covered column taken out, a ratio divided out."""
    columns: list[str] = list(data.get("columns", []))
    rows: list[list[Any]] = [list(r) for r in data.get("rows", [])]
    covered = None
    alias = plan.get("rows_alias")
    if alias and alias in columns:
        i = columns.index(alias)
        covered = sum(int(r[i] or 0) for r in rows)
        columns.pop(i)
        rows = [r[:i] + r[i + 1:] for r in rows]
    if plan.get("kind") == "ratio" and len(columns) >= 2:
        name = columns[-2]
        divided = []
        for r in rows:
            num, den = r[-2], r[-1]
            value = round(float(num) / float(den), 2) if num is not None and den not in (None, 0) else None
            divided.append(r[:-2] + [value])
        columns, rows = columns[:-2] + [f"{name}_per_{columns[-1]}"], divided
        if len(columns) >= 2 and not plan.get("time_grain"):  # the SQL ordered by the numerator: rank by the ratio itself
            rows.sort(key=lambda r: (r[-1] is None, -(r[-1] or 0) if plan.get("order") != "asc" else (r[-1] or 0)))
    return columns, rows, covered


def _restatement(plan: dict[str, Any], covered: int | None) -> str:
    """What was computed, in plain words: measure, filters, grouping, period, rows covered."""
    parts = [str(plan.get("subject") or "result")]
    parts += [q for q in plan.get("qualifiers") or []]
    if plan.get("grouping"):
        parts.append("by " + ", ".join(plan["grouping"]))
    if not any(q for q in plan.get("qualifiers") or [] if re.search(r"\d{4}|today|yesterday|this |last |since", q)):
        parts.append("all dates")
    text = "Computed: " + "; ".join(parts)
    if covered is not None:
        text += f" — {fmt(covered)} {plan.get('rows_label') or 'rows'}"
    notes = plan.get("notes") or []
    if notes:
        text += ". Note: " + "; ".join(notes)
    return f"_{text}._"


def _query_answer(plan: dict[str, Any], data: dict[str, Any]) -> str:
    columns, rows, covered = _shape(plan, data)
    answer = _answer_sentence(plan, data, columns, rows, covered)
    if plan.get("tool") in ("query_data", "run_sql") and plan.get("subject"):
        return f"{answer}\n\n{_restatement(plan, covered)}"
    return answer


def _answer_sentence(plan: dict[str, Any], data: dict[str, Any], columns: list[str], rows: list[list[Any]], covered: int | None) -> str:
    subject = plan.get("subject") or "result"
    qualifiers = plan.get("qualifiers") or []
    kind = str(plan.get("kind") or "value")
    where = f" ({'; '.join(qualifiers)})" if qualifiers else ""
    empty = not rows or (len(rows) == 1 and all(v is None for v in rows[0])) or covered == 0
    if empty:
        end = f" Your data ends on {plan['data_end']}." if plan.get("data_end") else ""
        return f"No {plan.get('rows_label') or 'rows'} matched for {subject}{where}, so there is no figure to give.{end}"
    if len(rows) == 1 and len(columns) == 1:
        value = _metric_fmt(rows[0][0], columns[0], kind)
        if subject in {"customers", "orders", "products"} or plan.get("count") and not subject.startswith("share of"):
            return f"You have **{value}** {subject}." if not where else f"**{value}** {subject}{where}."
        return f"**{value}** — {subject}{where}."
    if plan.get("compare") and plan.get("time_grain") and len(columns) == 2:
        compared = _compare_sentence(plan, columns, rows, kind)
        if compared:
            return compared
    if plan.get("share_of") and len(columns) == 2:
        shared = _share_sentence(plan, rows, subject, where)
        if shared:
            return shared
    return _breakdown(plan, data, columns, rows, kind, subject, where)


def _compare_sentence(plan: dict[str, Any], columns: list[str], rows: list[list[Any]], kind: str) -> str | None:
    """“September 2025: **1,200.00** vs August 2025: **1,050.00** (+14.3%).” — only the periods asked about."""
    labels: list[str] = plan["compare"]
    picked = []
    for label in labels:
        match = next((r for r in rows if _period_label(r[0], plan["time_grain"]) == label), None)
        picked.append((label, match[-1] if match else 0))
    shown = " vs ".join(f"{label}: **{_metric_fmt(v, columns[-1], kind)}**" for label, v in picked)
    first, second = picked[0][1], picked[1][1]
    change = ""
    if isinstance(first, (int, float, decimal.Decimal)) and isinstance(second, (int, float, decimal.Decimal)) and float(second):
        change = f" ({(float(first) - float(second)) / abs(float(second)) * 100:+.1f}% for {labels[0]} against {labels[1]})"
    return f"{str(plan.get('subject') or 'result')[0].upper()}{str(plan.get('subject'))[1:]}: {shown}{change}."


def _period_label(value: Any, grain: str) -> str:
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        return str(value)
    if grain == "month":
        return value.strftime("%B %Y")
    if grain == "quarter":
        return f"Q{(value.month - 1) // 3 + 1} {value.year}"
    if grain == "year":
        return str(value.year)
    return value.isoformat()


def _breakdown(plan: dict[str, Any], data: dict[str, Any], columns: list[str], rows: list[list[Any]], kind: str,
               subject: str, where: str) -> str:
    dims = columns[:-1]
    metric = columns[-1]
    count = data.get("row_count", len(rows))
    label = ", ".join(dims)
    parts = []
    grain = plan.get("time_grain")

    flags = set(plan.get("flag_columns") or [])

    def cell(i: int, value: Any) -> str:
        if grain and i == 0 and dims[0] == grain:
            return _period_label(value, grain)
        if dims[i] in flags:
            return _yes_no(dims[i], value)
        return fmt(value)

    def row_label(row: list[Any]) -> str:
        return " / ".join(cell(i, v) for i, v in enumerate(row[:-1]))

    first = next((r for r in rows if all(v is not None for v in r[:-1])), None)  # an empty group is not an answer
    if plan.get("top_group") and first is not None:
        place = "lowest" if plan.get("order") == "asc" else "first"
        parts.append(f"**{row_label(first)}** is {place} by {subject} (**{_metric_fmt(first[-1], metric, kind)}**).")
    parts.append(f"{subject[0].upper()}{subject[1:]} by {label}{where}: {count}{'+' if data.get('truncated') else ''} group{'s' if count != 1 else ''}.")
    if grain and dims and dims[0] == grain and plan.get("order") is None:
        values = [r[-1] for r in rows]
        numeric = [float(v) for v in values if isinstance(v, (int, float, decimal.Decimal))]
        shown = ", ".join(f"{row_label(r)}: **{_metric_fmt(r[-1], metric, kind)}**" for r in rows[:6])
        parts.append(f"In order — {shown}" + (f" … {row_label(rows[-1])}: {_metric_fmt(rows[-1][-1], metric, kind)}." if len(rows) > 6 else "."))
        if numeric and len(numeric) == len(values) and len(rows) > 2:
            hi = max(range(len(numeric)), key=numeric.__getitem__)
            lo = min(range(len(numeric)), key=numeric.__getitem__)
            parts.append(f"Highest {row_label(rows[hi])}, lowest {row_label(rows[lo])}.")
    else:
        shown = ", ".join(f"{row_label(r)}: **{_metric_fmt(r[-1], metric, kind)}**" for r in rows[:5])
        order = "Lowest" if plan.get("order") == "asc" else "Highest"
        parts.append(f"{order} first — {shown}" + (f" and {len(rows) - 5} more." if len(rows) > 5 else "."))
    parts.append(f"The full table ({metric}) is attached.")
    return " ".join(parts)


_YES = frozenset({"1", "true", "t", "yes", "y"})
_NO = frozenset({"0", "false", "f", "no", "n"})


def _yes_no(column: str, value: Any) -> str:
    """A group of a yes/no column in words: “is churned = yes”, never a bare 1 or 0."""
    text = str(value).strip().lower() if not isinstance(value, bool) else ("true" if value else "false")
    if text.endswith(".0"):
        text = text[:-2]
    word = "yes" if text in _YES else "no" if text in _NO else fmt(value)
    return f"{column.replace('_', ' ')} = {word}"


def _share_sentence(plan: dict[str, Any], rows: list[list[Any]], subject: str, where: str) -> str | None:
    """“**4.8%** of orders (6,712 of 139,411) have status returned.”"""
    column, wanted = plan["share_of"]
    numbers = [float(r[1]) for r in rows if isinstance(r[1], (int, float, decimal.Decimal))]
    total = sum(numbers)
    match = next((r for r in rows if str(r[0]).lower() == str(wanted).lower()), None)
    if not total or match is None:
        return None
    share = float(match[1]) / total * 100
    label = column.replace("_", " ")
    what = f"{label} {fmt(wanted)}" if not isinstance(wanted, bool) else (label if wanted else f"not {label}")
    others = ", ".join(f"{fmt(r[0])} {float(r[1]) / total * 100:.1f}%" for r in rows if r is not match)
    return (f"**{share:.1f}%** of {subject}{where} ({fmt(match[1])} of {fmt(total if not total.is_integer() else int(total))}) "
            f"have {what}." + (f" The rest: {others}." if others else ""))


def compose_describe_reply(data: dict[str, Any]) -> str:
    tables = data.get("tables", [])
    if not tables:
        return "The warehouse has no tables yet. Load data with `mara data load FILE` or build the demo with `mara demo`."
    lines = [f"Your warehouse has {len(tables)} table{'s' if len(tables) != 1 else ''}:"]
    for t in tables:
        cols = t["columns"]
        lines.append(f"- **{t['name']}** — {fmt(t['rows'])} rows; columns: {', '.join(cols[:12])}{' …' if len(cols) > 12 else ''}")
    lines.append("\nAsk things like “how many customers opted in to SMS?” or “revenue by country last quarter”.")
    return "\n".join(lines)


_STOP = frozenset(
    ["the", "a", "an", "and", "or", "of", "to", "in", "on", "for", "is", "are", "was", "were", "be", "our", "we", "you", "your", "what", "which", "how", "do", "does", "can", "with", "that", "this", "it", "its", "as", "at", "by", "from", "about", "any", "there", "their", "they", "must", "should"]
)


def _terms(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2 and w not in _STOP}


def compose_knowledge_reply(question: str, passages: list[dict[str, Any]]) -> str:
    """Quote the sentences of the retrieved passages that best answer ``question``, with sources."""
    if not passages:
        return "I found nothing about that in the brand knowledge base. Add documents with `mara kb ingest PATH`."
    words = _terms(question)
    candidates: list[tuple[float, int, str, str, set[str]]] = []
    for rank, passage in enumerate(passages[:4]):
        heading_bonus = 0.5 * len(words & _terms(str(passage.get("heading", ""))))
        for sentence in re.split(r"(?<=[.!?])\s+|\n+", passage.get("text", "")):
            if sentence.lstrip().startswith("|"):  # a table row: "| Germany | EUR | 49 € |"
                cells = [c.strip() for c in sentence.strip().strip("|").split("|")]
                if all(set(c) <= set("-: ") for c in cells):
                    continue
                sentence = " · ".join(c for c in cells if c)
            clean = sentence.strip(" -#>|")
            if len(clean) < 12 or not (clean[0].isupper() or clean[0] in "\"“*0123456789$£€"):
                continue  # fragments left by chunk overlap, table rules, headings
            candidates.append((heading_bonus - 0.6 * rank, rank, clean, _cite(passage), _terms(clean)))
    # rarer question words weigh more: "Germany" says more than "shipping" about which line answers
    df = {w: sum(1 for c in candidates if w in c[4]) for w in words}
    names = {w.lower() for w in re.findall(r"(?<!^)(?<![.?!]\s)\b[A-Z][a-zA-Z]+", question.strip())}
    weight = {w: (3.0 if w in names else 1.0) / max(df[w], 1) ** 0.5 for w in words}
    scored = [(bonus + sum(weight[w] for w in words & terms), rank, clean, cite)
              for bonus, rank, clean, cite, terms in candidates]
    scored.sort(key=lambda p: p[0], reverse=True)
    best = [p for p in scored[:3] if p[0] > 0] or scored[:2]
    lines = ["From the brand knowledge base:"]
    for _, _, sentence, cite in best:
        lines.append(f"> {sentence} [{cite}]\n")
    sources = list(dict.fromkeys(_cite(p) for p in passages[:5]))
    lines.append("Sources: " + "; ".join(sources))
    return "\n".join(lines)


def _cite(passage: dict[str, Any]) -> str:
    source = str(passage.get("source", "?")).rsplit("/", 1)[-1]
    heading = passage.get("heading")
    return f"{source} › {heading}" if heading else source


def compose_error_reply(tool: str, error: str) -> str:
    text = error.removeprefix("Error: ").split("\nFix the arguments")[0].split("\n(Retry budget")[0]
    return f"I couldn't answer that: {text}"  # marketer language: no tool name ({tool} is in the audit log)


def compose_offer_note(lookup: dict[str, Any], purpose: str) -> str:
    """The offer the drafts use, with its source in the brand knowledge base (or its absence)."""
    if lookup.get("offer"):
        return f"Offer from your brand knowledge ({lookup.get('source')}): **{lookup['offer']}**."
    return (f"I found no {purpose} offer in the brand knowledge base, so the drafts state none; "
            "add it to your offers document or name it in the request (e.g. “with 15% off”).")


def compose_copy_reply(data: dict[str, Any]) -> str:
    """Each drafted variant with its fields and a one-line check summary."""
    variants = data.get("variants") or []
    if not variants:
        return "I could not draft copy for that brief."
    usage = data.get("usage") or {}
    lines = [f"Here {'are' if len(variants) != 1 else 'is'} {len(variants)} draft{'s' if len(variants) != 1 else ''}"
             + (f" ({usage['note']})" if usage.get("note") else "") + ":"]
    for n, variant in enumerate(variants, 1):
        checks = variant.get("checks", [])
        failed = [c["name"] for c in checks if not c.get("passed")]
        badge = "✓ all checks passed" if not failed else "⚠ " + ", ".join(failed)
        lines.append(f"\n**Variant {n}** — {badge}")
        for field, value in variant.items():
            if field == "checks":
                continue
            shown = " | ".join(value) if isinstance(value, list) else str(value)
            lines.append(f"- {field}: {shown}")
    for warning in usage.get("warnings") or []:
        lines.append(f"\n_Note: {warning}_")
    return "\n".join(lines)
