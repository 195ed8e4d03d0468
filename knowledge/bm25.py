"""A small Okapi BM25 keyword index for hybrid search (no dependencies beyond the stdlib)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

__all__ = ["BM25Index", "tokenize"]

# Numbers keep their decimal/thousands separators ("1.9", "20,000"); words are Unicode-aware.
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)

_STOPWORDS = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from",
        "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "of",
        "on", "or", "our", "so", "that", "the", "their", "them", "there", "these", "this",
        "to", "was", "we", "what", "when", "where", "which", "who", "why", "will", "with",
        "you", "your",
    }
)  # fmt: skip


def _stem(word: str) -> str:
    """Very light English suffix stripping: plurals and possessives only."""
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop-word-free, lightly stemmed terms of ``text``."""
    terms = (_stem(t) for t in _TOKEN.findall(text.lower()))
    return [t for t in terms if t not in _STOPWORDS]


class BM25Index:
    """Okapi BM25 over a fixed list of documents (``k1=1.5``, ``b=0.75``)."""

    def __init__(self, documents: Sequence[str], *, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self._tfs = [Counter(tokenize(doc)) for doc in documents]
        self._lengths = [sum(tf.values()) for tf in self._tfs]
        self._avg_len = (sum(self._lengths) / len(self._lengths)) if self._lengths else 0.0
        df: Counter[str] = Counter()
        for tf in self._tfs:
            df.update(tf.keys())
        n = len(self._tfs)
        self._idf = {term: math.log(1.0 + (n - d + 0.5) / (d + 0.5)) for term, d in df.items()}

    def __len__(self) -> int:
        return len(self._tfs)

    def scores(self, query: str) -> list[float]:
        """BM25 score of every document for ``query`` (0.0 where no term matches)."""
        terms = [t for t in dict.fromkeys(tokenize(query)) if t in self._idf]
        out = [0.0] * len(self._tfs)
        if not terms or not self._avg_len:
            return out
        k1, b, avg = self.k1, self.b, self._avg_len
        for i, tf in enumerate(self._tfs):
            norm = k1 * (1.0 - b + b * self._lengths[i] / avg)
            score = 0.0
            for term in terms:
                f = tf.get(term)
                if f:
                    score += self._idf[term] * f * (k1 + 1.0) / (f + norm)
            out[i] = score
        return out

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        """Indices and scores of the ``k`` best-matching documents (score > 0), best first."""
        scored = [(i, s) for i, s in enumerate(self.scores(query)) if s > 0.0]
        scored.sort(key=lambda item: (-item[1], item[0]))
        return scored[:k]
