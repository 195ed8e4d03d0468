"""Product recommendations: next best products per customer, "also bought", likely buyers.

Plain functions over any interaction table the data has (order lines, orders with a product,
ratings, events — see :mod:`tools.recommend_data`):

- :func:`fit_recommender` learns a model (method ``auto`` by default: popularity, item-kNN,
  EASE, ALS, content and blends are validated on a hold-out inside the data and the best is
  kept — the evidence is in the model's metadata) and saves it in ``<home>/models`` like the
  propensity models (joblib + JSON, atomic renames; nothing half-saved);
- :func:`recommend` yields each customer's top-N products they do not have yet, with a reason,
  in batches (bounded memory for millions of customers); customers with no history get the
  most popular products, said so;
- :func:`also_bought`, :func:`likely_buyers`, :func:`featured_for` answer "who bought X also
  bought", "who is likely to buy X" and "what to feature to this segment";
- :func:`evaluate` compares the methods on leave-last-out and out-of-time splits.

Already-bought items are excluded by default (durable goods); ``include_purchased`` or the
``recommendations.repurchase_categories`` of ``semantic.yaml`` keep them (consumables).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from foundation.errors import ToolInputError
from foundation.settings import open_private, private_dir, write_private
from tools.model_data import open_source
from tools.model_store import models_path
from tools.recommend_data import (
    Catalog,
    load_catalog,
    load_events,
    load_pairs,
    resolve_interactions,
)
from tools.recommend_eval import (
    choose_method,
    leave_last_out,
    leave_one_out,
    out_of_time,
    score_split,
    spec_method,
)
from tools.recommend_methods import (
    METHODS,
    Blend,
    ItemKNN,
    SparseScores,
    batch_rows,
    build_matrix,
    item_vectors,
    pair_weights,
    scaled,
    sparse_batch_rows,
    sparse_scores,
    sparse_top_n,
    top_n,
)

Progress = Callable[[str], None]
HALF_LIFE_DAYS = 365.0
REPEAT_BOOST = 0.5  # weight of a customer's own repeat purchases when purchased items are kept
EVAL_METHODS = ("popularity", "itemknn", "ease", "als", "bpr", "content", "auto")


@dataclass
class RecommenderModel:
    """A fitted recommender with what it needs to answer: ids, history, names, similarity."""

    method: Any
    customers: np.ndarray
    items: np.ndarray
    x: sp.csr_matrix  # history weights (exclusion, reasons, repeat purchases)
    cooc: sp.csr_matrix  # item–item co-purchase cosine (reasons, "also bought")
    catalog: Catalog
    categories: np.ndarray | None  # per item column, for the repurchase setting
    meta: dict[str, Any] = field(default_factory=dict)
    _rows: dict[Any, int] | None = field(default=None, repr=False)
    _popularity: np.ndarray | None = field(default=None, repr=False)
    _cooc_t: sp.csr_matrix | None = field(default=None, repr=False)
    _plain_items: list[Any] | None = field(default=None, repr=False)
    _names: list[str] | None = field(default=None, repr=False)
    _sparse: tuple[SparseScores | None, int] | None = field(default=None, repr=False)
    _look: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = field(default=None, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the answering caches (the reason lookup is a closure)."""
        state = dict(self.__dict__)
        state["_look"] = None
        return state

    def row(self, customer: Any) -> int | None:
        if self._rows is None:
            self._rows = {c: i for i, c in enumerate(self.customers.tolist())}
        found = self._rows.get(customer)
        if found is None and isinstance(customer, str):  # "123" from the command line
            for cast in (int, float):
                try:
                    found = self._rows.get(cast(customer))
                except ValueError:
                    continue
                if found is not None:
                    break
        return found

    def popularity(self) -> np.ndarray:
        """Customers per item (computed once: it is read for every batch and every answer)."""
        if getattr(self, "_popularity", None) is None:
            self._popularity = np.bincount(self.x.indices, minlength=self.x.shape[1]).astype(np.float32)
        assert self._popularity is not None
        return self._popularity

    def cooc_t(self) -> sp.csr_matrix:
        """The co-purchase matrix by recommended item (row j: the items whose buyers buy j)."""
        if getattr(self, "_cooc_t", None) is None:
            self._cooc_t = self.cooc.T.tocsr()
        assert self._cooc_t is not None
        return self._cooc_t

    def sparse_scores(self) -> tuple[SparseScores | None, int]:
        """The method's scores as kNN part + shared background, when they are, and the customers
        per batch of that path (computed once: one customer's answer should not pay for it)."""
        if getattr(self, "_sparse", None) is None:
            shape = sparse_scores(self.method, len(self.items))
            self._sparse = (shape, sparse_batch_rows(shape, self.x) if shape is not None else 0)
        assert self._sparse is not None
        return self._sparse

    def cooc_lookup(self) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """:func:`_cooc_lookup` of this model (built once)."""
        if getattr(self, "_look", None) is None:
            self._look = _cooc_lookup(self)
        assert self._look is not None
        return self._look

    def name(self, col: int) -> str:
        return self.catalog.name(_plain(self.items[col]))

    def plain_items(self) -> list[Any]:
        """Item ids as plain Python values, by column (computed once: answers read them per pick)."""
        if getattr(self, "_plain_items", None) is None:
            self._plain_items = [_plain(v) for v in self.items]
        assert self._plain_items is not None
        return self._plain_items

    def names(self) -> list[str]:
        """Item names by column (computed once, like :meth:`plain_items`)."""
        if getattr(self, "_names", None) is None:
            self._names = [self.catalog.name(v) for v in self.plain_items()]
        assert self._names is not None
        return self._names


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _like_ids(value: Any, ids: np.ndarray) -> Any:
    """``value`` as the ids' type ("42" → 42 when customer ids are numbers)."""
    if isinstance(value, str) and ids.dtype.kind in "iu" and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


