"""Saved propensity models: joblib + JSON metadata under ``<home>/models``, listing and scoring.

A model is written as ``<id>.joblib`` (estimator, feature spec, metadata) and then ``<id>.json``
(metadata only), each through a temporary file and an atomic rename, so a failed or interrupted
training never leaves a half-saved model, and only models with both files are listed.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.errors import MaraError, ToolInputError
from assistant.settings import open_private, private_dir, write_private
from tools.model_data import open_source, q

if TYPE_CHECKING:
    import pandas as pd

    from tools.propensity import FeatureSpec, TrainedModel


class ModelNotFoundError(MaraError):
    """No saved model has this id."""


def models_path(home: Path) -> Path:
    return Path(home) / "models"


def save_model(
    trained: TrainedModel,
    spec: FeatureSpec,
    meta: dict[str, Any],
    notes: list[str],
    models_dir: Path | None,
) -> dict[str, Any]:
    """Write ``<id>.joblib`` then ``<id>.json`` (atomic renames); returns the metadata."""
    import joblib

    name = meta.get("label") or meta.get("target") or "model"
    model_id = (
        f"{re.sub(r'[^a-z0-9]+', '-', str(name).lower()).strip('-')}-"
        f"{datetime.now(UTC):%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
    )
    metadata = {
        "model_id": model_id,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **meta,
        "model": trained.chosen,
        "features": spec.names,
        "metrics": trained.metrics,
        "baseline": trained.baseline,
        "drivers": trained.drivers,
        "notes": notes,
    }
    if models_dir is None:
        metadata["saved"] = False
        return metadata
    private_dir(models_dir)
    tmp = models_dir / f".{model_id}.tmp"
    with open_private(tmp, "wb") as handle:
        joblib.dump({"estimator": trained.estimator, "spec": spec, "meta": metadata}, handle)
    tmp.replace(models_dir / f"{model_id}.joblib")
    tmp_json = models_dir / f".{model_id}.json.tmp"
    write_private(tmp_json, json.dumps(metadata, indent=1, default=str))
    tmp_json.replace(models_dir / f"{model_id}.json")
    metadata["saved"] = True
    return metadata


def list_models(models_dir: Path) -> list[dict[str, Any]]:
    """Saved models' metadata, newest first (only complete saves are listed)."""
    out = []
    for path in sorted(Path(models_dir).glob("*.json")):
        if (path.with_suffix(".joblib")).exists():
            meta = json.loads(path.read_text())
            out.append(
                {
                    k: meta.get(k)
                    for k in (
                        "model_id",
                        "created",
                        "kind",
                        "table",
                        "target",
                        "label",
                        "horizon_days",
                        "model",
                    )
                }
                | {"auc": meta.get("metrics", {}).get("auc")}
            )
    return sorted(out, key=lambda m: str(m["created"]), reverse=True)


def load_model(models_dir: Path, model_id: str) -> dict[str, Any]:
    import joblib

    path = Path(models_dir) / f"{model_id}.joblib"
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", model_id) or not path.exists():
        known = (
            [m["model_id"] for m in list_models(models_dir)] if Path(models_dir).exists() else []
        )
        raise ModelNotFoundError(
            f"No saved model '{model_id}'.",
            hint=f"Saved: {', '.join(known[:10])}."
            if known
            else "Train one with 'mara model train'.",
        )
    bundle: dict[str, Any] = joblib.load(path)
    return bundle


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
    import pandas as pd

    bundle = load_model(models_dir, model_id)
    meta, spec = bundle["meta"], bundle["spec"]
    if top is not None and top < 1:
        raise ToolInputError(f"top must be at least 1 (got {top}).")
    extra: dict[str, np.ndarray] = {}
    keys: list[np.ndarray] = []
    if meta["kind"] == "events":
        from tools.propensity_events import scoring_frame

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
    import pandas as pd

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
