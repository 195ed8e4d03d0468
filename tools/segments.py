"""Customer segments: RFM scores with the 11 standard named segments, and behavioural clusters.

RFM scores each customer 1-5 on Recency, Frequency and Monetary value by rank (quintiles;
ties share the lower score) and maps (R, mean of F and M) to a named segment. Clustering
standardizes behavioural features (log for heavy tails), picks k by silhouette on a sample
unless given, uses MiniBatchKMeans at scale and names each cluster from its z-scores.
Data access and the orders-table checks live in :mod:`tools.model_data`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from foundation.errors import ToolInputError
from tools.model_data import (
    ID_NAME,
    NUMERIC_TYPES,
    OrderColumns,
    customer_summary,
    latest_date,
    open_source,
    q,
    resolve_orders,
)
from tools.progress import StepProgress, quiet
from tools.segment_names import SEGMENTS  # re-exported: the names live apart from pandas

# --- RFM ------------------------------------------------------------------------------------

# Rows: R score 5..1; columns: FM score 1..5 (FM = rounded mean of F and M).
_GRID = {
    5: ("New", "Potential Loyalist", "Potential Loyalist", "Champions", "Champions"),
    4: ("Promising", "Potential Loyalist", "Potential Loyalist", "Loyal", "Champions"),
    3: ("About to Sleep", "Need Attention", "Need Attention", "Loyal", "Loyal"),
    2: ("Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"),
    1: ("Lost", "Lost", "At Risk", "Can't Lose Them", "Can't Lose Them"),
}


@dataclass(frozen=True, slots=True)
class SegmentStat:
    name: str
    customers: int
    share: float
    revenue: float
    revenue_share: float
    avg_recency_days: float
    avg_frequency: float
    avg_monetary: float
    description: str


@dataclass(slots=True)
class RFMResult:
    """Segment table plus per-customer scores (``customers``: id, R/F/M, scores, segment)."""

    as_of: date
    columns: OrderColumns
    segments: list[SegmentStat]
    customers: pd.DataFrame = field(repr=False)

    @property
    def total_customers(self) -> int:
        return int(len(self.customers))

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "orders_table": self.columns.table,
            "columns": {
                "customer": self.columns.customer,
                "date": self.columns.date,
                "amount": self.columns.amount,
            },
            "customers": self.total_customers,
            "segments": [_stat_dict(s) for s in self.segments],
            "notes": list(self.columns.notes),
        }


def _stat_dict(s: SegmentStat) -> dict[str, Any]:
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(s).items()}


def quintile(values: np.ndarray, higher_is_better: bool = True) -> np.ndarray:
    """Scores 1..5 by rank; ties share the lower score (so many one-time buyers all get F=1)."""
    keyed = np.asarray(values if higher_is_better else -np.asarray(values), dtype=float)
    ranks = np.searchsorted(np.sort(keyed), keyed, side="left") + 1  # "min" rank of ties
    return (1 + np.floor(5 * (ranks - 1) / max(len(values), 1))).clip(1, 5).astype(np.int8)


def rfm_segments(
    source: Any,
    orders_table: str = "orders",
    customer_col: str | None = None,
    date_col: str | None = None,
    amount_col: str | None = None,
    as_of: date | None = None,
) -> RFMResult:
    """RFM quintile scores and the 11 named segments for every customer with counted orders.

    ``source`` is a DuckDB connection, a :class:`~tools.warehouse.Warehouse` or a dict of
    DataFrames. Columns default to the orders table's customer id, order date and money column;
    ``as_of`` defaults to the latest order date.
    """
    with open_source(source) as ds:
        cols = resolve_orders(ds, orders_table, customer_col, date_col, amount_col)
        as_of = as_of or latest_date(ds, cols)
        df = customer_summary(ds, cols, as_of)
    df["r_score"] = quintile(df["recency_days"].to_numpy(), higher_is_better=False)
    df["f_score"] = quintile(df["frequency"].to_numpy())
    df["m_score"] = quintile(df["monetary"].to_numpy())
    fm = np.floor((df["f_score"].to_numpy() + df["m_score"].to_numpy()) / 2 + 0.5).astype(int)
    lookup = np.array([[_GRID[r][f - 1] for f in range(1, 6)] for r in range(1, 6)], dtype=object)
    df["segment"] = lookup[df["r_score"].to_numpy() - 1, fm - 1]
    df["rfm"] = df["r_score"].astype(str) + df["f_score"].astype(str) + df["m_score"].astype(str)
    total_rev = float(df["monetary"].sum()) or 1.0
    grouped = df.groupby("segment").agg(
        customers=("customer_id", "size"),
        revenue=("monetary", "sum"),
        rec=("recency_days", "mean"),
        freq=("frequency", "mean"),
        mon=("monetary", "mean"),
    )
    stats = []
    for name, text in SEGMENTS.items():
        if name in grouped.index:
            g = grouped.loc[name]
            stats.append(
                SegmentStat(
                    name,
                    int(g["customers"]),
                    float(g["customers"]) / len(df),
                    float(g["revenue"]),
                    float(g["revenue"]) / total_rev,
                    float(g["rec"]),
                    float(g["freq"]),
                    float(g["mon"]),
                    text,
                )
            )
        else:
            stats.append(SegmentStat(name, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, text))
    keep = [
        "customer_id",
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "rfm",
        "segment",
    ]
    return RFMResult(as_of=as_of, columns=cols, segments=stats, customers=df[keep])


# --- clustering -----------------------------------------------------------------------------

_WORDS = {  # feature: (word when high, word when low)
    "recency_days": ("lapsed", "recent"),
    "frequency": ("frequent", "one-off"),
    "monetary": ("high-spend", "low-spend"),
    "avg_order_value": ("big-basket", "small-basket"),
    "tenure_days": ("long-standing", "new"),
    "days_between_orders": ("slow-cycle", "fast-cycle"),
}


@dataclass(frozen=True, slots=True)
class ClusterProfile:
    cluster: int
    name: str
    customers: int
    share: float
    means: dict[str, float]
    z_scores: dict[str, float]
    distinguishing: str


@dataclass(slots=True)
class ClusterResult:
    k: int
    chosen_by: str
    silhouette: float | None
    features: list[str]
    clusters: list[ClusterProfile]
    assignments: pd.DataFrame = field(repr=False)  # id, cluster, name
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "chosen_by": self.chosen_by,
            "silhouette": None if self.silhouette is None else round(self.silhouette, 4),
            "features": self.features,
            "customers": int(len(self.assignments)),
            "clusters": [
                {
                    "cluster": c.cluster,
                    "name": c.name,
                    "customers": c.customers,
                    "share": round(c.share, 4),
                    "means": {k: round(v, 3) for k, v in c.means.items()},
                    "z_scores": {k: round(v, 3) for k, v in c.z_scores.items()},
                    "distinguishing": c.distinguishing,
                }
                for c in self.clusters
            ],
            "notes": self.notes,
        }


def behaviour_features(source: Any, table: str) -> tuple[pd.DataFrame, str, list[str]]:
    """Per-entity features: behavioural ones from an orders table, else the numeric columns."""
    with open_source(source) as ds:
        columns = ds.columns(table)
        looks_like_orders = any(
            ID_NAME.search(c) and c not in (f"{table[:-1]}_id", "id") for c in columns
        )
        if looks_like_orders:
            try:
                cols = resolve_orders(ds, table, min_customers=20)
            except ToolInputError as err:
                if "Cannot tell" not in err.message:
                    raise
            else:
                as_of = latest_date(ds, cols)
                df = customer_summary(ds, cols, as_of)
                df["avg_order_value"] = df["monetary"] / df["frequency"]
                df["days_between_orders"] = np.where(
                    df["frequency"] > 1,
                    (df["tenure_days"] - df["recency_days"]) / (df["frequency"] - 1).clip(lower=1),
                    np.nan,
                )
                feats = [
                    "recency_days",
                    "frequency",
                    "monetary",
                    "avg_order_value",
                    "tenure_days",
                    "days_between_orders",
                ]
                return (
                    df.set_index("customer_id")[feats],
                    "customer_id",
                    [f"Behavioural features per customer from {table} as of {as_of}.", *cols.notes],
                )
        numeric = [
            c
            for c, t in columns.items()
            if any(k in t for k in NUMERIC_TYPES) and not ID_NAME.search(c)
        ]
        id_col = next((c for c in columns if ID_NAME.search(c)), None)
        if len(numeric) < 2:
            raise ToolInputError(
                f"{table} has {len(numeric)} numeric non-id columns; clustering needs 2+.",
                hint="Cluster an orders table or a table of customer features.",
            )
        select = ", ".join(q(c) for c in ([id_col] if id_col else []) + numeric)
        df = ds.df(f"SELECT {select} FROM {q(table)}")
    if id_col:
        df = df.set_index(id_col)
    return df[numeric].astype(float), id_col or "row", [f"Numeric columns of {table}."]


def cluster_customers(
    source: Any,
    table: str = "orders",
    k: int | None = None,
    *,
    k_range: tuple[int, int] = (2, 8),
    sample: int = 4000,
    seed: int = 0,
    progress: StepProgress | None = None,
) -> ClusterResult:
    """Cluster customers on standardized behaviour; k by silhouette on a sample unless given.

    ``progress(message, done, total)`` hears about each step (features, each k tried, the fit).
    """
    # lazy: sklearn, scipy, joblib load slowly; only this path needs them
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from sklearn.metrics import silhouette_score

    say = progress or quiet
    say("behaviour features per customer …", None, None)
    raw, id_name, notes = behaviour_features(source, table)
    if len(raw) < 50:
        raise ToolInputError(f"{table} gives {len(raw):,} customers; clustering needs at least 50.")
    if k is not None and not 2 <= k <= 20:
        raise ToolInputError(f"k must be between 2 and 20 (got {k}).")
    transformed = raw.copy()
    for col in transformed:
        values = transformed[col]
        if (values.dropna() >= 0).all() and values.skew() > 1:
            transformed[col] = np.log1p(values)  # heavy-tailed money and counts
    transformed = transformed.fillna(transformed.median()).fillna(0.0)
    mean, std = transformed.mean(), transformed.std(ddof=0).replace(0, 1.0)
    x = ((transformed - mean) / std).to_numpy(dtype=np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(x), size=min(sample, len(x)), replace=False)
    best_sil: float | None = None
    chosen_by = "given"
    if k is None:
        scores = {}
        candidates = range(k_range[0], min(k_range[1], len(idx) - 1) + 1)
        for step, kk in enumerate(candidates):
            say(f"trying {kk} clusters on a sample of {len(idx):,} …", step, len(candidates))
            labels = KMeans(kk, n_init=3, random_state=seed).fit_predict(x[idx])
            scores[kk] = float(silhouette_score(x[idx], labels))
        k = max(scores, key=lambda kk: scores[kk])
        best_sil, chosen_by = scores[k], "silhouette"
    model: Any = (
        MiniBatchKMeans(k, batch_size=8192, n_init=2, random_state=seed)
        if len(x) > 50_000
        else KMeans(k, n_init=5, random_state=seed)
    )
    fit_rows = rng.permutation(len(x))[:300_000] if len(x) > 300_000 else slice(None)
    say(f"fitting {k} clusters and assigning {len(x):,} customers …", None, None)
    model.fit(x[fit_rows])  # centres from up to 300k customers; everyone is assigned below
    labels = model.predict(x)
    if best_sil is None:
        best_sil = (
            float(silhouette_score(x[idx], labels[idx])) if len(set(labels[idx])) > 1 else None
        )
    profiles = _profiles(raw, x, labels, list(raw.columns))
    names = {p.cluster: p.name for p in profiles}
    assignments = pd.DataFrame({id_name: raw.index.to_numpy(), "cluster": labels})
    assignments["name"] = assignments["cluster"].map(names)
    return ClusterResult(k, chosen_by, best_sil, list(raw.columns), profiles, assignments, notes)


def _profiles(
    raw: pd.DataFrame, x: np.ndarray, labels: np.ndarray, features: list[str]
) -> list[ClusterProfile]:
    out: list[ClusterProfile] = []
    used: dict[str, int] = {}
    for cluster in sorted(set(labels.tolist()), key=lambda c: -int((labels == c).sum())):
        mask = labels == cluster
        z = {f: float(x[mask, i].mean()) for i, f in enumerate(features)}
        top = sorted(z, key=lambda f: -abs(z[f]))[:2]
        words = [
            (_WORDS.get(f, (f"high {f}", f"low {f}"))[0 if z[f] > 0 else 1])
            for f in top
            if abs(z[f]) >= 0.25
        ]
        name = (" ".join(words) or "typical").capitalize() + " customers"
        used[name] = used.get(name, 0) + 1
        if used[name] > 1:
            name = f"{name} ({used[name]})"
        means = {f: float(raw.loc[mask, f].mean()) for f in features}
        text = "; ".join(
            f"{f} {'above' if z[f] > 0 else 'below'} average (z={z[f]:+.2f})" for f in top
        )
        out.append(
            ClusterProfile(int(cluster), name, int(mask.sum()), float(mask.mean()), means, z, text)
        )
    return out
