"""Agent tools for segments, propensity and lifetime value (thin wrappers over the plain functions).

Each tool returns a :class:`~tools.results.ToolOutput`: compact text for the model, a table
artifact for people (the full per-customer or per-segment table as CSV) and ``data`` with the
key numbers for the offline planner.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from foundation.errors import MaraError, ToolInputError
from tools.charts import chart_spec, save_chart
from tools.context import ToolContext
from tools.declare import bound_tools, mara_tool
from tools.progress import report_progress
from tools.results import ToolOutput, render_table, table_artifact
from tools.warehouse import QueryResult

if TYPE_CHECKING:
    import pandas as pd

PER_CUSTOMER_ROWS = 200_000  # rows of a per-customer table kept as an artifact


def _table(
    ctx: ToolContext, frame: pd.DataFrame, title: str, max_rows: int = PER_CUSTOMER_ROWS
) -> tuple[QueryResult, dict[str, Any]]:
    shown = frame.head(max_rows)
    result = QueryResult(
        columns=[str(c) for c in shown.columns],
        rows=list(shown.itertuples(index=False, name=None)),
        truncated=len(frame) > max_rows,
    )
    artifact_id = ctx.artifacts.save_table(result, title=title)
    return result, table_artifact(result, artifact_id, title)


def _chart(
    ctx: ToolContext, result: QueryResult, table: dict[str, Any], title: str, x: str, y: str
) -> list[dict[str, Any]]:
    """A bar chart artifact of ``result`` (none when the chart cannot be drawn)."""
    try:
        spec = chart_spec(result, kind="bar", title=title, x=x, y=y)
        return [save_chart(ctx.artifacts, spec, png=False, table_id=table["artifact_id"])]
    except (MaraError, ValueError, TypeError):
        return []


def _parse_date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise ToolInputError(f"{name} must be a date like 2026-09-30 (got {value!r}).") from err


def rfm_output(
    ctx: ToolContext,
    orders_table: str,
    customer_col: str | None = None,
    date_col: str | None = None,
    amount_col: str | None = None,
) -> ToolOutput:
    # lazy: pandas, numpy load slowly; only this path needs them
    import pandas as pd

    from tools.segments import rfm_segments

    res = rfm_segments(ctx.warehouse, orders_table, customer_col, date_col, amount_col)
    seg = pd.DataFrame(
        [
            {
                "segment": s.name,
                "customers": s.customers,
                "share": round(s.share, 4),
                "revenue_share": round(s.revenue_share, 4),
                "avg_recency_days": round(s.avg_recency_days, 1),
                "avg_orders": round(s.avg_frequency, 2),
                "description": s.description,
            }
            for s in res.segments
        ]
    )
    summary, art = _table(ctx, seg, f"RFM segments as of {res.as_of}")
    _, per_customer = _table(ctx, res.customers, "RFM scores per customer")
    text = (
        f"RFM on {orders_table} as of {res.as_of}: {res.total_customers:,} customers "
        f"(amount {res.columns.amount}).\n{render_table(summary, max_rows=11)}"
    )
    chart = _chart(ctx, summary, art, "Customers by RFM segment", "segment", "customers")
    return ToolOutput(text=text, artifacts=[art, *chart, per_customer], data=res.to_dict())


def cluster_output(ctx: ToolContext, table: str, k: int | None = None) -> ToolOutput:
    # lazy: pandas, numpy load slowly; only this path needs them
    import pandas as pd

    from tools.segments import cluster_customers

    res = cluster_customers(ctx.warehouse, table, k, progress=report_progress)
    frame = pd.DataFrame(
        [
            {
                "cluster": c.cluster,
                "name": c.name,
                "customers": c.customers,
                "share": round(c.share, 4),
                "distinguishing": c.distinguishing,
            }
            for c in res.clusters
        ]
    )
    summary, art = _table(ctx, frame, f"{res.k} customer clusters")
    _, per_customer = _table(ctx, res.assignments, "Cluster per customer")
    sil = f", silhouette {res.silhouette:.2f}" if res.silhouette is not None else ""
    text = (
        f"{res.k} clusters ({res.chosen_by}{sil}) on {', '.join(res.features)}.\n"
        f"{render_table(summary)}"
    )
    return ToolOutput(text=text, artifacts=[art, per_customer], data=res.to_dict())


HIGH, MEDIUM = 0.7, 0.4  # risk bands: high >= 70%, medium 40-70%, low < 40%
ACTIVE_DAYS = 365  # "active": ordered in the last 12 months of the data
_NAME_COLUMNS = (("first_name", "last_name"), ("full_name",), ("name",), ("customer_name",))


def risk_bands(scores: Any) -> dict[str, int]:
    """Customers per band: high (>= 70%), medium (40-70%), low (< 40%)."""
    # lazy: numpy loads slowly; only this path needs it
    import numpy as np

    s = np.asarray(scores, dtype=float)
    return {
        "high": int((s >= HIGH).sum()),
        "medium": int(((s >= MEDIUM) & (s < HIGH)).sum()),
        "low": int((s < MEDIUM).sum()),
    }


def headline(meta: dict[str, Any], scores: Any, active: int, of_all: bool) -> str:
    """“2,140 customers (11% of the 19,400 active) have ≥ 70% churn risk in the next 90 days.”"""
    bands = risk_bands(scores)
    what = (
        f"churn risk in the next {meta['horizon_days']} days"
        if meta.get("label") == "churn"
        else f"chance to buy in the next {meta['horizon_days']} days"
        if meta["kind"] == "events"
        else f"chance of {meta.get('target')} = {meta.get('positive_class')}"
    )
    who = "customers" if meta["kind"] == "events" else "rows"
    whole = f"the {active:,} scored" if of_all else f"the {active:,} active"
    share = bands["high"] / max(active, 1)
    if bands["high"] == 0:
        top = max((float(v) for v in scores), default=0.0)
        return f"No {who} of {whole} have ≥ 70% {what}; the highest is {top:.0%}."
    return f"{bands['high']:,} {who} ({share:.0%} of {whole}) have ≥ 70% {what}."


def _names(ctx: ToolContext, meta: dict[str, Any], ids: list[Any]) -> dict[Any, str]:
    """Customer names for ``ids`` from a customers table, when one has name columns."""
    # lazy: pandas, numpy load slowly; only this path needs them
    from tools.model_data import open_source, q

    key = (meta.get("columns") or {}).get("customer") or meta.get("id_column")
    if not key or not ids:
        return {}
    try:
        with open_source(ctx.warehouse) as ds:
            for table, columns in ds.columns_by_table().items():
                if table == meta.get("table") or key not in columns:
                    continue
                names = next((n for n in _NAME_COLUMNS if all(c in columns for c in n)), None)
                if names is None:
                    continue
                quoted = ", ".join(repr(i) if isinstance(i, str) else str(i) for i in ids)
                rows = ds.df(
                    f"SELECT {q(key)} AS id, "
                    + " || ' ' || ".join(f"coalesce(CAST({q(c)} AS VARCHAR), '')" for c in names)
                    + f" AS name FROM {q(table)} WHERE {q(key)} IN ({quoted})"
                )
                return {r.id: str(r.name).strip() for r in rows.itertuples() if str(r.name).strip()}
    except Exception:  # names are a nicety: an odd customers table must not fail the answer
        return {}
    return {}


def _segments(ctx: ToolContext, meta: dict[str, Any]) -> dict[Any, str]:
    """Each customer's RFM segment (``Champions``, ``At Risk``...) for events models."""
    # lazy: pandas, numpy load slowly; only this path needs them
    from tools.segments import rfm_segments

    if meta["kind"] != "events":
        return {}
    names = meta["columns"]
    try:
        res = rfm_segments(
            ctx.warehouse, meta["table"], names["customer"], names["date"], names["amount"]
        )
    except (MaraError, ValueError):
        return {}
    return dict(zip(res.customers["customer_id"], res.customers["segment"], strict=True))


