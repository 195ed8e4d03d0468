"""all-MiniLM-L6-v2 with int8 weights for bulk document embedding (CTranslate2).

Embedding dominates knowledge ingest: a ~100-token chunk costs ~2 GFLOP, and the float32
encoder in :mod:`knowledge.embeddings` already runs near this CPU's float32 GEMM rate.
Integer matrix products do the same work about twice as fast on AVX2, so documents are
embedded here with the same bundled weights quantised to int8 (per output channel, by
CTranslate2's oneDNN kernels), while queries keep the exact float32 encoder. The vectors
agree with float32 to a cosine of ~0.99 (tested), which leaves retrieval unchanged on the
labelled question set (``mara kb eval``).

The CTranslate2 model is built in memory from the bundled safetensors in ~0.3 s: no torch,
no conversion script, nothing downloaded and nothing cached on disk.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.embeddings import Encoder, MiniLMEncoder

__all__ = ["PRECISIONS", "Int8MiniLMEncoder", "document_encoder", "int8_available"]

log = logging.getLogger(__name__)


def int8_available() -> bool:
    """True when CTranslate2 (the int8 runtime) can be imported."""
    try:
        # lazy: optional dependency (its ImportError is handled here)
        import ctranslate2  # noqa: F401
    except ImportError:
        return False
    return True


def _import_specs() -> tuple[Any, Any]:
    """``ctranslate2.specs`` without its optional torch import (1.7 s we do not need).

    The spec modules accept numpy arrays; they only look for torch to accept its tensors.
    While they are imported for the first time, ``import torch`` is made to fail (unless torch
    is loaded already, in which case nothing is hidden).
    """
    hide = "torch" not in sys.modules and "ctranslate2.specs" not in sys.modules
    if hide:
        sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` fail
    try:
        # lazy: torch, ctranslate2 load slowly; only this path needs them
        from ctranslate2.specs import common_spec, transformer_spec
    finally:
        if hide:
            del sys.modules["torch"]
    return common_spec, transformer_spec


def _build_spec(encoder: MiniLMEncoder, weights: dict[str, np.ndarray]) -> Any:
    """A CTranslate2 BERT encoder spec holding ``weights`` (Hugging Face names)."""
    common_spec, transformer_spec = _import_specs()

    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""

    def w(name: str) -> np.ndarray:
        return weights[prefix + name]

    layers = sum(1 for k in weights if k.endswith("attention.self.query.weight"))
    spec = transformer_spec.TransformerEncoderModelSpec(
        transformer_spec.TransformerEncoderSpec(
            layers,
            encoder.num_heads,
            pre_norm=False,
            activation=common_spec.Activation.GELU,
            layernorm_embedding=True,
            num_source_embeddings=2,
            embeddings_merge=common_spec.EmbeddingsMerge.ADD,
        ),
        pooling_layer=False,
    )
    enc = spec.encoder
    enc.scale_embeddings = False
    enc.embeddings[0].weight = w("embeddings.word_embeddings.weight")
    enc.embeddings[1].weight = w("embeddings.token_type_embeddings.weight")
    enc.position_encodings.encodings = w("embeddings.position_embeddings.weight")
    enc.layernorm_embedding.gamma = w("embeddings.LayerNorm.weight")
    enc.layernorm_embedding.beta = w("embeddings.LayerNorm.bias")
    for i, layer in enumerate(enc.layer):
        p = f"encoder.layer.{i}."
        attn = layer.self_attention
        attn.linear[0].weight = np.concatenate(
            [w(p + f"attention.self.{n}.weight") for n in ("query", "key", "value")]
        )
        attn.linear[0].bias = np.concatenate(
            [w(p + f"attention.self.{n}.bias") for n in ("query", "key", "value")]
        )
        attn.linear[1].weight = w(p + "attention.output.dense.weight")
        attn.linear[1].bias = w(p + "attention.output.dense.bias")
        attn.layer_norm.gamma = w(p + "attention.output.LayerNorm.weight")
        attn.layer_norm.beta = w(p + "attention.output.LayerNorm.bias")
        layer.ffn.linear_0.weight = w(p + "intermediate.dense.weight")
        layer.ffn.linear_0.bias = w(p + "intermediate.dense.bias")
        layer.ffn.linear_1.weight = w(p + "output.dense.weight")
        layer.ffn.linear_1.bias = w(p + "output.dense.bias")
        layer.ffn.layer_norm.gamma = w(p + "output.LayerNorm.weight")
        layer.ffn.layer_norm.beta = w(p + "output.LayerNorm.bias")
    vocab_size = enc.embeddings[0].weight.shape[0]
    tokenizer = encoder._tokenizer
    tokens = [tokenizer.id_to_token(i) or f"[unused_id_{i}]" for i in range(vocab_size)]
    spec.register_vocabulary(tokens)
    spec.config.unk_token = "[UNK]"
    spec.config.layer_norm_epsilon = encoder.eps
    return spec


class Int8MiniLMEncoder:
    """The bundled all-MiniLM-L6-v2 with int8 matrix products, for embedding many passages.

    Same tokenizer, truncation, mean pooling and L2 normalisation as
    :class:`~knowledge.embeddings.MiniLMEncoder`, whose :attr:`name` it shares: its vectors
    live in the same space (cosine ~0.99 to float32), so a store may mix them and queries
    encoded in float32 find them. ``workers`` batches run at once, one core each.
    """

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        workers: int | None = None,
        reference: MiniLMEncoder | None = None,
    ) -> None:
        # lazy: ctranslate2, safetensors load slowly; only this path needs them
        import ctranslate2
        from safetensors.numpy import load_file

        self._reference = reference if reference is not None else MiniLMEncoder(model_dir)
        self.name = self._reference.name
        self.dim: int = self._reference.dim
        self.max_seq_length = self._reference.max_seq_length
        self.workers = max(1, int(workers if workers is not None else min(4, os.cpu_count() or 1)))
        weights = load_file(str(self._reference.model_dir / "model.safetensors"))
        spec = _build_spec(self._reference, weights)
        spec.validate()
        spec.optimize(quantization="int8")
        with tempfile.TemporaryDirectory(prefix="mara-int8-") as tmp:
            spec.save(tmp)  # CTranslate2 reads the files completely while loading
            self._model = ctranslate2.Encoder(
                tmp,
                device="cpu",
                compute_type="int8",
                inter_threads=self.workers,
                intra_threads=1,
            )
        log.debug("int8 MiniLM ready (%d workers)", self.workers)

    def encode(self, texts: Sequence[str], batch_size: int = 4) -> np.ndarray:
        """Embed ``texts`` into a float32 ``(n, dim)`` array of unit-length rows.

        Texts are sorted by token length so that batches carry little padding; the batches
        run on :attr:`workers` threads (CTranslate2 releases the GIL); rows come back in
        input order.
        """
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of strings, not a single string")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self._reference.tokenize(texts)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        step = max(1, int(batch_size))
        batches = [order[start : start + step] for start in range(0, len(order), step)]

        def run(idx: list[int]) -> np.ndarray:
            return self._pool([ids[i] for i in idx])

        if self.workers > 1 and len(batches) > 1:
            with ThreadPoolExecutor(
                min(self.workers, len(batches)), thread_name_prefix="mara-embed-int8"
            ) as pool:
                for idx, vectors in zip(batches, pool.map(run, batches), strict=True):
                    out[idx] = vectors
        else:
            for idx in batches:
                out[idx] = run(idx)
        return out

    def _pool(self, batch: list[list[int]]) -> np.ndarray:
        hidden = np.asarray(self._model.forward_batch(batch).last_hidden_state, dtype=np.float32)
        lengths = np.array([len(ids) for ids in batch], dtype=np.float32)
        mask = (np.arange(hidden.shape[1])[None, :] < lengths[:, None]).astype(np.float32)
        pooled = (hidden * mask[:, :, None]).sum(axis=1) / np.maximum(lengths[:, None], 1.0)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


#: Accepted values of ``MARA_EMBEDDING_PRECISION``.
PRECISIONS = ("int8", "float32")

_LOCK = threading.Lock()
_CACHE: dict[str, Int8MiniLMEncoder] = {}


def document_encoder(query_encoder: Encoder, precision: str = "int8") -> Encoder:
    """The encoder for stored passages, given the one used for queries.

    ``"int8"`` (the default) gives the int8 twin of a numpy :class:`MiniLMEncoder` (built
    once per process and model); ``"float32"`` gives ``query_encoder`` itself. Other
    encoders (a sentence-transformers model) embed passages as they embed queries, and when
    CTranslate2 is missing int8 falls back to float32 with a warning.
    """
    if precision not in PRECISIONS:
        raise ValueError(
            f"embedding precision must be one of {', '.join(PRECISIONS)}, got {precision!r}"
        )
    if precision == "float32" or not isinstance(query_encoder, MiniLMEncoder):
        return query_encoder
    if not int8_available():
        log.warning("ctranslate2 is not installed: passages are embedded in float32")
        return query_encoder
    key = str(query_encoder.model_dir)
    with _LOCK:
        encoder = _CACHE.get(key)
        if encoder is None:
            encoder = Int8MiniLMEncoder(reference=query_encoder)
            _CACHE[key] = encoder
        return encoder
