"""``mara segment|model|clv|audience``: segments, propensity models, CLV and saved audiences.

Mounted by :mod:`assistant.cli` (``app.add_typer(segment_app, name="segment")`` etc.). With
``--json`` each command prints one JSON document on stdout; progress (rich progress bars on a
terminal, one line per step otherwise) goes to stderr. User errors are
:class:`~foundation.errors.MaraError` subclasses that the main CLI prints as one line, with a
non-zero exit code; a failing command writes nothing (no model, audience or export file).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from foundation.errors import ToolInputError

segment_app = typer.Typer(
    help="Customer segments: RFM and behavioural clusters.", no_args_is_help=True
)
model_app = typer.Typer(help="Propensity models: train, list and score.", no_args_is_help=True)
clv_app = typer.Typer(help="Customer lifetime value (BG/NBD + Gamma-Gamma).", no_args_is_help=True)
audience_app = typer.Typer(
    help="Saved audiences: create from a segment, cluster, model score or SQL; list, show, "
    "refresh, export.",
    no_args_is_help=True,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
CustomerCol = Annotated[str | None, typer.Option("--customer-col", help="Customer id column.")]
DateCol = Annotated[str | None, typer.Option("--date-col", help="Order date column.")]
AmountCol = Annotated[str | None, typer.Option("--amount-col", help="Order amount column.")]


def _settings() -> Any:
    # lazy: pydantic, pydantic_settings load slowly; only this path needs them
    from foundation.settings import get_settings

    return get_settings()


def _warehouse() -> Any:
    # lazy: sqlglot loads slowly; only this path needs it
    from tools.warehouse import open_warehouse

    return open_warehouse(_settings())


def _progress(message: str) -> None:
    sys.stderr.write(f"… {message}\n")
    sys.stderr.flush()


@contextlib.contextmanager
def _steps(title: str, total: int | None = None) -> Iterator[Callable[[str], None]]:
    """A progress bar on stderr for a long step; yields ``step(message)`` that advances it.

    ``total`` is the number of ``step`` calls expected (None: an indeterminate bar with the
    elapsed time). Without a terminal, each step is one plain line on stderr instead.
    """
    # lazy: rich loads slowly; only this path needs it
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        _progress(title)
        yield _progress
        return
    # lazy: rich loads slowly; only this path needs it
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(title, total=total)

        def step(message: str) -> None:
            bar.update(task, advance=1 if total else 0, description=f"{title}: {message}")

        yield step
        bar.update(task, completed=total or 1, total=total or 1)


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
    # lazy: pandas, numpy, sqlglot load slowly; only this path needs them
    from tools.segments import rfm_segments

    with _steps(f"RFM on {orders}"):
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
    # lazy: pandas, numpy, sqlglot load slowly; only this path needs them
    from tools.segments import cluster_customers

    with _steps(f"clustering {table}"):
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
    # lazy: pandas, numpy, sqlglot load slowly; only this path needs them
    from tools.propensity import models_path

    home = models_path(_settings().home)
    if table and target and not orders:
        # lazy: pandas, numpy, sqlglot load slowly; only this path needs them
        from tools.propensity import train_propensity_table

        with _steps(f"training on {table} for {target}"):
            meta = train_propensity_table(_warehouse(), table, target, exclude, models_dir=home)
    elif orders and not table:
        # lazy: pandas, numpy, sqlglot load slowly; only this path needs them
        from tools.propensity_events import train_propensity_events

        if label not in ("purchase", "churn"):
            raise ToolInputError(f"--label must be purchase or churn (got {label!r}).")
        if horizon_days <= 0:
            raise ToolInputError(
                f"--horizon-days must be a positive number of days (got {horizon_days}).",
                hint="Accepted: 7 to 730, e.g. --horizon-days 90.",
            )
        when = _date(cutoff, "--cutoff")
        with _steps(f"training a {label} model on {orders}", total=4) as step:
            meta = train_propensity_events(
                _warehouse(),
                orders,
                "churn" if label == "churn" else "purchase",
                horizon_days,
                when,
                customer_col=customer_col,
                date_col=date_col,
                amount_col=amount_col,
                models_dir=home,
                progress=step,
            )
    else:
        raise ToolInputError(
            "Give either --table T --target COL or --orders T --label purchase|churn."
        )
    m, b = meta["metrics"], meta["baseline"]
    checked = (
        f"AUC {m['auc']:.3f}, PR-AUC {m['pr_auc']:.3f}, top-decile lift "
        f"{m['lift_top_decile']:.2f}"
        + (f"; {b['model']} AUC {b['auc']:.3f}" if b.get("auc") is not None else "")
        if m.get("auc") is not None
        else "no out-of-time check possible"
    )
    stated = (meta.get("eligibility") or {}).get("statement") or []
    how = [f"How: {meta['method_text']}"] if meta.get("method_text") else []
    _emit(
        meta,
        as_json,
        f"Saved {meta['model_id']} ({meta['model']}): {checked}\n"
        + "\n".join([*stated, *how, *(d["text"] for d in meta["drivers"])]),
    )


@model_app.command("list")
def model_list(as_json: JsonFlag = False) -> None:
    """Saved models, newest first."""
    # lazy: pandas, numpy, sqlglot load slowly; only this path needs them
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
    # lazy: pandas, numpy, sqlglot load slowly; only this path needs them
    from tools.propensity import models_path
    from tools.propensity_scoring import score

    with _steps(f"scoring with {model_id}"):
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
    horizon_days: Annotated[int, typer.Option("--horizon-days", help="CLV horizon in days.")] = 365,
    as_json: JsonFlag = False,
) -> None:
    """Fit BG/NBD + Gamma-Gamma: purchase rate, P(alive), expected orders and CLV."""
    # lazy: scipy, pandas, numpy load slowly; only this path needs them
    from tools.clv import fit_clv

    end = _date(calibration_end, "--calibration-end")
    with _steps(f"fitting BG/NBD + Gamma-Gamma on {orders}"):
        res = fit_clv(_warehouse(), orders, customer_col, date_col, amount_col, end, horizon_days)
    d = res.to_dict()
    p = d["params"]
    _emit(
        d,
        as_json,
        f"r={p['r']:.3f} alpha={p['alpha']:.3f} a={p['a']:.3f} b={p['b']:.3f}; "
        f"{d['customers']:,} customers, mean P(alive) {d['mean_p_alive']:.2f}, expected CLV "
        f"{d['expected_clv_total']:,.0f} over {res.horizon_days} days",
    )


# --- audience --------------------------------------------------------------------------------


def _home() -> Path:
    return Path(_settings().home)


def _audience_line(a: Any) -> str:
    return f"{a.name:<28} {a.kind:<12} {a.size:>9,}  refreshed {a.refreshed}"


def _split(values: list[str] | None) -> list[str] | None:
    out = [v.strip() for value in values or [] for v in value.split(",") if v.strip()]
    return out or None


@audience_app.command("list")
def audience_list(as_json: JsonFlag = False) -> None:
    """Saved audiences with their rule and size."""
    # lazy: pandas, numpy, sqlglot load slowly; only this path needs them
    from tools.audiences import list_audiences

    audiences = list_audiences(_home())
    _emit(
        [a.to_dict() for a in audiences],
        as_json,
        "\n".join(_audience_line(a) for a in audiences)
        or "No saved audiences. Create one with 'mara audience create'.",
    )


@audience_app.command("create")
def audience_create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Audience name.")],
    rfm_segment: Annotated[
        list[str] | None,
        typer.Option("--rfm-segment", help="RFM segment to include (repeatable), e.g. 'At Risk'."),
    ] = None,
    orders: Annotated[
        str, typer.Option("--orders", help="Orders table for --rfm-segment.")
    ] = "orders",
    cluster: Annotated[
        str | None, typer.Option("--cluster", help="Cluster number or name (see segment cluster).")
    ] = None,
    k: Annotated[int | None, typer.Option("--k", help="Number of clusters for --cluster.")] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Saved model id: members by score.")
    ] = None,
    top: Annotated[int | None, typer.Option("--top", help="With --model: the N best.")] = None,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="With --model: minimum score (0-1).")
    ] = None,
    active_days: Annotated[
        int | None,
        typer.Option("--active-days", help="With --model: only customers who ordered in the last N days "
                     "of the data (as the churn answer's headline counts them)."),
    ] = None,
    table: Annotated[
        str | None,
        typer.Option("--table", help="Table for --cluster (default orders) or --model scoring."),
    ] = None,
    sql: Annotated[
        str | None,
        typer.Option("--sql", help="Read-only SELECT whose first column is the customer id."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Save a named audience from exactly one rule: RFM segments, a cluster, a model or SQL."""
    # lazy: pandas, numpy, sqlglot load slowly; only this path needs them
    from tools.audiences import save_audience

    rules = {
        "--rfm-segment": bool(rfm_segment),
        "--cluster": cluster is not None,
        "--model": model is not None,
        "--sql": sql is not None,
    }
    given = [flag for flag, on in rules.items() if on]
    if len(given) != 1:
        raise ToolInputError(
            f"Give exactly one rule ({'got ' + ', '.join(given) if given else 'none given'}).",
            hint="Accepted: --rfm-segment NAME (repeatable), --cluster N|NAME [--table T --k K], "
            "--model MODEL_ID --top N | --threshold X, or --sql 'SELECT customer_id ...'.",
        )
    if (top is not None or threshold is not None or active_days is not None) and model is None:
        raise ToolInputError("--top, --threshold and --active-days go with --model MODEL_ID.")
    if k is not None and cluster is None:
        raise ToolInputError("--k goes with --cluster.")
    kind: str
    params: dict[str, Any]
    if rfm_segment:
        kind, params = "rfm_segment", {"segments": rfm_segment, "orders_table": orders}
        what = f"RFM segments {', '.join(rfm_segment)}"
    elif cluster is not None:
        kind, params = "cluster", {"cluster": cluster, "table": table or "orders", "k": k}
        what = f"clustering {params['table']}"
    elif model is not None:
        if top is None and threshold is None:
            raise ToolInputError(
                "--model needs --top N (the N best) or --threshold X (minimum score)."
            )
        kind = "model"
        params = {"model_id": model, "top": top, "threshold": threshold, "table": table}
        if active_days is not None:
            params["active_days"] = active_days
        what = f"scoring with {model}"
    else:
        kind, params = "query", {"sql": sql}
        what = "running the query"
    with _steps(f"audience {name}: {what}"):
        audience = save_audience(_warehouse(), _home(), name, kind, params)
    _emit(
        audience.to_dict(),
        as_json,
        f"Saved audience {audience.name!r}: {audience.size:,} customers",
    )


