"""The bundled all-MiniLM-L6-v2 through CTranslate2: shape, normalisation, batching, and parity with
sentence-transformers (torch)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from knowledge.embeddings import Encoder, MiniLMEncoder, get_encoder

LONG = " ".join(
    f"Section {i}: the Ridgeline 2P tent weighs 1.9 kg and is rated for three seasons."
    for i in range(40)
)  # ~800 tokens, far beyond the 256-token limit

SENTENCES = [
    "What is the SMS opt-out text?",
    "Free shipping threshold in Germany",
    "How long is the return window?",
    "Draft three SMS variants for at-risk customers with the autumn offer.",
    "Größe und Gewicht des Zelts: 1,9 kg, drei Jahreszeiten — für Familien geeignet?",
    "Les clients fidèles en France aiment les sacs de couchage en duvet 🏕️",
    "日本語のテキストと emoji 🍂 ⛰️ mixed with English words",
    "a",
    "   leading and trailing whitespace   ",
    LONG,
    "Tents, Sleeping Bags, Backpacks, Footwear, Jackets, Apparel, Climbing, Camp Kitchen.",
]


@pytest.fixture(scope="module")
def encoder() -> MiniLMEncoder:
    enc = get_encoder()
    assert isinstance(enc, MiniLMEncoder)
    return enc


def test_shape_dtype_and_unit_norm(encoder: MiniLMEncoder) -> None:
    vectors = encoder.encode(SENTENCES)
    assert vectors.shape == (len(SENTENCES), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.dim == 384
    assert isinstance(encoder, Encoder)


def test_empty_input(encoder: MiniLMEncoder) -> None:
    vectors = encoder.encode([])
    assert vectors.shape == (0, 384)
    assert vectors.dtype == np.float32


def test_deterministic_and_independent_of_batching(encoder: MiniLMEncoder) -> None:
    together = encoder.encode(SENTENCES, batch_size=32)
    one_by_one = encoder.encode(SENTENCES, batch_size=1)
    np.testing.assert_allclose(together, one_by_one, atol=2e-5)
    np.testing.assert_array_equal(together, encoder.encode(SENTENCES, batch_size=32))


def test_bulk_encoding_on_several_threads_gives_the_same_vectors(encoder: MiniLMEncoder) -> None:
    texts = SENTENCES * 6  # several batches, so the thread pool is used
    threaded = MiniLMEncoder(workers=3).encode(texts, batch_size=2)
    single = MiniLMEncoder(workers=1).encode(texts, batch_size=2)
    np.testing.assert_array_equal(threaded, single)
    np.testing.assert_allclose(threaded[: len(SENTENCES)], encoder.encode(SENTENCES), atol=2e-5)


def test_rows_come_back_in_input_order(encoder: MiniLMEncoder) -> None:
    reversed_vectors = encoder.encode(SENTENCES[::-1])
    np.testing.assert_allclose(reversed_vectors[::-1], encoder.encode(SENTENCES), atol=2e-5)


def test_long_text_is_truncated_to_max_seq_length(encoder: MiniLMEncoder) -> None:
    assert encoder.max_seq_length == 256
    assert len(encoder.tokenize([LONG])[0]) == 256
    longer = encoder.encode([LONG + " and a completely different ending about kayaks"])
    np.testing.assert_allclose(longer, encoder.encode([LONG]), atol=1e-6)


def test_similar_texts_are_closer_than_unrelated(encoder: MiniLMEncoder) -> None:
    a, b, c = encoder.encode(
        [
            "How long do customers have to return an item?",
            "What is the return window for purchases?",
            "Climbing rope certification standards",
        ]
    )
    assert float(a @ b) > float(a @ c) + 0.2


def test_rejects_a_bare_string(encoder: MiniLMEncoder) -> None:
    with pytest.raises(TypeError):
        encoder.encode("not a list")  # type: ignore[arg-type]


def test_get_encoder_is_cached() -> None:
    assert get_encoder() is get_encoder(None)


def test_queries_run_in_float32(encoder: MiniLMEncoder) -> None:
    assert encoder.compute_type == "float32"


def test_an_unknown_compute_type_is_refused() -> None:
    with pytest.raises(ValueError, match="'float32' or 'int8', got 'int4'"):
        MiniLMEncoder(compute_type="int4")  # type: ignore[arg-type]


def test_fast_path_imports_no_torch() -> None:
    code = (
        "import sys, knowledge.embeddings as e; e.get_encoder().encode(['hello']); "
        "bad = [m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.integration
def test_matches_sentence_transformers(encoder: MiniLMEncoder) -> None:
    reference = get_encoder("all-MiniLM-L6-v2")
    assert reference.dim == 384
    expected = reference.encode(SENTENCES)
    actual = encoder.encode(SENTENCES)
    cosines = np.sum(expected * actual, axis=1)
    assert cosines.min() >= 0.9999, dict(zip(SENTENCES, cosines.tolist(), strict=True))
    assert reference.encode([]).shape == (0, 384)
