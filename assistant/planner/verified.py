"""Verified questions: queries a person checked, reused for questions close to theirs.

``semantic.yaml`` may list ``verified_questions`` (a question and its query spec or SQL; an admin
promotes a thumbed-up answer to one with ``mara eval promote``). The offline planner answers a
question close to a verified one with that query — the period and category values the new
question names substituted — because a checked query beats a fresh parse. In LLM mode they are
offered in the system prompt as worked examples.

"Close" is sentence-embedding similarity (the bundled all-MiniLM-L6-v2, as routing uses) between
the two questions with their periods and category values masked, above :data:`THRESHOLD`:
masking makes "revenue in Germany last month" and "revenue in France this year" the same
question, while "revenue by country" and "revenue by channel" stay apart.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.planner.timeframes import parse_timeframe
from knowledge.embeddings import get_encoder
from tools.query_spec import TimeRange

if TYPE_CHECKING:
    from tools.schema_profile import SchemaProfile
    from tools.semantic_model import VerifiedQuestion

#: Cosine similarity (masked questions) from which a verified question answers a new one.
THRESHOLD = 0.86
_CACHE: dict[Path, tuple[float, list[VerifiedQuestion]]] = {}
_PERIOD_WORDS = re.compile(
    r"\b(?:(?:last|this|previous|past|next)\s+(?:\d+\s+)?(?:days?|weeks?|months?|quarters?|years?)|"
    r"q[1-4]\s*\d{4}|\d{4}\s*q[1-4]|year to date|ytd|today|yesterday|since\s+\S+|"
    r"(?:in|during|for)?\s*(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\s+\d{4}|"
    r"(?:in|during|for|of)\s+\d{4})\b",
    re.I,
)


@dataclass(slots=True)
class VerifiedAnswer:
    """The call the planner makes for a question close to a verified one."""

    tool: str  # "query_data" or "run_sql"
    args: dict[str, Any]
    question: str  # the verified question it came from
    similarity: float
    substituted: list[str] = field(default_factory=list)  # "period: last month", "country: France"


def load_verified(home: Path) -> list[VerifiedQuestion]:
    """The verified questions of the workspace's ``semantic.yaml`` (re-read when the file changes)."""
    # lazy: imported only on this path (keeps the module's own import light)
    from tools.semantic_model import FILE_NAME, load_semantic_model

    path = home / FILE_NAME
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return []
    cached = _CACHE.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        model = load_semantic_model(path)
    except Exception:  # noqa: BLE001 - an invalid file is reported by `mara data model --check`, not here
        return []
    found = list(model.verified_questions or []) if model is not None else []
    _CACHE[path] = (stamp, found)
    return found


def _category_values(profile: SchemaProfile) -> dict[str, list[str]]:
    """``{column name: its values}`` for every category column of the profile."""
    values: dict[str, list[str]] = {}
    for table in profile.tables:
        for column in table.columns:
            if column.role == "category" and column.values:
                values.setdefault(column.name, [])
                values[column.name] += [v for v in column.values if v not in values[column.name]]
    return values


def _named(text: str, value: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(value)}(?![\w])", text, re.I) is not None


def mask(text: str, categories: dict[str, list[str]]) -> str:
    """``text`` with periods and category values replaced by placeholders."""
    out = _PERIOD_WORDS.sub(" <period> ", text)
    for column, values in categories.items():
        for value in sorted(values, key=len, reverse=True):
            if len(value) > 1 and _named(out, value):
                out = re.sub(rf"(?<![\w]){re.escape(value)}(?![\w])", f"<{column}>", out, flags=re.I)
    return " ".join(out.split())


def _embed(texts: list[str]) -> Any:
    return get_encoder().encode(texts)


def closest(text: str, verified: list[VerifiedQuestion], categories: dict[str, list[str]]) -> tuple[VerifiedQuestion, float] | None:
    """The verified question most similar to ``text`` (masked), with its cosine similarity."""
    if not verified:
        return None
    matrix = _embed([mask(text, categories)] + [mask(v.question, categories) for v in verified])
    sims = matrix[1:] @ matrix[0]
    best = int(sims.argmax())
    return verified[best], float(sims[best])


