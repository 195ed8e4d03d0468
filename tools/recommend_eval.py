"""Offline evaluation of recommendation methods: leave-last-out and out-of-time.

- **leave-last-out**: for each sampled customer with earlier history, the last day on which
  they bought something new to them is held out (one of that day's new items, at random); the
  model learns from everything each customer did before their own cut;
- **out-of-time**: the model learns from everything before a cut-off date (the last
  ``oot_share`` of purchase days) and must find the items each customer bought for the first
  time after it;
- **leave-one-out** (tables without dates, e.g. ratings): one random product of each sampled
  customer with two or more is hidden.

Recommendations exclude what the customer already had in training (the held-out items are new
to them). Metrics at k: HR (share of customers with a hit), NDCG (binary relevance), coverage
(share of the catalogue that appears in anyone's top k).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from foundation.errors import ToolInputError
from tools.recommend_methods import (
    EASE_MAX_ITEMS,
    Blend,
    batch_rows,
    build_matrix,
    make_method,
    pair_weights,
    scaled,
    top_n,
)

Progress = Callable[[str], None]


@dataclass(slots=True)
class Split:
    """Training pairs plus, per test row of the matrix, the set of held-out item columns."""

    name: str
    train: pd.DataFrame  # customer, item, n, age_days, w
    test: dict[Any, set[Any]]  # customer id -> held-out item ids


def _pairs(events: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    g = events.groupby(["customer", "item"], sort=False, observed=True)
    pairs = g.agg(n=("d", "nunique"), first=("d", "min"), last=("d", "max"), w=("w", "mean")).reset_index()
    pairs["age_days"] = (as_of - pd.to_datetime(pairs["last"])).dt.days.astype(np.float32)
    return pairs


def leave_last_out(events: pd.DataFrame, max_users: int, seed: int) -> Split:
    """Hold out each sampled customer's last purchase of an item new to them."""
    ev = events.copy()
    ev["d"] = pd.to_datetime(ev["d"])
    first = ev.groupby(["customer", "item"], observed=True)["d"].transform("min")
    new = ev[ev["d"] == first]
    last_new = new.groupby("customer", observed=True)["d"].transform("max")
    start = ev.groupby("customer", observed=True)["d"].transform("min")
    cand = new[(new["d"] == last_new)]
    cand = cand[cand["d"] > start.loc[cand.index]]  # they had bought something before
    pick = _one_row_per_sampled_customer(cand, max_users, seed)
    cut = pick.set_index("customer")["d"]
    cut_of_row = ev["customer"].map(cut)
    train = ev[cut_of_row.isna() | (ev["d"] < cut_of_row)]
    test = {c: {i} for c, i in zip(pick["customer"], pick["item"], strict=True)}
    return Split("leave_last_out", _pairs(train, ev["d"].max()), test)


def leave_one_out(events: pd.DataFrame, max_users: int, seed: int) -> Split:
    """Without dates: hide one random product of each sampled customer who has two or more."""
    pairs = events.drop_duplicates(["customer", "item"])
    sizes = pairs.groupby("customer", observed=True)["item"].transform("size")
    cand = pairs[sizes >= 2]
    pick = _one_row_per_sampled_customer(cand, max_users, seed)
    held = pd.MultiIndex.from_frame(pick[["customer", "item"]])
    train = pairs[~pd.MultiIndex.from_frame(pairs[["customer", "item"]]).isin(held)]
    frame = train.assign(n=np.float32(1.0), first=pd.NaT, last=pd.NaT, age_days=np.float32(np.nan))
    test = {c: {i} for c, i in zip(pick["customer"], pick["item"], strict=True)}
    return Split("leave_one_out", frame[["customer", "item", "n", "first", "last", "w", "age_days"]], test)


