"""Event-derived propensity: features as of a cutoff, label from the next N days, out-of-time check.

Features per customer, computed in the engine with ``GROUP BY`` from orders before the cutoff:
recency, frequency, spend, average and largest order, tenure, days between orders, recent
activity (30/90/180/365 days) and its trend, share of orders not completed; the category mix
when an order-lines table and a products table with a category column exist; e-mail
engagement (sends, opens, clicks, open rate, days since the last click, unsubscribed) when an
events table with the customer column and an event type exists.

Label ``purchase``: the customer places a counted order in ``[cutoff, cutoff + horizon)``;
``churn`` is its opposite. Training uses the cutoff one horizon before the latest complete
window, validation the latest complete window (out-of-time), and the final model is refitted
on that latest window and scores every customer as of the day after the latest order.

Every horizon gets an answer (:func:`plan_method`, after :func:`eligibility` has said what the
data holds). When the history is shorter than that set-up (two label windows plus the feature
history), the model learns from the longest label window that fits (a third of the history) and
:class:`HorizonBridge` extends it to the horizon with BG/NBD's P(no purchase in the rest of
the horizon); with too little history for any supervised window, customers are scored with
BG/NBD's P(purchase within the horizon) alone (:class:`BGNBDScore`). Only data where nothing
can be estimated (no repeat buyers, or under ``MIN_REPEAT_BUYERS`` and no window) is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from foundation.errors import MaraError, ToolInputError, TurnCancelled
from tools.model_data import (
    DataSource,
    OrderColumns,
    latest_date,
    open_source,
    q,
    resolve_orders,
)
from tools.model_store import save_model
from tools.propensity import FeatureSpec, TrainedModel, check_classes, evaluate, fit_and_validate

Label = Literal["purchase", "churn"]
Method = Literal["full", "short", "bgnbd"]
Progress = Callable[[str], None]
MAX_CATEGORIES = 8
FEATURE_DAYS = 90  # feature history before the training cutoff in the full set-up
MIN_WINDOW = 14  # the shortest label window a supervised model learns from
MIN_REPEAT_BUYERS = 10  # what BG/NBD needs (as ``mara clv fit``)
MIN_CUSTOMERS_BGNBD = 20
STALE_DAYS = 90  # a latest order older than this (before today) is "no recent orders"

DESCRIBE = {
    "recency_days": "days since the last order",
    "orders": "number of orders",
    "spend": "total spend",
    "avg_order_value": "average order value",
    "max_order": "largest order",
    "tenure_days": "days since the first order",
    "days_between_orders": "typical days between orders",
    "recency_vs_cycle": "days since the last order relative to the usual gap",
    "orders_30d": "orders in the last 30 days",
    "orders_90d": "orders in the last 90 days",
    "orders_365d": "orders in the last year",
    "spend_90d": "spend in the last 90 days",
    "spend_365d": "spend in the last year",
    "trend_180d": "orders in the last 6 months minus the 6 months before",
    "not_completed_rate": "share of orders returned or cancelled",
    "n_categories": "number of product categories bought",
    "sends_90d": "e-mails received (90 days)",
    "opens_90d": "e-mail opens (90 days)",
    "clicks_90d": "e-mail clicks (90 days)",
    "open_rate_365d": "e-mail open rate (last year)",
    "days_since_click": "days since the last e-mail click",
    "bgnbd_p_alive": "probability the customer is still active (BG/NBD)",
    "bgnbd_expected": "purchases expected in the horizon (BG/NBD)",
    "bgnbd_p_purchase": "chance of a purchase in the window (BG/NBD)",
    "bgnbd_p_horizon": "chance of a purchase in the whole horizon (BG/NBD)",
    "unsubscribed": "unsubscribed from e-mail",
}


@dataclass(frozen=True, slots=True)
class Related:
    """Optional tables that enrich the features (names are kept with the model)."""

    orders_key: str | None = None
    items: str | None = None
    products: str | None = None
    product_key: str | None = None
    category: str | None = None
    events: str | None = None
    event_type: str | None = None
    event_time: str | None = None


def find_related(ds: DataSource, cols: OrderColumns) -> Related:
    tables = ds.columns_by_table()
    orders = tables[cols.table]
    singular = cols.table[:-1] if cols.table.endswith("s") else cols.table
    key = next((c for c in (f"{singular}_id", "id") if c in orders), None)
    items = products = product_key = category = None
    for name, columns in tables.items():
        if name == cols.table or not key or key not in columns:
            continue
        product_key = next(
            (c for c in columns if c.lower() in ("product_id", "sku", "item_id")), None
        )
        if product_key:
            items = name
            break
    if items and product_key:
        for name, columns in tables.items():
            cat = next(
                (c for c in columns if c.lower() == "category" or c.lower().endswith("_category")),
                None,
            )
            if name not in (items, cols.table) and product_key in columns and cat:
                products, category = name, cat
                break
    events = event_type = event_time = None
    for name, columns in tables.items():
        if name == cols.table or cols.customer not in columns:
            continue
        kind = next(
            (c for c in columns if c.lower() in ("event_type", "event", "type", "action")), None
        )
        when = next((c for c, t in columns.items() if t.startswith(("TIMESTAMP", "DATE"))), None)
        if kind and when:
            events, event_type, event_time = name, kind, when
            break
    return Related(
        key,
        items if products else None,
        products,
        product_key,
        category,
        events,
        event_type,
        event_time,
    )


def snapshot(
    ds: DataSource,
    cols: OrderColumns,
    rel: Related,
    cutoff: date,
    categories: list[str] | None,
    horizon_days: int,
    with_label: bool = True,
    bridge_days: int | None = None,
) -> pd.DataFrame:
    """Features per customer as of ``cutoff`` (orders strictly before it), optional label.

    Includes BG/NBD's P(alive), expected purchases and P(purchase) in the label window
    (``horizon_days``), fitted on the same history, so the classifier starts from what the
    buy-till-you-die model knows; with ``bridge_days`` also P(purchase) over that longer horizon.
    """
    c = f"DATE '{cutoff.isoformat()}'"

    def ago(days: int) -> str:
        return f"DATE '{(cutoff - timedelta(days=days)).isoformat()}'"

    orders = (
        f"SELECT {q(cols.customer)} AS cid, {cols.date_expr} AS day, "
        f"CAST({q(cols.amount)} AS DOUBLE) AS amount, ({cols.where}) AS counted"
        f"{', ' + q(rel.orders_key) + ' AS oid' if rel.orders_key else ''} "
        f"FROM {q(cols.table)} WHERE {q(cols.customer)} IS NOT NULL AND {cols.date_expr} < {c}"
    )
    df = ds.df(
        f"WITH o AS ({orders}) SELECT cid, count(*) FILTER (WHERE counted) AS orders, "
        f"coalesce(sum(amount) FILTER (WHERE counted), 0) AS spend, "
        f"max(amount) FILTER (WHERE counted) AS max_order, "
        f"date_diff('day', max(day) FILTER (WHERE counted), {c}) AS recency_days, "
        f"date_diff('day', min(day) FILTER (WHERE counted), {c}) AS tenure_days, "
        f"count(DISTINCT day) FILTER (WHERE counted) AS purchase_days, "
        + "".join(
            f"count(*) FILTER (WHERE counted AND day >= {ago(d)}) AS orders_{d}d, "
            for d in (30, 90, 180, 365)
        )
        + "".join(
            f"coalesce(sum(amount) FILTER (WHERE counted AND day >= {ago(d)}), 0) AS spend_{d}d, "
            for d in (90, 365)
        )
        + f"count(*) FILTER (WHERE counted AND day >= {ago(360)} AND day < {ago(180)}) "
        "AS prev_180, "
        f"1 - avg(CASE WHEN counted THEN 1.0 ELSE 0.0 END) AS not_completed_rate "
        f"FROM o GROUP BY cid HAVING count(*) FILTER (WHERE counted) > 0"
    ).set_index("cid")
    df = df.astype(float)
    df["avg_order_value"] = df["spend"] / df["orders"]
    df["days_between_orders"] = np.where(
        df["orders"] > 1,
        (df["tenure_days"] - df["recency_days"]) / (df["orders"] - 1).clip(lower=1),
        np.nan,
    )
    df["recency_vs_cycle"] = df["recency_days"] / df["days_between_orders"].clip(lower=1)
    df["trend_180d"] = df["orders_180d"] - df.pop("prev_180")
    _add_bgnbd(df, horizon_days, bridge_days)
    if rel.items and rel.products and rel.orders_key and categories is not None:
        pk = q(rel.product_key or "")
        mix = ds.df(
            f"WITH o AS ({orders}) SELECT o.cid, "
            f"CAST(p.{q(rel.category or '')} AS VARCHAR) AS cat, "
            f"count(*) AS n FROM o JOIN {q(rel.items)} i ON i.{q(rel.orders_key)} = o.oid "
            f"JOIN {q(rel.products)} p ON p.{pk} = i.{pk} "
            f"WHERE o.counted GROUP BY 1, 2"
        )
        wide = mix.pivot_table(index="cid", columns="cat", values="n", aggfunc="sum", fill_value=0)
        total = wide.sum(axis=1).replace(0, 1)
        df["n_categories"] = (wide > 0).sum(axis=1).reindex(df.index).fillna(0)
        for cat in categories:
            share = wide[cat] / total if cat in wide else pd.Series(0.0, index=wide.index)
            df[f"share_{cat}"] = share.reindex(df.index).fillna(0.0)
    if rel.events:
        t = f"lower(CAST({q(rel.event_type or '')} AS VARCHAR))"
        ts = f"CAST({q(rel.event_time or '')} AS DATE)"
        sends = f"({t} LIKE '%send%' OR {t} LIKE '%deliver%')"
        eng = (
            ds.df(
                f"SELECT {q(cols.customer)} AS cid, "
                f"count(*) FILTER (WHERE {sends} AND {ts} >= {ago(90)}) AS sends_90d, "
                f"count(*) FILTER (WHERE {t} LIKE '%open%' AND {ts} >= {ago(90)}) AS opens_90d, "
                f"count(*) FILTER (WHERE {t} LIKE '%click%' AND {ts} >= {ago(90)}) AS clicks_90d, "
                f"count(*) FILTER (WHERE {t} LIKE '%open%' AND {ts} >= {ago(365)}) / "
                f"nullif(count(*) FILTER (WHERE {sends} AND {ts} >= {ago(365)}), 0) "
                "AS open_rate_365d, "
                f"date_diff('day', max({ts}) FILTER (WHERE {t} LIKE '%click%'), {c}) "
                "AS days_since_click, "
                f"max(CASE WHEN {t} LIKE '%unsub%' THEN 1 ELSE 0 END) AS unsubscribed "
                f"FROM {q(rel.events)} WHERE {ts} < {c} GROUP BY 1"
            )
            .set_index("cid")
            .astype(float)
        )
        eng = eng.reindex(df.index)
        for col in ("sends_90d", "opens_90d", "clicks_90d", "unsubscribed"):
            eng[col] = eng[col].fillna(0.0)
        df = df.join(eng)
    if with_label:
        end = f"DATE '{(cutoff + timedelta(days=horizon_days)).isoformat()}'"
        buyers = ds.df(
            f"SELECT DISTINCT {q(cols.customer)} AS cid FROM {q(cols.table)} "
            f"WHERE {cols.where} AND {cols.date_expr} >= {c} AND {cols.date_expr} < {end}"
        )
        df["label"] = df.index.isin(buyers["cid"]).astype(np.int8)
    return df


def _add_bgnbd(df: pd.DataFrame, horizon_days: int, bridge_days: int | None = None) -> None:
    """BG/NBD P(alive), expected purchases and P(purchase) (weeks as the unit) as features."""
    # lazy: scipy, numpy load slowly; only this path needs them
    from tools.clv import fit_bgnbd

    x = (df.pop("purchase_days") - 1).clip(lower=0).to_numpy()
    tx = ((df["tenure_days"] - df["recency_days"]) / 7.0).to_numpy()
    age = (df["tenure_days"] / 7.0).to_numpy()
    try:
        fit = np.random.default_rng(0).permutation(len(x))[:200_000]  # population parameters
        model = fit_bgnbd(x[fit], tx[fit], age[fit])
        df["bgnbd_p_alive"] = model.p_alive(x, tx, age)
        df["bgnbd_expected"] = model.expected_purchases(horizon_days / 7.0, x, tx, age)
        df["bgnbd_p_purchase"] = model.p_purchase(horizon_days / 7.0, x, tx, age)
        if bridge_days is not None:
            df["bgnbd_p_horizon"] = model.p_purchase(bridge_days / 7.0, x, tx, age)
    except TurnCancelled:
        raise  # Stop, not a failed fit
    except (MaraError, ValueError, FloatingPointError, ZeroDivisionError):
        for name in ("bgnbd_p_alive", "bgnbd_expected", "bgnbd_p_purchase"):
            df[name] = np.nan
        if bridge_days is not None:
            df["bgnbd_p_horizon"] = np.nan


@dataclass(frozen=True, slots=True)
class Eligibility:
    """What an orders table holds for a purchase/churn model, stated before any training."""

    customers: int
    repeat_buyers: int  # customers with orders on two or more days
    first: date
    latest: date
    active_30d: int  # customers with an order in the last 30 days of the data
    today: date

    @property
    def span_days(self) -> int:
        return (self.latest - self.first).days + 1

    @staticmethod
    def full_days(horizon_days: int) -> int:
        """History the full supervised set-up needs: two label windows plus feature history."""
        return 2 * horizon_days + max(horizon_days, FEATURE_DAYS)

    def window_days(self, horizon_days: int) -> int:
        """The label window a supervised model learns from: the horizon, or what fits."""
        if self.span_days >= self.full_days(horizon_days):
            return horizon_days
        return min(horizon_days, self.span_days // 3)

    def lines(self, horizon_days: int) -> list[str]:
        """The statement: what the data supports and what each method needs."""
        stale = (self.today - self.latest).days
        out = [
            f"Data: {self.customers:,} customers with orders, {self.repeat_buyers:,} of them "
            f"repeat buyers ({self.repeat_buyers / max(self.customers, 1):.0%}); "
            f"{self.span_days:,} days of history ({self.first} to {self.latest}); "
            f"{self.active_30d:,} ordered in the last 30 days of it.",
            f"Needs: a supervised {horizon_days}-day model {self.full_days(horizon_days):,} days "
            f"of history (shorter windows from {3 * MIN_WINDOW} days); the purchase-rate model "
            f"(BG/NBD) {MIN_REPEAT_BUYERS} repeat buyers among {MIN_CUSTOMERS_BGNBD} customers.",
        ]
        if horizon_days > self.span_days:
            out.append(
                f"The {horizon_days}-day horizon is longer than the history: beyond "
                f"{self.span_days} days the scores rest on BG/NBD's extrapolation."
            )
        if stale > STALE_DAYS:
            out.append(
                f"No recent orders: the latest is {self.latest}, {stale:,} days before "
                f"{self.today}, so scores describe the {horizon_days} days after "
                f"{self.latest + timedelta(days=1)}, not from today."
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "repeat_buyers": self.repeat_buyers,
            "first_order": self.first.isoformat(),
            "latest_order": self.latest.isoformat(),
            "history_days": self.span_days,
            "active_30d": self.active_30d,
        }


def eligibility(ds: DataSource, cols: OrderColumns, today: date | None = None) -> Eligibility:
    """Customers, repeat buyers, history length and recent activity of an orders table."""
    c, d = q(cols.customer), cols.date_expr
    row = ds.df(
        f"WITH c AS (SELECT {c} AS cid, count(DISTINCT {d}) AS days, min({d}) AS first_day, "
        f"max({d}) AS last_day FROM {q(cols.table)} WHERE {cols.where} AND {c} IS NOT NULL "
        f"AND {d} IS NOT NULL GROUP BY 1) "
        "SELECT count(*) AS customers, sum(CASE WHEN days > 1 THEN 1 ELSE 0 END) AS repeaters, "
        "min(first_day) AS first_day, max(last_day) AS last_day, "
        "sum(CASE WHEN last_day > (SELECT max(last_day) FROM c) - INTERVAL 30 DAY "
        "THEN 1 ELSE 0 END) AS active FROM c"
    ).iloc[0]
    if not int(row["customers"] or 0):
        raise ToolInputError(
            f"{cols.table} has no counted orders with a customer and a date.",
            hint="Load orders with customer ids, dates and non-negative amounts.",
        )
    return Eligibility(
        int(row["customers"]),
        int(row["repeaters"] or 0),
        pd.Timestamp(row["first_day"]).date(),
        pd.Timestamp(row["last_day"]).date(),
        int(row["active"] or 0),
        today or date.today(),
    )


def _months(days: int) -> str:
    return f"{days} days" if days < 60 else f"{round(days / 30.44)} months"


def plan_method(e: Eligibility, horizon_days: int) -> tuple[Method, int, str]:
    """Which method the data supports for this horizon, its label window, and why.

    Raises :class:`ToolInputError` naming the minimum when nothing can be estimated.
    """
    if e.repeat_buyers == 0:
        raise ToolInputError(
            f"Every one of the {e.customers:,} customers has a single purchase day: nobody has "
            "bought again yet, so who buys again (or stops) cannot be estimated. Segments and "
            "spend are still available.",
            hint=f"Needs at least {MIN_REPEAT_BUYERS} customers with orders on two or more days.",
        )
    window = e.window_days(horizon_days)
    full = e.full_days(horizon_days)
    if window == horizon_days:
        return (
            "full",
            window,
            (
                f"{_months(e.span_days)} of history: trained and checked on {horizon_days}-day "
                f"windows (needs {full:,} days)"
            ),
        )
    if window >= MIN_WINDOW:
        return (
            "short",
            window,
            (
                f"{_months(e.span_days)} of history: a {horizon_days}-day supervised window needs "
                f"{_months(full)}, so the model learned from {window}-day windows and extends them "
                f"to {horizon_days} days with the purchase-rate model (BG/NBD)"
            ),
        )
    if (
        e.repeat_buyers >= MIN_REPEAT_BUYERS
        and e.customers >= MIN_CUSTOMERS_BGNBD
        and e.span_days >= 2 * 7
    ):
        return (
            "bgnbd",
            window,
            (
                f"{e.span_days} days of history: too short for a supervised window (needs "
                f"{3 * MIN_WINDOW} days), so customers are scored with the purchase-rate model "
                "(BG/NBD) alone"
            ),
        )
    raise ToolInputError(
        f"Nothing can be estimated: {e.span_days} days of history and {e.repeat_buyers} repeat "
        f"buyers among {e.customers:,} customers.",
        hint=f"Needs {3 * MIN_WINDOW} days of history, or 14 days and {MIN_REPEAT_BUYERS} repeat "
        f"buyers among {MIN_CUSTOMERS_BGNBD} customers for the purchase-rate model (BG/NBD).",
    )


class HorizonBridge:
    """A model of the next ``window`` days extended to the horizon with BG/NBD.

    P(no purchase in the horizon) = P(no purchase in the window) from the model, times BG/NBD's
    P(no purchase in the rest of the horizon | none in the window).
    """

    _estimator_type = "classifier"

    def __init__(self, model: Any, window_col: int, horizon_col: int, churn: bool) -> None:
        self.model, self.window_col, self.horizon_col, self.churn = (
            model,
            window_col,
            horizon_col,
            churn,
        )
        self.classes_ = np.array([0, 1])

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = self.model.predict_proba(x)[:, 1]
        silent_window = 1.0 - x[:, self.window_col]
        silent_horizon = 1.0 - x[:, self.horizon_col]
        rest = np.clip(silent_horizon / np.clip(silent_window, 1e-9, None), 0.0, 1.0)
        rest = np.where(np.isfinite(rest), rest, 1.0)
        silent = (p if self.churn else 1.0 - p) * rest
        q_ = silent if self.churn else 1.0 - silent
        return np.column_stack([1 - q_, q_])

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (self.predict_proba(x)[:, 1] >= 0.5).astype(int)


class BGNBDScore:
    """BG/NBD's P(purchase within the horizon) read from its feature column (churn: 1 - it)."""

    _estimator_type = "classifier"

    def __init__(self, column: int, churn: bool) -> None:
        self.column, self.churn = column, churn
        self.classes_ = np.array([0, 1])

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = x[:, self.column].astype(float)
        p = np.where(np.isfinite(p), p, np.nanmean(p) if np.isfinite(p).any() else 0.5)
        q_ = 1.0 - p if self.churn else p
        return np.column_stack([1 - q_, q_])

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (self.predict_proba(x)[:, 1] >= 0.5).astype(int)

    def fit(self, x: np.ndarray, y: np.ndarray) -> BGNBDScore:
        return self


