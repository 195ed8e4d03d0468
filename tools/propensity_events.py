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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from assistant.errors import MaraError, ToolInputError
from tools.model_data import (
    DataSource,
    OrderColumns,
    latest_date,
    open_source,
    q,
    resolve_orders,
)
from tools.model_store import save_model
from tools.propensity import FeatureSpec, check_classes, fit_and_validate

Label = Literal["purchase", "churn"]
Progress = Callable[[str], None]
MAX_CATEGORIES = 8

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
) -> pd.DataFrame:
    """Features per customer as of ``cutoff`` (orders strictly before it), optional label.

    Includes BG/NBD's P(alive) and expected purchases in the horizon, fitted on the same
    history, so the classifier starts from what the buy-till-you-die model knows.
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
    _add_bgnbd(df, horizon_days)
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


def _add_bgnbd(df: pd.DataFrame, horizon_days: int) -> None:
    """BG/NBD P(alive) and expected purchases (weeks as the time unit) as two more features."""
    from tools.clv import fit_bgnbd

    x = (df.pop("purchase_days") - 1).clip(lower=0).to_numpy()
    tx = ((df["tenure_days"] - df["recency_days"]) / 7.0).to_numpy()
    age = (df["tenure_days"] / 7.0).to_numpy()
    try:
        fit = np.random.default_rng(0).permutation(len(x))[:200_000]  # population parameters
        model = fit_bgnbd(x[fit], tx[fit], age[fit])
        df["bgnbd_p_alive"] = model.p_alive(x, tx, age)
        df["bgnbd_expected"] = model.expected_purchases(horizon_days / 7.0, x, tx, age)
    except (MaraError, ValueError, FloatingPointError, ZeroDivisionError):
        df["bgnbd_p_alive"] = np.nan
        df["bgnbd_expected"] = np.nan


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
) -> dict[str, Any]:
    """Train a purchase/churn model from orders; returns the saved model's metadata.

    ``cutoff`` (default: latest order + 1 day - horizon) is the validation cutoff; training uses
    the cutoff one horizon earlier. Needs at least max(horizon, 90) days of history before it.
    """
    say = progress or (lambda message: None)
    if label not in ("purchase", "churn"):
        raise ToolInputError(f"label must be 'purchase' or 'churn' (got {label!r}).")
    if not 7 <= horizon_days <= 730:
        raise ToolInputError(f"horizon_days must be between 7 and 730 (got {horizon_days}).")
    with open_source(source) as ds:
        cols = resolve_orders(
            ds, orders_table, customer_col, date_col, amount_col, min_customers=50
        )
        rel = find_related(ds, cols)
        latest = latest_date(ds, cols)
        first = pd.Timestamp(
            ds.df(
                f"SELECT min({cols.date_expr}) AS d FROM {q(cols.table)} WHERE {cols.where}"
            ).iloc[0]["d"]
        ).date()
        valid_cut = cutoff or latest + timedelta(days=1 - horizon_days)
        train_cut = valid_cut - timedelta(days=horizon_days)
        need = max(horizon_days, 90)
        if cutoff is not None:
            _check_cutoff(cutoff, first, latest, horizon_days, need)
        if (train_cut - first).days < need or valid_cut > latest:
            raise ToolInputError(
                f"History too short: orders span {(latest - first).days + 1:,} days ({first} to "
                f"{latest}); a {horizon_days}-day {label} model needs at least "
                f"{2 * horizon_days + need:,} days (two label windows plus {need} days of "
                "history).",
                hint="Use a shorter --horizon-days or load more history.",
            )
        categories = _top_categories(ds, cols, rel)
        say(f"features as of {train_cut} (training) …")
        train = snapshot(ds, cols, rel, train_cut, categories, horizon_days)
        say(f"features as of {valid_cut} (out-of-time validation) …")
        valid = snapshot(ds, cols, rel, valid_cut, categories, horizon_days)
    sign = (lambda v: 1 - v) if label == "churn" else (lambda v: v)
    y_tr, y_va = sign(train.pop("label").to_numpy()), sign(valid.pop("label").to_numpy())
    check_classes(y_tr, f"Training window (cutoff {train_cut})")
    check_classes(y_va, f"Validation window (cutoff {valid_cut})")
    spec = FeatureSpec(numeric=list(train.columns))
    say(f"training on {len(y_tr):,} customers, validating on {len(y_va):,} …")
    describe = {**DESCRIBE, **{f"share_{c}": f"share of items in {c}" for c in categories or []}}
    trained = fit_and_validate(
        spec,
        train.to_numpy(),
        y_tr,
        valid.to_numpy(),
        y_va,
        describe,
        refit=(valid.to_numpy(), y_va),
        reference="bgnbd_expected",
    )
    notes = list(cols.notes) + [
        f"Trained at cutoff {train_cut}, validated out-of-time at {valid_cut}; "
        "final model refitted "
        f"on the {valid_cut} window and scores as of {latest + timedelta(days=1)}."
    ]
    notes += [f"Category mix from {rel.items}/{rel.products}."] if categories else []
    notes += [f"E-mail engagement from {rel.events}."] if rel.events else []
    meta = {
        "kind": "events",
        "table": cols.table,
        "label": label,
        "horizon_days": horizon_days,
        "columns": {"customer": cols.customer, "date": cols.date, "amount": cols.amount},
        "related": {k: getattr(rel, k) for k in rel.__slots__},
        "categories": categories,
        "train_cutoff": train_cut.isoformat(),
        "validation_cutoff": valid_cut.isoformat(),
        "scored_as_of": (latest + timedelta(days=1)).isoformat(),
        "id_column": cols.customer,
        "fingerprint": f"{cols.table}:{latest}:{len(valid)}",
        "rows": int(len(valid)),
    }
    return save_model(trained, spec, meta, notes, models_dir)


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
        )
        rel = Related(**meta["related"])
        known = ds.columns_by_table()
        if any(t and t not in known for t in (rel.items, rel.products, rel.events)):
            rel = find_related(ds, cols)
        cutoff = latest_date(ds, cols) + timedelta(days=1)
        return snapshot(ds, cols, rel, cutoff, meta.get("categories"), meta["horizon_days"], False)
