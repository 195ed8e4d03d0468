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

Gradient boosting (HistGradientBoostingClassifier), a logistic regression and, for orders,
BG/NBD's expected purchases in the horizon (a one-feature model) are blended with weights chosen
on the training rows only (5-fold out-of-fold scores, or a 20% selection split on large data);
the test rows (out-of-time window or random holdout) only report, and the logistic regression is
reported beside the chosen model (see :func:`fit_and_validate`).
Column planning for labelled tables lives in :mod:`tools.propensity_features`.
Metrics: AUC, PR-AUC, lift and capture by decile, calibration. Drivers: permutation importance
on a sample, in plain words. Models are saved under ``<home>/models`` as joblib + JSON
metadata, written only when training has fully succeeded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from foundation.errors import ToolInputError
from tools.model_data import open_source, q, unknown_name
from tools.model_store import (  # re-exported: the public API of propensity models
    ModelNotFoundError,
    TrainedModel,
    list_models,
    load_model,
    models_path,
    save_model,
)
from tools.progress import check_cancelled
from tools.propensity_features import FeatureSpec, binary_target, plan_features

MIN_ROWS, MIN_CLASS = 100, 20
MAX_TRAIN_ROWS = 150_000
CV_MAX_ROWS = 20_000  # up to this many training rows, blend weights come from 5-fold CV


# --- fitting and metrics --------------------------------------------------------------------


def _estimators(spec_mask: np.ndarray) -> tuple[Any, Any]:
    # lazy: sklearn, scipy, joblib load slowly; only this path needs them
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    # lazy: imports scikit-learn (HistGradientBoostingClassifier that Stop can end)
    from tools.propensity_hgb import StoppableHGB

    hgb = StoppableHGB(
        learning_rate=0.1,
        max_iter=300,
        max_leaf_nodes=31,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=True,
        validation_fraction=0.15,
        n_iter_no_change=15,
        categorical_features=spec_mask if spec_mask.any() else None,
        random_state=0,
    )
    num_idx = np.flatnonzero(~spec_mask).tolist()
    cat_idx = np.flatnonzero(spec_mask).tolist()
    steps = [
        (
            "num",
            make_pipeline(
                SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler()
            ),
            num_idx,
        )
    ]
    if cat_idx:
        steps.append(
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value=-1),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                cat_idx,
            )
        )
    lr = make_pipeline(ColumnTransformer(steps), LogisticRegression(max_iter=2000))
    return hgb, lr