def describe_model(weights: dict[str, float]) -> str:
    """``{"gradient_boosting": 0.7, "bgnbd": 0.3}`` → "gradient boosting 70% + BG/NBD 30%"."""
    names = {
        "gradient_boosting": "gradient boosting",
        "logistic_regression": "logistic regression",
        "bgnbd": "BG/NBD",
    }
    used = [(names.get(n, n), w) for n, w in weights.items() if w > 0]
    if len(used) == 1:
        return used[0][0]
    return " + ".join(f"{n} {w:.0%}" for n, w in used)


def train_propensity_events(
    source: Any,
    orders_table: str = "orders",
    label: Label = "purchase",
    horizon_days: int = 90,
    cutoff: date | None = None,
    *,
    customer_col: str | None = None,
    date_col: str | None = None,
    amount_col: str | None = None,
    models_dir: Path | None = None,
    progress: Progress | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Train a purchase/churn model from orders; returns the saved model's metadata.

    ``cutoff`` (default: latest order + 1 day - window) is the validation cutoff; training uses
    the cutoff one window earlier. The window is the horizon when the history holds two of them
    plus max(horizon, 90) days; otherwise see :func:`plan_method`. ``meta["eligibility"]`` and
    ``meta["method_text"]`` say what the data supports and which method was used, and why.
    """
    say = progress or (lambda message: None)
    if label not in ("purchase", "churn"):
        raise ToolInputError(f"label must be 'purchase' or 'churn' (got {label!r}).")
    if not 7 <= horizon_days <= 730:
        raise ToolInputError(f"horizon_days must be between 7 and 730 (got {horizon_days}).")
    churn = label == "churn"
    with open_source(source) as ds:
        cols = resolve_orders(
            ds, orders_table, customer_col, date_col, amount_col, min_customers=50, refunds=True
        )
        e = eligibility(ds, cols, today)
        statement = e.lines(horizon_days)
        say(statement[0])
        method, window, why = plan_method(e, horizon_days)
        if cutoff is not None:
            if method != "full":
                raise ToolInputError(
                    f"A cutoff needs the full set-up: {e.span_days:,} days of history, a "
                    f"{horizon_days}-day model needs {e.full_days(horizon_days):,}.",
                    hint="Leave out --cutoff: the model then uses the windows that fit.",
                )
            _check_cutoff(cutoff, e.first, e.latest, horizon_days, max(horizon_days, FEATURE_DAYS))
        rel = find_related(ds, cols)
        categories = _top_categories(ds, cols, rel)
        bridge = horizon_days if method == "short" else None
        valid_cut = cutoff or e.latest + timedelta(
            days=1 - (window if method != "bgnbd" else max(window, 7))
        )
        train_cut = valid_cut - timedelta(days=window)
        frames: dict[str, pd.DataFrame] = {}
        if method != "bgnbd":
            say(f"features as of {train_cut} (training) …")
            frames["train"] = snapshot(ds, cols, rel, train_cut, categories, window, True, bridge)
        say(f"features as of {valid_cut} (out-of-time validation) …")
        valid_window = window if method != "bgnbd" else max(window, 7)
        frames["valid"] = snapshot(ds, cols, rel, valid_cut, categories, valid_window, True, bridge)
    sign = (lambda v: 1 - v) if churn else (lambda v: v)
    valid = frames["valid"]
    y_va = sign(valid.pop("label").to_numpy())
    notes = list(cols.notes)
    if method != "bgnbd":
        train = frames["train"]
        y_tr = sign(train.pop("label").to_numpy())
        try:
            check_classes(y_tr, f"Training window (cutoff {train_cut})")
            check_classes(y_va, f"Validation window (cutoff {valid_cut})")
        except ToolInputError as err:
            if e.repeat_buyers < MIN_REPEAT_BUYERS or e.customers < MIN_CUSTOMERS_BGNBD:
                raise
            notes.append(f"Supervised model skipped: {err.message}")
            why = (
                f"{_months(e.span_days)} of history: too few buyers and non-buyers in a "
                f"{window}-day window to learn from, so customers are scored with the "
                "purchase-rate model (BG/NBD) alone"
            )
            method, bridge = "bgnbd", None
    spec_cols = [c for c in valid.columns if method != "bgnbd" or c != "bgnbd_p_horizon"]
    spec = FeatureSpec(numeric=spec_cols)
    describe = {**DESCRIBE, **{f"share_{c}": f"share of items in {c}" for c in categories or []}}
    if method == "bgnbd":
        trained = _bgnbd_only(spec, valid[spec_cols].to_numpy(), y_va, churn, describe)
        checked = f"BG/NBD checked out-of-time on the {valid_window} days from {valid_cut}"
        chosen = "the purchase-rate model (BG/NBD)"
    else:
        say(f"training on {len(y_tr):,} customers, validating on {len(y_va):,} …")
        trained = fit_and_validate(
            spec,
            train[spec_cols].to_numpy(),
            y_tr,
            valid[spec_cols].to_numpy(),
            y_va,
            describe,
            refit=(valid[spec_cols].to_numpy(), y_va),
            reference="bgnbd_p_purchase",
        )
        if bridge is not None:
            trained.estimator = HorizonBridge(
                trained.estimator,
                spec.names.index("bgnbd_p_purchase"),
                spec.names.index("bgnbd_p_horizon"),
                churn,
            )
        checked = (
            f"Trained at cutoff {train_cut}, validated out-of-time at {valid_cut} on "
            f"{window}-day windows; final model refitted on the {valid_cut} window"
        )
        chosen = describe_model(trained.metrics["weights"])
    method_text = f"{why}; scored with {chosen}" + (
        " (best AUC on the training rows)." if method != "bgnbd" else "."
    )
    notes.append(f"{checked}; scores as of {e.latest + timedelta(days=1)}.")
    notes += [f"Category mix from {rel.items}/{rel.products}."] if categories else []
    notes += [f"E-mail engagement from {rel.events}."] if rel.events else []
    meta = {
        "kind": "events",
        "table": cols.table,
        "label": label,
        "horizon_days": horizon_days,
        "label_window_days": window if method != "bgnbd" else horizon_days,
        "validation_window_days": window if method != "bgnbd" else valid_window,
        "method": method,
        "method_text": method_text,
        "eligibility": {**e.to_dict(), "statement": statement},
        "columns": {"customer": cols.customer, "date": cols.date, "amount": cols.amount},
        "related": {k: getattr(rel, k) for k in rel.__slots__},
        "categories": categories,
        "train_cutoff": train_cut.isoformat() if method != "bgnbd" else None,
        "validation_cutoff": valid_cut.isoformat(),
        "scored_as_of": (e.latest + timedelta(days=1)).isoformat(),
        "id_column": cols.customer,
        "fingerprint": f"{cols.table}:{e.latest}:{len(valid)}",
        "rows": int(len(valid)),
    }
    return save_model(trained, spec, meta, notes, models_dir)


def _bgnbd_only(
    spec: FeatureSpec, x_va: np.ndarray, y_va: np.ndarray, churn: bool, describe: dict[str, str]
) -> TrainedModel:
    """BG/NBD's P(purchase) as the model; checked on the latest window when it has both outcomes."""
    estimator = BGNBDScore(spec.names.index("bgnbd_p_purchase"), churn)
    metrics: dict[str, Any] = {
        "auc": None,
        "pr_auc": None,
        "lift_top_decile": None,
        "capture_top_decile": None,
        "deciles": [],
        "calibration": [],
    }
    try:
        check_classes(y_va, "Validation window")
        metrics = evaluate(y_va, estimator.predict_proba(x_va)[:, 1])
    except ToolInputError as err:
        metrics["unchecked"] = err.message
    metrics |= {"model": "bgnbd", "weights": {"bgnbd": 1.0}, "candidates_auc": {}}
    text = "chance of a purchase in the window (BG/NBD)"
    drivers = [
        {
            "feature": "bgnbd_p_purchase",
            "importance": 1.0,
            "direction": -1.0 if churn else 1.0,
            "text": f"{describe.get('bgnbd_p_purchase', text)}: from how often and how "
            "recently each customer bought",
        }
    ]
    baseline = {"model": None, "auc": None, "pr_auc": None}
    return TrainedModel(estimator, "bgnbd", metrics, baseline, drivers)


def _check_cutoff(cutoff: date, first: date, latest: date, horizon_days: int, need: int) -> None:
    """A given validation cutoff must leave a complete label window and enough history."""
    last_ok = latest + timedelta(days=1 - horizon_days)
    first_ok = first + timedelta(days=need + horizon_days)
    accepted = (
        f"For a {horizon_days}-day horizon the cutoff must be between {first_ok} and {last_ok}."
        if first_ok <= last_ok
        else "No cutoff fits: use a shorter --horizon-days or load more history."
    )
    if cutoff > latest or cutoff < first:
        raise ToolInputError(
            f"Cutoff {cutoff} is outside the order history ({first} to {latest}).",
            hint=accepted,
        )
    if cutoff > last_ok:
        raise ToolInputError(
            f"Cutoff {cutoff} leaves an incomplete label window: {horizon_days} days from it end "
            f"{cutoff + timedelta(days=horizon_days - 1)}, after the latest order ({latest}).",
            hint=accepted,
        )
    if cutoff < first_ok:
        raise ToolInputError(
            f"Cutoff {cutoff} is too early: the training window needs {need} days of history "
            f"before {cutoff - timedelta(days=horizon_days)}, and orders start {first}.",
            hint=accepted,
        )


def _top_categories(ds: DataSource, cols: OrderColumns, rel: Related) -> list[str] | None:
    if not (rel.items and rel.products and rel.category and rel.product_key):
        return None
    top = ds.df(
        f"SELECT CAST({q(rel.category)} AS VARCHAR) AS cat, count(*) AS n "
        f"FROM {q(rel.items)} i JOIN {q(rel.products)} p USING ({q(rel.product_key)}) "
        f"GROUP BY 1 ORDER BY n DESC LIMIT {MAX_CATEGORIES}"
    )
    return [str(c) for c in top["cat"] if c is not None]


def scoring_frame(source: Any, meta: dict[str, Any], table: str) -> pd.DataFrame:
    """Features for every customer as of the day after the latest order, as at training."""
    with open_source(source) as ds:
        names = meta["columns"]
        cols = resolve_orders(
            ds,
            table,
            names["customer"],
            names["date"],
            names["amount"],
            min_customers=1,
            check=False,
            refunds=True,
        )
        rel = Related(**meta["related"])
        known = ds.columns_by_table()
        if any(t and t not in known for t in (rel.items, rel.products, rel.events)):
            rel = find_related(ds, cols)
        cutoff = latest_date(ds, cols) + timedelta(days=1)
        window = meta.get("label_window_days", meta["horizon_days"])
        bridge = meta["horizon_days"] if meta.get("method") == "short" else None
        frame = snapshot(ds, cols, rel, cutoff, meta.get("categories"), window, False, bridge)
        return frame