@audience_app.command("show")
def audience_show(
    name: Annotated[str, typer.Argument(metavar="NAME")],
    limit: Annotated[int, typer.Option("--limit", min=0, help="Member ids to show.")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """An audience's rule, size and first member ids."""
    # lazy: pandas, numpy, sqlglot load slowly; only this path needs them
    from tools.audiences import load_audience

    audience, ids = load_audience(_home(), name)
    payload = {**audience.to_dict(), "ids": ids[:limit]}
    rule = json.dumps(audience.params, default=str)
    shown = ", ".join(str(i) for i in ids[:limit])
    more = f" … (+{len(ids) - limit:,})" if len(ids) > limit else ""
    _emit(
        payload,
        as_json,
        f"{audience.name} ({audience.kind} {rule}): {audience.size:,} customers, "
        f"refreshed {audience.refreshed}\n{shown}{more}",
    )


@audience_app.command("refresh")
def audience_refresh(
    name: Annotated[str, typer.Argument(metavar="NAME")], as_json: JsonFlag = False
) -> None:
    """Re-run an audience's rule on the current data."""
    # lazy: pandas, numpy, sqlglot load slowly; only this path needs them
    from tools.audiences import refresh_audience

    with _steps(f"refreshing audience {name}"):
        audience = refresh_audience(_warehouse(), _home(), name)
    _emit(audience.to_dict(), as_json, _audience_line(audience))


@audience_app.command("delete")
def audience_delete(
    name: Annotated[str, typer.Argument(metavar="NAME")], as_json: JsonFlag = False
) -> None:
    """Remove a saved audience."""
    # lazy: pandas, numpy, sqlglot load slowly; only this path needs them
    from tools.audiences import delete_audience

    audience = delete_audience(_home(), name)
    _emit({"deleted": audience.name}, as_json, f"Deleted audience {audience.name!r}")


@audience_app.command("export")
def audience_export(
    name: Annotated[str, typer.Argument(metavar="NAME")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    column: Annotated[
        list[str] | None,
        typer.Option("--column", help="Customers column to include (repeatable or a,b,c)."),
    ] = None,
    channel: Annotated[
        str | None,
        typer.Option("--channel", help="Keep only customers opted in to it (email, sms...)."),
    ] = None,
    customers_table: Annotated[
        str, typer.Option("--customers-table", help="Table with the customer columns.")
    ] = "customers",
    raw_csv: Annotated[
        bool,
        typer.Option(
            "--raw-csv",
            help="Write cells as they are: no ' before =,+,-,@ (for machine import, not spreadsheets).",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Write an audience to CSV with chosen columns, respecting the channel's opt-in flag.

    Text cells starting with =, +, -, @, tab or CR get a leading ' so spreadsheets do not run
    them as formulas; --raw-csv turns that off. The file is created owner-only (0600).
    """
    # lazy: pandas, numpy, sqlglot load slowly; only this path needs them
    from tools.audiences import export_audience

    report = export_audience(
        _warehouse(), _home(), name, out, _split(column), channel, customers_table, raw=raw_csv
    )
    left_out = (
        f", {report['excluded_no_opt_in']:,} left out (no {channel} opt-in)" if channel else ""
    )
    _emit(report, as_json, f"Wrote {report['rows']:,} rows to {report['path']}{left_out}")