def _details(meta: dict[str, Any]) -> str:
    """AUC, PR-AUC, lift and reliability: the technical line, for the details view."""
    m, b = meta["metrics"], meta["baseline"]
    if m.get("auc") is None:
        return (
            "Details: no out-of-time check was possible ("
            + str(m.get("unchecked") or "too little history")
            + ")."
        )
    checked = meta.get("validation_window_days") or meta.get("label_window_days")
    window = f" on a {checked}-day window" if meta["kind"] == "events" and checked else ""
    base = f"; {b['model']} baseline AUC {b['auc']:.3f}" if b.get("auc") is not None else ""
    return (
        f"Details: validation{window}: AUC {m['auc']:.3f}, PR-AUC {m['pr_auc']:.3f}, "
        f"top-decile lift {m['lift_top_decile']:.2f} (captures {m['capture_top_decile']:.0%} "
        f"of positives){base}; reliability: predicted {m.get('mean_score', 0):.0%} vs "
        f"observed {m['base_rate']:.0%}, mean gap per score band "
        f"{m.get('calibration_error', 0):.1%}; model {meta['model']} ({meta['model_id']})."
    )


def model_output(ctx: ToolContext, meta: dict[str, Any], top: int = 20) -> ToolOutput:
    """The answer a marketer acts on: how many are at risk, who (names and segments), why,
    how it was estimated, and the offer to save them as an audience; metrics go to details."""
    # lazy: pandas, numpy load slowly; only this path needs them
    import pandas as pd

    from tools.propensity import models_path
    from tools.propensity_scoring import score_frame

    scored = score_frame(ctx.warehouse, models_path(ctx.settings.home), meta["model_id"])
    frame = scored[["id", "score"]]
    result, art = _table(ctx, frame, f"{meta.get('label') or meta.get('target')} scores")
    events = meta["kind"] == "events"
    if events and "recency_days" in scored:
        active_mask = scored["recency_days"] < ACTIVE_DAYS
        of_all = bool(active_mask.all())
    else:
        active_mask = pd.Series(True, index=scored.index)
        of_all = True
    active = scored[active_mask]
    bands = risk_bands(active["score"])
    head = headline(meta, active["score"], len(active), of_all)
    best = active.head(top)
    names = _names(ctx, meta, best["id"].tolist())
    segments = _segments(ctx, meta)
    rows = []
    for r in best.itertuples(index=False):
        row: dict[str, Any] = {"customer": str(r.id)}  # an id, not a quantity: no "13,552"
        if names:
            row["full_name"] = names.get(r.id, "")
        if segments:
            row["segment"] = segments.get(r.id, "")
        row["score"] = f"{r.score:.0%}" if r.score < 0.95 else f"{r.score:.1%}"
        if events and "recency_days" in scored:
            row["days_since_last_order"] = int(r.recency_days)
            row["orders"] = int(r.orders)
        rows.append(row)
    top_table = pd.DataFrame(rows)
    shown = QueryResult(
        [str(c) for c in top_table.columns], list(top_table.itertuples(index=False, name=None))
    )
    scope = "active customers (ordered in the last 12 months)" if not of_all else "customers"
    slug = f"{meta.get('label') or 'score'}-{meta.get('horizon_days') or ''}d-high".replace(
        "-d-", "-"
    )
    lines = [
        head,
        f"Risk bands among {scope}: high ≥ 70%: {bands['high']:,}; medium 40–70%: "
        f"{bands['medium']:,}; low < 40%: {bands['low']:,}.",
    ]
    if meta.get("method_text"):
        lines.append(f"How: {meta['method_text']}")
    if meta["drivers"]:
        lines.append("Why: " + "; ".join(d["text"] for d in meta["drivers"][:5]) + ".")
    lines.append(f"Highest scores:\n{render_table(shown, max_rows=top)}")
    active_flag = "" if of_all else f" --active-days {ACTIVE_DAYS}"
    lines.append(
        f"Save them as an audience: “save the high-risk customers as {slug}”, or "
        f"`mara audience create {slug} --model {meta['model_id']} --threshold {HIGH}{active_flag}`."
    )
    statement = (meta.get("eligibility") or {}).get("statement") or []
    lines += statement
    lines += meta["notes"]
    lines.append("\n" + _details(meta))  # its own paragraph: front ends fold it away
    data = {k: meta[k] for k in ("model_id", "kind", "model", "metrics", "baseline", "drivers")}
    data |= {
        "headline": head,
        "bands": bands,
        "active_customers": int(len(active)),
        "method": meta.get("method"),
        "method_text": meta.get("method_text"),
        "eligibility": meta.get("eligibility"),
        "suggested_audience": {"name": slug, "model_id": meta["model_id"], "threshold": HIGH,
                               **({} if of_all else {"active_days": ACTIVE_DAYS})},
        "top": [{"id": r["id"], "score": r["score"]} for r in scored.head(top).to_dict("records")],
        "columns": shown.columns,  # names here are masked in LLM mode (assistant.pii)
        "rows": [list(r) for r in shown.rows],
    }
    artifacts = [art]
    if meta["metrics"].get("deciles"):
        lift = pd.DataFrame(meta["metrics"]["deciles"])[["decile", "lift", "capture", "rate"]]
        lift_table, lift_art = _table(ctx, lift, "Lift by score decile (validation)")
        chart = _chart(ctx, lift_table, lift_art, "Lift by score decile", "decile", "lift")
        artifacts += [lift_art, *chart]
    return ToolOutput(text="\n".join(lines), artifacts=artifacts, data=data)


