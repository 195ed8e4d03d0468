"""Sentiment in [-1, 1] from the bundled sentence embeddings and a small shipped head.

The head is a logistic regression over all-MiniLM-L6-v2 embeddings, trained once on public
labelled sentences from other review sites (see ``README.md`` next to ``sentiment_head.json``
for the data, its licence and the held-out figures; ``benchmarks/bench_feedback.py`` compares
it with VADER and retrains it). Nothing from the analysed data's labels is used, and nothing
is downloaded: the head is 384 numbers in a JSON file.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tools.feedback.text import chunk_texts

if TYPE_CHECKING:
    from knowledge.embeddings import Encoder

HEAD_PATH = Path(__file__).with_name("sentiment_head.json")

#: Scores within this distance of 0 are labelled neutral.
NEUTRAL_BAND = 0.25
LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True, slots=True)
class SentimentHead:
    """``p(positive) = sigmoid(w · embedding + b)``; the score is ``2p - 1``."""

    weights: np.ndarray
    bias: float
    version: str  # a hash of the head's numbers: cached scores from another head are stale

    def score(self, embeddings: np.ndarray) -> np.ndarray:
        """Sentiment per embedding row, in [-1, 1]."""
        logits = embeddings.astype(np.float32) @ self.weights + self.bias
        return np.tanh(logits / 2.0)  # == 2 * sigmoid(logit) - 1, without overflow


@functools.cache
def load_head(path: Path = HEAD_PATH) -> SentimentHead:
    """The shipped head (``sentiment_head.json``: ``{"weights": [...], "bias": b, ...}``)."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    weights = np.asarray(raw["weights"], dtype=np.float32)
    digest = hashlib.sha256(weights.tobytes() + str(raw["bias"]).encode()).hexdigest()[:12]
    return SentimentHead(weights=weights, bias=float(raw["bias"]), version=digest)


def label(score: float) -> str:
    """``negative`` / ``neutral`` / ``positive`` for a score in [-1, 1]."""
    if score <= -NEUTRAL_BAND:
        return "negative"
    if score >= NEUTRAL_BAND:
        return "positive"
    return "neutral"


@dataclass(frozen=True, slots=True)
class Scored:
    """Per text: its embedding (mean of its chunks', unit length), sentiment and chunk count."""

    embeddings: np.ndarray  # (n, dim) float32
    sentiment: np.ndarray  # (n,) float32 in [-1, 1]
    chunks: np.ndarray  # (n,) int: 1 for a text that fits the encoder in one piece


def score_texts(texts: Sequence[str], encoder: Encoder, head: SentimentHead) -> Scored:
    """Embed and score ``texts``; a long text is read in chunks whose scores are averaged
    (weighted by their word counts), so nothing is cut off."""
    n = len(texts)
    if n == 0:
        return Scored(np.zeros((0, 384), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))
    chunks = chunk_texts(texts)
    vectors = np.asarray(encoder.encode([c.text for c in chunks]), dtype=np.float32)
    owner = np.fromiter((c.text_index for c in chunks), dtype=np.int64, count=len(chunks))
    words = np.fromiter((c.words for c in chunks), dtype=np.float32, count=len(chunks))
    scores = head.score(vectors)
    weight = np.bincount(owner, weights=words, minlength=n)
    sentiment = (np.bincount(owner, weights=scores * words, minlength=n) / weight).astype(np.float32)
    embeddings = np.zeros((n, vectors.shape[1]), dtype=np.float32)
    np.add.at(embeddings, owner, vectors * words[:, None])
    embeddings /= np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    return Scored(embeddings, sentiment, np.bincount(owner, minlength=n))
