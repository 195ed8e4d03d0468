"""``mara recommend``: next best products per customer, "also bought", likely buyers; ``eval``.

``mara recommend --interactions TABLE [--customer ID] [--top N] --json`` prints
``{"rows": [{"customer", "items": [{"item", "score", "reason", "name"}]}], "model": {...}}``.
Without ``--customer`` every customer is written, streamed batch by batch so memory stays
bounded. The model is saved in the workspace and reused until ``--retrain`` (or other columns
or method). ``mara recommend eval`` compares the methods (HR@10, NDCG@10, coverage).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from foundation.errors import ToolInputError

recommend_app = typer.Typer(
    help="Product recommendations: per customer (mara recommend --interactions T), and eval.",
    invoke_without_command=True,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
Interactions = Annotated[str | None, typer.Option("--interactions", help="Interaction table (order lines, orders with a product, ratings, events).")]
CustomerCol = Annotated[str | None, typer.Option("--customer-col", help="Customer id column.")]
ItemCol = Annotated[str | None, typer.Option("--item-col", help="Product column.")]
DateCol = Annotated[str | None, typer.Option("--date-col", help="Date column (recency, splits).")]
Method = Annotated[str | None, typer.Option("--method", help="auto (validated choice), popularity, itemknn, ease, als, bpr or content; default: the saved model, else auto.")]


def _settings() -> Any:
    # lazy: pydantic, pydantic_settings load slowly; only this path needs them
    from foundation.settings import get_settings

    return get_settings()


def _progress(message: str) -> None:
    sys.stderr.write(f"… {message}\n")
    sys.stderr.flush()


def _write(text: str) -> None:
    sys.stdout.write(text)


def _dumps(value: Any) -> str:
    return json.dumps(value, default=lambda v: v.isoformat() if hasattr(v, "isoformat") else
                      (v.item() if hasattr(v, "item") else str(v)), ensure_ascii=False)


def _need(interactions: str | None) -> str:
    if not interactions:
        raise ToolInputError("Name the interaction table with --interactions TABLE (e.g. order_items).",
                             hint="See 'mara data tables' for the tables.")
    return interactions


@recommend_app.callback()
def recommend_command(
    ctx: typer.Context,
    interactions: Interactions = None,
    customer_col: CustomerCol = None,
    item_col: ItemCol = None,
    date_col: DateCol = None,
    customer: Annotated[list[str] | None, typer.Option("--customer", help="Customer id (repeatable); default every customer.")] = None,
    top: Annotated[int, typer.Option("--top", help="Products per customer.")] = 10,
    include_purchased: Annotated[bool, typer.Option("--include-purchased", help="Allow products the customer already has (consumables).")] = False,
    also_bought: Annotated[str | None, typer.Option("--also-bought", help="Product id or name: what its buyers also bought.")] = None,
    likely_buyers: Annotated[str | None, typer.Option("--likely-buyers", help="Product id or name: customers most likely to buy it.")] = None,
    audience: Annotated[str | None, typer.Option("--audience", help="Saved audience: the products to feature to it.")] = None,
    save_audience: Annotated[str | None, typer.Option("--save-audience", help="With --likely-buyers: save the top customers as this audience.")] = None,
    method: Method = None,
    retrain: Annotated[bool, typer.Option("--retrain", help="Fit a new model even if one is saved.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Each customer's top-N products they do not have yet, with a reason."""
    if ctx.invoked_subcommand is not None:
        return
    # lazy: numpy, scipy, pandas load slowly; only this path needs them
    from tools.recommendations import also_bought as also
    from tools.recommendations import featured_for, get_recommender, recommend, write_all_json
    from tools.recommendations import likely_buyers as likely
    from tools.warehouse import open_warehouse

    table = _need(interactions)
    settings = _settings()
    warehouse = open_warehouse(settings)
    model = get_recommender(warehouse, settings.home, table, customer_col, item_col, date_col, method=method,
                            retrain=retrain, progress=_progress)
    meta = {k: v for k, v in model.meta.items() if k != "spec"}
    if also_bought or likely_buyers or audience:
        payload: dict[str, Any]
        if also_bought:
            payload = also(model, also_bought, top)
            human = f"Customers who bought {payload['name']} ({payload['buyers']:,}) also bought:\n" + "\n".join(
                f"  {r['name']}: {r['customers']:,} ({r['share']:.0%})" for r in payload["also_bought"])
        elif likely_buyers:
            payload = likely(model, likely_buyers, top)
            if save_audience:
                # lazy: audiences import the modelling stack; only this path needs it
                from tools.audiences import save_audience as save

                saved = save(warehouse, settings.home, save_audience, "likely_buyers",
                             {"interactions": table, "item": likely_buyers, "top": top})
                payload["audience"] = saved.to_dict()
            human = f"Most likely to buy {payload['name']}:\n" + "\n".join(
                f"  {r['customer']}: {r['score']:.3f}" for r in payload["rows"])
        else:
            # lazy: audiences import the modelling stack; only this path needs it
            from tools.audiences import load_audience

            _, ids = load_audience(settings.home, str(audience))
            payload = featured_for(model, ids, top, home=settings.home)
            human = f"Products to feature to {audience} ({payload['members']:,} members):\n" + "\n".join(
                f"  {r['name']}: top-10 pick for {r['customers']:,} ({r['share']:.0%})" for r in payload["items"])
        payload["model"] = meta
        _write((_dumps(payload) if as_json else human) + "\n")
        return
    if as_json and not customer:  # every customer, streamed a batch at a time (bounded memory)
        _write('{"rows": [')
        write_all_json(model, _write, top, include_purchased=include_purchased, home=settings.home)
        _write('], "model": ' + _dumps(meta) + "}\n")
        return
    batches = recommend(model, customer or None, top, include_purchased=include_purchased, home=settings.home)
    if as_json:
        rows = [_dumps(row) for batch in batches for row in batch]
        _write('{"rows": [' + ",\n".join(rows) + '], "model": ' + _dumps(meta) + "}\n")
        return
    _write(f"Model: {meta['method']} on {meta['table']} ({meta['customers']:,} customers, {meta['items']:,} products)\n")
    for batch in batches:
        for row in batch:
            cold = " (no history: popular products)" if row.get("cold_start") else ""
            _write(f"{row['customer']}{cold}:\n" + "".join(
                f"  {i['name']} — {i['reason']}\n" for i in row["items"]))