def out_of_time(events: pd.DataFrame, max_users: int, seed: int, oot_share: float = 0.1) -> Split:
    """Learn before the cut-off date, find each customer's first purchases after it."""
    ev = events.copy()
    ev["d"] = pd.to_datetime(ev["d"])
    days = np.sort(ev["d"].unique())
    if len(days) < 4:
        raise ToolInputError("Out-of-time evaluation needs purchases on at least 4 different days.")
    cutoff = days[min(len(days) - 1, max(1, int(len(days) * (1 - oot_share))))]
    train, later = ev[ev["d"] < cutoff], ev[ev["d"] >= cutoff]
    known = set(zip(train["customer"], train["item"], strict=True))
    later = later[later["customer"].isin(set(train["customer"]))]
    later = later[[(c, i) not in known for c, i in zip(later["customer"], later["item"], strict=True)]]
    test: dict[Any, set[Any]] = {}
    for c, i in zip(later["customer"], later["item"], strict=True):
        test.setdefault(c, set()).add(i)
    if len(test) > max_users:
        keep = np.random.default_rng(seed).choice(np.array(list(test), dtype=object), max_users, replace=False)
        test = {c: test[c] for c in keep}
    return Split("out_of_time", _pairs(train, pd.Timestamp(cutoff)), test)


def score_split(split: Split, methods: Sequence[str], *, k: int = 10, half_life_days: float | None,
                vectors_for: Callable[[np.ndarray], np.ndarray | None] | None = None,
                progress: Progress | None = None) -> dict[str, Any]:
    """HR@k, NDCG@k, coverage and fit time of each method on ``split``."""
    tr = split.train
    rated = "w" in tr and tr["w"].notna().any() and (tr["w"] != 1).any()
    w = pair_weights(tr["n"].to_numpy(np.float32), tr["w"].to_numpy(np.float32) if rated else None,
                     tr["age_days"].to_numpy(np.float32), half_life_days)
    m = build_matrix(tr["customer"].to_numpy(), tr["item"].to_numpy(), w)
    first_day = None
    if tr["first"].notna().any():
        first = (pd.to_datetime(tr["first"]) - pd.Timestamp("1970-01-01")).dt.days.to_numpy(np.float32) + 1
        first_day = build_matrix(tr["customer"].to_numpy(), tr["item"].to_numpy(), first).x.data
    rows_of = m.row_of()
    col_of = {it: j for j, it in enumerate(m.items.tolist())}
    test = [(rows_of[c], {col_of[i] for i in items if i in col_of}) for c, items in split.test.items() if c in rows_of]
    test = [(r, cols) for r, cols in test if cols]
    if not test:
        raise ToolInputError(f"No customer can be tested with {split.name}: nobody bought something new "
                             "after earlier purchases of known products.")
    rows = np.array([r for r, _ in test])
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    out: dict[str, dict[str, Any]] = {}
    all_vectors = vectors_for(m.items) if vectors_for else None
    for name in methods:
        if name == "ease" and m.x.shape[1] > EASE_MAX_ITEMS:
            out[name] = {"skipped": f"{m.x.shape[1]:,} items > {EASE_MAX_ITEMS:,} (dense inverse)"}
            continue
        if name == "content" and all_vectors is None:
            out[name] = {"skipped": "no item attributes"}
            continue
        if progress:
            progress(f"{split.name}: {name}")
        t0 = time.perf_counter()
        chosen = None
        if name == "auto":
            spec, report = choose_method(m.x, first_day, all_vectors)
            chosen = report.get("chosen", "popularity")
            method = spec_method(spec, m.x.shape[1], all_vectors).fit(m.x)
        else:
            method = make_method(name, m.x.shape[1], all_vectors).fit(m.x)
        fit_s = time.perf_counter() - t0
        hits, ndcg, shown = 0, 0.0, np.zeros(m.x.shape[1], bool)
        step = batch_rows(m.x.shape[1])
        for s in range(0, len(rows), step):
            b = rows[s:s + step]
            xb = m.x[b]
            idx, _ = top_n(method.score(xb, b), k, exclude=xb)
            shown[idx.ravel()] = True
            for (_, cols), ranked in zip(test[s:s + step], idx, strict=True):
                rel = np.fromiter((c in cols for c in ranked), bool, len(ranked))
                if rel.any():
                    hits += 1
                    ideal = discounts[: min(len(cols), k)].sum()
                    ndcg += float(discounts[: len(rel)][rel].sum() / ideal)
        out[name] = {"hr@10" if k == 10 else f"hr@{k}": round(hits / len(test), 4),
                     "ndcg@10" if k == 10 else f"ndcg@{k}": round(ndcg / len(test), 4),
                     "coverage": round(float(shown.mean()), 4), "fit_seconds": round(fit_s, 2)}
        if chosen is not None:
            out[name]["chosen"] = chosen
    return {"customers_tested": len(test), "train_pairs": int(m.x.nnz), "items": int(m.x.shape[1]),
            "methods": out}