def clv_output(
    ctx: ToolContext, orders_table: str, horizon_days: int = 365, calibration_end: str | None = None
) -> ToolOutput:
    # lazy: scipy, pandas, numpy load slowly; only this path needs them
    from tools.clv import fit_clv

    res = fit_clv(
        ctx.warehouse,
        orders_table,
        calibration_end=_parse_date(calibration_end, "calibration_end"),
        horizon_days=horizon_days,
        progress=report_progress,
    )
    cust = res.customers.sort_values("clv", ascending=False)
    cols = ["customer_id", "x", "p_alive", "expected_purchases", "expected_spend", "clv"]
    _, art = _table(ctx, cust[cols].round(4), f"Predicted {res.horizon_days}-day CLV")
    d = res.to_dict()
    p = d["params"]
    text = (
        f"BG/NBD r={p['r']:.3f}, alpha={p['alpha']:.3f}, a={p['a']:.3f}, b={p['b']:.3f} on "
        f"{d['customers']:,} customers through {d['calibration_end']}. Mean P(alive) "
        f"{d['mean_p_alive']:.2f}; expected {d['expected_purchases_total']:,.0f} orders and "
        f"{d['expected_clv_total']:,.0f} revenue in the next {res.horizon_days} days."
    )
    if res.holdout:
        h = res.holdout
        text += (
            f" Holdout: predicted {h['predicted_total']:,.0f} vs actual "
            f"{h['actual_total']:,.0f} orders, MAE {h['mae']:.2f}."
        )
    text += "\nTop customers by CLV:\n" + "\n".join(
        f"- {int(r.customer_id) if isinstance(r.customer_id, float) else r.customer_id}: "
        f"CLV {r.clv:,.0f}, P(alive) {r.p_alive:.2f}"
        for r in cust.head(10).itertuples()
    )
    return ToolOutput(text=text, artifacts=[art], data=d)