# --- fitting -------------------------------------------------------------------------------------


def _vet(pairs: pd.DataFrame, table: str) -> None:
    if pairs.empty:
        raise ToolInputError(f"{table} has no interactions with both a customer and a product.",
                             hint="Check --customer-col and --item-col.")
    items = pairs["item"].nunique()
    if items < 2:
        only = pairs["item"].iloc[0]
        raise ToolInputError(
            f"{table} has one product only ({only}); there is nothing else to recommend.",
            hint="Recommendations need a catalogue of two or more products.",
        )
    per_customer = pairs.groupby("customer", observed=True)["item"].size()
    if int((per_customer >= 2).sum()) == 0:
        raise ToolInputError(
            f"No customer in {table} has more than one product ({len(per_customer):,} customers, one "
            "product each), so there is no evidence of what goes with what; nothing was saved.",
            hint="Load more history (or repeat customers), or ask for the best sellers instead.",
        )


def repurchase_categories(home: Path | None) -> list[str]:
    """``recommendations.repurchase_categories`` of the workspace's ``semantic.yaml``."""
    if home is None:
        return []
    path = Path(home) / "semantic.yaml"
    if not path.exists():
        return []
    # lazy: yaml loads slowly; only this path needs it
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        return []
    section = raw.get("recommendations") if isinstance(raw, dict) else None
    cats = section.get("repurchase_categories") if isinstance(section, dict) else None
    return [str(c) for c in cats] if isinstance(cats, list) else []


