"""``mara segment``, ``mara model`` and ``mara clv``: segments, propensity models and CLV.

Mounted by :mod:`assistant.cli` (``app.add_typer(segment_app, name="segment")`` etc.). With
``--json`` each command prints one JSON document on stdout; progress goes to stderr. User
errors are :class:`~assistant.errors.MaraError` subclasses that the main CLI prints as one line.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Annotated, Any

import typer

from assistant.errors import ToolInputError

segment_app = typer.Typer(
    help="Customer segments: RFM and behavioural clusters.", no_args_is_help=True
)
model_app = typer.Typer(help="Propensity models: train, list and score.", no_args_is_help=True)
clv_app = typer.Typer(help="Customer lifetime value (BG/NBD + Gamma-Gamma).", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
CustomerCol = Annotated[str | None, typer.Option("--customer-col", help="Customer id column.")]
DateCol = Annotated[str | None, typer.Option("--date-col", help="Order date column.")]
AmountCol = Annotated[str | None, typer.Option("--amount-col", help="Order amount column.")]


def _settings() -> Any:
    from assistant.settings import get_settings

    return get_settings()


def _warehouse() -> Any:
    from tools.warehouse import open_warehouse

    return open_warehouse(_settings())


def _progress(message: str) -> None:
    sys.stderr.write(f"… {message}\n")
    sys.stderr.flush()


def _emit(payload: Any, as_json: bool, human: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps(payload, default=_default, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(human.rstrip() + "\n")
    sys.stdout.flush()


def _default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _date(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise ToolInputError(f"{flag} must be a date like 2026-09-30 (got {value!r}).") from err


# --- segment ---------------------------------------------------------------------------------


@segment_app.command("rfm")
def segment_rfm(
    orders: Annotated[str, typer.Option("--orders", help="Orders table.")] = "orders",
    customer_col: CustomerCol = None,
    date_col: DateCol = None,
    amount_col: AmountCol = None,
    as_json: JsonFlag = False,
) -> None:
    """RFM scores and the 11 named segments with sizes and revenue share."""
    from tools.segments import rfm_segments

    _progress(f"RFM on {orders}")
    res = rfm_segments(_warehouse(), orders, customer_col, date_col, amount_col)
    lines = [
        f"{s.name:<20} {s.customers:>9,} {s.share:>7.1%} revenue {s.revenue_share:>6.1%}  "
        f"{s.description}"
        for s in res.segments
    ]
    _emit(
        res.to_dict(),
        as_json,
        f"RFM as of {res.as_of} ({res.total_customers:,} customers)\n" + "\n".join(lines),
    )


@segment_app.command("cluster")
def segment_cluster(
    table: Annotated[
        str, typer.Option("--table", help="Orders table or customer-feature table.")
    ] = "orders",
    k: Annotated[int | None, typer.Option("--k", min=2, max=20, help="Number of clusters.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Behavioural clusters with generated names and profiles."""
    from tools.segments import cluster_customers

    _progress(f"clustering {table}")
    res = cluster_customers(_warehouse(), table, k)
    lines = [
        f"{c.name:<40} {c.customers:>9,} {c.share:>7.1%}  {c.distinguishing}" for c in res.clusters
    ]
    _emit(res.to_dict(), as_json, f"{res.k} clusters ({res.chosen_by})\n" + "\n".join(lines))


# --- model -----------------------------------------------------------------------------------


