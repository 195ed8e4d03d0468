"""Scoring with a saved propensity model, either kind (a customer table, or an orders table).

Its own module because it needs both the store (to load the model) and the events features
(to build an orders model's scoring frame), and the events trainer needs the store: keeping
``score`` in :mod:`tools.model_store` made a cycle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from foundation.errors import ToolInputError
from tools.model_data import open_source, q
from tools.model_store import load_model
from tools.propensity_events import scoring_frame


def score(
    source: Any, models_dir: Path, model_id: str, table: str | None = None, top: int | None = None
) -> list[dict[str, Any]]:
    """Score every row of ``table`` (events models: every customer), best first."""
    frame = score_frame(source, models_dir, model_id, table, top)
    return [
        {"id": _plain(i), "score": round(float(s), 6)}
        for i, s in zip(frame["id"], frame["score"], strict=True)
    ]


TIE_SPREAD = 1e-3  # at most this much probability separates customers tied on the model score


def score_frame(
    source: Any, models_dir: Path, model_id: str, table: str | None = None, top: int | None = None
) -> pd.DataFrame:
    """Scores best first as a frame: ``id``, ``score`` and, for events models, the customer's
    days since the last order, orders, spend and BG/NBD P(alive) (for bands and the answer).

    Ties on the model's score are broken by BG/NBD's P(purchase), then recency, then spend
    (:func:`break_ties`), so the top of the list is an ordering, not a block of equal scores.
    """
    bundle = load_model(models_dir, model_id)
    meta, spec = bundle["meta"], bundle["spec"]
    if top is not None and top < 1:
        raise ToolInputError(f"top must be at least 1 (got {top}).")
    extra: dict[str, np.ndarray] = {}
    keys: list[np.ndarray] = []
    if meta["kind"] == "events":
        try:
            frame = scoring_frame(source, meta, table or meta["table"])
        except ToolInputError as err:
            raise ToolInputError(
                f"Model {model_id} scores customers from an orders table like "
                f"{meta['table']}: {err.message}",
                hint=f"Use --table {meta['table']} (or omit --table).",
            ) from err
        ids = frame.index.to_numpy()
        x = spec.matrix(frame)
        for name in ("recency_days", "orders", "spend", "bgnbd_p_alive"):
            if name in frame:
                extra[name] = frame[name].to_numpy(dtype=float)
        sign = -1.0 if meta.get("label") == "churn" else 1.0
        for name, direction in (
            ("bgnbd_p_purchase", sign),
            ("bgnbd_expected", sign),
            ("recency_days", -sign),
            ("spend", 1.0),
        ):
            if name in frame:
                keys.append(direction * frame[name].to_numpy(dtype=float))
    else:
        with open_source(source) as ds:
            df = ds.df(f"SELECT * FROM {q(table or meta['table'])}")
        id_col = meta.get("id_column")
        ids = df[id_col].to_numpy() if id_col and id_col in df else np.arange(len(df))
        x = spec.matrix(df)
    p = bundle["estimator"].predict_proba(x)[:, 1] if len(x) else np.empty(0)
    p = break_ties(p, keys)
    order = np.argsort(-p, kind="stable")[:top]
    out = pd.DataFrame({"id": ids[order], "score": np.round(p[order], 6)})
    for name, values in extra.items():
        out[name] = values[order]
    return out


def break_ties(p: np.ndarray, keys: list[np.ndarray]) -> np.ndarray:
    """``p`` with customers of equal score spread by ``keys`` (higher first; missing lowest).

    Within a group of equal scores, customers are ranked by the keys (dense rank: customers
    equal on every key stay equal) and moved down by at most ``TIE_SPREAD`` or half the gap to
    the next lower score, so the order between different scores never changes.
    """
    if not keys or len(p) < 2:
        return p
    rounded = np.round(p, 6)
    values, inverse, counts = np.unique(rounded, return_inverse=True, return_counts=True)
    if counts.max() < 2:
        return p
    gaps = np.diff(values, prepend=values[0] - 2 * TIE_SPREAD)  # to the next lower score
    room = np.minimum(TIE_SPREAD, gaps / 2)
    frame = pd.DataFrame({f"k{i}": np.nan_to_num(k, nan=-np.inf) for i, k in enumerate(keys)})
    frame["group"] = inverse
    ordered = frame.sort_values(
        ["group", *[f"k{i}" for i in range(len(keys))]], ascending=False, kind="stable"
    )
    same = ordered.drop(columns="group").duplicated() & ordered["group"].eq(
        ordered["group"].shift()
    )
    rank = (~same).astype(int).groupby(ordered["group"]).cumsum() - 1  # dense rank in the group
    size = rank.groupby(ordered["group"]).transform("max") + 1
    offset = np.zeros(len(p))
    idx = ordered.index.to_numpy()
    grp = ordered["group"].to_numpy()
    offset[idx] = rank.to_numpy() / np.maximum(size.to_numpy(), 1) * room[grp]
    return np.asarray(rounded - offset)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
