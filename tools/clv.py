"""Customer lifetime value: BG/NBD (purchases, P(alive)) and Gamma-Gamma (spend per order).

Both are fitted by maximum likelihood with scipy (parameters in log space, L-BFGS-B; BG/NBD
with its analytic gradient so a million customers fit in seconds). The models follow Fader,
Hardie & Lee (2005), "Counting your customers the easy way" and "RFM and CLV"; on the CDNOW
sample calibrated through 1997-09-30 BG/NBD gives r=0.243, alpha=4.414, a=0.793, b=2.426.

Time is measured in weeks (``unit_days=7``) as in the papers: ``x`` = repeat purchases
(distinct purchase days - 1), ``t_x`` = time of the last purchase and ``T`` = age, both from
the first purchase; ``m`` = mean value of the repeat purchases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import digamma, gammaln, hyp2f1

from foundation.errors import MaraError, ToolInputError
from tools.model_data import OrderColumns, latest_date, open_source, q, resolve_orders
from tools.progress import StepProgress, check_cancelled, quiet


class ModelFitError(MaraError):
    """A model's likelihood could not be maximised on this data."""


# --- BG/NBD ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Counts:
    """BG/NBD data with the terms that depend on x alone computed once per distinct x."""

    ux: np.ndarray  # distinct repeat counts
    wx: np.ndarray  # total weight per distinct x
    inv: np.ndarray  # row -> index into ux
    x: np.ndarray
    tx: np.ndarray
    T: np.ndarray
    w: np.ndarray

    @classmethod
    def build(cls, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> _Counts:
        ux, inv = np.unique(x, return_inverse=True)
        return cls(ux, np.bincount(inv, weights=w), inv, x, tx, T, w)


def _bgnbd_nll(
    log_params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray
) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood and its gradient w.r.t. the log parameters."""
    return _nll(log_params, _Counts.build(x, tx, T, w))


def _nll(log_params: np.ndarray, d: _Counts) -> tuple[float, np.ndarray]:
    r, alpha, a, b = np.exp(log_params)
    u, wu = d.ux, d.wx
    # per distinct x: A1 + A2 of Fader, Hardie & Lee (2005) and their derivatives
    ll_u = gammaln(r + u) - gammaln(r) + r * np.log(alpha)
    ll_u += gammaln(a + b) + gammaln(b + u) - gammaln(b) - gammaln(a + b + u)
    dr_u = digamma(r + u) - digamma(r) + np.log(alpha)
    da_u = digamma(a + b) - digamma(a + b + u)
    db_u = digamma(a + b) + digamma(b + u) - digamma(b) - digamma(a + b + u)
    xb_u = np.where(u > 0, b + u - 1, 1.0)
    # per row: the mixture of "still alive at T" and "dropped out after t_x"
    rep = d.x > 0
    log_t, log_tx = np.log(alpha + d.T), np.log(alpha + d.tx)
    a3 = -(r + d.x) * log_t
    a4 = np.where(rep, np.log(a) - np.log(xb_u)[d.inv] - (r + d.x) * log_tx, -np.inf)
    mix = np.logaddexp(a3, a4)
    w3 = np.exp(a3 - mix)
    w4 = 1.0 - w3
    ww3, ww4 = d.w * w3, d.w * w4
    total = d.w.sum()
    ll = float(wu @ ll_u + d.w @ mix)
    grad = np.array(
        [
            wu @ dr_u - ww3 @ log_t - ww4 @ log_tx,
            wu.sum() * r / alpha - ((r + d.x) * (ww3 / (alpha + d.T) + ww4 / (alpha + d.tx))).sum(),
            wu @ da_u + ww4.sum() / a,
            wu @ db_u - ww4 @ (1.0 / xb_u)[d.inv],
        ]
    ) * np.array([r, alpha, a, b])
    return -ll / total, -grad / total


@dataclass(frozen=True, slots=True)
class BGNBD:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float

    def p_alive(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
        ratio = np.where(x > 0, self.a / np.where(x > 0, self.b + x - 1, 1.0), 0.0)
        log_term = (self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + tx))
        return 1.0 / (1.0 + ratio * np.exp(np.minimum(log_term, 700)))

    def p_purchase(self, t: float, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(at least one purchase in the next ``t`` periods): alive now, then a Poisson event.

        A customer alive at ``T`` cannot drop out without buying (BG/NBD drop-outs follow a
        purchase), so P(no purchase) = 1 - P(alive) + P(alive) * E[exp(-lambda t)], with
        lambda ~ Gamma(r + x, alpha + T) given the history and being alive.
        """
        x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
        silent = ((self.alpha + T) / (self.alpha + T + t)) ** (self.r + x)
        return np.asarray(self.p_alive(x, tx, T) * (1.0 - silent))

    def expected_purchases(
        self, t: float, x: np.ndarray, tx: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """Expected purchases in the next ``t`` periods for customers with history (x, t_x, T)."""
        x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
        first = (a + b + x - 1) / (a - 1)
        second = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp
        ratio = np.where(x > 0, a / np.where(x > 0, b + x - 1, 1.0), 0.0)
        third = 1 + ratio * ((alpha + T) / (alpha + tx)) ** (r + x)
        return np.asarray(first * second / third)


def _stop_point(*_: Any) -> None:
    """Each optimiser iteration is a step Stop can end the fit at (:func:`tools.progress.check_cancelled`)."""
    check_cancelled()


def fit_bgnbd(x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> BGNBD:
    """Maximum-likelihood BG/NBD; identical (x, t_x, T) rows are collapsed into weights."""
    frame = pd.DataFrame(
        {"x": np.asarray(x, float), "tx": np.asarray(tx, float), "T": np.asarray(T, float)}
    )
    grouped = frame.groupby(["x", "tx", "T"], sort=False).size().reset_index(name="w")
    arrays = [grouped[c].to_numpy(dtype=float) for c in ("x", "tx", "T", "w")]
    counts = _Counts.build(*arrays)
    best = None
    for start in (np.zeros(4), np.log([0.5, max(float(np.mean(T)), 1.0) / 4, 1.0, 2.0])):
        res = minimize(
            _nll,
            start,
            args=(counts,),
            jac=True,
            method="L-BFGS-B",
            bounds=[(-10, 10)] * 4,
            options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9},
            callback=_stop_point,
        )
        if best is None or res.fun < best.fun:
            best = res
        if best.success and np.isfinite(best.fun):
            break  # the second start is only a fallback
    assert best is not None
    if not np.isfinite(best.fun):
        raise ModelFitError(
            "BG/NBD did not converge on this data.",
            hint="Check that customers have repeat purchases over a long enough history.",
        )
    r, alpha, a, b = np.exp(best.x)
    return BGNBD(float(r), float(alpha), float(a), float(b), float(-best.fun * counts.w.sum()))


# --- Gamma-Gamma ----------------------------------------------------------------------------


def _gg_nll(
    log_params: np.ndarray,
    x: np.ndarray,
    m: np.ndarray,
    unique: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood of Gamma-Gamma and its gradient w.r.t. log parameters.

    ``unique`` is (distinct x, count of each), computed once by the caller.
    """
    p, qq, v = np.exp(log_params)
    if unique is None:
        ux, counts = np.unique(x, return_counts=True)
    else:
        ux, counts = unique
    nu = counts.astype(float)
    px = p * ux
    log_m, log_x = np.log(m), np.log(x)
    log_xmv = np.log(x * m + v)
    pxr = p * x
    ll = (
        nu @ (gammaln(px + qq) - gammaln(px))
        + len(x) * (qq * np.log(v) - gammaln(qq))
        + ((pxr - 1) * log_m + pxr * log_x - (pxr + qq) * log_xmv).sum()
    )
    d_p = nu @ (ux * (digamma(px + qq) - digamma(px))) + (x * (log_m + log_x - log_xmv)).sum()
    d_q = nu @ digamma(px + qq) + len(x) * (np.log(v) - digamma(qq)) - log_xmv.sum()
    d_v = len(x) * qq / v - ((pxr + qq) / (x * m + v)).sum()
    grad = np.array([d_p * p, d_q * qq, d_v * v])
    return float(-ll / len(x)), -grad / len(x)


@dataclass(frozen=True, slots=True)
class GammaGamma:
    p: float
    q: float
    v: float

    def expected_spend(self, x: np.ndarray, m: np.ndarray, fallback: float) -> np.ndarray:
        """Expected value per future order; customers without repeats get the population mean."""
        x, m = np.asarray(x, float), np.asarray(m, float)
        if self.q <= 1:
            return np.where(x > 0, m, fallback)
        mean = self.p * self.v / (self.q - 1)
        weight = self.p * x / (self.p * x + self.q - 1)
        return np.where(x > 0, (1 - weight) * mean + weight * np.nan_to_num(m), mean)


def fit_gamma_gamma(x: np.ndarray, m: np.ndarray) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma on customers with repeat purchases and positive spend."""
    x, m = np.asarray(x, float), np.asarray(m, float)
    keep = (x > 0) & (m > 0)
    if keep.sum() < 10:
        raise ToolInputError(
            f"Only {int(keep.sum())} customers have repeat purchases with spend; "
            "Gamma-Gamma needs at least 10.",
            hint="Use a longer order history.",
        )
    res = minimize(
        _gg_nll,
        np.log([1.0, 1.0, max(float(np.median(m[keep])), 1e-3)]),
        args=(x[keep], m[keep], np.unique(x[keep], return_counts=True)),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-10, 12)] * 3,
        callback=_stop_point,
    )
    p, qq, v = np.exp(res.x)
    return GammaGamma(float(p), float(qq), float(v))


# --- from an orders table -------------------------------------------------------------------


@dataclass(slots=True)
class CLVResult:
    bgnbd: BGNBD
    gamma_gamma: GammaGamma | None
    calibration_end: date
    horizon_days: int
    unit_days: float
    customers: pd.DataFrame = field(repr=False)  # id, x, t_x, T, m, p_alive, expected, clv
    holdout: dict[str, float] | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        c = self.customers
        gg = self.gamma_gamma
        return {
            "params": {
                "r": self.bgnbd.r,
                "alpha": self.bgnbd.alpha,
                "a": self.bgnbd.a,
                "b": self.bgnbd.b,
            },
            "gamma_gamma": None if gg is None else {"p": gg.p, "q": gg.q, "v": gg.v},
            "log_likelihood": self.bgnbd.log_likelihood,
            "calibration_end": self.calibration_end.isoformat(),
            "time_unit_days": self.unit_days,
            "horizon_days": self.horizon_days,
            "customers": int(len(c)),
            "mean_p_alive": float(c["p_alive"].mean()),
            "expected_purchases_total": float(c["expected_purchases"].sum()),
            "expected_clv_total": float(c["clv"].sum()),
            "holdout": self.holdout,
            "notes": self.notes,
        }


def rfm_summary(ds: Any, cols: OrderColumns, end: date, unit_days: float = 7.0) -> pd.DataFrame:
    """x, t_x, T (in ``unit_days``) and repeat-order mean value m per customer, up to ``end``."""
    day = f"DATE '{end.isoformat()}'"
    df = ds.df(
        # portable SQL (transpiled for PostgreSQL etc.): the first day's amount via row_number, not arg_min
        f"WITH d AS (SELECT {q(cols.customer)} AS cid, {cols.date_expr} AS day, "
        f"sum({q(cols.amount)}) AS amount FROM {q(cols.table)} WHERE {cols.where} "
        f"AND {cols.date_expr} <= {day} AND {q(cols.customer)} IS NOT NULL GROUP BY 1, 2), "
        f"r AS (SELECT *, row_number() OVER (PARTITION BY cid ORDER BY day) AS n FROM d) "
        f"SELECT cid AS customer_id, count(*) - 1 AS x, "
        f"date_diff('day', min(day), max(day)) AS tx, date_diff('day', min(day), {day}) AS t_age, "
        f"sum(amount) - sum(CASE WHEN n = 1 THEN amount ELSE 0 END) AS repeat_amount FROM r GROUP BY 1"
    )
    df["x"] = df["x"].astype(float)
    df["tx"] = df["tx"].astype(float) / unit_days
    df["T"] = df.pop("t_age").astype(float) / unit_days
    repeat = df.pop("repeat_amount").astype(float)
    df["m"] = np.where(df["x"] > 0, repeat / df["x"].clip(lower=1), np.nan)
    return df


def fit_clv(
    source: Any,
    orders_table: str = "orders",
    customer_col: str | None = None,
    date_col: str | None = None,
    amount_col: str | None = None,
    calibration_end: date | None = None,
    horizon_days: int = 365,
    unit_days: float = 7.0,
    progress: StepProgress | None = None,
) -> CLVResult:
    """Fit BG/NBD + Gamma-Gamma on orders up to ``calibration_end`` (default: latest order).

    With an earlier ``calibration_end`` the following period is a holdout: predicted vs. actual
    purchases per customer are compared (MAE, correlation, AUC of "buys again").
    ``progress(message, done, total)`` hears about each step.
    """
    say = progress or quiet
    if horizon_days <= 0:
        raise ToolInputError(
            f"horizon_days must be a positive number of days (got {horizon_days}).",
            hint="e.g. 365 for a one-year CLV.",
        )
    with open_source(source) as ds:
        cols = resolve_orders(
            ds, orders_table, customer_col, date_col, amount_col, min_customers=20
        )
        latest = latest_date(ds, cols)
        end = calibration_end or latest
        if end > latest:
            raise ToolInputError(
                f"calibration end {end} is after the latest order ({latest}).",
                hint=f"Give a date up to {latest}; later orders are the holdout.",
            )
        first = pd.Timestamp(
            ds.df(
                f"SELECT min({cols.date_expr}) AS d FROM {q(cols.table)} WHERE {cols.where}"
            ).iloc[0]["d"]
        ).date()
        if end < first:
            raise ToolInputError(
                f"calibration end {end} is before the first order ({first}).",
                hint=f"Give a date between {first} and {latest}.",
            )
        say("purchase history per customer …", None, None)
        cal = rfm_summary(ds, cols, end, unit_days)
        actual = None
        if end < latest:
            actual = ds.df(
                f"SELECT {q(cols.customer)} AS customer_id, count(DISTINCT {cols.date_expr}) AS n "
                f"FROM {q(cols.table)} WHERE {cols.where} AND {cols.date_expr} > DATE '{end}' "
                f"GROUP BY 1"
            )
    repeaters = int((cal["x"] > 0).sum())
    if len(cal) < 20 or repeaters < 10:
        raise ToolInputError(
            f"{len(cal):,} customers ({repeaters:,} with repeat purchases) up to {end}; "
            "BG/NBD needs "
            "at least 20 customers and 10 repeat buyers.",
            hint="Use a later --calibration-end.",
        )
    say(f"fitting BG/NBD (purchases) on {len(cal):,} customers …", 1, 3)
    model = fit_bgnbd(cal["x"].to_numpy(), cal["tx"].to_numpy(), cal["T"].to_numpy())
    say("fitting Gamma-Gamma (spend) …", 2, 3)
    gg = None
    notes = list(cols.notes)
    try:
        gg = fit_gamma_gamma(cal["x"].to_numpy(), cal["m"].to_numpy())
    except ToolInputError as err:
        notes.append(f"Spend model skipped: {err.message}")
    say("predicting each customer's lifetime value …", 3, 3)
    horizon = (latest - end).days if actual is not None else horizon_days
    t = horizon / unit_days
    x, tx, T = cal["x"].to_numpy(), cal["tx"].to_numpy(), cal["T"].to_numpy()
    cal["p_alive"] = model.p_alive(x, tx, T)
    cal["expected_purchases"] = model.expected_purchases(t, x, tx, T)
    fallback = float(np.nanmean(cal["m"])) if repeaters else 0.0
    spend = (
        gg.expected_spend(x, cal["m"].to_numpy(), fallback) if gg else np.full(len(cal), fallback)
    )
    cal["expected_spend"] = spend
    cal["clv"] = cal["expected_purchases"] * spend
    holdout = None
    if actual is not None:
        holdout = _holdout_metrics(cal, actual)
        notes.append(
            f"Holdout {end + timedelta(days=1)} to {latest}: predictions vs. actual orders."
        )
    return CLVResult(model, gg, end, horizon, unit_days, cal, holdout, notes)


def _holdout_metrics(cal: pd.DataFrame, actual: pd.DataFrame) -> dict[str, float]:
    # lazy: sklearn, scipy, joblib load slowly; only this path needs them
    from sklearn.metrics import roc_auc_score

    merged = cal.merge(actual, on="customer_id", how="left").fillna({"n": 0})
    pred, real = merged["expected_purchases"].to_numpy(), merged["n"].to_numpy(float)
    bought = (real > 0).astype(int)
    out = {
        "customers": float(len(merged)),
        "predicted_total": float(pred.sum()),
        "actual_total": float(real.sum()),
        "mae": float(np.abs(pred - real).mean()),
        "correlation": float(np.corrcoef(pred, real)[0, 1]) if real.std() > 0 else 0.0,
    }
    if 0 < bought.sum() < len(bought):
        out["auc_buys_again"] = float(roc_auc_score(bought, pred))
    return out


__all__ = [
    "BGNBD",
    "CLVResult",
    "GammaGamma",
    "ModelFitError",
    "fit_bgnbd",
    "fit_clv",
    "fit_gamma_gamma",
    "rfm_summary",
]
