"""The int8 passage encoder (the same CTranslate2 MiniLM with int8 matrix products): same vector
space as float32, chosen by MARA_EMBEDDING_PRECISION."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from knowledge.chunking import chunk_document
from knowledge.embeddings import MiniLMEncoder, document_encoder, get_encoder
from knowledge.sample import sample_brand_path
from knowledge.store import KnowledgeBase
from tests.test_embeddings import SENTENCES


@pytest.fixture(scope="module")
def exact() -> MiniLMEncoder:
    enc = get_encoder()
    assert isinstance(enc, MiniLMEncoder)
    return enc


@pytest.fixture(scope="module")
def int8(exact: MiniLMEncoder) -> MiniLMEncoder:
    enc = document_encoder(exact, "int8")
    assert isinstance(enc, MiniLMEncoder) and enc.compute_type == "int8"
    return enc


@pytest.fixture(scope="module")
def brand_passages() -> list[str]:
    return [
        c.context_text()
        for path in sorted(sample_brand_path().glob("*.md"))
        for c in chunk_document(path.read_text(encoding="utf-8"), path.name)
    ]


def test_vectors_stay_close_to_float32(
    exact: MiniLMEncoder, int8: MiniLMEncoder, brand_passages: list[str]
) -> None:
    texts = [*SENTENCES, *brand_passages]
    approx, reference = int8.encode(texts), exact.encode(texts)
    assert approx.shape == reference.shape == (len(texts), 384)
    assert approx.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(approx, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(approx * reference, axis=1)
    assert cosines.min() >= 0.98, dict(zip(texts, cosines.tolist(), strict=True))
    assert cosines.mean() >= 0.99


def test_each_passage_is_still_nearest_to_its_own_float32_vector(
    exact: MiniLMEncoder, int8: MiniLMEncoder, brand_passages: list[str]
) -> None:
    similarity = int8.encode(brand_passages) @ exact.encode(brand_passages).T
    assert (similarity.argmax(axis=1) == np.arange(len(brand_passages))).all()


def test_rows_in_input_order_whatever_the_batching(int8: MiniLMEncoder) -> None:
    texts = ["a", SENTENCES[9], "tent", SENTENCES[3], "b"]
    batched = int8.encode(texts, batch_size=2)
    np.testing.assert_allclose(batched, int8.encode(texts, batch_size=16), atol=1e-5)
    one_by_one = np.vstack([int8.encode([t]) for t in texts])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)


def test_empty_input_and_bare_string(int8: MiniLMEncoder) -> None:
    assert int8.encode([]).shape == (0, 384)
    with pytest.raises(TypeError, match="sequence of strings"):
        int8.encode("hello")


def test_shares_the_float32_model_name(exact: MiniLMEncoder, int8: MiniLMEncoder) -> None:
    assert int8.name == exact.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert int8.dim == exact.dim


def test_document_encoder_choice(exact: MiniLMEncoder, int8: MiniLMEncoder) -> None:
    assert document_encoder(exact, "int8") is int8  # built once per process
    assert document_encoder(exact, "float32") is exact

    class Other:
        dim = 8

        def encode(self, texts: object, batch_size: int = 32) -> np.ndarray:
            return np.zeros((0, 8), dtype=np.float32)

    other = Other()
    assert document_encoder(other, "int8") is other  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one of int8, float32, got 'int4'"):
        document_encoder(exact, "int4")


def test_building_it_does_not_import_torch() -> None:
    code = (
        "import sys; from knowledge.embeddings import document_encoder, get_encoder; "
        "document_encoder(get_encoder(), 'int8').encode(['hello']); "
        "bad = [m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_knowledge_base_rejects_an_unknown_precision(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="embedding_precision must be one of int8, float32"):
        KnowledgeBase(tmp_path / "chroma", embedding_precision="fp16")


def test_int8_and_float32_stores_answer_alike(tmp_path: Path) -> None:
    questions = {
        "what is the SMS opt-out text": "compliance.md",
        "how long is the return window": "faq.md",
        "who is the family camper persona": "audience_personas.md",
    }
    found: dict[str, list[str]] = {}
    for precision in ("int8", "float32"):
        kb = KnowledgeBase(tmp_path / precision, embedding_precision=precision)
        kb.ingest([sample_brand_path()])
        assert getattr(kb.document_encoder, "compute_type", None) == precision
        found[precision] = [kb.search(q, k=3, mode="vector")[0].source for q in questions]
    assert found["int8"] == found["float32"] == list(questions.values())


def test_switching_precision_keeps_the_store_and_embeds_nothing_again(tmp_path: Path) -> None:
    KnowledgeBase(tmp_path / "chroma", embedding_precision="int8").ingest([sample_brand_path()])
    again = KnowledgeBase(tmp_path / "chroma", embedding_precision="float32")
    report = again.ingest([sample_brand_path()])
    assert report.chunks_embedded == 0 and not report.errors
    assert again.search("free shipping threshold in Germany", k=1)
