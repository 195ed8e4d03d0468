"""Customer quotes for copy: real words from reviews, within the brand's consent rules.

"Draft an e-mail about the backpack that quotes what customers love" needs texts that (1) are
about the backpacks, (2) read as praise, (3) may be quoted under the brand profile's
``quotes:`` rules (:class:`knowledge.brand.QuoteRules`: a consent column, a minimum rating, a
length) and (4) are signed the way the brand allows — first name and last initial from the
customers table ("Maya K.") or anonymously ("a verified buyer"); never a full name, an
e-mail or an id. :func:`customer_quotes` returns them with notes that say what was left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from foundation.errors import ToolInputError
from knowledge.brand import QuoteRules
from tools.feedback.analysis import _q, analyze_table, excerpt
from tools.feedback.requests import feedback_args

if TYPE_CHECKING:
    from knowledge.embeddings import Encoder
    from tools.schema_profile import SchemaProfile
    from tools.warehouse import Warehouse

ANONYMOUS = "a verified buyer"
QUOTE_REQUEST = re.compile(
    r"\b(?:that\s+|which\s+|and\s+|with\s+|using\s+)?(?:quot(?:e|es|ing)|cit(?:e|es|ing))\s+(?:(?:\w+\s+){0,3}?)"
    r"(?:customers?|reviews?|reviewers?|buyers?|what\s+(?:our\s+)?(?:customers?|people|buyers|reviewers)\s+"
    r"(?:love|like|say|said|think|enjoy)(?:\s+about\s+(?:it|them))?)\b"
    r"|\b(?:with|using|including|and)\s+(?:real\s+|a\s+few\s+|some\s+|\d\s+)?(?:customer|review|reviewer)\s+"
    r"(?:quotes?|testimonials?)\b"
    r"|\b(?:with|using|including)\s+(?:real\s+|a\s+few\s+|some\s+)?testimonials?\b",
    re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Quote:
    """A customer's words as copy may print them, signed as the brand allows."""

    text: str
    by: str
    id: Any

    def line(self) -> str:
        return f"“{self.text}” — {self.by}"


def asks_for_quotes(brief: str) -> bool:
    """True when a copy brief asks for customers' own words ("quoting what customers love")."""
    return QUOTE_REQUEST.search(brief) is not None


def without_quote_request(brief: str) -> str:
    """``brief`` with the request for quotes taken out: it steers the draft, it is not copy."""
    out = QUOTE_REQUEST.sub(" ", brief)
    return re.sub(r"\s+([,.;:!?])", r"\1", re.sub(r"\s{2,}", " ", out)).strip(" ,;:-")


def _signer(warehouse: Warehouse, profile: SchemaProfile, table: str, ids: list[Any], id_column: str,
            rules: QuoteRules) -> dict[Any, str]:
    """``{text id: "Maya K."}`` from a customers table linked to ``table`` (first name and last
    initial only); empty when the brand signs anonymously or no such table links."""
    found = profile.table(table)
    if rules.attribution == "anonymous" or found is None or not ids:
        return {}
    for parent, here, there in profile.parents(found):
        columns = {c.name.lower(): c.name for c in parent.columns}
        if "first_name" not in columns:
            continue
        last = columns.get("last_name")
        listed = ", ".join(_literal_id(i) for i in ids)
        sql = (f"SELECT t.{_q(id_column)}, p.{_q(columns['first_name'])}"
               + (f", p.{_q(last)}" if last else ", NULL")
               + f" FROM {_q(found.name)} AS t JOIN {_q(parent.name)} AS p ON t.{_q(here)} = p.{_q(there)}"
               f" WHERE t.{_q(id_column)} IN ({listed})")
        rows = warehouse.query(sql).rows
        out = {}
        for text_id, first, last_name in rows:
            first = str(first or "").strip().split(" ")[0]
            if first:
                initial = str(last_name or "").strip()[:1].upper()
                out[text_id] = f"{first} {initial}." if initial else first
        return out
    return {}


def _literal_id(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def customer_quotes(
    warehouse: Warehouse, profile: SchemaProfile, about: str, rules: QuoteRules, n: int = 3, *,
    cache_dir: Path | None = None, encoder: Encoder | None = None,
) -> tuple[list[Quote], list[str]]:
    """Up to ``n`` quotes of customers who love what ``about`` names (a product, a category),
    within ``rules``, and notes for the marketer (what was left out and why).

    Raises :class:`~foundation.errors.ToolInputError` when ``rules.consent_column`` is not a
    column of the feedback table (the rule cannot be honoured, so nothing is quoted)."""
    args = feedback_args(about, profile)
    if not args:
        return [], ["No quotes: the data has no table of customer text (reviews, comments) to quote from."]
    table = profile.table(args["table"])
    assert table is not None  # feedback_args found it in this profile
    where: dict[str, Any] = dict(args.get("where") or {})
    notes: list[str] = []
    if rules.consent_column:
        consent = table.column(rules.consent_column)
        if consent is None:
            raise ToolInputError(
                f"brand.yaml quotes.consent_column {rules.consent_column!r} is not a column of {table.name}, "
                "so no review can be shown to have consent to be quoted.",
                hint=f"Columns of {table.name}: {', '.join(c.name for c in table.columns)}; or remove the rule.")
        where[consent.name] = True
    rating = next((c.name for c in table.columns if re.search(r"rating|stars", c.name, re.I)
                   and c.role in ("number", "category")), None)
    if rules.min_rating and rating:
        asked = where.get(rating)
        allowed = list(range(rules.min_rating, 6))
        where[rating] = [r for r in (asked if isinstance(asked, list) else [asked])
                         if r in allowed] if asked is not None else allowed
        if not where[rating]:
            return [], [f"No quotes: brand.yaml quotes only reviews of {rules.min_rating}★ or more."]
    key = table.key or next((c.name for c in table.columns if c.name.lower().endswith("_id")), None)
    if key is None:
        return [], [f"No quotes: {table.name} has no id column to tell its texts apart."]
    cache = Path(cache_dir) if cache_dir else None
    try:
        result = analyze_table(warehouse, profile, table.name, args["text_column"], key, where=where,
                               cache_dir=cache, encoder=encoder, mood="positive", quotes=max(n * 3, n),
                               k=1)
    except ToolInputError as exc:
        return [], [f"No quotes: {exc.message}"]
    picked: list[dict[str, Any]] = []
    for q in result.quotes:  # a long text by its first whole sentences, never cut mid-sentence
        text = excerpt(q["text"], rules.max_chars)
        if text and len(picked) < n:
            picked.append({**q, "text": text})
    signed = _signer(warehouse, profile, table.name, [q["id"] for q in picked], key, rules)
    quotes = [Quote(q["text"], signed.get(q["id"], ANONYMOUS), q["id"]) for q in picked]
    what = result.summary.get("filter") or {}
    rules_said = []
    if rules.consent_column:
        rules_said.append(f"{rules.consent_column} is true")
    if rules.min_rating and rating:
        rules_said.append(f"rated {rules.min_rating}★ or more")
    notes.append(f"Quotes: {len(quotes)} of {result.summary['mood_texts']:,} positive texts in {table.name}"
                 + (f" ({', '.join(f'{k} = {v}' for k, v in what.items() if k not in (rules.consent_column, rating))})"
                    if any(k not in (rules.consent_column, rating) for k in what) else "")
                 + (f", quoted only where {' and '.join(rules_said)}" if rules_said else "")
                 + f"; signed {'by first name and initial' if rules.attribution != 'anonymous' else 'anonymously'}"
                 " (brand.yaml quotes).")
    return quotes, notes
