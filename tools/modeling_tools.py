"""Agent tools for segments, propensity and lifetime value (thin wrappers over the plain functions).

Each tool returns a :class:`~tools.results.ToolOutput`: compact text for the model, a table
artifact for people (the full per-customer or per-segment table as CSV) and ``data`` with the
key numbers for the offline planner.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from assistant.errors import ToolInputError
from tools.context import ToolContext
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
    from assistant.errors import MaraError
    from tools.charts import chart_spec, save_chart

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


def model_output(ctx: ToolContext, meta: dict[str, Any], top: int = 20) -> ToolOutput:
    import pandas as pd

    from tools.propensity import models_path, score

    m, b = meta["metrics"], meta["baseline"]
    rows = score(ctx.warehouse, models_path(ctx.settings.home), meta["model_id"], top=None)
    frame = pd.DataFrame(rows)
    result, art = _table(ctx, frame, f"{meta.get('label') or meta.get('target')} scores")
    what = (
        f"{meta['label']} in the next {meta['horizon_days']} days"
        if meta["kind"] == "events"
        else f"{meta['target']} = {meta['positive_class']}"
    )
    lines = [
        f"Model {meta['model_id']} predicts {what} ({meta['model']}).",
        f"Validation: AUC {m['auc']:.3f}, PR-AUC {m['pr_auc']:.3f}, top-decile lift "
        f"{m['lift_top_decile']:.2f} (captures {m['capture_top_decile']:.0%} of positives); "
        f"{b['model']} baseline AUC {b['auc']:.3f}.",
        "Top drivers: " + "; ".join(d["text"] for d in meta["drivers"][:5]),
        *meta["notes"],
        f"Highest scores: {render_table(QueryResult(result.columns, result.rows[:top]))}",
    ]
    data = {k: meta[k] for k in ("model_id", "kind", "model", "metrics", "baseline", "drivers")}
    data["top"] = rows[:top]
    lift = pd.DataFrame(m["deciles"])[["decile", "lift", "capture", "rate"]]
    lift_table, lift_art = _table(ctx, lift, "Lift by score decile (validation)")
    chart = _chart(ctx, lift_table, lift_art, "Lift by score decile", "decile", "lift")
    return ToolOutput(text="\n".join(lines), artifacts=[art, lift_art, *chart], data=data)


def clv_output(
    ctx: ToolContext, orders_table: str, horizon_days: int = 365, calibration_end: str | None = None
) -> ToolOutput:
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


def modeling_tools(ctx: ToolContext) -> list[Callable[..., ToolOutput]]:
    """The segmentation, propensity and CLV tools bound to ``ctx``."""

    def rfm_segments(
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

    def cluster_customers(table: str = "orders", k: int | None = None) -> ToolOutput:
        """Group customers into behavioural clusters (k chosen automatically unless given).

        `table` is an orders table (behaviour per customer) or a table of customer features.
        Each cluster gets a generated name and what distinguishes it.
        """
        return cluster_output(ctx, table, k)

    def predict_churn(
        orders_table: str = "orders", horizon_days: int = 90, label: str = "churn"
    ) -> ToolOutput:
        """Train a churn (or purchase) propensity model from order history and score customers.

        label: "churn" (no order in the next `horizon_days`) or "purchase" (an order in them).
        Reports validation AUC against a logistic-regression baseline, lift, top drivers and the
        customers with the highest scores; the model is saved for later scoring.
        """
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

    def train_propensity(table: str, target: str, exclude: list[str] | None = None) -> ToolOutput:
        """Train a propensity model on a table with a yes/no `target` column and score its rows.

        ID-like and leaking columns are excluded automatically (`exclude` adds more).
        """
        from tools.propensity import models_path, train_propensity_table

        meta = train_propensity_table(
            ctx.warehouse, table, target, exclude, models_dir=models_path(ctx.settings.home)
        )
        return model_output(ctx, meta)

    def customer_lifetime_value(
        orders_table: str = "orders", horizon_days: int = 365, calibration_end: str | None = None
    ) -> ToolOutput:
        """Predict each customer's lifetime value, expected orders and probability of being alive.

        Fits BG/NBD (purchases) and Gamma-Gamma (spend) on the order history. With
        `calibration_end` (YYYY-MM-DD) later orders are a holdout to check the predictions.
        """
        return clv_output(ctx, orders_table, horizon_days, calibration_end)

    def save_audience(
        name: str,
        rfm_segments: list[str] | None = None,
        model_id: str | None = None,
        top: int | None = None,
        threshold: float | None = None,
        sql: str | None = None,
        cluster: str | None = None,
        cluster_table: str = "orders",
    ) -> ToolOutput:
        """Save a named audience for copy and export, and report its size.

        Give exactly one rule: `rfm_segments` (e.g. ["At Risk", "Can't Lose Them"]), `model_id`
        with `top` (N best) and/or `threshold` (min score), `sql` (a read-only SELECT whose
        first column is the customer id), or `cluster` (a cluster number or name from
        cluster_customers on `cluster_table`). Saving again under the same name replaces it.
        """
        from tools.audiences import save_audience as save

        rules = [r for r in (rfm_segments, model_id, sql, cluster) if r]
        if len(rules) != 1:
            raise ToolInputError("Give exactly one rule: rfm_segments, model_id, sql or cluster.")
        params: dict[str, Any]
        if rfm_segments:
            kind, params = "rfm_segment", {"segments": rfm_segments}
        elif cluster:
            kind, params = "cluster", {"cluster": cluster, "table": cluster_table}
        elif model_id:
            kind, params = "model", {"model_id": model_id, "top": top, "threshold": threshold}
        else:
            kind, params = "query", {"sql": sql}
        audience = save(ctx.warehouse, ctx.settings.home, name, kind, params)
        return ToolOutput(
            text=f"Saved audience '{audience.name}' ({kind}): {audience.size:,} customers.",
            data=audience.to_dict(),
        )

    return [
        rfm_segments,
        cluster_customers,
        predict_churn,
        train_propensity,
        customer_lifetime_value,
        save_audience,
    ]
