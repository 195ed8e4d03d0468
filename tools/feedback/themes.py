"""Themes: texts grouped by meaning, each named by its keywords (c-TF-IDF) and quoted.

Texts are clustered on their sentence embeddings (k-means; k chosen by silhouette on a
sample), so "the zip broke" and "zipper jammed" land together although they share no word.
A theme is then named by the words that set it apart from the others — class-based TF-IDF:
a word's frequency in the theme times ``log(1 + average words per theme / its frequency
overall)`` — and quoted with the texts closest to its centre.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: Words that say nothing about a theme in customer text (on top of English stop words).
FEEDBACK_STOP_WORDS = frozenset(
    ["really", "just", "like", "product", "bought", "buy", "item", "got", "get", "would", "also", "one", "im", "ive", "dont", "didnt", "doesnt", "use", "used", "using", "thing", "things", "bit", "lot", "well", "much", "even", "still", "way", "time", "times", "back", "make", "made", "won", "don", "isn", "wasn", "doesn", "didn", "aren", "couldn", "wouldn"]
)
_TOKEN = r"(?u)\b[^\W\d_][^\W\d_'’]{2,}\b"
MAX_QUOTE_CHARS = 240


@dataclass(slots=True)
class Theme:
    """One theme: a name from its keywords, its texts' count and mean sentiment, quotes."""

    id: int
    label: str
    size: int
    keywords: list[str]
    sentiment: float
    quotes: list[str]
    members: np.ndarray = field(repr=False)  # indexes of the theme's texts

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "label": self.label, "size": self.size, "keywords": self.keywords,
                "sentiment": round(self.sentiment, 3), "quotes": self.quotes}


def choose_k(embeddings: np.ndarray, seed: int = 0, sample: int = 1000) -> int:
    """The number of themes: the silhouette-best k in 3..12 on a sample (fewer for few texts)."""
    # lazy: scikit-learn loads slowly; only theme finding needs it
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = len(embeddings)
    top = min(12, n // 15)
    if top < 3:
        return 1 if n < 10 else 2
    rng = np.random.default_rng(seed)
    rows = embeddings[rng.choice(n, size=min(n, sample), replace=False)]
    best_k, best = 3, -1.0
    for k in range(3, top + 1):
        labels = KMeans(n_clusters=k, n_init=1, random_state=seed).fit_predict(rows)
        score = float(silhouette_score(rows, labels, metric="cosine"))
        if score > best + 0.002:  # a clearly better split, not noise
            best_k, best = k, score
    return best_k


def cluster(embeddings: np.ndarray, k: int | None = None, seed: int = 0) -> np.ndarray:
    """A theme number per text (0..k-1)."""
    # lazy: scikit-learn loads slowly; only theme finding needs it
    from sklearn.cluster import KMeans

    n = len(embeddings)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    k = min(k or choose_k(embeddings, seed), n)
    if k <= 1:
        return np.zeros(n, dtype=np.int64)
    return KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(embeddings).astype(np.int64)


def class_keywords(texts: Sequence[str], classes: np.ndarray, top: int = 6) -> dict[int, list[str]]:
    """The ``top`` distinguishing words/bigrams of each class by c-TF-IDF."""
    # lazy: scikit-learn loads slowly; only theme finding needs it
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    names = sorted(set(classes.tolist()))
    if not texts or not names:
        return {}
    stop = sorted(ENGLISH_STOP_WORDS | FEEDBACK_STOP_WORDS)
    docs = [" ".join(texts[int(i)] for i in np.flatnonzero(classes == c)) for c in names]
    vectorizer = CountVectorizer(stop_words=stop, ngram_range=(1, 2), token_pattern=_TOKEN,
                                 min_df=1, lowercase=True)
    try:
        counts = vectorizer.fit_transform(docs).toarray().astype(np.float64)
    except ValueError:  # nothing but stop words
        return {c: [] for c in names}
    vocab = vectorizer.get_feature_names_out()
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    idf = np.log(1.0 + counts.sum(axis=1).mean() / np.maximum(counts.sum(axis=0), 1.0))
    weights = tf * idf
    out: dict[int, list[str]] = {}
    for row, c in enumerate(names):
        words: list[str] = []
        for j in np.argsort(-weights[row]):
            if weights[row, j] <= 0 or len(words) >= top:
                break
            term = str(vocab[j])
            if any(term in w.split() or w in term.split() for w in words if " " in w or " " in term):
                continue  # "zipper" after "broken zipper" adds nothing
            words.append(term)
        out[c] = words
    return out


def subset_keywords(texts: Sequence[str], in_subset: np.ndarray, top: int = 10) -> list[str]:
    """The words that set the subset apart from the other texts (or from nothing, when it is all)."""
    if in_subset.all():
        classes = np.zeros(len(texts), dtype=np.int64)
        return class_keywords(texts, classes, top).get(0, [])
    return class_keywords(texts, in_subset.astype(np.int64), top).get(1, [])


def _quotes(texts: Sequence[str], embeddings: np.ndarray, members: np.ndarray, n: int = 3) -> list[str]:
    """The ``n`` member texts closest to the theme's centre, short enough to quote."""
    centre = embeddings[members].mean(axis=0)
    order = members[np.argsort(-(embeddings[members] @ centre))]
    short = [i for i in order if len(texts[i]) <= MAX_QUOTE_CHARS] or list(order)
    quotes: list[str] = []
    for i in short:
        text = texts[i] if len(texts[i]) <= MAX_QUOTE_CHARS else texts[i][: MAX_QUOTE_CHARS - 1].rstrip() + "…"
        if text.lower() not in (q.lower() for q in quotes):
            quotes.append(text)
        if len(quotes) == n:
            break
    return quotes


def _name(keywords: list[str]) -> str:
    return ", ".join(keywords[:3]) if keywords else "(no distinctive words)"


def find_themes(
    texts: Sequence[str], embeddings: np.ndarray, sentiment: np.ndarray, k: int | None = None, seed: int = 0
) -> tuple[np.ndarray, list[Theme]]:
    """Theme number per text and the themes, largest first (ids follow that order)."""
    # lazy: scikit-learn loads slowly; only theme finding needs it
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # k-means on small matrices: BLAS threads cost 10-20x on a busy machine
        raw = cluster(embeddings, k, seed)
    if len(raw) == 0:
        return raw, []
    sizes = np.bincount(raw)
    order = [int(c) for c in np.argsort(-sizes, kind="stable") if sizes[c] > 0]
    remap = np.zeros(len(sizes), dtype=np.int64)
    for new, old in enumerate(order):
        remap[old] = new
    labels = remap[raw]
    keywords = class_keywords(texts, labels)
    themes = []
    for t in range(len(order)):
        members = np.flatnonzero(labels == t)
        words = keywords.get(t, [])
        themes.append(Theme(id=t, label=_name(words), size=int(len(members)), keywords=words[:5],
                            sentiment=float(sentiment[members].mean()),
                            quotes=_quotes(texts, embeddings, members), members=members))
    return labels, themes
