"""Product recommendations on tiny order-line fixtures (tools/recommendations.py and friends)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from foundation.errors import ToolInputError
from tools.recommend_data import resolve_interactions
from tools.recommendations import (
    also_bought,
    evaluate,
    fit_recommender,
    latest_recommender,
    likely_buyers,
    recommend,
)

PRODUCTS = pd.DataFrame({
    "product_id": [1, 2, 3, 4, 5, 6],
    "name": ["Ridgeline Tent", "Summit Sleeping Pad", "Ember Stove", "Merino Socks", "Glow Lantern", "Trail Map"],
    "category": ["Tents", "Sleep", "Kitchen", "Consumables", "Kitchen", "Books"],
    "price": [399.0, 89.0, 59.0, 19.0, 29.0, 9.0],
})


def _history() -> dict[str, pd.DataFrame]:
    """Tent buyers go on to buy the pad; stove buyers the lantern; everyone buys socks."""
    baskets = {}
    for c in range(1, 13):
        baskets[c] = [[1, 4], [2]] if c <= 6 else [[3, 4], [5]]
    baskets[13] = [[1, 4]]  # bought the tent, not the pad yet
    baskets[14] = [[3]]  # bought the stove, not the lantern yet
    baskets[15] = [[6], [4]]
    orders, lines = [], []
    start = date(2025, 1, 1)
    for c, visits in baskets.items():
        for k, items in enumerate(visits):
            oid = len(orders) + 1
            orders.append({"order_id": oid, "customer_id": c, "order_date": start + timedelta(days=10 * k + c),
                           "status": "completed", "total": 10.0})
            lines += [{"order_id": oid, "product_id": p, "quantity": 1} for p in items]
    return {"orders": pd.DataFrame(orders), "order_items": pd.DataFrame(lines), "products": PRODUCTS}


@pytest.fixture
def data() -> dict[str, pd.DataFrame]:
    return _history()


@pytest.fixture
def knn(data: dict[str, pd.DataFrame]):  # type: ignore[no-untyped-def]
    return fit_recommender(data, "order_items", method="itemknn", save=False, embed_names=False)


def _items(model, customer, **kw) -> list[str]:  # type: ignore[no-untyped-def]
    row = next(iter(recommend(model, [customer], 3, **kw)))[0]
    return [i["name"] for i in row["items"]]


def test_order_lines_take_their_customer_from_the_orders_table(data: dict[str, pd.DataFrame]) -> None:
    from tools.model_data import open_source

    with open_source(data) as ds:
        inter = resolve_interactions(ds, "order_items")
    assert (inter.customer, inter.joined, inter.date) == ("customer_id", "orders", "order_date")


def test_unknown_column_suggests_the_closest_name(data: dict[str, pd.DataFrame]) -> None:
    with pytest.raises(ToolInputError, match="product_id"):
        fit_recommender(data, "order_items", item_col="prodct_id", save=False)


def test_tent_buyer_is_recommended_the_pad_first(knn) -> None:  # type: ignore[no-untyped-def]
    assert _items(knn, 13)[0] == "Summit Sleeping Pad"


def test_already_bought_products_are_not_recommended(knn) -> None:  # type: ignore[no-untyped-def]
    assert "Ridgeline Tent" not in _items(knn, 13)


def test_include_purchased_allows_a_repeat(knn) -> None:  # type: ignore[no-untyped-def]
    assert "Merino Socks" in _items(knn, 13, include_purchased=True)


def test_repurchase_categories_in_semantic_yaml_keep_consumables(knn, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "semantic.yaml").write_text("recommendations:\n  repurchase_categories: [Consumables]\n")
    assert "Merino Socks" in _items(knn, 13, home=tmp_path)


def test_reason_names_the_product_they_bought(knn) -> None:  # type: ignore[no-untyped-def]
    row = next(iter(recommend(knn, [14], 1)))[0]
    assert row["items"][0]["reason"].startswith("bought Ember Stove")


def test_customer_without_history_gets_popular_products_and_is_told(knn) -> None:  # type: ignore[no-untyped-def]
    row = next(iter(recommend(knn, [999], 2)))[0]
    assert row["cold_start"] and "no purchase history" in row["items"][0]["reason"]


def test_every_customer_is_scored_when_none_is_named(knn) -> None:  # type: ignore[no-untyped-def]
    assert sum(len(batch) for batch in recommend(knn, None, 2)) == 15


def test_tent_buyers_also_bought_the_pad(knn) -> None:  # type: ignore[no-untyped-def]
    assert also_bought(knn, "tent", 1)["also_bought"][0]["name"] == "Summit Sleeping Pad"


def test_likely_buyers_of_the_pad_are_tent_buyers_without_one(knn) -> None:  # type: ignore[no-untyped-def]
    assert likely_buyers(knn, "Summit Sleeping Pad", 1)["rows"][0]["customer"] == 13


def test_one_product_only_is_a_clear_error(data: dict[str, pd.DataFrame]) -> None:
    data["order_items"]["product_id"] = 1
    with pytest.raises(ToolInputError, match="one product only"):
        fit_recommender(data, "order_items", save=False)


def test_no_repeat_customers_is_a_clear_error_and_nothing_is_saved(data: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    data["order_items"] = data["order_items"].drop_duplicates("order_id")
    data["orders"] = data["orders"].drop_duplicates("customer_id")
    with pytest.raises(ToolInputError, match="more than one product"):
        fit_recommender(data, "order_items", home=tmp_path)
    assert not list(tmp_path.rglob("*.joblib"))


def test_fitted_model_is_saved_in_the_workspace(data: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    fit_recommender(data, "order_items", method="itemknn", home=tmp_path, embed_names=False)
    model = latest_recommender(tmp_path, "order_items")
    assert model is not None and model.meta["method"] == "itemknn"


def test_saved_model_files_are_owner_only(data: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    """Purchase histories are customer data: model files are 0600 like every workspace file."""
    fit_recommender(data, "order_items", method="itemknn", home=tmp_path, embed_names=False)
    modes = {oct(p.stat().st_mode & 0o777) for p in tmp_path.rglob("recommend-*") if p.is_file()}
    assert modes == {"0o600"}


def test_auto_records_the_validation_that_chose_it(data: dict[str, pd.DataFrame]) -> None:
    model = fit_recommender(data, "order_items", save=False, embed_names=False)
    assert model.meta["validation"].get("chosen") or model.meta["validation"].get("note")


def test_eval_reports_hr_for_each_method_on_leave_last_out(data: dict[str, pd.DataFrame]) -> None:
    result = evaluate(data, "order_items", methods=["popularity", "itemknn"])
    assert set(result["splits"]["leave_last_out"]["methods"]["itemknn"]) >= {"hr@10", "ndcg@10", "coverage"}


def test_recommended_product_merge_field_falls_back_without_a_pick() -> None:
    from tools.copywriting.personalize import render_sequence

    assert render_sequence(["Try {{recommended_product}}!"], {"customer_id": 1}) == ["Try our bestsellers!"]


def test_audience_export_adds_each_members_top_pick(data: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    from tools.audiences import export_audience, save_audience

    data["customers"] = pd.DataFrame({"customer_id": [13, 14], "first_name": ["Ann", "Bo"]})
    fit_recommender(data, "order_items", method="itemknn", home=tmp_path, embed_names=False)
    save_audience(data, tmp_path, "campers", "likely_buyers", {"interactions": "order_items", "item": "pad", "top": 1})
    export_audience(data, tmp_path, "campers", tmp_path / "out.csv", columns=["customer_id", "recommended_product"])
    assert pd.read_csv(tmp_path / "out.csv").to_dict("records") == [{"customer_id": 13, "recommended_product": "Summit Sleeping Pad"}]


@pytest.mark.parametrize(("message", "expected"), [
    ("what do tent buyers buy next?", {"ask": "also_bought", "product": "tent"}),
    ("what should we recommend to customer 42", {"ask": "next", "customer": "42"}),
    ("what should we recommend to our Champions?", {"ask": "feature", "segment": "Champions"}),
    ("who is likely to buy the Ridgeline tent?", {"ask": "likely_buyers", "product": "Ridgeline tent"}),
])
def test_planner_reads_who_or_what_the_recommendation_is_for(message: str, expected: dict[str, str]) -> None:
    from assistant.planner.hooks import model_tool_args

    assert model_tool_args("recommend_products", message, "orders") == expected


def _reasons_one_by_one(model, xb, idx) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """The per-customer reason loop that the vectorised ``_reasons`` replaced (the oracle)."""
    import numpy as np

    binary = (xb > 0).astype(np.float32)
    counts = model.popularity()
    out: list[list[str]] = [[] for _ in range(xb.shape[0])]
    for r in range(xb.shape[0]):
        hist = set(xb.indices[xb.indptr[r]:xb.indptr[r + 1]].tolist())
        for col in idx[r].tolist():
            sims = binary[r].multiply(model.cooc_t()[col]).toarray()[0]
            if col in hist:
                out[r].append("bought it before: a likely repeat purchase")
            elif sims.max() > 0:
                out[r].append(f"bought {model.name(int(sims.argmax()))}; people who did often buy {model.name(col)}")
            elif counts[col] == 0:
                out[r].append("new product, similar to what they bought")
            else:
                out[r].append(f"popular: {int(counts[col]):,} customers bought it")
    return out


@pytest.mark.parametrize("include_purchased", [False, True])
def test_recommend_all_gives_the_same_rows_as_the_one_by_one_reasons(include_purchased: bool) -> None:
    import numpy as np

    from tools.recommend_methods import top_n
    from tools.recommendations import _plain

    rng = np.random.default_rng(3)
    n_customers, n_items = 300, 40
    per = 1 + rng.poisson(2, n_customers)
    lines = pd.DataFrame({"customer_id": np.repeat(np.arange(1, n_customers + 1), per),
                          "product_id": rng.integers(1, n_items + 1, int(per.sum())) * 10,
                          "order_date": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300, int(per.sum())), "D")})
    products = pd.DataFrame({"product_id": np.arange(1, n_items + 3) * 10,  # two never sold
                             "name": [f"Product {i}" for i in range(1, n_items + 3)],
                             "category": [f"Cat {i % 4}" for i in range(1, n_items + 3)]})
    model = fit_recommender({"order_lines": lines.drop_duplicates(["customer_id", "product_id"]), "products": products},
                            "order_lines", method="itemknn", save=False, embed_names=False)
    rows = [r for batch in recommend(model, None, 10, include_purchased=include_purchased) for r in batch]

    xb = model.x
    scores = model.method.score(xb, np.arange(xb.shape[0]))
    keep = np.ones(len(model.items), bool) if include_purchased else None
    if keep is not None:
        from tools.recommend_methods import scaled
        from tools.recommendations import REPEAT_BOOST

        scores = scaled(scores) + scaled(np.asarray(xb.todense(), dtype=np.float32)) * np.float32(REPEAT_BOOST)
    idx, vals = top_n(scores, 10, exclude=xb, keep_cols=keep)
    why = _reasons_one_by_one(model, xb, idx)
    expected = [{"customer": _plain(model.customers[r]),
                 "items": [{"item": _plain(model.items[c]), "name": model.name(c), "score": round(float(v), 6),
                            "reason": why[r][p]}
                           for p, (c, v) in enumerate(zip(idx[r].tolist(), vals[r].tolist(), strict=True))
                           if np.isfinite(v)]}
                for r in range(xb.shape[0])]
    assert rows == expected
    said = [i["reason"] for r in rows for i in r["items"]]
    assert any("people who did often buy" in s for s in said)
    assert any(s.startswith("bought it before") for s in said) == include_purchased


def test_scores_are_rounded_exactly_as_python_rounds_them() -> None:
    import numpy as np

    from tools.recommendations import round_like_python

    rng = np.random.default_rng(5)
    values = np.concatenate([rng.normal(0, 3, 20_000), rng.uniform(0, 1, 20_000),
                             np.arange(-2000, 2000) / 1e6 + 5e-7,  # exact half-way points in decimal
                             [0.0, -0.0, 2.6749995, 1e13 + 0.1234565, np.inf, -np.inf]])
    expected = np.array([round(float(v), 6) for v in values])
    got = round_like_python(values)
    np.testing.assert_array_equal(got.view(np.int64), expected.view(np.int64))  # the same bits, signs of zero too