# --- choosing the method by evidence (``auto``) -------------------------------------------------

CONTENT_WEIGHTS = (0.0, 0.1, 0.25, 0.5)
POPULARITY_WEIGHTS = (0.0, 0.05, 0.15)
ALS_MAX_PAIRS = 1_000_000  # ALS is a candidate up to this many pairs (its final fit is slow beyond)
VALIDATION_MAX_PAIRS = 200_000  # candidates learn from a sample of customers holding about this many pairs
VALIDATION_MAX_CUSTOMERS = 3_000  # customers whose hidden item is ranked
CONTENT_MAX_CELLS = 5_000_000  # products × attributes: a dense multiply per customer scored
MEMORY_BUDGET_BYTES = 4 * 2**30  # a candidate whose model would need more is skipped, and said so


def spec_method(spec: dict[str, Any], n_items: int, vectors: np.ndarray | None) -> Any:
    """The method a spec names: ``{"parts": [...], "weights": [...]}`` (one part: that method)."""
    parts = [make_method(p, n_items, vectors) for p in spec["parts"]]
    if len(parts) == 1:
        return parts[0]
    return Blend(parts, [float(w) for w in spec["weights"]])


def candidates(x: sp.csr_matrix, vectors: np.ndarray | None) -> tuple[list[str], dict[str, str]]:
    """The single methods ``auto`` may validate on ``x``, and why the others are left out."""
    n_items = x.shape[1]
    chosen = ["popularity", "itemknn"]
    skipped: dict[str, str] = {}
    ease_bytes = 3 * n_items * n_items * 8  # XᵀX, its inverse and B, float64
    if n_items > EASE_MAX_ITEMS or ease_bytes > MEMORY_BUDGET_BYTES:
        skipped["ease"] = (f"{n_items:,} products: EASE's dense {n_items:,}² item matrix would need "
                           f"{ease_bytes / 2**30:,.1f} GiB and an O(n³) inverse (it is used up to "
                           f"{EASE_MAX_ITEMS:,} products)")
    else:
        chosen.append("ease")
    if x.shape[0] < 50:
        skipped["als"] = f"{x.shape[0]} customers: too few for matrix factorisation"
    elif x.nnz > ALS_MAX_PAIRS:
        skipped["als"] = (f"{x.nnz:,} customer–product pairs: ALS's final fit would be slow "
                          f"(it is validated up to {ALS_MAX_PAIRS:,} pairs; ask for --method als to use it)")
    else:
        chosen.append("als")
    if vectors is None:
        skipped["content"] = "no product attributes (category, price or names)"
    elif vectors.shape[0] * vectors.shape[1] > CONTENT_MAX_CELLS:
        skipped["content"] = (f"{n_items:,} products × {vectors.shape[1]:,} attributes: scoring each customer "
                              f"against every product's attributes would be too slow (it is used up to "
                              f"{CONTENT_MAX_CELLS:,} product-attribute cells)")
    else:
        chosen.append("content")
    return chosen, skipped


