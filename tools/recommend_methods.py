"""Recommendation methods over a sparse customer × item matrix (implicit feedback).

Every method learns from ``X`` (CSR, customers × items, float32 weights) and scores a batch
of customers' rows densely (``score``); ``similarity(i)`` gives item ``i``'s neighbours, used
for "customers who bought X also bought" and for the reason shown with a recommendation.

- ``popularity``: how many customers bought each item (the baseline every method must beat);
- ``itemknn``: cosine similarity of item columns, top-k neighbours kept (sparse; scales to
  50k items because the co-occurrence is built one block of columns at a time);
- ``ease``: Steck's EASE (closed-form item–item regression; a dense n_items² inverse, so only
  for catalogues up to :data:`EASE_MAX_ITEMS`);
- ``als`` / ``bpr``: matrix factorisation from the maintained ``implicit`` library;
- ``content``: item attributes (category, price band, name embeddings) — covers items nobody
  has bought yet (cold start).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from foundation.errors import ToolInputError

KNN_BLOCK_PRODUCTS = 50_000_000  # multiply-adds per block of the item-kNN product
EASE_MAX_ITEMS = 6_000  # 6k² float64 = 288 MB; the inverse is O(n³)
TEXT_EMBED_MAX_ITEMS = 5_000
DENSE_SIM_ITEMS = 2_000  # item-kNN scores through a dense item × item copy (16 MB) up to this many items
MAX_CATEGORY_COLUMNS = 512  # category one-hot width; rarer categories get no category column  # names embedded with the bundled MiniLM up to this many items
METHODS = ("popularity", "itemknn", "ease", "als", "bpr", "content")


def _rows_dense(m: Any) -> np.ndarray:
    return np.asarray(m.toarray() if sp.issparse(m) else m, dtype=np.float32)


@dataclass
class Popularity:
    """Items ranked by the number of customers who bought them."""

    name: str = "popularity"
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))

    def fit(self, x: sp.csr_matrix) -> Popularity:
        self.counts = np.asarray((x > 0).sum(axis=0), dtype=np.float32).ravel()
        return self

    def score(self, xb: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
        return np.tile(self.counts / max(float(self.counts.max(initial=0)), 1.0), (xb.shape[0], 1))

    def similarity(self, item: int) -> np.ndarray | None:
        return None


@dataclass
class ItemKNN:
    """Cosine similarity between item columns, ``k`` nearest neighbours per item."""

    k: int = 200
    name: str = "itemknn"
    sim: sp.csr_matrix | None = None

    def fit(self, x: sp.csr_matrix) -> ItemKNN:
        """Cosines from the sparse product ``XᵀX``, a block of columns at a time (each block's
        product is bounded by :data:`KNN_BLOCK_PRODUCTS` multiply-adds, so memory stays flat
        whatever the catalogue), keeping each column's ``k`` largest."""
        xc = x.tocsc().astype(np.float32)
        norms = np.sqrt(np.asarray(xc.multiply(xc).sum(axis=0)).ravel()) + 1e-6
        xn = (xc @ sp.diags((1.0 / norms).astype(np.float32))).tocsc().astype(np.float32)
        n = x.shape[1]
        xt = xn.T.tocsr()
        # multiply-adds of column j's product: the history lengths of the customers who bought j
        lengths = np.diff(x.tocsr().indptr).astype(np.float64)
        work = np.asarray((xn != 0).T @ lengths).ravel()
        k = min(self.k, n - 1)
        rows, cols, vals = [], [], []
        start = 0
        while start < n:
            stop = start + 1
            budget = work[start]
            while stop < n and budget + work[stop] <= KNN_BLOCK_PRODUCTS:
                budget += work[stop]
                stop += 1
            c = (xt @ xn[:, start:stop]).tocoo()  # n × block co-occurrence cosines, sparse
            keep = (c.row != c.col + start) & (c.data > 0)
            r, col, v = c.row[keep], c.col[keep] + start, c.data[keep]
            order = np.lexsort((-v, col))  # by column, strongest first
            r, col, v = r[order], col[order], v[order]
            first = np.searchsorted(col, col, side="left")
            rank = np.arange(len(col)) - first
            top = rank < k
            rows.append(r[top])
            cols.append(col[top])
            vals.append(v[top])
            start = stop
        self.sim = sp.csr_matrix((np.concatenate(vals) if vals else np.zeros(0, np.float32),
                                  (np.concatenate(rows) if rows else np.zeros(0, np.int64),
                                   np.concatenate(cols) if cols else np.zeros(0, np.int64))),
                                 shape=(n, n), dtype=np.float32)
        return self

    def score(self, xb: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
        assert self.sim is not None
        if self.sim.shape[0] <= DENSE_SIM_ITEMS:  # sparse × dense: the same sums, without a sparse product
            dense = getattr(self, "_dense", None)
            if dense is None:
                dense = self._dense = self.sim.toarray()
            return np.asarray(xb @ dense, dtype=np.float32)
        return _rows_dense(xb @ self.sim)

    def similarity(self, item: int) -> np.ndarray | None:
        assert self.sim is not None
        return _rows_dense(self.sim[item]).ravel()


@dataclass
class EASE:
    """Embarrassingly shallow autoencoder: B = I - P·diag(1/diag(P)), P = (XᵀX + λI)⁻¹."""

    lam: float = 200.0
    name: str = "ease"
    b: np.ndarray | None = None

    def fit(self, x: sp.csr_matrix) -> EASE:
        n = x.shape[1]
        if n > EASE_MAX_ITEMS:
            raise ToolInputError(
                f"EASE needs a dense {n:,}² item matrix; it is used up to {EASE_MAX_ITEMS:,} items.",
                hint="Use --method itemknn or als for large catalogues.",
            )
        g = _rows_dense(x.T @ x).astype(np.float64)
        g[np.diag_indices(n)] += self.lam
        p = np.linalg.inv(g)
        b = p / (-np.diag(p))
        b[np.diag_indices(n)] = 0.0
        self.b = b.astype(np.float32)
        return self

    def score(self, xb: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
        assert self.b is not None
        return np.asarray(xb @ self.b, dtype=np.float32)

    def similarity(self, item: int) -> np.ndarray | None:
        assert self.b is not None
        return self.b[item]


@dataclass
class Factors:
    """Matrix factorisation from ``implicit`` (ALS, or BPR), on CPU."""

    kind: str = "als"
    factors: int = 64
    iterations: int = 15
    alpha: float = 10.0
    regularization: float = 0.05
    seed: int = 7
    name: str = "als"
    user: np.ndarray | None = None
    item: np.ndarray | None = None

    def fit(self, x: sp.csr_matrix) -> Factors:
        # lazy: implicit loads slowly (and threadpoolctl); only this path needs it
        from implicit.cpu.als import AlternatingLeastSquares
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        # lazy: threadpoolctl is only needed here
        from threadpoolctl import threadpool_limits

        self.name = self.kind
        model: Any
        limits = threadpool_limits(1, "blas")  # implicit parallelises itself (and warns at construction otherwise)
        if self.kind == "als":
            model = AlternatingLeastSquares(factors=self.factors, regularization=self.regularization,
                                            alpha=self.alpha, iterations=self.iterations,
                                            random_state=self.seed, calculate_training_loss=False)
        else:
            model = BayesianPersonalizedRanking(factors=self.factors, learning_rate=0.05,
                                                regularization=0.01, iterations=max(self.iterations, 60),
                                                random_state=self.seed)
        try:
            model.fit(sp.csr_matrix(x, dtype=np.float32), show_progress=False)
        finally:
            limits.restore_original_limits()
        self.user = np.asarray(model.user_factors, dtype=np.float32)
        self.item = np.asarray(model.item_factors, dtype=np.float32)
        return self

    def score(self, xb: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
        assert self.user is not None and self.item is not None
        return self.user[rows] @ self.item.T

    def similarity(self, item: int) -> np.ndarray | None:
        assert self.item is not None
        v = self.item
        norms = np.linalg.norm(v, axis=1) + 1e-6
        sims = (v @ v[item]) / (norms * norms[item])
        sims[item] = 0.0
        return sims.astype(np.float32)


@dataclass
class Content:
    """Cosine between a customer's profile (mean of bought items' attribute vectors) and items."""

    vectors: np.ndarray | None = None  # n_items × d, rows L2-normalised (zero when unknown)
    name: str = "content"

    def fit(self, x: sp.csr_matrix) -> Content:
        if self.vectors is None or not np.any(self.vectors):
            raise ToolInputError(
                "The content method needs item attributes (a catalogue with category, price or names).",
                hint="Name a catalogue table with the item column, or pick another method.",
            )
        return self

    def score(self, xb: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
        assert self.vectors is not None
        n, d = self.vectors.shape
        if n <= d:  # fewer items than attributes: through the item × item cosines G = V·Vᵀ
            gram = getattr(self, "_gram", None)
            if gram is None:
                gram = self._gram = (self.vectors @ self.vectors.T).astype(np.float32)
            xb = sp.csr_matrix(xb, dtype=np.float32)
            dots = np.asarray(xb @ gram, dtype=np.float32)  # profile · item, unnormalised
            length = np.sqrt(np.maximum(np.asarray(xb.multiply(dots).sum(axis=1), dtype=np.float32), 0.0))
            dots /= length + np.float32(1e-6)  # |profile|² = xb·G·xbᵀ
            return dots
        profile = np.asarray(xb @ self.vectors, dtype=np.float32)
        profile /= np.linalg.norm(profile, axis=1, keepdims=True) + 1e-6
        return profile @ self.vectors.T

    def similarity(self, item: int) -> np.ndarray | None:
        assert self.vectors is not None
        sims = self.vectors @ self.vectors[item]
        sims[item] = 0.0
        return sims.astype(np.float32)


@dataclass
class Blend:
    """A weighted sum of methods' scores, each scaled by its largest absolute value per customer."""

    parts: list[Any] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    name: str = "blend"

    def fit(self, x: sp.csr_matrix) -> Blend:
        for part in self.parts:
            part.fit(x)
        return self

    def score(self, xb: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
        total: np.ndarray | None = None
        for part, weight in zip(self.parts, self.weights, strict=True):
            s = scaled(part.score(xb, rows)) * np.float32(weight)
            total = s if total is None else total + s
        assert total is not None
        return total

    def similarity(self, item: int) -> np.ndarray | None:
        return next((s for p in self.parts if (s := p.similarity(item)) is not None), None)

    def label(self) -> str:
        return " + ".join(f"{w:g}×{p.name}" for p, w in zip(self.parts, self.weights, strict=True))


def scaled(scores: np.ndarray) -> np.ndarray:
    """Scores divided by each row's largest absolute score (rows of zeros stay zero)."""
    top = np.abs(scores).max(axis=1, keepdims=True)
    return (scores / np.where(top > 0, top, 1.0)).astype(np.float32, copy=False)


def item_vectors(attributes: Any, items: np.ndarray, category_col: str | None, *, embed: bool = True) -> np.ndarray | None:
    """Attribute vectors of ``items`` from a catalogue frame (index = item id): category one-hot
    (the :data:`MAX_CATEGORY_COLUMNS` most common categories), price band, and the bundled
    MiniLM embedding of the name for catalogues up to :data:`TEXT_EMBED_MAX_ITEMS`. None when
    there are no attributes."""
    # lazy: pandas loads slowly; only this path needs it
    import pandas as pd

    if attributes is None or len(attributes) == 0:
        return None
    frame = attributes.reindex(pd.Index(items))
    parts: list[np.ndarray] = []
    if category_col and category_col in frame:
        codes, _ = pd.factorize(frame[category_col].astype("string"))
        counts = np.bincount(codes[codes >= 0], minlength=1)
        if len(counts) > MAX_CATEGORY_COLUMNS:  # bounded width: the most common categories keep a column
            kept = np.argsort(-counts, kind="stable")[:MAX_CATEGORY_COLUMNS]
            remap = np.full(len(counts), -1)
            remap[kept] = np.arange(len(kept))
            codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
        onehot = np.zeros((len(items), max(codes.max(initial=-1) + 1, 1)), np.float32)
        known = codes >= 0
        onehot[np.flatnonzero(known), codes[known]] = 1.0
        parts.append(onehot)
    price = next((c for c in frame.columns if str(c).lower() in ("price", "list_price", "unit_price")), None)
    if price is not None:
        p = pd.to_numeric(frame[price], errors="coerce").astype(float)
        band = np.log1p(p.clip(lower=0).fillna(p.median() if p.notna().any() else 0).to_numpy())
        centre = np.exp(-((band[:, None] - np.linspace(band.min(initial=0), band.max(initial=1), 6)[None, :]) ** 2))
        parts.append((0.5 * centre / (np.linalg.norm(centre, axis=1, keepdims=True) + 1e-6)).astype(np.float32))
    if embed and "name" in frame and len(items) <= TEXT_EMBED_MAX_ITEMS:
        # lazy: the bundled MiniLM encoder loads slowly; only this path needs it
        from knowledge.embeddings import get_encoder

        names = frame["name"].astype("string").fillna("").tolist()
        vecs = np.asarray(get_encoder().encode(names), dtype=np.float32)
        vecs[np.array([not n for n in names])] = 0.0
        parts.append(vecs)
    if not parts:
        return None
    v = np.hstack(parts).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True) + 1e-6
    return v


def make_method(name: str, n_items: int, vectors: np.ndarray | None = None) -> Any:
    """A fresh, unfitted method by name (a clear error for unknown names)."""
    if name == "popularity":
        return Popularity()
    if name == "itemknn":
        return ItemKNN()
    if name == "ease":
        return EASE()
    if name in ("als", "bpr"):
        return Factors(kind=name)
    if name == "content":
        return Content(vectors=vectors)
    raise ToolInputError(f"Unknown recommendation method {name!r}.", hint=f"Methods: auto, {', '.join(METHODS)}.")


# --- the matrix and ranking -------------------------------------------------------------------


@dataclass
class Matrix:
    """Customers × items weights with the ids of each row and column."""

    x: sp.csr_matrix
    customers: np.ndarray
    items: np.ndarray

    def row_of(self) -> dict[Any, int]:
        return {c: i for i, c in enumerate(self.customers.tolist())}


def pair_weights(n: np.ndarray, rating: np.ndarray | None, age_days: np.ndarray | None,
                 half_life_days: float | None) -> np.ndarray:
    """Implicit confidence of a customer–item pair: 1 + log(times bought) (or the rating),
    decayed by recency (half the weight goes after ``half_life_days``) when dates are known."""
    w = (1.0 + np.log(np.maximum(n, 1.0))).astype(np.float32)
    if rating is not None:
        r = np.nan_to_num(rating.astype(np.float32), nan=1.0)
        w = np.maximum(r, 0.0) / max(float(np.nanmax(r)) if r.size else 1.0, 1e-6) * w
    if age_days is not None and half_life_days:
        age = np.nan_to_num(age_days.astype(np.float32), nan=0.0)
        w = w * (0.5 + 0.5 * np.exp2(-np.maximum(age, 0.0) / half_life_days)).astype(np.float32)
    return w.astype(np.float32)


def build_matrix(customer: np.ndarray, item: np.ndarray, weight: np.ndarray,
                 items: np.ndarray | None = None) -> Matrix:
    """The CSR matrix of pairs (duplicates summed); ``items`` fixes the column order (catalogue
    items with no interactions become empty columns, so content can still reach them)."""
    # lazy: pandas loads slowly; only this path needs it
    import pandas as pd

    cust_codes, customers = pd.factorize(pd.Series(customer), sort=True)
    if items is None:
        item_codes, item_ids = pd.factorize(pd.Series(item), sort=True)
        items = np.asarray(item_ids)
    else:
        item_codes = pd.Index(items).get_indexer(pd.Series(item))
    keep = item_codes >= 0
    x = sp.csr_matrix((weight[keep], (cust_codes[keep], item_codes[keep])),
                      shape=(len(customers), len(items)), dtype=np.float32)
    x.sum_duplicates()
    return Matrix(x, np.asarray(customers), np.asarray(items))


def top_n(scores: np.ndarray, n: int, exclude: sp.csr_matrix | None = None,
          keep_cols: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the ``n`` best columns per row, best first; columns with a
    non-zero in ``exclude`` are left out (except ``keep_cols``: repurchasable items)."""
    s = scores.astype(np.float32, copy=True)
    if exclude is not None and exclude.nnz:
        e = exclude.tocoo()
        if keep_cols is not None and keep_cols.any():
            drop = ~keep_cols[e.col]
            s[e.row[drop], e.col[drop]] = -np.inf
        else:
            s[e.row, e.col] = -np.inf
    n = min(n, s.shape[1])
    if n <= 0:
        return np.zeros((s.shape[0], 0), np.int64), np.zeros((s.shape[0], 0), np.float32)
    if n <= _ARGMAX_TOP and n < s.shape[1]:
        return _top_by_argmax(s, n)
    part = np.argpartition(-s, n - 1, axis=1)[:, :n] if n < s.shape[1] else np.tile(np.arange(s.shape[1]), (s.shape[0], 1))
    vals = np.take_along_axis(s, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(vals, order, axis=1)


_ARGMAX_TOP = 16  # up to this many picks, n passes of argmax beat argpartition + argsort


def _top_by_argmax(s: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`top_n` by taking each row's best column ``n`` times (``s`` is consumed; ties go
    to the lower column). A row with fewer than ``n`` allowed columns ends with distinct
    left-out columns scored -inf, as argpartition gives."""
    rows = np.arange(s.shape[0])
    idx = np.empty((s.shape[0], n), np.int64)
    vals = np.empty((s.shape[0], n), np.float32)
    for p in range(n):
        best = s.argmax(axis=1)
        idx[:, p] = best
        vals[:, p] = s[rows, best]
        s[rows, best] = -np.inf
    for r in np.flatnonzero(np.isneginf(vals[:, -1])).tolist():
        ok = int(np.isfinite(vals[r]).sum())
        taken = set(idx[r, :ok].tolist())
        idx[r, ok:] = [c for c in range(s.shape[1]) if c not in taken][: n - ok]
    return idx, vals


def batch_rows(n_items: int, budget_cells: int = 8_000_000) -> int:
    """Customers scored per batch so a dense batch stays under ``budget_cells`` floats (32 MB)."""
    return max(1, min(50_000, budget_cells // max(n_items, 1)))


# --- top picks without the dense score rows -------------------------------------------------------


@dataclass
class SparseScores:
    """A method whose scores are a sparse item-kNN part plus one row shared by every customer
    (item-kNN, popularity and blends of the two): ``score[r, j] = knn[r, j] + background[j]``,
    with ``knn ≥ 0`` non-zero only on items co-bought with the customer's own. Every other item
    scores its background, so a customer's top ``t`` lie among the items their kNN row reaches
    and the first ``t + owned`` items by background — :func:`sparse_top_n` ranks only those."""

    sim: sp.csr_matrix | None  # the item-kNN similarity (None: no kNN part)
    knn_weight: float | None  # the kNN part's blend weight (None: raw scores, a bare item-kNN)
    background: np.ndarray  # float32 by column (zeros without popularity)
    order: np.ndarray  # columns by background, best first (ties: the lower column)


def sparse_scores(method: Any, n_items: int) -> SparseScores | None:
    """The :class:`SparseScores` form of ``method``, or None when its scores are not of that
    shape (EASE, ALS, content: dense rows). The background is made by the method's own
    ``score`` and ``scaled``, so the figures equal the dense path's to the bit."""
    parts = method.parts if isinstance(method, Blend) else [method]
    weights = method.weights if isinstance(method, Blend) else [None]
    kinds = [type(p) for p in parts]
    if not set(kinds) <= {ItemKNN, Popularity} or len(kinds) != len(set(kinds)):
        return None
    empty = sp.csr_matrix((1, n_items), dtype=np.float32)
    background = np.zeros(n_items, np.float32)
    sim, knn_weight = None, None
    for part, weight in zip(parts, weights, strict=True):
        if isinstance(part, ItemKNN):
            sim, knn_weight = part.sim, weight
        else:
            row = part.score(empty, np.zeros(1, np.int64))
            background = (scaled(row) * np.float32(weight))[0] if weight is not None else row[0].astype(np.float32)
    order = np.lexsort((np.arange(n_items), -background))
    return SparseScores(sim, knn_weight, background, order)


def sparse_batch_rows(shape: SparseScores, x: sp.csr_matrix, budget_entries: int = 600_000) -> int:
    """Customers per batch of :func:`sparse_top_n`: about ``budget_entries`` candidates each."""
    n = x.shape[1]
    reach = 0.0  # the mean kNN row length: each purchase reaches its item's neighbours
    if shape.sim is not None:
        bought = np.bincount(x.indices, minlength=n).astype(np.float64)
        reach = float(bought @ np.diff(shape.sim.indptr)) / max(x.shape[0], 1)
    return max(1, min(50_000, int(budget_entries // (min(float(n), reach) + 64))))


def sparse_top_n(shape: SparseScores, xb: sp.csr_matrix, n: int,
                 budget_cells: int = 8_000_000) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`top_n` of the method's scores with ``exclude=xb``, equal to it to the bit (same
    picks, same order, same float32 scores), ranking only each customer's candidates (see
    :class:`SparseScores`): the best ``n`` of the kNN row's items, then those merged with the
    first ``n + owned`` items by background. A candidate is ranked by one int64 key — its
    score's bits (scores are ≥ 0, so they order like the floats) above the complement of its
    column — so ties go to the lower column as in the dense path, without sorting the entries.
    None when a premise fails (negative weights, or a customer owning so much that fewer than
    ``n`` items would be left): score densely then."""
    b, n_items = xb.shape
    xb = xb.tocsr()
    owned_per_row = np.diff(xb.indptr)
    spare = int(owned_per_row.max(initial=0)) + n
    if not 1 <= n <= _ARGMAX_TOP or spare > n_items or n_items >= 2**31 or (xb.nnz and float(xb.data.min()) < 0):
        return None
    owned_rows = np.repeat(np.arange(b, dtype=np.int64), owned_per_row)
    picks = np.full((b, n), _NO_PICK, np.int64)
    k: sp.csr_matrix | None = None
    keys = np.zeros(0, np.int64)
    if shape.sim is not None:
        k = (xb @ shape.sim).tocsr()  # a product's rows hold no duplicate columns
        lengths = np.diff(k.indptr)
        k_rows = np.repeat(np.arange(b, dtype=np.int64), lengths)
        vals = k.data.astype(np.float32, copy=False)
        if shape.knn_weight is not None:  # as Blend: scaled (by the row's largest |score|), times the weight
            top = np.zeros(b, np.float32)
            nonempty = np.flatnonzero(lengths)
            if len(nonempty):
                top[nonempty] = np.maximum.reduceat(np.abs(vals), k.indptr[nonempty])
            vals = (vals / np.where(top > 0, top, np.float32(1.0))[k_rows]).astype(np.float32) \
                * np.float32(shape.knn_weight)
        keys = _rank_keys(vals + shape.background[k.indices], k.indices)
    # the first ``spare`` items by background, for every customer: what no kNN part lifts
    bg_cols = shape.order[:spare].astype(np.int64)
    bg = np.broadcast_to(_rank_keys(shape.background[bg_cols], bg_cols), (b, spare)).copy()
    # what each customer owns is left out, through a small mask reused a few customers at a time
    chunk = max(1, _MASK_CELLS // n_items)
    mine = np.zeros((min(chunk, b), n_items), bool)
    for s in range(0, b, chunk):
        e = min(b, s + chunk)
        o_rows, o_cols = owned_rows[xb.indptr[s]:xb.indptr[e]] - s, xb.indices[xb.indptr[s]:xb.indptr[e]]
        mine[o_rows, o_cols] = True
        if k is not None:
            lo, hi = k.indptr[s], k.indptr[e]
            keys[lo:hi][mine[k_rows[lo:hi] - s, k.indices[lo:hi]]] = _NO_PICK
        bg[s:e][mine[:e - s][:, bg_cols]] = _NO_PICK
        mine[o_rows, o_cols] = False
    if k is not None:
        picks = _best_keys(keys, k.indptr, n, _BLOCK_CELLS)
    picked_cols = np.where(picks == _NO_PICK, -1, picks & _COL_MASK)
    bg[((bg[:, :, None] & _COL_MASK) == picked_cols[:, None, :]).any(axis=2)] = _NO_PICK  # among the kNN picks
    both = np.concatenate([picks, bg], axis=1)
    chosen = np.sort(both, axis=1)[:, :-n - 1:-1]  # best first (a row's keys are distinct)
    cols = (_COL_MASK - (chosen & _COL_MASK)).astype(np.int64)
    vals = (chosen >> 32).astype(np.int32).view(np.float32)
    return cols, vals


_COL_MASK = np.int64(0xFFFFFFFF)
_MASK_CELLS = 4_000_000  # bytes of the owned-items mask (rows of it at a time)
_BLOCK_CELLS = 262_144  # candidates per padded block (2 MB of keys: the repeated maxima stay in cache)
_NO_PICK = np.iinfo(np.int64).min


def _rank_keys(scores: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """One int64 per candidate that orders like (score, -column): the float32 bits of a score
    ≥ 0 order like the score."""
    bits = np.ascontiguousarray(scores, dtype=np.float32).view(np.int32).astype(np.int64)
    return (bits << 32) | (_COL_MASK - cols.astype(np.int64))


def _best_keys(keys: np.ndarray, indptr: np.ndarray, n: int, budget_cells: int) -> np.ndarray:
    """The ``n`` largest keys of each CSR row (``_NO_PICK`` where a row has fewer), largest
    first: rows of similar length are padded into blocks of at most ``budget_cells`` and the
    maximum taken ``n`` times."""
    b = len(indptr) - 1
    counts = np.diff(indptr)
    by_count = np.argsort(counts, kind="stable")
    out = np.full((b, n), _NO_PICK, np.int64)
    s = 0
    while s < b:
        e = s + 1
        while e < b and (e - s + 1) * int(counts[by_count[e]]) <= budget_cells:
            e += 1
        block = by_count[s:e]
        s = e
        width = int(counts[block[-1]])
        if width == 0:
            continue
        c = counts[block]
        r = np.repeat(np.arange(len(block)), c)
        offset = np.arange(int(c.sum())) - np.repeat(np.cumsum(c) - c, c)
        padded = np.full((len(block), width), _NO_PICK, np.int64)
        padded[r, offset] = keys[np.repeat(indptr[block], c) + offset]
        rows = np.arange(len(block))
        for p in range(min(n, width)):
            best = padded.argmax(axis=1)
            out[block, p] = padded[rows, best]
            padded[rows, best] = _NO_PICK
    return out