def match_verified(text: str, profile: SchemaProfile, home: Path, today: dt.date) -> VerifiedAnswer | None:
    """The verified query that answers ``text`` (periods and values substituted), or None."""
    verified = load_verified(home)
    if not verified:
        return None
    categories = _category_values(profile)
    found = closest(text, verified, categories)
    if found is None or found[1] < THRESHOLD:
        return None
    chosen, similarity = found
    new_period = parse_timeframe(text, today)
    old_period = parse_timeframe(chosen.question, today)
    notes: list[str] = []
    if chosen.query is not None:
        spec = chosen.query.model_copy(deep=True)
        if new_period is not None and (new_period != old_period or spec.time_range is None):
            column = spec.time_range.column if spec.time_range is not None else None
            spec.time_range = TimeRange(column=column, start=new_period.start, end=new_period.end)
            notes.append(f"period: {new_period.label}")
        elif new_period is None and old_period is not None and spec.time_range is not None:
            spec.time_range = None
            notes.append("period: all time")
        for condition in spec.filters:
            if condition.op not in ("=", "!=") or not isinstance(condition.value, str):
                continue
            other = _other_value(text, condition.column.split(".")[-1], condition.value, categories)
            if other is not None:
                condition.value = other
                notes.append(f"{condition.column.split('.')[-1]}: {other}")
        args = spec.model_dump(mode="json", exclude_none=True)
        return VerifiedAnswer("query_data", args, chosen.question, similarity, notes)
    sql = str(chosen.sql)
    if new_period is not None and old_period is not None and new_period != old_period:
        replaced = _replace_dates(sql, old_period, new_period)
        if replaced is None:
            return None  # the period cannot be moved in this SQL: better to parse the question afresh
        sql = replaced
        notes.append(f"period: {new_period.label}")
    elif (new_period is None) != (old_period is None):
        return None
    for literal in set(re.findall(r"'((?:[^']|'')*)'", sql)):
        for column, values in categories.items():
            if literal in values:
                other = _other_value(text, column, literal, categories)
                if other is not None:
                    sql = sql.replace(f"'{literal}'", "'" + other.replace("'", "''") + "'")
                    notes.append(f"{column}: {other}")
                break
    return VerifiedAnswer("run_sql", {"sql": sql}, chosen.question, similarity, notes)


def _other_value(text: str, column: str, current: str, categories: dict[str, list[str]]) -> str | None:
    """The one value of ``column`` that ``text`` names instead of ``current`` (None: keep it)."""
    values = categories.get(column) or []
    if _named(text, current):
        return None
    named = [v for v in values if len(v) > 1 and _named(text, v)]
    return named[0] if len(named) == 1 else None


def _replace_dates(sql: str, old: Any, new: Any) -> str | None:
    if old.start is None or old.end is None or new.start is None or new.end is None:
        return None
    start, end = old.start.isoformat(), old.end.isoformat()
    if f"'{start}'" not in sql or f"'{end}'" not in sql:
        return None
    return sql.replace(f"'{start}'", f"'{new.start.isoformat()}'").replace(f"'{end}'", f"'{new.end.isoformat()}'")


def verified_examples(home: Path, limit: int = 20) -> str:
    """The system-prompt block offering the workspace's verified questions to an LLM ("" when none)."""
    verified = load_verified(home)[:limit]
    if not verified:
        return ""
    lines = ["", "Verified questions (a person checked these queries; when a question is close to one, reuse "
             "its query, changing only the period or values it names):"]
    for item in verified:
        if item.query is not None:
            call = "query_data " + json.dumps(item.query.model_dump(mode="json", exclude_none=True, exclude_defaults=True))
        else:
            call = "run_sql " + json.dumps({"sql": item.sql})
        lines.append(f"- “{item.question}” → {call}")
    return "\n".join(lines) + "\n"