def fit_recommender(
    source: Any,
    table: str,
    customer_col: str | None = None,
    item_col: str | None = None,
    date_col: str | None = None,
    *,
    method: str = "auto",
    half_life_days: float | None = HALF_LIFE_DAYS,
    home: Path | None = None,
    save: bool = True,
    progress: Progress | None = None,
    embed_names: bool = True,
) -> RecommenderModel:
    """Learn a recommender from ``table`` and (with ``home`` and ``save``) save it in the workspace."""
    if method != "auto" and method not in METHODS:
        raise ToolInputError(f"Unknown recommendation method {method!r}.", hint=f"Methods: auto, {', '.join(METHODS)}.")
    step = progress or (lambda _m: None)
    with open_source(source) as ds:
        inter = resolve_interactions(ds, table, customer_col, item_col, date_col)
        step(f"reading {table}")
        pairs = load_pairs(ds, inter)
        catalog = load_catalog(ds, inter)
    _vet(pairs, table)
    as_of = pd.to_datetime(pairs["last"]).max() if inter.date else None
    age = ((as_of - pd.to_datetime(pairs["last"])).dt.days.to_numpy(np.float32) if as_of is not None else None)
    weights = pair_weights(pairs["n"].to_numpy(np.float32),
                           pairs["w"].to_numpy(np.float32) if inter.rating else None, age, half_life_days)
    items = _catalog_items(pairs, catalog)
    m = build_matrix(pairs["customer"].to_numpy(), pairs["item"].to_numpy(), weights, items)
    step(f"{m.x.shape[0]:,} customers × {m.x.shape[1]:,} products, {m.x.nnz:,} pairs")
    vectors = item_vectors(catalog.attributes, m.items, catalog.category_col, embed=embed_names)
    validation: dict[str, Any] = {}
    if method == "auto":
        first = (pd.to_datetime(pairs["first"]) - pd.Timestamp("1970-01-01")).dt.days.to_numpy(np.float32) + 1 \
            if inter.date else None
        first_day = build_matrix(pairs["customer"].to_numpy(), pairs["item"].to_numpy(), first, items).x.data \
            if first is not None else None
        fingerprint = data_fingerprint(m.x, first_day, vectors)
        cached = _validated_before(home, table, fingerprint) if home is not None else None
        if cached is not None:
            spec, validation = cached
            step(f"same data as model {validation['reused_from']}: reusing its validated choice")
        else:
            spec, validation = choose_method(m.x, first_day, vectors, progress=step)
        validation["fingerprint"] = fingerprint
    else:
        spec = {"parts": [method], "weights": [1.0]}
    step(f"fitting {validation.get('chosen', method)}")
    fitted = spec_method(spec, m.x.shape[1], vectors).fit(m.x)
    cooc = _cooccurrence(fitted, m.x)
    categories = (catalog.attributes.reindex(pd.Index(m.items))[catalog.category_col].astype("string").to_numpy()
                  if catalog.attributes is not None and catalog.category_col else None)
    label = fitted.label() if isinstance(fitted, Blend) else fitted.name
    meta = {
        "kind": "recommend", "table": table, "columns": inter.describe(), "method": label, "spec": spec,
        "requested_method": method, "validation": validation, "customers": int(m.x.shape[0]),
        "items": int(m.x.shape[1]), "pairs": int(m.x.nnz), "half_life_days": half_life_days,
        "as_of": as_of.date().isoformat() if as_of is not None else None,
        "cold_items": int((np.diff(m.x.tocsc().indptr) == 0).sum()), "notes": list(inter.notes),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    model = RecommenderModel(fitted, m.customers, m.items, m.x, cooc, catalog, categories, meta)
    if save and home is not None:
        save_recommender(model, models_path(home))
    return model


def data_fingerprint(x: sp.csr_matrix, first_day: np.ndarray | None, vectors: np.ndarray | None) -> str:
    """A digest of everything ``auto``'s validation depends on: the weights matrix, the first
    purchase days (which item is hidden) and the item attributes."""
    digest = hashlib.sha256()
    for part in (np.asarray(x.shape, np.int64), x.indptr, x.indices, x.data, first_day, vectors):
        digest.update(b"|" if part is None else np.ascontiguousarray(part).tobytes())
    return digest.hexdigest()[:32]


def _validated_before(home: Path, table: str, fingerprint: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The spec and validation of a saved ``auto`` model of ``table`` fitted on the same data
    (same fingerprint), so refitting unchanged data does not validate again."""
    folder = models_path(home)
    if not folder.exists():
        return None
    for path in sorted(folder.glob("recommend-*.json"), reverse=True):
        try:
            meta = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        validation = meta.get("validation") or {}
        if (meta.get("table") == table and meta.get("requested_method") == "auto"
                and validation.get("fingerprint") == fingerprint and meta.get("spec")):
            reused = {k: v for k, v in validation.items() if k != "fingerprint"}
            reused["reused_from"] = meta.get("model_id")
            return meta["spec"], reused
    return None


def _catalog_items(pairs: pd.DataFrame, catalog: Catalog) -> np.ndarray:
    """Items bought, then catalogue items nobody bought yet (content reaches them)."""
    bought = pd.unique(pairs["item"])
    if catalog.attributes is None or catalog.table is None:
        return np.asarray(sorted(bought, key=str), dtype=object) if bought.dtype == object else np.sort(bought)
    extra = catalog.attributes.index.difference(pd.Index(bought))
    base = np.sort(bought) if bought.dtype != object else np.asarray(sorted(bought, key=str), dtype=object)
    if len(extra) and pd.Index(extra).dtype == pd.Index(bought).dtype:
        return np.concatenate([base, np.asarray(extra)])
    return base


def _cooccurrence(fitted: Any, x: sp.csr_matrix) -> sp.csr_matrix:
    """The item-kNN cosine matrix (reused when the method has one)."""
    parts = fitted.parts if isinstance(fitted, Blend) else [fitted]
    for part in parts:
        if isinstance(part, ItemKNN) and part.sim is not None:
            return part.sim
    knn = ItemKNN(k=100).fit(x)
    assert knn.sim is not None
    return knn.sim


# --- saving --------------------------------------------------------------------------------------


def save_recommender(model: RecommenderModel, models_dir: Path) -> dict[str, Any]:
    """``<id>.joblib`` then ``<id>.json`` through temporary files and atomic renames."""
    # lazy: joblib loads slowly; only this path needs it
    import joblib

    slug = re.sub(r"[^a-z0-9]+", "-", f"recommend-{model.meta['table']}".lower()).strip("-")
    model_id = f"{slug}-{datetime.now(UTC):%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
    model.meta["model_id"] = model_id
    private_dir(models_dir)  # purchase histories: owner-only, like every workspace file
    tmp = models_dir / f".{model_id}.tmp"
    tmp_json = models_dir / f".{model_id}.json.tmp"
    try:
        with open_private(tmp, "wb") as handle:
            joblib.dump(model, handle)
        write_private(tmp_json, json.dumps(model.meta, indent=1, default=str))
    except BaseException:
        tmp.unlink(missing_ok=True)
        tmp_json.unlink(missing_ok=True)
        raise
    tmp.replace(models_dir / f"{model_id}.joblib")
    tmp_json.replace(models_dir / f"{model_id}.json")
    model.meta["saved"] = True
    return model.meta


def latest_recommender(home: Path, table: str | None = None) -> RecommenderModel | None:
    """The newest saved recommender (of ``table``, when given), or None."""
    # lazy: joblib loads slowly; only this path needs it
    import joblib

    folder = models_path(home)
    if not folder.exists():
        return None
    found = []
    for path in folder.glob("recommend-*.json"):
        meta = json.loads(path.read_text())
        if path.with_suffix(".joblib").exists() and (table is None or meta.get("table") == table):
            found.append((meta.get("created", ""), path))
    if not found:
        return None
    model: RecommenderModel = joblib.load(max(found)[1].with_suffix(".joblib"))
    return model


def get_recommender(source: Any, home: Path | None, table: str, customer_col: str | None = None,
                    item_col: str | None = None, date_col: str | None = None, *, method: str | None = None,
                    retrain: bool = False, progress: Progress | None = None) -> RecommenderModel:
    """The saved model of ``table`` with the same columns (and ``method``, when given), else a
    freshly fitted and saved one (``method`` None: ``auto``)."""
    if not retrain and home is not None:
        model = latest_recommender(home, table)
        given = {"customer_col": customer_col, "item_col": item_col, "date_col": date_col}
        if model is not None and method in (None, model.meta.get("requested_method")) and all(
            v is None or model.meta["columns"].get(k) == v for k, v in given.items()
        ):
            return model
    return fit_recommender(source, table, customer_col, item_col, date_col, method=method or "auto", home=home,
                           progress=progress)


# --- answering ----------------------------------------------------------------------------------


def _keep_columns(model: RecommenderModel, include_purchased: bool, home: Path | None) -> np.ndarray | None:
    """Columns a customer may be recommended again (None: none; all when ``include_purchased``)."""
    if include_purchased:
        return np.ones(len(model.items), bool)
    cats = repurchase_categories(home)
    if not cats or model.categories is None:
        return None
    wanted = {c.lower() for c in cats}
    return np.array([str(c).lower() in wanted for c in model.categories])


_SPARSE_MIN_ITEMS = 1_000  # below, dense score rows are as cheap as ranking candidates

_REPEAT = "bought it before: a likely repeat purchase"
_NEW = "new product, similar to what they bought"


def _cooc_lookup(model: RecommenderModel) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``look(h, j)``: the co-purchase cosine of items ``h`` and ``j`` (arrays), 0 when not kept.
    A dense table for small catalogues; sorted keys searched for large ones (bounded memory)."""
    n = len(model.items)
    cooc = model.cooc.tocsr()
    if n <= _DENSE_LOOKUP_ITEMS:
        dense = cooc.toarray().astype(np.float32)
        return lambda h, j: dense[h, j]
    cooc.sort_indices()
    keys = np.repeat(np.arange(n, dtype=np.int64), np.diff(cooc.indptr)) * n + cooc.indices
    data = cooc.data.astype(np.float32)
    if not len(keys):
        return lambda h, j: np.zeros(len(h), np.float32)

    def look(h: np.ndarray, j: np.ndarray) -> np.ndarray:
        q = h.astype(np.int64) * n + j
        pos = np.minimum(np.searchsorted(keys, q), len(keys) - 1)
        return np.where(keys[pos] == q, data[pos], np.float32(0.0))

    return look


_DENSE_LOOKUP_ITEMS = 3_000  # a dense item × item co-purchase table up to 36 MB


def _reasons(model: RecommenderModel, xb: sp.csr_matrix, idx: np.ndarray,
             look: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> list[list[str]]:
    """The reason of each pick, as text (see :func:`_reason_codes`)."""
    codes, texts = _reason_codes(model, xb, idx, look)
    result: list[list[str]] = np.array(texts, dtype=object)[codes].tolist()
    return result


def _reason_codes(model: RecommenderModel, xb: sp.csr_matrix, idx: np.ndarray,
                  look: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> tuple[np.ndarray, list[str]]:
    """Why each recommended column: the customer's purchase that co-occurs with it most.

    Vectorised over the batch (1 M customers × 10 picks are 10 M reasons): for every purchase
    in the batch and every pick position the co-purchase cosine is looked up at once, the
    strongest purchase per customer taken with ``reduceat`` (ties: the lower column), each
    pick classed with array operations, and each distinct wording formatted once. Returns
    each pick's code and the wordings the codes index.
    """
    look = look or _cooc_lookup(model)
    b, t = idx.shape
    n = len(model.items)
    counts = model.popularity()
    xb = xb.tocsr()
    if not xb.has_sorted_indices:
        xb = xb.copy()
        xb.sort_indices()
    lengths = np.diff(xb.indptr)
    entry_row = np.repeat(np.arange(b, dtype=np.int64), lengths)
    # a pick the customer already has (any stored history entry, whatever its weight)
    stored = entry_row * n + xb.indices
    wanted = np.arange(b, dtype=np.int64)[:, None] * n + idx
    if len(stored):
        pos = np.minimum(np.searchsorted(stored, wanted), len(stored) - 1)
        owned = stored[pos] == wanted
    else:
        owned = np.zeros(idx.shape, bool)
    best = np.full(idx.shape, -1)
    strength = np.zeros(idx.shape, np.float32)
    positive = xb.data > 0
    er, eh = entry_row[positive], xb.indices[positive]
    if len(er):
        per_row = np.bincount(er, minlength=b)
        with_history = np.flatnonzero(per_row)
        starts = np.concatenate([[0], np.cumsum(per_row[with_history])[:-1]])
        spread = np.repeat(np.arange(len(with_history)), per_row[with_history])
        order = np.arange(len(er))
        for p in range(t):
            v = look(eh, idx[er, p])
            top = np.maximum.reduceat(v, starts)
            first = np.minimum.reduceat(np.where(v == top[spread], order, len(er)), starts)
            strength[with_history, p] = top
            best[with_history, p] = eh[first]
    co_bought = ~owned & (strength > 0)
    unsold = ~owned & ~co_bought & (counts[idx] == 0)
    popular = ~owned & ~co_bought & ~unsold
    codes = np.zeros(idx.shape, np.int64)  # 0: a repeat purchase
    codes[unsold] = 1
    texts = [_REPEAT, _NEW]
    if co_bought.any():
        pairs = best[co_bought].astype(np.int64) * n + idx[co_bought]
        keys, inverse = np.unique(pairs, return_inverse=True)
        names = model.names()
        codes[co_bought] = len(texts) + inverse.ravel()
        texts += [f"bought {names[k // n]}; people who did often buy {names[k % n]}" for k in keys.tolist()]
    if popular.any():
        cols, inverse = np.unique(idx[popular], return_inverse=True)
        codes[popular] = len(texts) + inverse.ravel()
        texts += [f"popular: {int(counts[c]):,} customers bought it" for c in cols.tolist()]
    return codes, texts


def round_like_python(values: np.ndarray, digits: int = 6) -> np.ndarray:
    """``round(v, digits)`` of every value, vectorised and equal to Python's to the bit.

    ``rint(v * 10**digits) / 10**digits`` is what Python's correctly rounded result is, except
    where ``v * 10**digits`` lies within 1e-6 of a half-way point (its float error is below
    2.4e-7 while it is under 2**31; larger ones are all checked); those few values are rounded
    by Python itself.
    """
    scale = 10.0 ** digits
    scaled = np.asarray(values, dtype=np.float64) * scale
    out = np.rint(scaled) / scale
    with np.errstate(invalid="ignore"):  # -inf scores (picks that are not shown) stay -inf
        doubt = np.isfinite(scaled) & ((np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6) | (np.abs(scaled) >= 2.0**31))
    for i in np.flatnonzero(doubt).tolist():
        out.flat[i] = round(float(values.flat[i]), digits)
    return out


@dataclass(slots=True)
class ScoredBatch:
    """One batch of recommend-all: model rows, picked columns (best first), scores rounded to
    6 digits (``-inf``: not shown) and each pick's reason as a code into ``texts``."""

    rows: np.ndarray
    idx: np.ndarray
    scores: np.ndarray
    codes: np.ndarray
    texts: list[str]

    def reasons(self) -> list[list[str]]:
        result: list[list[str]] = np.array(self.texts, dtype=object)[self.codes].tolist()
        return result


def scored_batches(model: RecommenderModel, rows: np.ndarray, top: int, *, include_purchased: bool = False,
                   home: Path | None = None, reasons: bool = True) -> Iterator[ScoredBatch]:
    """The picks of model ``rows``, a batch at a time (a dense batch stays within
    :func:`batch_rows`' budget, so memory does not grow with the number of customers)."""
    if top < 1:
        raise ToolInputError(f"top must be at least 1 (got {top}).")
    keep = _keep_columns(model, include_purchased, home)
    # item-kNN / popularity scores: only the items a customer's history reaches are ranked
    shortcut, sparse_step = model.sparse_scores() if keep is None and len(model.items) >= _SPARSE_MIN_ITEMS \
        else (None, 0)
    step = sparse_step if shortcut is not None else batch_rows(len(model.items))
    look = model.cooc_lookup() if reasons else None
    for s in range(0, len(rows), step):
        b = rows[s:s + step]
        xb = model.x[b]
        picked = sparse_top_n(shortcut, xb, top) if shortcut is not None else None
        if picked is not None:
            idx, vals = picked
        else:
            scores = model.method.score(xb, b)
            if keep is not None:
                own = scaled(np.asarray(xb.todense(), dtype=np.float32)) * np.float32(REPEAT_BOOST)
                scores = scaled(scores) + own * keep[None, :]
            idx, vals = top_n(scores, top, exclude=xb, keep_cols=keep)
            del scores
        codes, texts = _reason_codes(model, xb, idx, look) if reasons else (np.zeros(idx.shape, np.int64), [""])
        yield ScoredBatch(b, idx, round_like_python(vals), codes, texts)


def recommend(
    model: RecommenderModel,
    customers: Sequence[Any] | None = None,
    top: int = 10,
    *,
    include_purchased: bool = False,
    home: Path | None = None,
    reasons: bool = True,
) -> Iterator[list[dict[str, Any]]]:
    """Batches of ``{"customer", "items": [{"item", "name", "score", "reason"}]}`` rows.

    ``customers`` None: every customer in the model, in batches sized to a memory budget.
    A customer with no history gets the most popular products, with ``"cold_start": True``.
    """
    if top < 1:
        raise ToolInputError(f"top must be at least 1 (got {top}).")
    if customers is None:
        rows_all = np.arange(len(model.customers))
        wanted: list[tuple[Any, int | None]] = []
    else:
        wanted = [(_like_ids(c, model.customers), model.row(c)) for c in customers]
        rows_all = np.array([r for _, r in wanted if r is not None], dtype=np.int64)
    item_ids, names = model.plain_items(), model.names()
    results: dict[int, dict[str, Any]] = {}
    for sb in scored_batches(model, rows_all, top, include_purchased=include_purchased, home=home, reasons=reasons):
        batch = []
        shown_all = np.isfinite(sb.scores).tolist()
        for row, cols, values, shown, said in zip(sb.rows.tolist(), sb.idx.tolist(), sb.scores.tolist(), shown_all,
                                                  sb.reasons(), strict=True):
            items = [{"item": item_ids[c], "name": names[c], "score": v, "reason": reason}
                     for c, v, ok, reason in zip(cols, values, shown, said, strict=True) if ok]
            entry = {"customer": _plain(model.customers[row]), "items": items}
            if customers is None:
                batch.append(entry)
            else:
                results[row] = entry
        if customers is None:
            yield batch
    if customers is not None:
        cold = any(row is None for _, row in wanted)  # the best sellers are ranked only when needed
        popular = np.argsort(-model.popularity(), kind="stable")[:top] if cold else np.zeros(0, np.int64)
        counts = model.popularity()
        out = []
        for customer, row in wanted:
            if row is not None:
                out.append(results[row])
                continue
            out.append({"customer": customer, "cold_start": True, "items": [
                {"item": _plain(model.items[c]), "name": model.name(c), "score": round(float(counts[c] / counts.max()), 6),
                 "reason": f"no purchase history for this customer yet: popular ({int(counts[c]):,} customers bought it)"}
                for c in popular.tolist()]})
        yield out


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=lambda v: v.isoformat() if hasattr(v, "isoformat") else
                      (v.item() if hasattr(v, "item") else str(v)))


def write_all_json(model: RecommenderModel, write: Callable[[str], Any], top: int = 10, *,
                   include_purchased: bool = False, home: Path | None = None, reasons: bool = True) -> int:
    """Every customer's row of :func:`recommend`, as JSON text, written batch by batch.

    The text equals ``json.dumps`` of each row, ``",\\n"``-separated, but a batch is one
    ``str.join`` of pieces laid out in an array — each product's ``{"item": …, "name": …,
    "score": `` head and each distinct reason's tail formatted once, only the scores per pick —
    so neither the rows nor the text of more than one batch are ever held. Returns the
    number of rows written.
    """
    heads = np.array([f'{{"item": {_json(i)}, "name": {_json(nm)}, "score": '
                      for i, nm in zip(model.plain_items(), model.names(), strict=True)], dtype=object)
    tails: dict[str, tuple[str, str]] = {}  # reason → its two JSON tails (formatted once; bounded below)
    written = 0
    for sb in scored_batches(model, np.arange(len(model.customers)), top, include_purchased=include_purchased,
                             home=home, reasons=reasons):
        if len(tails) > _TAIL_CACHE:  # a large catalogue's reasons are mostly distinct: memory stays flat
            tails.clear()
        mid: list[str] = []  # ', "reason": "…"}, ' (another pick follows), by the batch's reason code
        last: list[str] = []  # ', "reason": "…"}]}' (the row's last pick)
        for text in sb.texts:
            found = tails.get(text)
            if found is None:
                said = _json(text)
                found = tails[text] = (f', "reason": {said}}}, ', f', "reason": {said}}}]}}')
            mid.append(found[0])
            last.append(found[1])
        codes = sb.codes
        b, t = sb.idx.shape
        pieces = np.empty((b, 1 + 3 * t), dtype=object)
        pieces[:, 0] = [f'{{"customer": {c}, "items": [' for c in _id_texts(model.customers[sb.rows])]
        pieces[:, 1::3] = heads[sb.idx]
        pieces[:, 2::3] = _float_texts(sb.scores)
        pieces[:, 3:-1:3] = np.array(mid, dtype=object)[codes[:, :-1]]
        pieces[:, -1] = np.array(last, dtype=object)[codes[:, -1]]
        pieces[:, -1] += ",\n"
        pieces[-1, -1] = pieces[-1, -1][:-2]
        shown = np.isfinite(sb.scores)
        for r in np.flatnonzero(~shown.all(axis=1)).tolist():  # a row with fewer picks than asked
            items = [heads[c] + repr(float(v)) + mid[k][:-2] for c, v, k, ok in
                     zip(sb.idx[r].tolist(), sb.scores[r].tolist(), codes[r].tolist(), shown[r].tolist(), strict=True) if ok]
            pieces[r, 0] = pieces[r, 0] + ", ".join(items) + "]}" + (",\n" if r < b - 1 else "")
            pieces[r, 1:] = ""
        write(("" if written == 0 else ",\n") + "".join(pieces.ravel().tolist()))
        written += b
    return written


_TAIL_CACHE = 200_000  # formatted reason tails kept across batches (each reason's JSON is made once)
_FLOAT_REPR = np.frompyfunc(float.__repr__, 1, 1)


def _float_texts(values: np.ndarray) -> np.ndarray:
    """``repr`` of each float (what ``json.dumps`` writes), as an object array of str."""
    return np.asarray(_FLOAT_REPR(np.asarray(values, dtype=np.float64)), dtype=object)


def _id_texts(ids: np.ndarray) -> list[str]:
    """Customer ids as JSON values (integers without ``json.dumps`` per id)."""
    if ids.dtype.kind in "iu":
        return [str(v) for v in ids.tolist()]
    return [_json(_plain(v)) for v in ids]


def find_items(model: RecommenderModel, item: Any) -> list[int]:
    """The columns ``item`` names: an id, an exact name, else every product whose name contains
    its words ("tent" → all tents), best sellers first."""
    items = model.items.tolist()
    for candidate in (item, str(item)):
        if candidate in items:
            return [items.index(candidate)]
    for cast in (int, float):
        try:
            if cast(item) in items:
                return [items.index(cast(item))]
        except (TypeError, ValueError):
            pass
    text = str(item).strip().lower()
    words = [w for w in re.findall(r"[a-z0-9]+", text) if len(w) > 2]
    stems = [w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words]
    names = [model.name(c).lower() for c in range(len(items))]
    exact = [c for c, n in enumerate(names) if n == text]
    if exact:
        return exact[:1]
    matches = [c for c, n in enumerate(names) if stems and all(s in n for s in stems)]
    if not matches:
        close = [model.name(c) for c in np.argsort(-model.popularity())[:8].tolist()]
        raise ToolInputError(f"No product matches {item!r}.", hint=f"Best sellers: {', '.join(close)}.")
    pop = model.popularity()
    return sorted(matches, key=lambda c: -pop[c])


def find_item(model: RecommenderModel, item: Any) -> int:
    """The one column ``item`` names (the best seller among several matches)."""
    return find_items(model, item)[0]


def also_bought(model: RecommenderModel, item: Any, top: int = 10) -> dict[str, Any]:
    """"Customers who bought X also bought": co-purchase cosine, with the shared-customer count.
    A name matching several products ("tent") means buyers of any of them."""
    cols = find_items(model, item)
    binary = (model.x > 0).astype(np.float32).tocsc()
    buyers = (binary[:, cols].sum(axis=1) > 0).astype(np.float32)
    shared = np.asarray(binary.T @ buyers).ravel()
    pop = np.asarray(binary.sum(axis=0)).ravel()
    bought = int(np.asarray(buyers).sum())
    cos = shared / (np.sqrt(pop * bought) + 1e-6)
    cos[cols] = -1
    order = [c for c in np.argsort(-cos, kind="stable")[:top].tolist() if shared[c] > 0 and cos[c] > -1]
    label = model.name(cols[0]) if len(cols) == 1 else f"{item} ({len(cols)} products)"
    return {"item": _plain(model.items[cols[0]]) if len(cols) == 1 else str(item), "name": label,
            "matched": [model.name(c) for c in cols[:20]], "buyers": bought,
            "also_bought": [{"item": _plain(model.items[c]), "name": model.name(c), "score": round(float(cos[c]), 4),
                             "customers": int(shared[c]),
                             "share": round(float(shared[c] / max(bought, 1)), 4)} for c in order]}


def likely_buyers(model: RecommenderModel, item: Any, top: int = 100) -> dict[str, Any]:
    """Customers most likely to buy ``item`` who have not bought it yet, best first."""
    col = find_item(model, item)
    step = batch_rows(len(model.items))
    best_ids: list[np.ndarray] = []
    best_scores: list[np.ndarray] = []
    for s in range(0, len(model.customers), step):
        b = np.arange(s, min(s + step, len(model.customers)))
        xb = model.x[b]
        raw = model.method.score(xb, b)
        col_scores = scaled(raw)[:, col] + 1e-4 * raw[:, col] / (float(np.abs(raw[:, col]).max(initial=0)) + 1e-6)
        col_scores[np.asarray(xb[:, col].todense()).ravel() > 0] = -np.inf
        keep = np.argsort(-col_scores, kind="stable")[:top]
        best_ids.append(b[keep])
        best_scores.append(col_scores[keep])
    ids = np.concatenate(best_ids)
    sc = np.concatenate(best_scores)
    order = [i for i in np.argsort(-sc, kind="stable")[:top].tolist() if np.isfinite(sc[i])]
    return {"item": _plain(model.items[col]), "name": model.name(col),
            "rows": [{"customer": _plain(model.customers[ids[i]]), "score": round(float(sc[i]), 6)} for i in order]}


def featured_for(model: RecommenderModel, customers: Sequence[Any], top: int = 10, *,
                 home: Path | None = None) -> dict[str, Any]:
    """Products to feature to a group: how many of its members have each in their top 10."""
    known = [c for c in customers if model.row(c) is not None]
    votes: dict[Any, list[float]] = {}
    names: dict[Any, str] = {}
    for batch in recommend(model, known, 10, home=home, reasons=False) if known else iter(()):
        for row in batch:
            for rank, it in enumerate(row["items"]):
                v = votes.setdefault(it["item"], [0.0, 0.0])
                v[0] += 1
                v[1] += 1.0 / (rank + 1)
                names[it["item"]] = it["name"]
    ranked = sorted(votes.items(), key=lambda kv: (-kv[1][0], -kv[1][1]))[:top]
    return {"members": len(customers), "with_history": len(known),
            "items": [{"item": k, "name": names[k], "customers": int(v[0]),
                       "share": round(v[0] / max(len(known), 1), 4)} for k, v in ranked]}


def top_picks(model: RecommenderModel, customers: Sequence[Any], *, home: Path | None = None) -> dict[Any, str]:
    """Each customer's first recommendation, by name (cold-start customers get the best seller)."""
    out: dict[Any, str] = {}
    for batch in recommend(model, list(customers), 1, home=home, reasons=False):
        for row in batch:
            if row["items"]:
                out[row["customer"]] = row["items"][0]["name"]
    return out


# --- evaluation ---------------------------------------------------------------------------------


def evaluate(
    source: Any,
    table: str,
    customer_col: str | None = None,
    item_col: str | None = None,
    date_col: str | None = None,
    *,
    methods: Sequence[str] = EVAL_METHODS,
    max_customers: int = 5_000,
    half_life_days: float | None = HALF_LIFE_DAYS,
    seed: int = 7,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """HR@10, NDCG@10 and coverage of each method on leave-last-out and out-of-time splits."""
    bad = [m for m in methods if m not in EVAL_METHODS]
    if bad:
        raise ToolInputError(f"Unknown method(s): {', '.join(bad)}.", hint=f"Methods: {', '.join(EVAL_METHODS)}.")
    with open_source(source) as ds:
        inter = resolve_interactions(ds, table, customer_col, item_col, date_col)
        events = load_events(ds, inter)
        catalog = load_catalog(ds, inter)
    pairs = events.groupby(["customer", "item"], observed=True).size().rename("n").reset_index()
    _vet(pairs, table)

    def vectors_for(items: np.ndarray) -> np.ndarray | None:
        return item_vectors(catalog.attributes, items, catalog.category_col)

    splits: dict[str, Any] = {}
    makers = (leave_last_out, out_of_time) if inter.date is not None else (leave_one_out,)
    if inter.date is None:
        splits["leave_last_out"] = {"skipped": f"{table} has no date column; one random product per customer "
                                                "is held out instead (leave_one_out)"}
        splits["out_of_time"] = {"skipped": f"{table} has no date column"}
    for make in makers:
        split = make(events, max_customers, seed)
        try:
            splits[split.name] = score_split(split, methods, half_life_days=half_life_days,
                                             vectors_for=vectors_for, progress=progress)
        except ToolInputError as err:
            splits[split.name] = {"skipped": err.message}
    default = "auto"
    return {"table": table, "columns": inter.describe(), "notes": list(inter.notes),
            "customers": int(events["customer"].nunique()), "items": int(events["item"].nunique()),
            "interactions": int(len(events)), "default_method": default, "splits": splits}

