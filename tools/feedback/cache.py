"""Embeddings and scores of analysed texts, kept per table in the workspace.

A text's entry is keyed by the hash of its cleaned text and the sentiment head's version, so
re-analysing a table after new rows embeds only the texts not seen before (the slow step),
and editing a review re-scores just that review. Files are owner-only (they hold customer
text's embeddings) and written atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from foundation.settings import private_dir, write_private


def text_key(text: str) -> bytes:
    """16 bytes identifying a cleaned text."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class FeedbackCache:
    """``key -> (embedding, sentiment, chunks)`` for one table's text column under one head."""

    def __init__(self, folder: Path | None, table: str, column: str, head_version: str) -> None:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{table}.{column}")[:120]
        self.path = Path(folder) / f"{safe}.{head_version}.npz" if folder is not None else None
        self._index: dict[bytes, int] = {}
        self._emb = np.zeros((0, 384), np.float16)
        self._sent = np.zeros(0, np.float32)
        self._chunks = np.zeros(0, np.int32)
        if self.path is not None and self.path.exists():
            with contextlib.suppress(OSError, ValueError, KeyError):  # a damaged cache is rebuilt
                with np.load(self.path) as data:
                    keys, emb, sent, chunks = data["keys"], data["emb"], data["sent"], data["chunks"]
                if len(keys) == len(emb) == len(sent) == len(chunks):
                    self._emb, self._sent, self._chunks = emb, sent, chunks
                    self._index = {bytes(k): i for i, k in enumerate(keys)}

    def __len__(self) -> int:
        return len(self._index)

    def missing(self, keys: Sequence[bytes]) -> list[int]:
        """Positions in ``keys`` that the cache does not hold."""
        return [i for i, k in enumerate(keys) if k not in self._index]

    def get(self, keys: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows = np.fromiter((self._index[k] for k in keys), dtype=np.int64, count=len(keys))
        return self._emb[rows].astype(np.float32), self._sent[rows], self._chunks[rows].astype(np.int64)

    def add(self, keys: Sequence[bytes], emb: np.ndarray, sent: np.ndarray, chunks: np.ndarray) -> None:
        fresh = [i for i, k in enumerate(keys) if k not in self._index]
        if not fresh:
            return
        start = len(self._sent)
        for offset, i in enumerate(fresh):
            self._index[keys[i]] = start + offset
        self._emb = np.vstack([self._emb, emb[fresh].astype(np.float16)])
        self._sent = np.concatenate([self._sent, sent[fresh].astype(np.float32)])
        self._chunks = np.concatenate([self._chunks, chunks[fresh].astype(np.int32)])

    def save(self) -> None:
        """Write the cache (atomically, owner-only); a no-op without a folder."""
        if self.path is None:
            return
        private_dir(self.path.parent)
        keys = np.array(sorted(self._index, key=self._index.__getitem__), dtype="S16")
        buffer = io.BytesIO()
        np.savez(buffer, keys=keys, emb=self._emb, sent=self._sent, chunks=self._chunks)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        write_private(tmp, buffer.getvalue())
        os.replace(tmp, self.path)