@model_app.command("train")
def model_train(
    table: Annotated[str | None, typer.Option("--table", help="Labelled table.")] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="Yes/no column of --table.")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Column to leave out.")
    ] = None,
    orders: Annotated[
        str | None, typer.Option("--orders", help="Orders table (event label).")
    ] = None,
    label: Annotated[str | None, typer.Option("--label", help="purchase or churn.")] = None,
    horizon_days: Annotated[int, typer.Option("--horizon-days", help="Label window.")] = 90,
    cutoff: Annotated[str | None, typer.Option("--cutoff", help="Validation cutoff date.")] = None,
    customer_col: CustomerCol = None,
    date_col: DateCol = None,
    amount_col: AmountCol = None,
    as_json: JsonFlag = False,
) -> None:
    """Train a propensity model: --table T --target COL, or --orders T --label purchase|churn."""
    from tools.propensity import models_path

    home = models_path(_settings().home)
    if table and target and not orders:
        from tools.propensity import train_propensity_table

        _progress(f"training on {table} for {target}")
        meta = train_propensity_table(_warehouse(), table, target, exclude, models_dir=home)
    elif orders and not table:
        from tools.propensity_events import train_propensity_events

        if label not in ("purchase", "churn"):
            raise ToolInputError(f"--label must be purchase or churn (got {label!r}).")
        meta = train_propensity_events(
            _warehouse(),
            orders,
            "churn" if label == "churn" else "purchase",
            horizon_days,
            _date(cutoff, "--cutoff"),
            customer_col=customer_col,
            date_col=date_col,
            amount_col=amount_col,
            models_dir=home,
            progress=_progress,
        )
    else:
        raise ToolInputError(
            "Give either --table T --target COL or --orders T --label purchase|churn."
        )
    m, b = meta["metrics"], meta["baseline"]
    _emit(
        meta,
        as_json,
        f"Saved {meta['model_id']} ({meta['model']}): AUC {m['auc']:.3f}, "
        f"PR-AUC {m['pr_auc']:.3f}, top-decile lift {m['lift_top_decile']:.2f}; "
        f"{b['model']} AUC {b['auc']:.3f}\n" + "\n".join(d["text"] for d in meta["drivers"]),
    )


@model_app.command("list")
def model_list(as_json: JsonFlag = False) -> None:
    """Saved models, newest first."""
    from tools.propensity import list_models, models_path

    path = models_path(_settings().home)
    models = list_models(path) if path.exists() else []
    _emit(
        models,
        as_json,
        "\n".join(f"{m['model_id']}  {m['kind']}  AUC {m['auc']}" for m in models)
        or "No saved models.",
    )


@model_app.command("score")
def model_score(
    model_id: Annotated[str, typer.Argument(metavar="MODEL_ID")],
    table: Annotated[str | None, typer.Option("--table", help="Table to score.")] = None,
    top: Annotated[int | None, typer.Option("--top", min=1, help="Only the N best.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Score every row (or the top N, best first) of a table with a saved model."""
    from tools.propensity import models_path, score

    rows = score(_warehouse(), models_path(_settings().home), model_id, table, top)
    _emit(
        {"model_id": model_id, "rows": rows},
        as_json,
        "\n".join(f"{r['id']}\t{r['score']:.4f}" for r in rows),
    )


# --- clv -------------------------------------------------------------------------------------


@clv_app.command("fit")
def clv_fit(
    orders: Annotated[str, typer.Option("--orders", help="Orders table.")] = "orders",
    customer_col: CustomerCol = None,
    date_col: DateCol = None,
    amount_col: AmountCol = None,
    calibration_end: Annotated[
        str | None,
        typer.Option(
            "--calibration-end", help="Fit on orders up to this date; later ones are a holdout."
        ),
    ] = None,
    horizon_days: Annotated[int, typer.Option("--horizon-days", min=1, help="CLV horizon.")] = 365,
    as_json: JsonFlag = False,
) -> None:
    """Fit BG/NBD + Gamma-Gamma: purchase rate, P(alive), expected orders and CLV."""
    from tools.clv import fit_clv

    _progress(f"fitting BG/NBD + Gamma-Gamma on {orders}")
    res = fit_clv(
        _warehouse(),
        orders,
        customer_col,
        date_col,
        amount_col,
        _date(calibration_end, "--calibration-end"),
        horizon_days,
    )
    d = res.to_dict()
    p = d["params"]
    _emit(
        d,
        as_json,
        f"r={p['r']:.3f} alpha={p['alpha']:.3f} a={p['a']:.3f} b={p['b']:.3f}; "
        f"{d['customers']:,} customers, mean P(alive) {d['mean_p_alive']:.2f}, expected CLV "
        f"{d['expected_clv_total']:,.0f} over {res.horizon_days} days",
    )
