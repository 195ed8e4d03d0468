"""Propensity models: who will buy, churn or respond — trained, explained, saved and scored.

Two ways to get a label:

* :func:`train_propensity_table` — a table with a yes/no column (``target``). Numeric,
  categorical and date columns are encoded; ID-like, constant, free-text and leaking columns
  (a single column that almost perfectly predicts the target) are excluded with a note.
* :func:`train_propensity_events` — an orders table. Features are computed as of a cutoff
  (:mod:`tools.propensity_events`), the label is whether the customer buys (or, for churn,
  does not buy) in the following ``horizon_days``; validation is out-of-time (train on an
  earlier cutoff, evaluate on the latest complete window), and the final model scores every
  customer as of the latest order date.

Gradient boosting (HistGradientBoostingClassifier) is trained with a logistic-regression
baseline beside it; the better of the two on validation AUC is kept and both are reported.
Metrics: AUC, PR-AUC, lift and capture by decile, calibration. Drivers: permutation importance
on a sample, in plain words. Models are saved under ``<home>/models`` as joblib + JSON
metadata, written only when training has fully succeeded.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assistant.errors import MaraError, ToolInputError
from tools.segments import open_source, q

MIN_ROWS, MIN_CLASS = 100, 20
MAX_TRAIN_ROWS = 300_000
MAX_LEVELS = 60
_ID_NAME = re.compile(r"(^id$|_id$|^id_|_key$|^uuid$|_uuid$|email|phone|name$)", re.I)


class ModelNotFoundError(MaraError):
    """No saved model has this id."""


# --- features -------------------------------------------------------------------------------


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
        return np.array([False] * (len(self.numeric) + len(self.dates))
                        + [True] * len(self.categorical), dtype=bool)

    def matrix(self, df: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.names if c not in df.columns]
        if missing:
            raise ToolInputError(f"The table lacks the model's columns: {', '.join(missing)}.",
                                 hint="Score a table with the same columns the model was trained on.")
        parts = [pd.to_numeric(df[c], errors="coerce").astype(float).to_numpy() for c in self.numeric]
        for c in self.dates:
            days = pd.to_datetime(df[c], errors="coerce").astype("datetime64[s]").astype("int64")
            parts.append(np.where(df[c].isna(), np.nan, days / 86400.0))
        for c, levels in self.categorical.items():
            codes = pd.Categorical(df[c].astype("string"), categories=levels).codes.astype(float)
            parts.append(np.where(codes < 0, np.nan, codes))
        return np.column_stack(parts) if parts else np.empty((len(df), 0))


def _binary_target(values: pd.Series, target: str) -> tuple[np.ndarray, str]:
    distinct = values.dropna().unique()
    if len(distinct) < 2:
        shown = repr(distinct[0]) if len(distinct) else "nothing"
        raise ToolInputError(f"Target {target} has one class only ({shown} in {values.notna().sum():,} rows).",
                             hint="A propensity model needs both outcomes, e.g. churned and stayed.")
    if len(distinct) > 2:
        raise ToolInputError(f"Target {target} has {len(distinct)} distinct values; it must be yes/no.",
                             hint="Pick a column with two values (true/false, 1/0, yes/no).")
    truthy = {"1", "true", "yes", "y", "t", "churn", "churned", "positive", "1.0", "bought"}
    pos = next((v for v in distinct if str(v).strip().lower() in truthy), None)
    if pos is None:  # the rarer value is the event of interest
        counts = values.value_counts()
        pos = counts.index[-1]
    return (values == pos).to_numpy().astype(np.int8), str(pos)


def plan_features(df: pd.DataFrame, y: np.ndarray, exclude: list[str]) -> tuple[FeatureSpec, list[str]]:
    """Choose and type feature columns; notes say what was left out and why."""
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
        is_date = pd.api.types.is_datetime64_any_dtype(s) or (
            s.dtype == object and s.dropna().head(50).map(lambda v: hasattr(v, "isoformat")).all())
        if _ID_NAME.search(col) or (not is_date and (not is_num or pd.api.types.is_integer_dtype(s))
                                    and nunique > 0.95 * s.notna().sum() and nunique > 50):
            notes.append(f"{col} excluded: looks like an identifier.")
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
        probe = FeatureSpec(**{"numeric": [col]} if kind == "numeric" else
                            {"dates": [col]} if kind == "date" else
                            {"categorical": {col: _levels(s)}})
        values = probe.matrix(df.iloc[sample])[:, 0]
        ys = y[sample]
        if kind == "category":  # target rate per level as the score
            rates = pd.Series(ys).groupby(np.nan_to_num(values, nan=-1)).transform("mean")
            values = rates.to_numpy()
        filled = np.where(np.isnan(values), np.nanmedian(values) if np.isfinite(values).any() else 0, values)
        auc = max(roc_auc_score(ys, filled), roc_auc_score(ys, np.isnan(values).astype(float)))
        auc = max(auc, 1 - roc_auc_score(ys, filled))
        if auc >= 0.97:
            notes.append(f"{col} excluded: predicts the target almost perfectly on its own "
                         f"(AUC {auc:.3f}), so it is probably recorded after the outcome (leak).")
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


def _levels(s: pd.Series) -> list[str]:
    return [str(v) for v in s.astype("string").value_counts().index[:MAX_LEVELS]]


# --- fitting and metrics --------------------------------------------------------------------


def _estimators(spec_mask: np.ndarray) -> tuple[Any, Any]:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    hgb = HistGradientBoostingClassifier(
        learning_rate=0.06, max_iter=400, max_leaf_nodes=31, min_samples_leaf=40,
        l2_regularization=1.0, early_stopping=True, validation_fraction=0.15,
        n_iter_no_change=25, categorical_features=spec_mask if spec_mask.any() else None,
        random_state=0)
    num_idx = np.flatnonzero(~spec_mask).tolist()
    cat_idx = np.flatnonzero(spec_mask).tolist()
    steps = [("num", make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                                   StandardScaler()), num_idx)]
    if cat_idx:
        steps.append(("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value=-1),
                                           OneHotEncoder(handle_unknown="ignore")), cat_idx))
    lr = make_pipeline(ColumnTransformer(steps), LogisticRegression(max_iter=2000))
    return hgb, lr


def evaluate(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """AUC, PR-AUC, Brier, lift and capture by decile (best first), calibration in 10 bins."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    order = np.argsort(-p, kind="stable")
    base = float(y.mean())
    deciles = []
    for i, chunk in enumerate(np.array_split(order, 10)):
        rate = float(y[chunk].mean()) if len(chunk) else 0.0
        deciles.append({"decile": i + 1, "rows": len(chunk), "rate": round(rate, 4),
                        "lift": round(rate / base, 3) if base else 0.0,
                        "capture": round(float(y[chunk].sum()) / max(float(y.sum()), 1), 4)})
    bins = np.clip((p * 10).astype(int), 0, 9)
    calibration = [{"bin": f"{b / 10:.1f}-{(b + 1) / 10:.1f}", "rows": int((bins == b).sum()),
                    "mean_score": round(float(p[bins == b].mean()), 4),
                    "observed_rate": round(float(y[bins == b].mean()), 4)}
                   for b in range(10) if (bins == b).any()]
    return {"auc": round(float(roc_auc_score(y, p)), 4),
            "pr_auc": round(float(average_precision_score(y, p)), 4),
            "brier": round(float(brier_score_loss(y, p)), 4), "base_rate": round(base, 4),
            "lift_top_decile": deciles[0]["lift"], "capture_top_decile": deciles[0]["capture"],
            "rows": int(len(y)), "positives": int(y.sum()), "deciles": deciles,
            "calibration": calibration}