@mara_tool(
    scope="data:read",
    examples=[
        "segment our customers with RFM",
        "who are our champions",
        "which customers are at risk",
        "show me the RFM segments",
        "how many loyal customers do we have",
        "which customers are about to sleep",
        "break customers into recency frequency monetary segments",
        "who are our best customers",
        "which customers can't we lose",
    ],
)
def rfm_segments(
    ctx: ToolContext,
    orders_table: str = "orders",
    customer_col: str | None = None,
    date_col: str | None = None,
    amount_col: str | None = None,
) -> ToolOutput:
    """Segment customers by Recency, Frequency and Monetary value (RFM).

    Returns the 11 standard segments (Champions, Loyal, Potential Loyalist, New, Promising,
    Need Attention, About to Sleep, At Risk, Can't Lose Them, Hibernating, Lost) with
    customer counts, revenue share and descriptions, plus each customer's scores.
    Columns are detected from the orders table unless given.
    """
    return rfm_output(ctx, orders_table, customer_col, date_col, amount_col)


@mara_tool(
    scope="data:read",
    examples=[
        "cluster our customers",
        "find behavioural clusters of customers",
        "group customers by behaviour",
        "what kinds of customers do we have",
        "segment customers with k-means",
    ],
)
def cluster_customers(ctx: ToolContext, table: str = "orders", k: int | None = None) -> ToolOutput:
    """Group customers into behavioural clusters (k chosen automatically unless given).

    `table` is an orders table (behaviour per customer) or a table of customer features.
    Each cluster gets a generated name and what distinguishes it.
    """
    return cluster_output(ctx, table, k)


@mara_tool(
    scope="data:read",
    examples=[
        "which customers are likely to churn next quarter",
        "predict churn",
        "who is going to stop buying",
        "churn risk scores for our customers",
        "which customers will buy again in the next 90 days",
        "purchase propensity model",
        "who is likely to purchase next month",
    ],
)
def predict_churn(
    ctx: ToolContext,
    orders_table: str = "orders", horizon_days: int = 90, label: str = "churn"
) -> ToolOutput:
    """Train a churn (or purchase) propensity model from order history and score customers.

    label: "churn" (no order in the next `horizon_days`) or "purchase" (an order in them).
    Reports validation AUC against a logistic-regression baseline, lift, top drivers and the
    customers with the highest scores; the model is saved for later scoring.
    """
    # lazy: pandas, numpy load slowly; only this path needs them
    from tools.propensity import models_path
    from tools.propensity_events import train_propensity_events

    if label not in ("churn", "purchase"):
        raise ToolInputError(f"label must be 'churn' or 'purchase' (got {label!r}).")
    meta = train_propensity_events(
        ctx.warehouse,
        orders_table,
        "churn" if label == "churn" else "purchase",
        horizon_days,
        models_dir=models_path(ctx.settings.home),
        progress=report_progress,
    )
    return model_output(ctx, meta)


