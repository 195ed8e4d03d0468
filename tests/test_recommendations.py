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


def _random_lines(n_customers: int = 300, n_items: int = 40, seed: int = 3) -> dict[str, pd.DataFrame]:
    import numpy as np

    rng = np.random.default_rng(seed)
    per = 1 + rng.poisson(2, n_customers)
    lines = pd.DataFrame({"customer_id": np.repeat(np.arange(1, n_customers + 1), per),
                          "product_id": rng.integers(1, n_items + 1, int(per.sum())) * 10,
                          "order_date": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300, int(per.sum())), "D")})
    products = pd.DataFrame({"product_id": np.arange(1, n_items + 3) * 10,
                             "name": [f"Product {i}" for i in range(1, n_items + 3)],
                             "category": [f"Cat {i % 4}" for i in range(1, n_items + 3)]})
    return {"order_lines": lines.drop_duplicates(["customer_id", "product_id"]), "products": products}


def test_large_catalogue_reasons_match_the_one_by_one_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above the dense-table size the co-purchase cosines are looked up by sorted keys: same reasons."""
    import numpy as np

    import tools.recommendations as recs
    from tools.recommend_methods import top_n

    model = fit_recommender(_random_lines(), "order_lines", method="itemknn", save=False, embed_names=False)
    idx, _ = top_n(model.method.score(model.x, np.arange(model.x.shape[0])), 10, exclude=model.x)
    monkeypatch.setattr(recs, "_DENSE_LOOKUP_ITEMS", 0)
    assert recs._reasons(model, model.x, idx) == _reasons_one_by_one(model, model.x, idx)


def test_streamed_json_is_json_dumps_of_every_row() -> None:
    import json

    from tools.recommendations import write_all_json

    model = fit_recommender(_random_lines(), "order_lines", method="itemknn", save=False, embed_names=False)
    parts: list[str] = []
    write_all_json(model, parts.append, 10)
    rows = [r for batch in recommend(model, None, 10) for r in batch]
    assert "".join(parts) == ",\n".join(json.dumps(r, ensure_ascii=False) for r in rows)


def test_streamed_json_leaves_out_picks_a_customer_cannot_get() -> None:
    """A customer who has every product but one gets one pick, not ten."""
    import json

    from tools.recommendations import write_all_json

    data = _history()
    model = fit_recommender(data, "order_items", method="itemknn", save=False, embed_names=False)
    parts: list[str] = []
    write_all_json(model, parts.append, 10)
    rows = [r for batch in recommend(model, None, 10) for r in batch]
    assert json.loads("[" + "".join(parts) + "]") == rows


def test_auto_skips_ease_on_a_large_catalogue_and_says_why() -> None:
    import scipy.sparse as sp

    from tools.recommend_eval import candidates

    _, skipped = candidates(sp.csr_matrix((60, 50_000), dtype="float32"), None)
    assert "GiB" in skipped["ease"]


def test_auto_learns_from_a_sample_of_customers_on_large_data(monkeypatch: pytest.MonkeyPatch) -> None:
    import tools.recommend_eval as ev

    monkeypatch.setattr(ev, "VALIDATION_MAX_PAIRS", 300)
    model = fit_recommender(_random_lines(), "order_lines", save=False, embed_names=False)
    assert model.meta["validation"]["customers_learned_from"] < model.meta["customers"]


def test_refitting_unchanged_data_reuses_the_validated_choice(tmp_path: Path) -> None:
    data = _random_lines()
    first = fit_recommender(data, "order_lines", home=tmp_path, embed_names=False)
    again = fit_recommender(data, "order_lines", home=tmp_path, embed_names=False)
    assert again.meta["validation"]["reused_from"] == first.meta["model_id"]


def test_item_knn_keeps_every_cosine_when_k_covers_the_catalogue() -> None:
    import numpy as np
    import scipy.sparse as sp

    from tools.recommend_methods import ItemKNN

    x = sp.csr_matrix(np.random.default_rng(1).poisson(0.4, (50, 12)).astype(np.float32))
    norms = np.sqrt((x.toarray() ** 2).sum(axis=0)) + 1e-6
    expected = (x.T @ x).toarray() / np.outer(norms, norms)
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(ItemKNN(k=11).fit(x).sim.toarray(), expected, rtol=1e-5, atol=1e-6)


def test_top_n_gives_distinct_columns_when_few_are_allowed() -> None:
    import numpy as np
    import scipy.sparse as sp

    from tools.recommend_methods import top_n

    owned = sp.csr_matrix(np.array([[1, 1, 1, 0, 1, 1, 1, 1, 1, 1]], np.float32))
    idx, vals = top_n(np.arange(10, dtype=np.float32)[None, :], 3, exclude=owned)
    assert (idx[0, 0], len(set(idx[0].tolist())), np.isinf(vals[0, 1:]).all()) == (3, 3, True)


def test_eval_without_dates_holds_out_one_random_product_per_customer() -> None:
    data = _random_lines()
    data["order_lines"] = data["order_lines"].drop(columns="order_date")
    result = evaluate(data, "order_lines", methods=["popularity", "itemknn"])
    assert "hr@10" in result["splits"]["leave_one_out"]["methods"]["itemknn"]


@pytest.mark.parametrize("spec", [["itemknn"], ["itemknn", "popularity"], ["popularity"]])
def test_ranking_only_reachable_items_picks_what_the_dense_scores_pick(spec: list[str]) -> None:
    """Item-kNN (+ popularity) scores are a sparse part plus one shared row: ranking each
    customer's reachable items and the best of the shared row gives the dense top 10 to the bit."""
    import numpy as np

    from tools.recommend_eval import spec_method
    from tools.recommend_methods import sparse_scores, sparse_top_n, top_n

    model = fit_recommender(_random_lines(400, 60), "order_lines", method="itemknn", save=False, embed_names=False)
    method = spec_method({"parts": spec, "weights": [1.0, 0.15][:len(spec)]}, model.x.shape[1], None).fit(model.x)
    dense_idx, dense_vals = top_n(method.score(model.x, np.arange(model.x.shape[0])), 10, exclude=model.x)
    got = sparse_top_n(sparse_scores(method, model.x.shape[1]), model.x, 10)
    assert got is not None
    assert (got[0].tolist(), got[1].tobytes()) == (dense_idx.tolist(), dense_vals.tobytes())


def test_streamed_json_is_the_same_through_the_sparse_ranking(monkeypatch: pytest.MonkeyPatch) -> None:
    from tools import recommendations as recs

    model = fit_recommender(_random_lines(), "order_lines", method="itemknn", save=False, embed_names=False)
    dense: list[str] = []
    recs.write_all_json(model, dense.append, 10)
    monkeypatch.setattr(recs, "_SPARSE_MIN_ITEMS", 0)
    sparse: list[str] = []
    recs.write_all_json(model, sparse.append, 10)
    assert "".join(sparse) == "".join(dense)


def test_content_scores_through_item_cosines_equal_the_profile_cosines() -> None:
    """Fewer items than attributes: scores from V·Vᵀ equal the customer-profile cosines."""
    import numpy as np
    import scipy.sparse as sp

    from tools.recommend_methods import Content

    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(8, 20)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    x = sp.csr_matrix(rng.poisson(0.5, (30, 8)).astype(np.float32))
    profile = x.toarray() @ vectors
    expected = profile / (np.linalg.norm(profile, axis=1, keepdims=True) + 1e-6) @ vectors.T
    np.testing.assert_allclose(Content(vectors=vectors).score(x, np.arange(30)), expected, atol=1e-5)
