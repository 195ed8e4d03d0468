"""The ``recommend_products`` tool: thin wrapper over :mod:`tools.recommendations`.

Its own module because it reads audiences and RFM segments (for "what to feature to our
Champions"), and :mod:`tools.audiences` uses the recommender for its ``likely_buyers`` kind
and the ``recommended_product`` export column.
"""

from __future__ import annotations

import re
from typing import Any

from foundation.errors import ToolInputError
from tools.context import ToolContext
from tools.declare import mara_tool
from tools.progress import report_progress
from tools.results import ToolOutput, table_artifact
from tools.warehouse import QueryResult

ASKS = ("next", "also_bought", "likely_buyers", "feature")


def interaction_table(source: Any) -> str:
    """The table to learn from when none is named: order lines first, then any table with a
    customer (direct or joined) and a product column."""
    # lazy: pandas loads slowly; only this path needs it (not every chat turn's tool registry)
    from tools.model_data import open_source
    from tools.recommend_data import resolve_interactions

    with open_source(source) as ds:
        tables = list(ds.columns_by_table())
        ranked = sorted(tables, key=lambda t: (not re.search(r"item|line", t, re.I), not re.search(r"order|purchase|transaction|event|rating", t, re.I), t))
        for table in ranked:
            try:
                resolve_interactions(ds, table)
            except ToolInputError:
                continue
            return table
    raise ToolInputError("No table has both a customer and a product per row (order lines, ratings, events).",
                         hint="Load order lines with a product column, or name the table.")


def _table(ctx: ToolContext, columns: list[str], rows: list[tuple[Any, ...]], title: str) -> dict[str, Any]:
    result = QueryResult(columns=columns, rows=rows)
    return table_artifact(result, ctx.artifacts.save_table(result, title=title), title)


@mara_tool(
    scope="data:read",
    examples=[
        "what should we recommend to customer 42",
        "recommend the next best product to each customer",
        "personalised product recommendations",
        "which products should we recommend to our Champions",
        "recommend products to our at-risk customers",
        "frequently bought together recommendations",
        "cross-sell recommendations",
        "who should we target with a recommendation for the Summit sleeping pad",
        "what products to feature in the email to loyal customers",
    ],
)
def recommend_products(
    ctx: ToolContext,
    ask: str = "next",
    customer: str | None = None,
    product: str | None = None,
    segment: str | None = None,
    audience: str | None = None,
    interactions: str | None = None,
    top: int = 10,
    include_purchased: bool = False,
) -> ToolOutput:
    """Recommend products from purchase history (collaborative filtering + product attributes).

    ask: "next" (each customer's top products they do not have yet, or one `customer`'s),
    "also_bought" (customers who bought `product` also bought...), "likely_buyers" (customers
    most likely to buy `product`), "feature" (products to feature to an RFM `segment` such as
    "Champions", or a saved `audience`). `product` is an id or a name ("tent" means every tent).
    `interactions` is the table to learn from (found automatically: order lines, ratings...).
    Already-bought products are excluded unless `include_purchased`. The model is chosen by
    validation on the data and saved in the workspace.
    """
    # lazy: numpy, scipy, pandas load slowly; only this path needs them
    from tools.audiences import load_audience, members
    from tools.recommendations import (
        also_bought,
        featured_for,
        get_recommender,
        likely_buyers,
        recommend,
    )

    if ask not in ASKS:
        raise ToolInputError(f"ask must be one of {', '.join(ASKS)} (got {ask!r}).")
    if ask in ("also_bought", "likely_buyers") and not product:
        raise ToolInputError(f"ask={ask} needs a product (an id or a name).")
    home = ctx.settings.home
    table = interactions or interaction_table(ctx.warehouse)
    model = get_recommender(ctx.warehouse, home, table, progress=report_progress)
    how = (f"Model: {model.meta['method']} on {table} ({model.meta['customers']:,} customers, "
           f"{model.meta['items']:,} products).")
    data: dict[str, Any] = {"ask": ask, "table": table, "method": model.meta["method"],
                            "validation": model.meta.get("validation", {})}
    if ask == "also_bought":
        res = also_bought(model, product, top)
        rows = [(r["name"], r["customers"], r["share"]) for r in res["also_bought"]]
        art = _table(ctx, ["product", "customers", "share_of_buyers"], rows, f"Also bought with {res['name']}")
        lines = [f"Customers who bought {res['name']} ({res['buyers']:,} customers) also bought:"]
        lines += [f"- {n}: {c:,} of them ({s:.0%})" for n, c, s in rows]
        return ToolOutput("\n".join([*lines, how]), [art], data=data | res)
    if ask == "likely_buyers":
        res = likely_buyers(model, product, max(top, 100))
        art = _table(ctx, ["customer_id", "score"], [(r["customer"], r["score"]) for r in res["rows"]],
                     f"Likely to buy {res['name']}")
        shown = ", ".join(str(r["customer"]) for r in res["rows"][:top])
        text = (f"The {len(res['rows']):,} customers most likely to buy {res['name']} (who have not bought it): "
                f"{shown}{'…' if len(res['rows']) > top else ''}. Save them with mara recommend --likely-buyers "
                f"\"{product}\" --save-audience NAME.\n{how}")
        return ToolOutput(text, [art], data=data | {"name": res["name"], "rows": res["rows"][:top]})
    if ask == "feature":
        if audience:
            _, ids = load_audience(home, audience)
            group = f"audience {audience}"
        elif segment:
            ids = members(ctx.warehouse, "rfm_segment", {"segments": [segment]}, home)
            group = f"{segment} (RFM)"
        else:
            raise ToolInputError("ask=feature needs an RFM segment (e.g. Champions) or a saved audience.")
        res = featured_for(model, ids, top, home=home)
        rows = [(r["name"], r["customers"], r["share"]) for r in res["items"]]
        art = _table(ctx, ["product", "customers_with_it_in_top_10", "share"], rows, f"Products to feature to {group}")
        lines = [f"Products to feature to {group} ({res['members']:,} customers; share with it in their top 10):"]
        lines += [f"- {n}: {s:.0%}" for n, _, s in rows]
        return ToolOutput("\n".join([*lines, how]), [art], data=data | res)
    customers = [customer] if customer else None
    out_rows: list[tuple[Any, ...]] = []
    first: list[dict[str, Any]] = []
    for batch in recommend(model, customers, top, include_purchased=include_purchased, home=home):
        for row in batch:
            if len(first) < 5:
                first.append(row)
            if len(out_rows) < 200_000:
                out_rows += [(row["customer"], rank + 1, i["name"], round(i["score"], 4), i["reason"])
                             for rank, i in enumerate(row["items"])]
    art = _table(ctx, ["customer_id", "rank", "product", "score", "reason"], out_rows, "Recommended products")
    lines = []
    for row in first:
        cold = " — no purchase history yet, so the most popular products" if row.get("cold_start") else ""
        lines.append(f"Customer {row['customer']}{cold}:")
        lines += [f"- {i['name']} ({i['reason']})" for i in row["items"][:top]]
    return ToolOutput("\n".join([*lines, how]), [art], data=data | {"rows": first})
