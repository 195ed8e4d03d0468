"""Brand knowledge: chunking, embeddings, the Chroma-backed knowledge base, the sample brand.

Importing this package is cheap; heavy parts load on first use:

- :mod:`knowledge.embeddings` -- ``get_encoder()``: all-MiniLM-L6-v2 through CTranslate2 (no torch)
- :mod:`knowledge.documents` -- ``load_document()``: Markdown, text, HTML, PDF, DOCX, CSV
- :mod:`knowledge.chunking` -- ``chunk_document()``: heading-aware, token-bounded chunks
- :mod:`knowledge.store` -- ``KnowledgeBase``: ingest / hybrid search over Chroma
- :mod:`knowledge.evaluation` -- ``evaluate()``: recall@k / MRR on a labelled question set
- :mod:`knowledge.sample` -- ``sample_brand_path()``: the shipped "Alder & Peak" documents
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "KnowledgeBase": "knowledge.store",
    "Passage": "knowledge.store",
    "SourceInfo": "knowledge.store",
    "IngestReport": "knowledge.store",
    "Encoder": "knowledge.embeddings",
    "get_encoder": "knowledge.embeddings",
    "chunk_document": "knowledge.chunking",
    "sample_brand_path": "knowledge.sample",
    "load_document": "knowledge.documents",
    "evaluate": "knowledge.evaluation",
    "load_question_set": "knowledge.evaluation",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'knowledge' has no attribute {name!r}")
    return getattr(import_module(module), name)