@recommend_app.command("eval")
def eval_command(
    interactions: Interactions = None,
    customer_col: CustomerCol = None,
    item_col: ItemCol = None,
    date_col: DateCol = None,
    method: Annotated[list[str] | None, typer.Option("--method", help="Methods to compare (repeatable); default all.")] = None,
    max_customers: Annotated[int, typer.Option("--max-customers", help="Customers tested per split (sampled).")] = 5_000,
    as_json: JsonFlag = False,
) -> None:
    """HR@10, NDCG@10 and coverage of each method (leave-last-out and out-of-time)."""
    # lazy: numpy, scipy, pandas load slowly; only this path needs them
    from tools.recommendations import EVAL_METHODS, evaluate
    from tools.warehouse import open_warehouse

    table = _need(interactions)
    result = evaluate(open_warehouse(_settings()), table, customer_col, item_col, date_col,
                      methods=method or EVAL_METHODS, max_customers=max_customers, progress=_progress)
    if as_json:
        _write(_dumps(result) + "\n")
        return
    lines = [f"{table}: {result['customers']:,} customers, {result['items']:,} products, "
             f"{result['interactions']:,} interactions"]
    for split, figures in result["splits"].items():
        if "skipped" in figures:
            lines.append(f"{split}: skipped ({figures['skipped']})")
            continue
        lines.append(f"{split} ({figures['customers_tested']:,} customers tested):")
        lines.append(f"  {'method':<12} {'HR@10':>7} {'NDCG@10':>8} {'coverage':>9}")
        for name, m in figures["methods"].items():
            if "skipped" in m:
                lines.append(f"  {name:<12} skipped: {m['skipped']}")
            else:
                chosen = f"  ({m['chosen']})" if m.get("chosen") else ""
                lines.append(f"  {name:<12} {m['hr@10']:>7.3f} {m['ndcg@10']:>8.3f} {m['coverage']:>9.1%}{chosen}")
    _write("\n".join(lines) + "\n")