@mara_tool(
    scope="data:read",
    examples=[
        "train a model to predict the opted_in column",
        "which rows are likely to convert",
        "build a propensity model on the leads table",
    ],
    route_offline=False,  # the offline planner does not start it from a message
)
def train_propensity(ctx: ToolContext, table: str, target: str, exclude: list[str] | None = None) -> ToolOutput:
    """Train a propensity model on a table with a yes/no `target` column and score its rows.

    ID-like and leaking columns are excluded automatically (`exclude` adds more).
    """
    # lazy: pandas, numpy load slowly; only this path needs them
    from tools.propensity import models_path, train_propensity_table

    meta = train_propensity_table(
        ctx.warehouse, table, target, exclude, models_dir=models_path(ctx.settings.home)
    )
    return model_output(ctx, meta)


@mara_tool(
    scope="data:read",
    examples=[
        "what is the lifetime value of our customers",
        "predict customer lifetime value",
        "clv for the next year",
        "which customers are still alive",
        "expected future revenue per customer",
        "probability alive",
    ],
)
def customer_lifetime_value(
    ctx: ToolContext,
    orders_table: str = "orders", horizon_days: int = 365, calibration_end: str | None = None
) -> ToolOutput:
    """Predict each customer's lifetime value, expected orders and probability of being alive.

    Fits BG/NBD (purchases) and Gamma-Gamma (spend) on the order history. With
    `calibration_end` (YYYY-MM-DD) later orders are a holdout to check the predictions.
    """
    return clv_output(ctx, orders_table, horizon_days, calibration_end)


@mara_tool(
    scope="data:read",
    examples=[
        "save the at risk customers as an audience",
        "create an audience of the top 500 churn risks",
        "save these customers as a segment called winback",
    ],
    route_offline=False,  # the offline planner does not start it from a message
)
def save_audience(
    ctx: ToolContext,
    name: str,
    rfm_segments: list[str] | None = None,
    model_id: str | None = None,
    top: int | None = None,
    threshold: float | None = None,
    active_days: int | None = None,
    sql: str | None = None,
    cluster: str | None = None,
    cluster_table: str = "orders",
    orders_table: str = "orders",
) -> ToolOutput:
    """Save a named audience for copy and export, and report its size.

    Give exactly one rule: `rfm_segments` (e.g. ["At Risk", "Can't Lose Them"], computed over
    `orders_table`), `model_id`
    with `top` (N best) and/or `threshold` (min score) and optionally `active_days` (only
    customers who ordered in the last N days, as a churn answer's headline counts), `sql` (a read-only SELECT whose
    first column is the customer id), or `cluster` (a cluster number or name from
    cluster_customers on `cluster_table`). Saving again under the same name replaces it.
    """
    # lazy: pandas, numpy load slowly; only this path needs them
    from tools.audiences import save_audience as save

    rules = [r for r in (rfm_segments, model_id, sql, cluster) if r]
    if len(rules) != 1:
        raise ToolInputError("Give exactly one rule: rfm_segments, model_id, sql or cluster.")
    params: dict[str, Any]
    if rfm_segments:
        kind, params = "rfm_segment", {"segments": rfm_segments, "orders_table": orders_table}
    elif cluster:
        kind, params = "cluster", {"cluster": cluster, "table": cluster_table}
    elif model_id:
        kind, params = "model", {"model_id": model_id, "top": top, "threshold": threshold}
        if active_days is not None:
            params["active_days"] = active_days
    else:
        kind, params = "query", {"sql": sql}
    audience = save(ctx.warehouse, ctx.settings.home, name, kind, params)
    return ToolOutput(
        text=f"Saved audience '{audience.name}' ({kind}): {audience.size:,} customers.",
        data=audience.to_dict(),
    )


def modeling_tools(ctx: ToolContext) -> list[Callable[..., ToolOutput]]:
    """The segmentation, propensity and CLV tools bound to ``ctx``."""
    return bound_tools(ctx, __name__)
