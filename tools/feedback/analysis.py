"""Analyse customer text: sentiment per text, themes, breakdowns, keywords and alerts.

:func:`analyze_texts` works on plain lists (tests and benchmarks call it directly);
:func:`analyze_table` reads a table's text column from the warehouse — joined to a parent
table (products, customers) when the breakdown or filter column lives there — and caches
embeddings per table so that re-analysis only embeds new texts.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from foundation.errors import ToolInputError
from tools.feedback.cache import FeedbackCache, text_key
from tools.feedback.sentiment import SentimentHead, label, load_head, score_texts
from tools.feedback.text import SCORED_LANGUAGES, clean_text, detect_language, has_html
from tools.feedback.themes import Theme, find_themes, subset_keywords

if TYPE_CHECKING:
    from knowledge.embeddings import Encoder
    from tools.schema_profile import SchemaProfile, TableProfile
    from tools.warehouse import Warehouse

MAX_TEXTS = 100_000  # texts read per analysis (a filter narrows bigger tables)
_LANGUAGE_NAMES = {"de": "German", "fr": "French", "es": "Spanish", "nl": "Dutch", "sv": "Swedish",
                   "it": "Italian", "pt": "Portuguese", "other": "a non-Latin script"}
_PERIOD_WORDS = {"month", "months", "period", "monthly", "date", "time"}


@dataclass(slots=True)
class FeedbackResult:
    """What an analysis found (see :meth:`to_dict` for the JSON shape of the CLI contract)."""

    rows: list[dict[str, Any]]  # scored texts: id, sentiment, label, theme
    themes: list[Theme]
    not_scored: list[dict[str, Any]]  # id, reason (empty text or a language not scored)
    summary: dict[str, Any]
    breakdown: dict[str, Any] | None = None
    keywords: list[str] = field(default_factory=list)
    keywords_for: str = "all texts"
    alerts: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    quotes: list[dict[str, Any]] = field(default_factory=list)
    """With a ``mood``: the texts that say it most clearly (id, text, sentiment), strongest first."""

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "themes": [t.to_dict() for t in self.themes],
                "summary": self.summary, "breakdown": self.breakdown, "keywords": self.keywords,
                "keywords_for": self.keywords_for, "alerts": self.alerts, "not_scored": self.not_scored,
                "notes": self.notes, "quotes": self.quotes}


def _default_encoder() -> Encoder:
    # lazy: the encoder and scikit-learn load slowly; only analysis needs them
    from knowledge.embeddings import document_encoder, get_encoder

    return document_encoder(get_encoder(), "int8")


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def analyze_texts(
    texts: Sequence[Any],
    ids: Sequence[Any] | None = None,
    *,
    groups: Sequence[Any] | None = None,
    group_name: str = "group",
    periods: Sequence[Any] | None = None,
    contrast: Sequence[Any] | None = None,
    subset_name: str = "",
    encoder: Encoder | None = None,
    head: SentimentHead | None = None,
    cache: FeedbackCache | None = None,
    k: int | None = None,
    mood: str | None = None,
    quotes: int = 3,
) -> FeedbackResult:
    """Score, theme and break down ``texts`` (``None``/blank texts are listed as not scored).

    ``groups``: a value per text to break sentiment and themes down by; ``periods``: a date per
    text, for theme spikes by month; ``contrast``: other texts (the rest of the table) that the
    keywords are set against, when ``texts`` is a filtered subset. ``mood`` ("positive" or
    "negative"): "what customers love" / "complain about" — every text is scored and counted,
    but rows, themes, breakdown and keywords are of the texts with that label only, and
    ``quotes`` of them (the clearest first) are returned as :attr:`FeedbackResult.quotes`.
    """
    if mood is not None and mood not in MOODS:
        raise ToolInputError(f"Unknown mood {mood!r}.", hint=f"Accepted: {', '.join(MOODS)}.")
    ids = list(ids) if ids is not None else list(range(len(texts)))
    if len(ids) != len(texts):
        raise ValueError("ids and texts differ in length")
    head = head or load_head()
    cleaned = [clean_text(_as_text(t)) for t in texts]
    html_cleaned = sum(1 for t in texts if isinstance(t, str) and has_html(t))
    languages = [detect_language(t) if t else "" for t in cleaned]
    scored_at: list[int] = []
    not_scored: list[dict[str, Any]] = []
    for i, (text, lang) in enumerate(zip(cleaned, languages, strict=True)):
        if not text:
            not_scored.append({"id": ids[i], "reason": "empty"})
        elif lang not in SCORED_LANGUAGES:
            not_scored.append({"id": ids[i], "reason": "language", "language": lang})
        else:
            scored_at.append(i)
    skipped_languages = Counter(r["language"] for r in not_scored if r["reason"] == "language")
    empty = sum(1 for r in not_scored if r["reason"] == "empty")
    if not scored_at:
        raise ToolInputError(_nothing_to_score(len(texts), empty, skipped_languages))

    scored_texts = [cleaned[i] for i in scored_at]
    keys = [text_key(t) for t in scored_texts]
    if cache is None:
        cache = FeedbackCache(None, "", "", head.version)
    todo = list({keys[i]: i for i in reversed(cache.missing(keys))}.values())  # each new text once
    if todo:
        fresh = score_texts([scored_texts[i] for i in todo], encoder or _default_encoder(), head)
        cache.add([keys[i] for i in todo], fresh.embeddings, fresh.sentiment, fresh.chunks)
        cache.save()
    embeddings, sentiment, chunks = cache.get(keys)
    counts = Counter(label(float(s)) for s in sentiment)
    all_scored, all_chunked, overall = len(scored_at), int((chunks > 1).sum()), float(sentiment.mean())
    if mood is not None:
        keep = np.array([label(float(s)) == mood for s in sentiment], dtype=bool)
        if not keep.any():
            raise ToolInputError(
                f"None of the {len(scored_at):,} texts reads as {mood} "
                f"({counts.get('positive', 0):,} positive, {counts.get('neutral', 0):,} neutral, "
                f"{counts.get('negative', 0):,} negative).",
                hint="Ask without the mood, or widen the filter.")
        scored_at = [i for i, k_ in zip(scored_at, keep, strict=True) if k_]
        scored_texts = [t for t, k_ in zip(scored_texts, keep, strict=True) if k_]
        embeddings, sentiment = embeddings[keep], sentiment[keep]
    theme_of, themes = find_themes(scored_texts, embeddings, sentiment, k)

    rows = [{"id": ids[i], "sentiment": round(float(s), 3), "label": label(float(s)), "theme": int(t)}
            for i, s, t in zip(scored_at, sentiment, theme_of, strict=True)]
    summary = {
        "texts": len(texts), "scored": all_scored, "average_sentiment": round(overall, 3),
        "labels": {name: counts.get(name, 0) for name in ("negative", "neutral", "positive")},
        "not_scored": {"empty": empty, "languages": dict(skipped_languages)},
        "chunked": all_chunked, "html_cleaned": html_cleaned, "mood": mood, "mood_texts": len(rows),
        "languages_scored": sorted({languages[i] for i in scored_at}),
        "cache": {"embedded": len(todo), "reused": len(scored_at) - len(todo)},
    }
    notes = _notes(summary, skipped_languages)
    result = FeedbackResult(rows=rows, themes=themes, not_scored=not_scored, summary=summary, notes=notes)
    if mood is not None:
        result.quotes = clearest(scored_texts, [ids[i] for i in scored_at], sentiment, mood, quotes)
    if groups is not None:
        result.breakdown = _breakdown([groups[i] for i in scored_at], sentiment, theme_of, themes, group_name)
    if periods is not None:
        months = [_month(periods[i]) for i in scored_at]
        result.alerts = _word_spikes(scored_texts, months, sentiment) + _spikes(months, theme_of, themes, sentiment)
    if contrast is not None:
        others = [clean_text(_as_text(t)) for t in contrast]
        others = [t for t in others if t]
        mask = np.concatenate([np.ones(len(scored_texts), bool), np.zeros(len(others), bool)])
        result.keywords = subset_keywords(scored_texts + others, mask)
        result.keywords_for = subset_name or "the filtered texts"
    else:
        result.keywords = subset_keywords(scored_texts, np.ones(len(scored_texts), bool))
        if mood is not None:
            result.keywords_for = f"the {mood} texts"
    return result


MOODS = ("positive", "negative")
QUOTE_CHARS = 220  # a quote longer than this is shown by its first whole sentences


def excerpt(text: str, max_chars: int = QUOTE_CHARS) -> str:
    """``text``, or its first whole sentences within ``max_chars`` (a quote is never cut
    mid-sentence; a first sentence longer than the limit leaves ``""``)."""
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    out = ""
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        if len(f"{out} {sentence}".strip()) > max_chars:
            break
        out = f"{out} {sentence}".strip()
    return out


def clearest(texts: Sequence[str], ids: Sequence[Any], sentiment: np.ndarray, mood: str, n: int,
             max_chars: int = QUOTE_CHARS) -> list[dict[str, Any]]:
    """The ``n`` texts that say ``mood`` most clearly (highest score for positive, lowest for
    negative), each once, as ``{"id", "text", "sentiment"}``; long texts by their first sentences."""
    order = np.argsort(-sentiment if mood == "positive" else sentiment, kind="stable")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i in order:
        quote = excerpt(texts[int(i)], max_chars)
        if quote and quote.lower() not in seen and label(float(sentiment[int(i)])) == mood:
            seen.add(quote.lower())
            out.append({"id": ids[int(i)], "text": quote, "sentiment": round(float(sentiment[int(i)]), 3)})
        if len(out) >= n:
            break
    return out


def _nothing_to_score(total: int, empty: int, languages: Counter[str]) -> str:
    if total == 0:
        return "There are no texts to analyse (no rows matched)."
    parts = [f"{empty:,} empty"] if empty else []
    parts += [f"{n:,} in {_LANGUAGE_NAMES.get(lang, lang)}" for lang, n in languages.most_common()]
    return (f"None of the {total:,} texts could be scored ({', '.join(parts)}). Sentiment and themes "
            "are read in English; give a column of English customer text (reviews, comments, answers).")


def _notes(summary: dict[str, Any], languages: Counter[str]) -> list[str]:
    notes = []
    if languages:
        which = ", ".join(f"{n:,} {_LANGUAGE_NAMES.get(lang, lang)}" for lang, n in languages.most_common())
        notes.append(f"Scored English texts only; not scored: {which}.")
    if summary["not_scored"]["empty"]:
        notes.append(f"{summary['not_scored']['empty']:,} empty texts skipped.")
    if summary["chunked"]:
        notes.append(f"{summary['chunked']:,} long texts were read in several chunks (nothing cut off).")
    if summary["html_cleaned"]:
        notes.append(f"HTML removed from {summary['html_cleaned']:,} texts.")
    return notes


def _month(value: Any) -> str | None:
    if isinstance(value, (date, datetime)):
        return value.strftime("%Y-%m")
    if isinstance(value, str) and len(value) >= 7 and value[4] == "-":
        return value[:7]
    return None


def _group_key(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "(none)"
    month = _month(value) if isinstance(value, (date, datetime)) else None
    return month or str(value)


def _breakdown(values: list[Any], sentiment: np.ndarray, theme_of: np.ndarray, themes: list[Theme],
               name: str) -> dict[str, Any]:
    """Per group: texts, mean sentiment, negative share and its most common theme."""
    keys = [_group_key(v) for v in values]
    out = []
    for key in sorted(set(keys)):
        rows = np.array([k == key for k in keys])
        s = sentiment[rows]
        top = Counter(theme_of[rows].tolist()).most_common(1)[0][0]
        out.append({"value": key, "texts": int(rows.sum()), "sentiment": round(float(s.mean()), 3),
                    "negative_share": round(float((s <= -0.25).mean()), 3), "top_theme": themes[top].label})
    return {"column": name, "groups": out}


def _word_spikes(texts: list[str], months: list[str | None], sentiment: np.ndarray,
                 top: int = 3) -> list[dict[str, Any]]:
    """Months in which words turned up far more often than usual (≥3x and ≥8 more texts), grouped
    by month: the "zipper complaints jumped in August" signal, even inside a broader theme."""
    # lazy: the encoder and scikit-learn load slowly; only analysis needs them
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    from tools.feedback.themes import _TOKEN, FEEDBACK_STOP_WORDS

    known = sorted({m for m in months if m})
    if len(known) < 3 or len(texts) < 50:
        return []
    vectorizer = CountVectorizer(stop_words=sorted(ENGLISH_STOP_WORDS | FEEDBACK_STOP_WORDS),
                                 token_pattern=_TOKEN, binary=True, min_df=8)
    try:
        present = vectorizer.fit_transform(texts).tocsc()
    except ValueError:
        return []
    vocab = vectorizer.get_feature_names_out()
    index = {m: j for j, m in enumerate(known)}
    month_of = np.array([index.get(m, -1) if m else -1 for m in months])
    dated = month_of >= 0
    per_month = np.bincount(month_of[dated], minlength=len(known)).astype(float)
    found: dict[str, list[tuple[float, str, int, float, np.ndarray]]] = {}
    for w in range(present.shape[1]):
        rows = present.indices[present.indptr[w]:present.indptr[w + 1]]
        rows = rows[dated[rows]]
        if len(rows) == 0:
            continue
        counts = np.bincount(month_of[rows], minlength=len(known))
        expected = len(rows) * per_month / per_month.sum()
        excess = counts - expected
        j = int(np.argmax(excess))
        if counts[j] >= 3 * expected[j] and excess[j] >= 8:
            found.setdefault(known[j], []).append((float(excess[j]), str(vocab[w]), int(counts[j]),
                                                   float(expected[j]), rows[month_of[rows] == j]))
    alerts = []
    for month, words in found.items():
        words.sort(key=lambda x: -x[0])
        members = np.unique(np.concatenate([w[4] for w in words[:top]]))
        quote = min((texts[i] for i in members), key=lambda t: (sentiment[texts.index(t)], len(t)))
        alerts.append({"kind": "words", "words": [w[1] for w in words[:top]], "month": month,
                       "texts": int(words[0][2]), "expected": round(words[0][3], 1),
                       "excess": round(words[0][0], 1), "sentiment": round(float(sentiment[members].mean()), 3),
                       "quote": quote})
    return sorted(alerts, key=lambda a: -a["excess"])[:3]


def _spikes(months: list[str | None], theme_of: np.ndarray, themes: list[Theme],
            sentiment: np.ndarray) -> list[dict[str, Any]]:
    """Months in which a theme had far more texts than its usual share (≥2.5x and ≥5 more)."""
    known = [m for m in months if m]
    if len(set(known)) < 3:
        return []
    per_month = Counter(known)
    total = len(known)
    alerts = []
    for theme in themes:
        share = theme.size / total
        in_theme = Counter(months[i] for i in theme.members if months[i])
        best: dict[str, Any] | None = None
        for month, count in in_theme.items():
            expected = share * per_month[month]
            if count >= 2.5 * expected and count - expected >= 5:
                excess = count - expected
                if best is None or excess > best["excess"]:
                    members = [i for i in theme.members if months[i] == month]
                    best = {"kind": "theme", "theme": theme.label, "theme_id": theme.id, "month": month, "texts": count,
                            "expected": round(expected, 1), "excess": round(excess, 1),
                            "sentiment": round(float(sentiment[members].mean()), 3)}
        if best is not None:
            alerts.append(best)
    return sorted(alerts, key=lambda a: -a["excess"])


# --- tables -------------------------------------------------------------------------------


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


@dataclass(frozen=True, slots=True)
class _Column:
    sql: str  # e.g. p."category"
    name: str
    role: str
    join: tuple[str, str, str] | None  # (parent table, column here, key there)


def _resolve(profile: SchemaProfile, table: TableProfile, name: str, purpose: str) -> _Column:
    """``name`` in ``table`` or in a table it links to (reviews.product_id → products.category)."""
    own = table.column(name)
    if own is not None:
        return _Column(f"t.{_q(own.name)}", own.name, own.role, None)
    for parent, here, there in profile.parents(table):
        found = parent.column(name)
        if found is not None:
            return _Column(f"p.{_q(found.name)}", found.name, found.role, (parent.name, here, there))
    linked = [c.name for p, _, _ in profile.parents(table) for c in p.columns if c.role in ("category", "date", "flag")]
    accepted = ", ".join([c.name for c in table.columns] + linked)
    raise ToolInputError(f"No column '{name}' for {purpose} in {table.name} or the tables it links to. "
                         f"Accepted: {accepted}.")


def _where_sql(columns: list[tuple[_Column, Any]]) -> str:
    parts = []
    for column, value in columns:
        if isinstance(value, (list, tuple, set)):
            values = list(value)
            if not values:
                raise ToolInputError(f"The filter on {column.name} lists no values.")
            parts.append(f"{column.sql} IN ({', '.join(_literal(v) for v in values)})")
        elif value is None:
            parts.append(f"{column.sql} IS NULL")
        else:
            parts.append(f"{column.sql} = {_literal(value)}")
    return " AND ".join(parts)


def _describe_where(where: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} = {', '.join(map(str, v)) if isinstance(v, (list, tuple)) else v}" for k, v in where.items())


def analyze_table(
    warehouse: Warehouse,
    profile: SchemaProfile,
    table: str,
    text_column: str,
    id_column: str | None = None,
    by: str | None = None,
    where: Mapping[str, Any] | None = None,
    cache_dir: Path | None = None,
    encoder: Encoder | None = None,
    k: int | None = None,
    mood: str | None = None,
    quotes: int = 3,
) -> FeedbackResult:
    """Analyse ``table.text_column`` (optionally only rows matching ``where``, broken down ``by``;
    ``mood`` and ``quotes`` as in :func:`analyze_texts`)."""
    found = profile.table(table)
    if found is None:
        raise ToolInputError(f"Unknown table '{table}'. Tables: {', '.join(t.name for t in profile.tables)}.")
    text = found.column(text_column)
    text_like = [c.name for c in found.columns if c.role in ("text", "category")]
    if text is None:
        raise ToolInputError(f"No column '{text_column}' in {found.name}. Text columns: {', '.join(text_like) or '(none)'}.")
    if text.role not in ("text", "category"):
        raise ToolInputError(f"Column '{text.name}' of {found.name} holds {text.role} values, not text. "
                             f"Text columns: {', '.join(text_like) or '(none)'}.")
    key = found.column(id_column) if id_column else (found.column(found.key) if found.key else None)
    if id_column and key is None:
        raise ToolInputError(f"No id column '{id_column}' in {found.name}. Columns: {', '.join(c.name for c in found.columns)}.")
    select = [f"{'t.' + _q(key.name) if key else 'ROW_NUMBER() OVER ()'} AS id", f"t.{_q(text.name)} AS text"]
    joins: list[tuple[str, str, str]] = []
    group: _Column | None = None
    if by:
        date_col = profile.main_date(found)
        if by.strip().lower() in _PERIOD_WORDS and date_col is not None:
            group = _Column(f"t.{_q(date_col.name)}", "month", "date", None)
        else:
            group = _resolve(profile, found, by, "the breakdown")
        select.append(f"{group.sql} AS grp")
        joins += [group.join] if group.join else []
    period = profile.main_date(found)
    if period is not None:
        select.append(f"t.{_q(period.name)} AS period")
    filters = [(_resolve(profile, found, name, "the filter"), value) for name, value in (where or {}).items()]
    joins += [c.join for c, _ in filters if c.join]
    if len({j[0] for j in joins}) > 1:
        raise ToolInputError("The breakdown and the filter must come from the same linked table.")
    source = f"{_q(found.name)} AS t"
    if joins:
        parent, here, there = joins[0]
        source += f" LEFT JOIN {_q(parent)} AS p ON t.{_q(here)} = p.{_q(there)}"
    condition = _where_sql(filters) if filters else ""
    order = f" ORDER BY t.{_q(key.name)}" if key else ""
    sql = f"SELECT {', '.join(select)} FROM {source}{' WHERE ' + condition if condition else ''}{order}"
    result = warehouse.query(sql, row_cap=MAX_TEXTS, timeout_s=120.0)
    records = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    contrast = None
    if condition:
        rest = warehouse.query(f"SELECT t.{_q(text.name)} AS text FROM {source} WHERE NOT ({condition}) "
                               f"OR ({condition}) IS NULL", row_cap=20_000, timeout_s=120.0)
        contrast = [row[0] for row in rest.rows]
    head = load_head()
    cache = FeedbackCache(cache_dir, found.name, text.name, head.version) if cache_dir else None
    analysis = analyze_texts(
        [r["text"] for r in records], [r["id"] for r in records],
        groups=[r["grp"] for r in records] if group else None, group_name=group.name if group else "group",
        periods=[r["period"] for r in records] if period is not None else None,
        contrast=contrast, subset_name=_describe_where(where) if where else "",
        encoder=encoder, head=head, cache=cache, k=k, mood=mood, quotes=quotes,
    )
    analysis.summary.update({"table": found.name, "text_column": text.name,
                             "filter": dict(where) if where else None, "truncated": result.truncated})
    if result.truncated:
        analysis.notes.append(f"Only the first {MAX_TEXTS:,} texts were analysed; filter to narrow the table.")
    return analysis
