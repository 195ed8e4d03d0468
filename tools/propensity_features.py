"""Features for labelled tables: which columns to use, how to encode them, what to leave out.

:func:`plan_features` types every column (numeric, date — including date text — or category),
and excludes, with a note each, constant columns, identifiers and personal data (by name, or
unique values; integers only when they form a dense run like 1..n), free text, and leaks: a
column that on its own predicts the target almost perfectly (AUC >= 0.97, also by missingness)
is probably recorded after the outcome. :class:`FeatureSpec` turns a frame into the model's
matrix the same way at training and scoring time.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from foundation.errors import ToolInputError

MAX_LEVELS = 60
_ID_NAME = re.compile(r"(^id$|_id$|^id_|_key$|^uuid$|_uuid$|email|phone|name$)", re.I)


@dataclass(slots=True)
class FeatureSpec:
    """How raw columns become model inputs (saved with the model for scoring)."""

    numeric: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    categorical: dict[str, list[str]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [*self.numeric, *self.dates, *self.categorical]

    @property
    def categorical_mask(self) -> np.ndarray:
        return np.array(
            [False] * (len(self.numeric) + len(self.dates)) + [True] * len(self.categorical),
            dtype=bool,
        )

    def matrix(self, df: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.names if c not in df.columns]
        if missing:
            raise ToolInputError(
                f"The table lacks the model's columns: {', '.join(missing)}.",
                hint="Score a table with the same columns the model was trained on.",
            )
        parts = [
            pd.to_numeric(df[c], errors="coerce").astype(float).to_numpy() for c in self.numeric
        ]
        for c in self.dates:
            parts.append(_days(df[c]))
        for c, levels in self.categorical.items():
            codes = pd.Categorical(df[c].astype("string"), categories=levels).codes.astype(float)
            parts.append(np.where(codes < 0, np.nan, codes))
        return np.column_stack(parts) if parts else np.empty((len(df), 0))


def _days(values: pd.Series) -> np.ndarray:
    """Dates (or date text) as days since 1970; unparseable values are missing."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if pd.api.types.is_datetime64_any_dtype(values):
            parsed = pd.to_datetime(values, errors="coerce", utc=True)
        else:
            parsed = pd.to_datetime(
                values.astype("string"), errors="coerce", format="mixed", utc=True
            )
    seconds = (parsed - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
    return seconds.to_numpy(dtype=float, na_value=np.nan) / 86400.0


def binary_target(values: pd.Series, target: str) -> tuple[np.ndarray, str]:
    distinct = values.dropna().unique()
    if len(distinct) < 2:
        shown = repr(distinct[0]) if len(distinct) else "nothing"
        raise ToolInputError(
            f"Target {target} has one class only ({shown} in {values.notna().sum():,} rows).",
            hint="A propensity model needs both outcomes, e.g. churned and stayed.",
        )
    if len(distinct) > 2:
        raise ToolInputError(
            f"Target {target} has {len(distinct)} distinct values; it must be yes/no.",
            hint="Pick a column with two values (true/false, 1/0, yes/no).",
        )
    truthy = {"1", "true", "yes", "y", "t", "churn", "churned", "positive", "1.0", "bought"}
    pos = next((v for v in distinct if str(v).strip().lower() in truthy), None)
    if pos is None:  # the rarer value is the event of interest
        counts = values.value_counts()
        pos = counts.index[-1]
    return (values == pos).to_numpy().astype(np.int8), str(pos)


def plan_features(
    df: pd.DataFrame, y: np.ndarray, exclude: list[str]
) -> tuple[FeatureSpec, list[str]]:
    """Choose and type feature columns; notes say what was left out and why."""
    # lazy: sklearn, scipy, joblib load slowly; only this path needs them
    from sklearn.metrics import roc_auc_score

    spec, notes = FeatureSpec(), []
    n = len(df)
    rng = np.random.default_rng(0)
    sample = rng.choice(n, size=min(n, 20_000), replace=False)
    for col in df.columns:
        if col in exclude:
            continue
        s = df[col]
        nunique = s.nunique(dropna=True)
        if nunique == 0 or (nunique == 1 and s.notna().all()):
            notes.append(f"{col} excluded: constant.")
            continue
        is_num = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        is_date = pd.api.types.is_datetime64_any_dtype(s) or (not is_num and _looks_like_dates(s))
        unique = nunique > 0.95 * s.notna().sum() and nunique > 50
        if pd.api.types.is_integer_dtype(s) and unique:  # ids are dense runs of integers
            unique = float(s.max()) - float(s.min()) + 1 <= 1.5 * nunique
        if _ID_NAME.search(col) or (not is_date and (not is_num or is_int(s)) and unique):
            notes.append(f"{col} excluded: looks like an identifier or personal data.")
            continue
        if is_date:
            kind = "date"
        elif is_num:
            kind = "numeric"
        elif nunique > max(MAX_LEVELS * 20, n // 2):
            notes.append(f"{col} excluded: free text with {nunique:,} distinct values.")
            continue
        else:
            kind = "category"
        probe = FeatureSpec(
            **{"numeric": [col]}
            if kind == "numeric"
            else {"dates": [col]}
            if kind == "date"
            else {"categorical": {col: _levels(s)}}
        )
        values = probe.matrix(df.iloc[sample])[:, 0]
        ys = y[sample]
        if kind == "category":  # target rate per level as the score
            rates = pd.Series(ys).groupby(np.nan_to_num(values, nan=-1)).transform("mean")
            values = rates.to_numpy()
        filled = np.where(
            np.isnan(values), np.nanmedian(values) if np.isfinite(values).any() else 0, values
        )
        auc = max(roc_auc_score(ys, filled), roc_auc_score(ys, np.isnan(values).astype(float)))
        auc = max(auc, 1 - roc_auc_score(ys, filled))
        if auc >= 0.97:
            notes.append(
                f"{col} excluded: predicts the target almost perfectly on its own "
                f"(AUC {auc:.3f}), so it is probably recorded after the outcome (leak)."
            )
            continue
        if kind == "numeric":
            spec.numeric.append(col)
        elif kind == "date":
            spec.dates.append(col)
        else:
            spec.categorical[col] = _levels(s)
    if not spec.names:
        raise ToolInputError("No usable feature columns remain.", hint="; ".join(notes) or None)
    return spec, notes


def is_int(s: pd.Series) -> bool:
    return bool(pd.api.types.is_integer_dtype(s))


def _looks_like_dates(s: pd.Series) -> bool:
    """Date objects, or text where nearly every sampled value parses as a date."""
    head = s.dropna().head(200)
    if head.empty or pd.api.types.is_bool_dtype(s):
        return False
    if head.map(lambda v: hasattr(v, "isoformat")).all():
        return True
    if not (pd.api.types.is_string_dtype(s) or s.dtype == object):
        return False
    text = head.astype(str)
    if not text.str.contains(r"\d{1,4}[-/.]\d{1,2}", regex=True).all():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= 0.95)


def _levels(s: pd.Series) -> list[str]:
    return [str(v) for v in s.astype("string").value_counts().index[:MAX_LEVELS]]