def choose_method(x: sp.csr_matrix, first_day: np.ndarray | None, vectors: np.ndarray | None, *,
                  seed: int = 7, k: int = 10, progress: Progress | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Pick the method (or blend) with the best HR@k on a validation inside the training data.

    For up to :data:`VALIDATION_MAX_CUSTOMERS` sampled customers with two or more items, the
    item they first bought most recently (``first_day`` aligned with ``x.data``; random
    without dates) is hidden. Every candidate learns from a sample of customers — those, plus
    random others up to about :data:`VALIDATION_MAX_PAIRS` pairs (all customers when the data
    is smaller) — and ranks the catalogue for them. So the cost of choosing does not grow
    with the number of customers; only the final fit of the chosen method sees them all.
    Candidates: popularity, item-kNN, EASE (small catalogues), ALS (up to
    :data:`ALS_MAX_PAIRS` pairs), content (with attributes) and blends of the best
    collaborative one with content and popularity; a candidate that cannot fit is named in
    the report with the reason. Returns the chosen spec and the validation figures.
    """
    n_items = x.shape[1]
    rng = np.random.default_rng(seed)
    eligible = np.flatnonzero(np.diff(x.indptr) >= 2)
    max_users = max(200, min(VALIDATION_MAX_CUSTOMERS, 30_000_000 // max(n_items, 1)))
    singles, skipped = candidates(x, vectors)
    if len(eligible) < 20:
        return {"parts": ["popularity"], "weights": [1.0]}, {"note": "too few repeat customers to validate; popularity"}
    rows = np.sort(rng.choice(eligible, min(max_users, len(eligible)), replace=False))
    sample = _learning_sample(x, rows, rng)
    reduced = x[sample] if len(sample) < x.shape[0] else x.copy()
    local = np.searchsorted(sample, rows)  # the held-out customers' rows in the sample
    held = np.empty(len(rows), np.int64)
    for n, r in enumerate(local):
        lo, hi = reduced.indptr[r], reduced.indptr[r + 1]
        j = lo + (int(np.argmax(first_day[x.indptr[rows[n]]:x.indptr[rows[n] + 1]]))
                  if first_day is not None else int(rng.integers(hi - lo)))
        held[n] = reduced.indices[j]
        reduced.data[j] = 0.0
    reduced.eliminate_zeros()
    xb = reduced[local]
    scores: dict[str, np.ndarray] = {}
    for name in singles:
        if progress:
            progress(f"validating {name}")
        method = make_method(name, n_items, vectors).fit(reduced)
        scores[name] = scaled(method.score(xb, local))

    def hr(s: np.ndarray) -> tuple[float, float]:
        idx, _ = top_n(s, k, exclude=xb)
        hit = idx == held[:, None]
        pos = hit.argmax(axis=1)
        found = hit.any(axis=1)
        return float(found.mean()), float((found / np.log2(pos + 2)).mean())

    figures: dict[str, tuple[float, float]] = {}
    specs: dict[str, dict[str, Any]] = {}
    for name in singles:
        figures[name] = hr(scores[name])
        specs[name] = {"parts": [name], "weights": [1.0]}
    cf = [s for s in singles if s in ("itemknn", "ease", "als")]
    bases = sorted(cf, key=lambda s: figures[s], reverse=True)[:2]
    combos = [[b] for b in bases] + ([bases] if len(bases) == 2 else [])
    for base in combos:
        for c in CONTENT_WEIGHTS if "content" in scores else (0.0,):
            for p in POPULARITY_WEIGHTS:
                if len(base) == 1 and c == 0 and p == 0:
                    continue
                parts, weights = list(base), [1.0] * len(base)
                if c:
                    parts.append("content")
                    weights.append(c)
                if p:
                    parts.append("popularity")
                    weights.append(p)
                total = np.zeros_like(scores[parts[0]])
                for q, w in zip(parts, weights, strict=True):
                    total += scores[q] * np.float32(w)
                label = " + ".join(f"{w:g}×{q}" for q, w in zip(parts, weights, strict=True))
                figures[label] = hr(total)
                specs[label] = {"parts": parts, "weights": weights}
    best = max(figures, key=lambda name: (round(figures[name][0], 4), round(figures[name][1], 4), -len(specs[name]["parts"])))
    report: dict[str, Any] = {
        "customers_validated": int(len(rows)), "customers_learned_from": int(reduced.shape[0]),
        "chosen": best, "hr@10": {name: round(v[0], 4) for name, v in sorted(figures.items(), key=lambda kv: -kv[1][0])[:8]}}
    if skipped:
        report["skipped"] = skipped
    return specs[best], report


def _learning_sample(x: sp.csr_matrix, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sorted rows the candidates learn from: ``rows`` plus random others until about
    :data:`VALIDATION_MAX_PAIRS` pairs (every row when ``x`` is no larger)."""
    if x.nnz <= VALIDATION_MAX_PAIRS:
        return np.arange(x.shape[0])
    share = VALIDATION_MAX_PAIRS / x.nnz
    others = np.flatnonzero(rng.random(x.shape[0]) < share)
    return np.union1d(rows, others)


def _one_row_per_sampled_customer(cand: pd.DataFrame, max_users: int, seed: int) -> pd.DataFrame:
    """At most ``max_users`` customers of ``cand`` (seeded), one random row of each: the item held out."""
    customers = cand["customer"].unique()
    rng = np.random.default_rng(seed)
    if len(customers) > max_users:
        customers = rng.choice(customers, max_users, replace=False)
    cand = cand[cand["customer"].isin(customers)]
    return cand.sample(frac=1.0, random_state=seed).drop_duplicates("customer")