def check_classes(y: np.ndarray, what: str) -> None:
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if len(y) < MIN_ROWS:
        raise ToolInputError(f"{what}: {len(y):,} rows found; at least {MIN_ROWS} are needed.",
                             hint="Use a larger table or a longer history.")
    if pos == 0 or neg == 0:
        raise ToolInputError(f"{what}: one class only ({pos:,} positive, {neg:,} negative).",
                             hint="Choose a horizon or target where both outcomes occur.")
    if min(pos, neg) < MIN_CLASS:
        raise ToolInputError(f"{what}: {pos:,} positives and {neg:,} negatives found; at least "
                             f"{MIN_CLASS} of each are needed.",
                             hint="Use more data, a longer horizon or a more common outcome.")


def _subsample(x: np.ndarray, y: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
    if len(y) <= cap:
        return x, y
    idx = np.random.default_rng(1).choice(len(y), size=cap, replace=False)
    return x[idx], y[idx]


@dataclass(slots=True)
class TrainedModel:
    """A fitted model with its validation report (before saving)."""

    estimator: Any
    chosen: str
    metrics: dict[str, Any]
    baseline: dict[str, Any]
    drivers: list[dict[str, Any]]


def fit_and_validate(spec: FeatureSpec, x_tr: np.ndarray, y_tr: np.ndarray, x_va: np.ndarray,
                     y_va: np.ndarray, describe: dict[str, str] | None = None,
                     refit: tuple[np.ndarray, np.ndarray] | None = None) -> TrainedModel:
    """Gradient boosting vs. logistic regression on validation; keep the better, refit on ``refit``."""
    import warnings

    from sklearn.base import clone

    x_tr, y_tr = _subsample(x_tr, y_tr, MAX_TRAIN_ROWS)
    hgb, lr = _estimators(spec.categorical_mask)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hgb.fit(x_tr, y_tr)
        lr.fit(x_tr, y_tr)
    m_hgb = evaluate(y_va, hgb.predict_proba(x_va)[:, 1])
    m_lr = evaluate(y_va, lr.predict_proba(x_va)[:, 1])
    chosen, best, metrics, other = (("gradient_boosting", hgb, m_hgb, m_lr)
                                    if m_hgb["auc"] >= m_lr["auc"] else
                                    ("logistic_regression", lr, m_lr, m_hgb))
    levels = {i: spec.categorical[n] for i, n in enumerate(spec.names) if n in spec.categorical}
    drivers = _drivers(best, spec.names, x_va, y_va, describe or {}, levels)
    if refit is not None:
        xr, yr = _subsample(*refit, MAX_TRAIN_ROWS)
        best = clone(best)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            best.fit(xr, yr)
    metrics = {**metrics, "model": chosen}
    baseline = {k: other[k] for k in ("auc", "pr_auc", "lift_top_decile", "capture_top_decile")}
    baseline["model"] = "logistic_regression" if chosen == "gradient_boosting" else "gradient_boosting"
    return TrainedModel(best, chosen, metrics, baseline, drivers)


def _drivers(model: Any, names: list[str], x: np.ndarray, y: np.ndarray,
             describe: dict[str, str], levels: dict[int, list[str]],
             top: int = 6) -> list[dict[str, Any]]:
    from scipy.stats import spearmanr
    from sklearn.inspection import permutation_importance

    idx = np.random.default_rng(2).choice(len(y), size=min(len(y), 4000), replace=False)
    xs, ys = x[idx], y[idx]
    if len(set(ys.tolist())) < 2:
        return []
    imp = permutation_importance(model, xs, ys, scoring="roc_auc", n_repeats=3, random_state=0)
    pred = model.predict_proba(xs)[:, 1]
    out = []
    for i in np.argsort(-imp.importances_mean)[:top]:
        if imp.importances_mean[i] <= 0:
            continue
        col = xs[:, i]
        ok = ~np.isnan(col)
        rho = spearmanr(col[ok], pred[ok]).statistic if ok.sum() > 10 and np.std(col[ok]) > 0 else 0.0
        label = describe.get(names[i], names[i])
        if i in levels and ok.any():
            by_level = pd.Series(pred[ok]).groupby(col[ok].astype(int)).mean()
            best_level = levels[i][int(by_level.idxmax())]
            out.append({"feature": names[i], "importance": round(float(imp.importances_mean[i]), 4),
                        "direction": None, "text": f"{label}: highest scores for '{best_level}'"})
            continue
        direction = ("higher values raise the score" if rho > 0.05 else
                     "lower values raise the score" if rho < -0.05 else "effect depends on other factors")
        out.append({"feature": names[i], "importance": round(float(imp.importances_mean[i]), 4),
                    "direction": round(float(np.nan_to_num(rho)), 3),
                    "text": f"{label}: {direction}"})
    return out


# --- table mode -----------------------------------------------------------------------------


def train_propensity_table(source: Any, table: str, target: str,
                           exclude: list[str] | None = None, *, models_dir: Path | None = None,
                           test_size: float = 0.25) -> dict[str, Any]:
    """Train on a labelled table; returns the saved model's metadata (``model_id``, metrics...)."""
    from sklearn.model_selection import train_test_split

    with open_source(source) as ds:
        columns = ds.columns(table)
        for col in [target, *(exclude or [])]:
            if col not in columns:
                from tools.segments import _unknown
                raise _unknown(f"column in {table}", col, list(columns))
        df = ds.df(f"SELECT * FROM {q(table)}")
    labelled = df[df[target].notna()].reset_index(drop=True)
    y, positive = _binary_target(labelled[target], target)
    check_classes(y, f"Table {table}")
    id_col = _id_column(table, list(df.columns))
    spec, notes = plan_features(labelled, y, [target, *(exclude or [])])
    if len(labelled) < len(df):
        notes.append(f"{len(df) - len(labelled):,} rows without a {target} value were ignored.")
    x = spec.matrix(labelled)
    tr, va = train_test_split(np.arange(len(y)), test_size=test_size, stratify=y, random_state=0)
    trained = fit_and_validate(spec, x[tr], y[tr], x[va], y[va], refit=(x, y))
    meta = {"kind": "table", "table": table, "target": target, "positive_class": positive,
            "id_column": id_col, "validation": "random stratified 25% holdout",
            "fingerprint": fingerprint(df), "rows": int(len(df))}
    return save_model(trained, spec, meta, notes, models_dir)


def _id_column(table: str, columns: list[str]) -> str | None:
    singular = table[:-1] if table.endswith("s") else table
    for cand in (f"{singular}_id", "id", "customer_id"):
        if cand in columns:
            return cand
    return next((c for c in columns if c.lower().endswith("_id")), None)


def fingerprint(df: pd.DataFrame) -> str:
    """A short hash of shape, columns and a sample of values."""
    digest = hashlib.sha256(json.dumps([list(map(str, df.columns)), len(df)]).encode())
    digest.update(pd.util.hash_pandas_object(df.head(1000).astype("string"), index=False).values.tobytes())
    return digest.hexdigest()[:16]


# --- persistence and scoring ----------------------------------------------------------------


def models_path(home: Path) -> Path:
    return Path(home) / "models"


def save_model(trained: TrainedModel, spec: FeatureSpec, meta: dict[str, Any], notes: list[str],
               models_dir: Path | None) -> dict[str, Any]:
    """Write ``<id>.joblib`` then ``<id>.json`` (atomic renames); returns the metadata."""
    import joblib

    name = meta.get("label") or meta.get("target") or "model"
    model_id = f"{re.sub(r'[^a-z0-9]+', '-', str(name).lower()).strip('-')}-" \
               f"{datetime.now(UTC):%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
    metadata = {"model_id": model_id, "created": datetime.now(UTC).isoformat(timespec="seconds"),
                **meta, "model": trained.chosen, "features": spec.names,
                "metrics": trained.metrics, "baseline": trained.baseline,
                "drivers": trained.drivers, "notes": notes}
    if models_dir is None:
        metadata["saved"] = False
        return metadata
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = models_dir / f".{model_id}.tmp"
    joblib.dump({"estimator": trained.estimator, "spec": spec, "meta": metadata}, tmp)
    tmp.replace(models_dir / f"{model_id}.joblib")
    tmp_json = models_dir / f".{model_id}.json.tmp"
    tmp_json.write_text(json.dumps(metadata, indent=1, default=str))
    tmp_json.replace(models_dir / f"{model_id}.json")
    metadata["saved"] = True
    return metadata


def list_models(models_dir: Path) -> list[dict[str, Any]]:
    """Saved models' metadata, newest first (only complete saves are listed)."""
    out = []
    for path in sorted(Path(models_dir).glob("*.json")):
        if (path.with_suffix(".joblib")).exists():
            meta = json.loads(path.read_text())
            out.append({k: meta.get(k) for k in ("model_id", "created", "kind", "table", "target",
                                                 "label", "horizon_days", "model")}
                       | {"auc": meta.get("metrics", {}).get("auc")})
    return sorted(out, key=lambda m: str(m["created"]), reverse=True)


def load_model(models_dir: Path, model_id: str) -> dict[str, Any]:
    import joblib

    path = Path(models_dir) / f"{model_id}.joblib"
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", model_id) or not path.exists():
        known = [m["model_id"] for m in list_models(models_dir)] if Path(models_dir).exists() else []
        raise ModelNotFoundError(f"No saved model '{model_id}'.",
                                 hint=f"Saved: {', '.join(known[:10])}." if known else
                                 "Train one with 'mara model train'.")
    bundle: dict[str, Any] = joblib.load(path)
    return bundle


def score(source: Any, models_dir: Path, model_id: str, table: str | None = None,
          top: int | None = None) -> list[dict[str, Any]]:
    """Score every row of ``table`` (events models: every customer of the orders table), best first."""
    bundle = load_model(models_dir, model_id)
    meta, spec = bundle["meta"], bundle["spec"]
    if top is not None and top < 1:
        raise ToolInputError(f"top must be at least 1 (got {top}).")
    if meta["kind"] == "events":
        from tools.propensity_events import scoring_frame

        frame = scoring_frame(source, meta, table or meta["table"])
        ids = frame.index.to_numpy()
        x = spec.matrix(frame)
    else:
        with open_source(source) as ds:
            df = ds.df(f"SELECT * FROM {q(table or meta['table'])}")
        id_col = meta.get("id_column")
        ids = df[id_col].to_numpy() if id_col and id_col in df else np.arange(len(df))
        x = spec.matrix(df)
    p = bundle["estimator"].predict_proba(x)[:, 1] if len(x) else np.empty(0)
    order = np.argsort(-p, kind="stable")[:top]
    return [{"id": _plain(ids[i]), "score": round(float(p[i]), 6)} for i in order]


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