def evaluate(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """AUC, PR-AUC, Brier, lift and capture by decile (best first), calibration in 10 bins."""
    # lazy: sklearn, scipy, joblib load slowly; only this path needs them
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    order = np.argsort(-p, kind="stable")
    base = float(y.mean())
    deciles = []
    for i, chunk in enumerate(np.array_split(order, 10)):
        rate = float(y[chunk].mean()) if len(chunk) else 0.0
        deciles.append(
            {
                "decile": i + 1,
                "rows": len(chunk),
                "rate": round(rate, 4),
                "lift": round(rate / base, 3) if base else 0.0,
                "capture": round(float(y[chunk].sum()) / max(float(y.sum()), 1), 4),
            }
        )
    bins = np.clip((p * 10).astype(int), 0, 9)
    calibration = [
        {
            "bin": f"{b / 10:.1f}-{(b + 1) / 10:.1f}",
            "rows": int((bins == b).sum()),
            "mean_score": round(float(p[bins == b].mean()), 4),
            "observed_rate": round(float(y[bins == b].mean()), 4),
        }
        for b in range(10)
        if (bins == b).any()
    ]
    # reliability: the gap between predicted and observed rates, weighted by the rows per bin
    calibration_error = sum(
        float((bins == b).sum()) * abs(float(p[bins == b].mean()) - float(y[bins == b].mean()))
        for b in range(10)
        if (bins == b).any()
    )
    return {
        "auc": round(float(roc_auc_score(y, p)), 4),
        "pr_auc": round(float(average_precision_score(y, p)), 4),
        "brier": round(float(brier_score_loss(y, p)), 4),
        "base_rate": round(base, 4),
        "mean_score": round(float(p.mean()), 4),
        "calibration_error": round(calibration_error / max(len(y), 1), 4),
        "lift_top_decile": deciles[0]["lift"],
        "capture_top_decile": deciles[0]["capture"],
        "rows": int(len(y)),
        "positives": int(y.sum()),
        "deciles": deciles,
        "calibration": calibration,
    }


def check_classes(y: np.ndarray, what: str) -> None:
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if len(y) < MIN_ROWS:
        raise ToolInputError(
            f"{what}: {len(y):,} rows found; at least {MIN_ROWS} are needed.",
            hint="Use a larger table or a longer history.",
        )
    if pos == 0 or neg == 0:
        raise ToolInputError(
            f"{what}: one class only ({pos:,} positive, {neg:,} negative).",
            hint="Choose a horizon or target where both outcomes occur.",
        )
    if min(pos, neg) < MIN_CLASS:
        raise ToolInputError(
            f"{what}: {pos:,} positives and {neg:,} negatives found; at least "
            f"{MIN_CLASS} of each are needed.",
            hint="Use more data, a longer horizon or a more common outcome.",
        )


def _subsample(x: np.ndarray, y: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
    if len(y) <= cap:
        return x, y
    idx = np.random.default_rng(1).choice(len(y), size=cap, replace=False)
    return x[idx], y[idx]


class Blend:
    """A weighted mean of its parts' probabilities (equal weights when none are given)."""

    _estimator_type = "classifier"

    def __init__(self, parts: list[Any], weights: list[float] | None = None) -> None:
        self.parts = parts
        self.weights = weights
        self.classes_ = np.array([0, 1])

    def fit(self, x: np.ndarray, y: np.ndarray) -> Blend:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.parts = [_fit(p, x, y) for p in self.parts]
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        weights = getattr(self, "weights", None)  # models saved before weights existed
        return np.average([p.predict_proba(x) for p in self.parts], axis=0, weights=weights)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (self.predict_proba(x)[:, 1] >= 0.5).astype(int)

    def __sklearn_tags__(self) -> Any:
        # lazy: sklearn, scipy, joblib load slowly; only this path needs them
        from sklearn.utils import Tags

        tags = Tags(estimator_type="classifier", target_tags=None)
        return tags


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


class Calibrated:
    """A model whose probabilities go through Platt scaling (a logistic curve on their logit).

    The curve is fitted on out-of-fold scores of the training rows, so a probability of 0.7
    means about 70% of such customers have the outcome; it is strictly increasing, so the
    ranking (and AUC) is the model's own.
    """

    _estimator_type = "classifier"

    def __init__(self, model: Any, slope: float = 1.0, intercept: float = 0.0) -> None:
        self.model, self.slope, self.intercept = model, slope, intercept
        self.classes_ = np.array([0, 1])

    @classmethod
    def fit_curve(cls, model: Any, scores: np.ndarray, y: np.ndarray) -> Calibrated:
        """Platt scaling of ``scores`` (out-of-fold) against ``y``; identity when degenerate."""
        # lazy: sklearn, scipy, joblib load slowly; only this path needs them
        from sklearn.linear_model import LogisticRegression

        z = _logit(scores).reshape(-1, 1)
        fitted = LogisticRegression(C=100.0).fit(z, y)
        slope, intercept = float(fitted.coef_[0, 0]), float(fitted.intercept_[0])
        if not (np.isfinite(slope) and slope > 0):
            return cls(model)
        return cls(model, slope, intercept)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        check_cancelled()  # permutation importance predicts many times: each one is a step Stop can end
        p = self.model.predict_proba(x)[:, 1]
        q = 1.0 / (1.0 + np.exp(-(self.slope * _logit(p) + self.intercept)))
        return np.column_stack([1 - q, q])

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (self.predict_proba(x)[:, 1] >= 0.5).astype(int)

    def fit(self, x: np.ndarray, y: np.ndarray) -> Calibrated:
        """Refit the model on new rows; the calibration curve is kept."""

        # lazy: sklearn, scipy, joblib load slowly; only this path needs them
        from sklearn.base import clone

        if isinstance(self.model, Blend):
            self.model = self.model.fit(x, y)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.model = clone(self.model).fit(x, y)
        return self

    def __sklearn_tags__(self) -> Any:
        # lazy: sklearn, scipy, joblib load slowly; only this path needs them
        from sklearn.utils import Tags

        return Tags(estimator_type="classifier", target_tags=None)


def _log1p_nonneg(x: np.ndarray) -> np.ndarray:
    return np.log1p(np.clip(x, 0, None))


def _reference_model(index: int) -> Any:
    """A one-feature logistic regression on log(1 + feature): e.g. BG/NBD's expected purchases,
    turned into a calibrated probability (same ranking as the feature for AUC)."""
    # lazy: sklearn, scipy, joblib load slowly; only this path needs them
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    column = make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        FunctionTransformer(_log1p_nonneg),
        StandardScaler(),
    )
    return make_pipeline(ColumnTransformer([("ref", column, [index])]), LogisticRegression())


def _weight_grid(k: int, steps: int = 10) -> list[tuple[float, ...]]:
    """Every weight vector of ``k`` parts on a 1/steps grid that sums to 1."""
    if k == 1:
        return [(1.0,)]
    out = []
    for first in range(steps, -1, -1):
        for rest in _weight_grid(k - 1, steps - first) if first < steps else [(0.0,) * (k - 1)]:
            out.append((first / steps, *(r * (steps - first) / steps for r in rest)))
    return out


def choose_weights(probs: dict[str, np.ndarray], y: np.ndarray) -> tuple[dict[str, float], float]:
    """The blend weights (a 0.1 grid over the simplex) with the best AUC on ``y``.

    Called with the *selection* split only: the test (out-of-time or holdout) rows never choose.
    Ties go to the earlier grid point, which favours the first-listed part.
    """
    # lazy: sklearn, scipy, joblib load slowly; only this path needs them
    from sklearn.metrics import roc_auc_score

    names = list(probs)
    stacked = np.column_stack([probs[n] for n in names])
    best_w: tuple[float, ...] = (1.0, *([0.0] * (len(names) - 1)))
    best_auc = -1.0
    for w in _weight_grid(len(names)):
        auc = float(roc_auc_score(y, stacked @ np.asarray(w)))
        if auc > best_auc + 1e-9:
            best_w, best_auc = w, auc
    return {n: round(float(v), 3) for n, v in zip(names, best_w, strict=True)}, best_auc


def fit_and_validate(
    spec: FeatureSpec,
    x_tr: np.ndarray,
    y_tr: np.ndarray,
    x_va: np.ndarray,
    y_va: np.ndarray,
    describe: dict[str, str] | None = None,
    refit: tuple[np.ndarray, np.ndarray] | None = None,
    reference: str | None = None,
    selection_size: float = 0.2,
) -> TrainedModel:
    """Choose a model on the training data, report it on the test rows, refit for scoring.

    Gradient boosting, a logistic regression and (with ``reference``, the name of a feature such
    as BG/NBD's expected purchases) a one-feature model are fitted on 80% of the training rows;
    their blend weights are chosen on the other 20% (the *selection* split; with up to
    ``CV_MAX_ROWS`` training rows, on 5-fold out-of-fold scores instead). The parts are then
    refitted on all training rows and the chosen blend is evaluated on ``x_va``/``y_va`` (the
    out-of-time window or the random holdout), which never influences a choice. The logistic
    regression trained on the same rows is reported as the baseline, and every candidate's test
    AUC is listed. With ``refit`` the chosen blend is refitted on those rows for scoring.
    """
    # lazy: threadpoolctl loads slowly; only this path needs it
    from threadpoolctl import threadpool_limits

    small = len(y_tr) <= CV_MAX_ROWS  # OpenMP threads cost more than they give on small data
    with threadpool_limits(1) if small else contextlib.nullcontext():
        return _fit_and_validate(
            spec, x_tr, y_tr, x_va, y_va, describe, refit, reference, selection_size
        )


def _fit(template: Any, x: np.ndarray, y: np.ndarray) -> Any:
    """A fresh copy of ``template`` fitted on ``x``/``y`` — unless the user pressed Stop (each fit
    is a step: :func:`tools.progress.check_cancelled`)."""
    # lazy: scikit-learn loads slowly; only model training needs it
    from sklearn.base import clone

    check_cancelled()
    return clone(template).fit(x, y)


def _fit_and_validate(
    spec: FeatureSpec,
    x_tr: np.ndarray,
    y_tr: np.ndarray,
    x_va: np.ndarray,
    y_va: np.ndarray,
    describe: dict[str, str] | None = None,
    refit: tuple[np.ndarray, np.ndarray] | None = None,
    reference: str | None = None,
    selection_size: float = 0.2,
) -> TrainedModel:

    # lazy: sklearn, scipy, joblib load slowly; only this path needs them
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    hgb, lr = _estimators(spec.categorical_mask)
    templates: dict[str, Any] = {"gradient_boosting": hgb, "logistic_regression": lr}
    if reference is not None and reference in spec.names:
        templates["bgnbd" if reference.startswith("bgnbd") else reference] = _reference_model(
            spec.names.index(reference)
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if len(y_tr) <= CV_MAX_ROWS:  # small data: out-of-fold scores on every training row
            # lazy: sklearn, scipy, joblib load slowly; only this path needs them
            from sklearn.model_selection import StratifiedKFold

            folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
            selection = {n: np.zeros(len(y_tr)) for n in templates}
            for fit_idx, out_idx in folds.split(x_tr, y_tr):
                for n, t in templates.items():
                    part = _fit(t, x_tr[fit_idx], y_tr[fit_idx])
                    selection[n][out_idx] = part.predict_proba(x_tr[out_idx])[:, 1]
            weights, selection_auc = choose_weights(selection, y_tr)
            y_sel = y_tr
            fitted = {n: _fit(t, x_tr, y_tr) for n, t in templates.items()}
            how = "5-fold out-of-fold scores on the training rows"
        else:
            inner, sel = train_test_split(
                np.arange(len(y_tr)), test_size=selection_size, stratify=y_tr, random_state=0
            )
            sel = sel[:100_000]
            x_in, y_in = _subsample(x_tr[inner], y_tr[inner], MAX_TRAIN_ROWS)
            fitted = {n: _fit(t, x_in, y_in) for n, t in templates.items()}
            selection = {n: m.predict_proba(x_tr[sel])[:, 1] for n, m in fitted.items()}
            weights, selection_auc = choose_weights(selection, y_tr[sel])
            y_sel = y_tr[sel]
            how = f"a {selection_size:.0%} split of the training rows"
            if len(inner) < MAX_TRAIN_ROWS:  # the selection rows help the final fit
                x_all, y_all = _subsample(x_tr, y_tr, MAX_TRAIN_ROWS)
                fitted = {n: _fit(t, x_all, y_all) for n, t in templates.items()}
    used = [n for n, w in weights.items() if w > 0]
    best: Any = (
        fitted[used[0]]
        if len(used) == 1
        else Blend([fitted[n] for n in used], [weights[n] for n in used])
    )
    chosen = used[0] if len(used) == 1 else "blend"
    blended = np.column_stack([selection[n] for n in weights]) @ np.asarray(list(weights.values()))
    best = Calibrated.fit_curve(best, blended, y_sel)
    metrics = evaluate(y_va, best.predict_proba(x_va)[:, 1])
    test_auc = {
        n: round(float(roc_auc_score(y_va, m.predict_proba(x_va)[:, 1])), 4)
        for n, m in fitted.items()
    }
    levels = {i: spec.categorical[n] for i, n in enumerate(spec.names) if n in spec.categorical}
    drivers = _drivers(best, spec.names, x_va, y_va, describe or {}, levels)
    if refit is not None:
        xr, yr = _subsample(*refit, MAX_TRAIN_ROWS)
        best = best.fit(xr, yr)
    metrics = {
        **metrics,
        "model": chosen,
        "weights": weights,
        "selection_auc": round(selection_auc, 4),
        "selected_on": how,
        "calibrated_on": f"Platt scaling on {how}",
        "candidates_auc": {**test_auc, chosen: metrics["auc"]},
    }
    base = evaluate(y_va, fitted["logistic_regression"].predict_proba(x_va)[:, 1])
    baseline = {k: base[k] for k in ("auc", "pr_auc", "lift_top_decile", "capture_top_decile")}
    baseline["model"] = "logistic_regression"
    return TrainedModel(best, chosen, metrics, baseline, drivers)


def _drivers(
    model: Any,
    names: list[str],
    x: np.ndarray,
    y: np.ndarray,
    describe: dict[str, str],
    levels: dict[int, list[str]],
    top: int = 6,
) -> list[dict[str, Any]]:
    # lazy: sklearn, scipy, joblib load slowly; only this path needs them
    from scipy.stats import spearmanr
    from sklearn.inspection import permutation_importance

    idx = np.random.default_rng(2).choice(len(y), size=min(len(y), 2000), replace=False)
    xs, ys = x[idx], y[idx]
    if len(set(ys.tolist())) < 2:
        return []
    imp = permutation_importance(model, xs, ys, scoring="roc_auc", n_repeats=2, random_state=0)
    pred = model.predict_proba(xs)[:, 1]
    out = []
    for i in np.argsort(-imp.importances_mean)[:top]:
        if imp.importances_mean[i] <= 0:
            continue
        col = xs[:, i]
        ok = ~np.isnan(col)
        rho = (
            spearmanr(col[ok], pred[ok]).statistic if ok.sum() > 10 and np.std(col[ok]) > 0 else 0.0
        )
        label = describe.get(names[i], names[i])
        if i in levels and ok.any():
            by_level = pd.Series(pred[ok]).groupby(col[ok].astype(int)).mean()
            best_level = levels[i][int(by_level.idxmax())]
            out.append(
                {
                    "feature": names[i],
                    "importance": round(float(imp.importances_mean[i]), 4),
                    "direction": None,
                    "text": f"{label}: highest scores for '{best_level}'",
                }
            )
            continue
        direction = (
            "higher values raise the score"
            if rho > 0.05
            else "lower values raise the score"
            if rho < -0.05
            else "effect depends on other factors"
        )
        out.append(
            {
                "feature": names[i],
                "importance": round(float(imp.importances_mean[i]), 4),
                "direction": round(float(np.nan_to_num(rho)), 3),
                "text": f"{label}: {direction}",
            }
        )
    return out


# --- table mode -----------------------------------------------------------------------------


def train_propensity_table(
    source: Any,
    table: str,
    target: str,
    exclude: list[str] | None = None,
    *,
    models_dir: Path | None = None,
    test_size: float = 0.25,
) -> dict[str, Any]:
    """Train on a labelled table; returns the saved model's metadata (``model_id``, metrics...)."""
    # lazy: sklearn, scipy, joblib load slowly; only this path needs them
    from sklearn.model_selection import train_test_split

    with open_source(source) as ds:
        columns = ds.columns(table)
        for col in [target, *(exclude or [])]:
            if col not in columns:
                raise unknown_name(f"column in {table}", col, list(columns))
        df = ds.df(f"SELECT * FROM {q(table)}")
    labelled = df[df[target].notna()].reset_index(drop=True)
    y, positive = binary_target(labelled[target], target)
    check_classes(y, f"Table {table}")
    id_col = _id_column(table, list(df.columns))
    spec, notes = plan_features(labelled, y, [target, *(exclude or [])])
    if len(labelled) < len(df):
        notes.append(f"{len(df) - len(labelled):,} rows without a {target} value were ignored.")
    x = spec.matrix(labelled)
    tr, va = train_test_split(np.arange(len(y)), test_size=test_size, stratify=y, random_state=0)
    trained = fit_and_validate(spec, x[tr], y[tr], x[va], y[va], refit=(x, y))
    meta = {
        "kind": "table",
        "table": table,
        "target": target,
        "positive_class": positive,
        "id_column": id_col,
        "validation": "random stratified 25% holdout",
        "fingerprint": fingerprint(df),
        "rows": int(len(df)),
    }
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
    digest.update(
        pd.util.hash_pandas_object(df.head(1000).astype("string"), index=False).values.tobytes()
    )
    return digest.hexdigest()[:16]


__all__ = [
    "FeatureSpec",
    "ModelNotFoundError",
    "TrainedModel",
    "evaluate",
    "fit_and_validate",
    "list_models",
    "load_model",
    "models_path",
    "plan_features",
    "save_model",
    "train_propensity_table",
]
