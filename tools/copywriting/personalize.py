"""Per-customer rendering of merge fields (``{{first_name|there}}``), vectorised with pandas.

A value is replaced by its fallback when it is missing, blank, longer than the channel's
merge-field width (so rendered copy stays inside the limits the checks measured) or, for
SMS, not GSM-7 after the transliteration of :mod:`tools.copywriting.gsm7` (so one segment
stays one segment).
Fallbacks come from the template (``{{x|fallback}}``) first, then the ``fallbacks`` map.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from foundation.errors import ToolInputError
from tools.copywriting.channels import MERGE_RE, is_gsm7
from tools.copywriting.gsm7 import to_gsm7

ID_COLUMNS = ("customer_id", "id")
#: Fallbacks for merge fields a template leaves without one. ``{{recommended_product}}`` is each
#: customer's top pick from the saved recommender (``mara recommend``), added by audience exports.
DEFAULT_FALLBACKS = {"recommended_product": "our bestsellers"}
_SPACE_PUNCT = re.compile(r"[ \t]+([,.!?:;])")
_COMMA_PUNCT = re.compile(r",([.!?:;])")
_SPACES = re.compile(r"[ \t]{2,}")


def _frame(rows: Any) -> pd.DataFrame:
    if isinstance(rows, pd.DataFrame):
        return rows
    return pd.DataFrame(list(rows))


def opted_in(rows: Any, channel: str) -> pd.DataFrame:
    """Rows whose ``<channel>_opt_in`` is true; an error when no one has opted in."""
    frame = _frame(rows)
    flag = f"{channel}_opt_in"
    if flag not in frame.columns:
        return frame
    keep = frame[frame[flag].fillna(False).astype(bool)]
    if keep.empty:
        raise ToolInputError(
            f"No customer in this audience has opted in to {channel} ({flag} is false for all "
            f"{len(frame)}).", hint="Pick another channel or audience.",
        )
    return keep


def render_for_customers(
    template_fields: Mapping[str, Any],
    rows: Any,
    fallbacks: Mapping[str, str] | None = None,
    *,
    max_value_chars: int = 12,
    gsm7: bool = False,
) -> pd.DataFrame:
    """One row per customer: its id (when present) and every template field rendered.

    ``rows`` is a DataFrame or a sequence of mappings. List fields (RSA) are not personalised.
    Raises :class:`ToolInputError` when a merge field is neither a column nor has a fallback.
    """
    frame = _frame(rows)
    fallbacks = {**DEFAULT_FALLBACKS, **dict(fallbacks or {})}
    out = pd.DataFrame(index=frame.index)
    id_col = next((c for c in ID_COLUMNS if c in frame.columns), None)
    if id_col:
        out[id_col] = frame[id_col]
    cache: dict[tuple[str, str], pd.Series] = {}
    for name, template in template_fields.items():
        if not isinstance(template, str):
            continue
        out[name] = _render_one(template, frame, fallbacks, cache, max_value_chars, gsm7)
    return out.reset_index(drop=True)


def _values(
    frame: pd.DataFrame, field: str, fallback: str, max_chars: int, gsm7: bool
) -> pd.Series:
    col = frame[field].astype("string").fillna("").str.strip()
    if gsm7:
        col = col.map({u: to_gsm7(u) for u in col.unique()})  # per distinct value, not per customer
        ok = {u: is_gsm7(u) for u in col.unique()}
        bad = ~col.map(ok).astype(bool)
    else:
        bad = pd.Series(False, index=col.index)
    bad = bad | (col == "") | (col.str.len() > max_chars)
    return col.where(~bad, fallback)


def _render_one(
    template: str, frame: pd.DataFrame, fallbacks: dict[str, str],
    cache: dict[tuple[str, str], pd.Series], max_chars: int, gsm7: bool,
) -> pd.Series:
    """Render per distinct combination of merge values, then spread to customers."""
    literals: list[str] = []
    columns: list[pd.Series] = []
    pending = ""
    pos = 0
    for m in MERGE_RE.finditer(template):
        field, inline = m.group(1), m.group(2)
        fallback = inline if inline is not None else fallbacks.get(field)
        pending += template[pos : m.start()]
        pos = m.end()
        if field not in frame.columns:
            if fallback is None:
                raise ToolInputError(
                    f"Unknown merge field {{{{{field}}}}}: not a column and no fallback.",
                    hint=f"Columns: {', '.join(map(str, frame.columns))}; "
                    "or write {{" + field + "|fallback}}.",
                )
            pending += fallback
            continue
        key = (field, fallback or "")
        if key not in cache:
            cache[key] = _values(frame, field, fallback or "", max_chars, gsm7)
        literals.append(pending)
        columns.append(cache[key])
        pending = ""
    tail = pending + template[pos:]
    if not columns:
        text = _tidy(tail)
        return pd.Series([text] * len(frame), index=frame.index, dtype="string")
    values = pd.concat(columns, axis=1, ignore_index=True)
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(values))
    rendered = []
    for combo in uniques:
        parts = [p for pair in zip(literals, combo, strict=True) for p in pair]
        rendered.append(_tidy("".join(parts) + tail))
    return pd.Series(np.asarray(rendered, dtype=object)[codes], index=frame.index, dtype="string")


def _tidy(text: str) -> str:
    """Spaces and commas left by empty merge values ("Hola !", "Bienvenue, .") removed."""
    return _COMMA_PUNCT.sub(r"\1", _SPACE_PUNCT.sub(r"\1", _SPACES.sub(" ", text)))


def preview(rendered: pd.DataFrame, n: int = 5) -> list[dict[str, Any]]:
    """The first ``n`` rendered rows as JSON-ready dicts."""
    return [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in rendered.head(n).to_dict("records")]


def render_sequence(templates: Sequence[str], row: Mapping[str, Any]) -> list[str]:
    """Render ``templates`` for one customer (convenience for previews and tests)."""
    frame = pd.DataFrame([dict(row)])
    rendered = render_for_customers({str(i): t for i, t in enumerate(templates)}, frame)
    return [str(rendered.iloc[0][str(i)]) for i in range(len(templates))]
