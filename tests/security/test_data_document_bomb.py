"""Finding 5: a small document that unpacks into a huge one is refused before anything is embedded.

The attack: a 150 KB DOCX with 1.5 M paragraphs became 10,539 chunks, ~8 CPU-minutes and
+1 GB RSS, and the next upload waited 479 s. Here the same shape, scaled down, meets low caps:
the upload is refused with the cap and its setting named (413 for size, 422 for counts), the
encoder is never called, and uploads run on one worker thread that a busy queue answers 503.
"""

from __future__ import annotations

import asyncio
import io
import threading
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import numpy as np
import pytest

from api.app import create_app
from api.errors import ApiError
from api.ingest import IngestWorker
from foundation.settings import MaraSettings
from knowledge.documents import DocumentLimits, DocumentTooLarge, load_document
from knowledge.store import KnowledgeBase
from tests.test_api import LiveServer, assert_error

PARAGRAPH = b"<w:p><w:r><w:t>Our boots are waterproof and built to last.</w:t></w:r></w:p>"


def docx_bomb(paragraphs: int) -> bytes:
    """A real DOCX (python-docx's template) whose body repeats one paragraph ``paragraphs`` times."""
    import docx

    buffer = io.BytesIO()
    docx.Document().save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                head, _, tail = data.partition(b"<w:body>")
                data = head + b"<w:body>" + PARAGRAPH * paragraphs + tail.partition(b"<w:sectPr")[1] + tail.partition(b"<w:sectPr")[2]
            bomb.writestr(item, data)
    return out.getvalue()


class CountingEncoder:
    """A tiny deterministic encoder that records how many texts it embedded."""

    name = "counting-test-encoder"
    dim = 8

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        self.calls += len(texts)
        vectors = np.ones((len(texts), self.dim), dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


# python-docx's empty template alone unpacks to ~0.8 MB (styles, theme, fonts table).
LIMITS = DocumentLimits(max_decompressed_bytes=1_500_000, max_paragraphs=500, max_chunks=20)
SIZE_BOMB = 20_000  # paragraphs: ~2.4 MB unpacked
COUNT_BOMB = 2_000  # paragraphs: ~1 MB unpacked, under the size cap


def test_the_bomb_is_small_on_disk_and_large_unpacked() -> None:
    bomb = docx_bomb(SIZE_BOMB)
    unpacked = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(bomb)).infolist())
    assert len(bomb) < 100_000 and unpacked > 2_000_000


def test_docx_over_the_unpacked_size_cap_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(DocumentTooLarge, match="MARA_KB_MAX_DECOMPRESSED_BYTES") as err:
        load_document(tmp_path / "bomb.docx", raw=docx_bomb(SIZE_BOMB), limits=LIMITS)
    assert err.value.status == 413


def test_docx_with_too_many_paragraphs_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(DocumentTooLarge, match="MARA_KB_MAX_PARAGRAPHS") as err:
        load_document(tmp_path / "bomb.docx", raw=docx_bomb(COUNT_BOMB), limits=LIMITS)
    assert err.value.status == 422


def test_too_many_passages_are_refused_before_embedding(tmp_path: Path) -> None:
    doc = tmp_path / "guide.md"
    doc.write_text("\n\n".join(f"## Section {i}\n\n" + "Boots and jackets for wet trails. " * 60 for i in range(60)))
    encoder = CountingEncoder()
    kb = KnowledgeBase(None, encoder=encoder, embedding_precision="float32", limits=LIMITS)
    report = kb.ingest([doc])
    assert "MARA_KB_MAX_CHUNKS" in report.errors[0].message
    assert encoder.calls == 0
    assert kb.count() == 0


def test_a_normal_document_still_ingests(tmp_path: Path) -> None:
    doc = tmp_path / "returns.md"
    doc.write_text("# Returns\n\nUnworn boots can be returned within 60 days.\n")
    kb = KnowledgeBase(None, encoder=CountingEncoder(), embedding_precision="float32", limits=LIMITS)
    assert kb.ingest([tmp_path]).added == ["returns.md"]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("bomb") / "ws"
    settings = MaraSettings(  # type: ignore[call-arg]
        home=home, mode="offline", _env_file=None, kb_max_decompressed_bytes=1_500_000,
        kb_max_paragraphs=500, kb_max_chunks=20,
    )
    with LiveServer(create_app(settings)) as server:
        yield server.url


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.mark.integration
def test_upload_over_the_size_cap_is_413(live: str) -> None:
    with httpx.Client(base_url=live, timeout=60) as client:
        response = client.post("/v1/kb/documents", files=[("files", ("bomb.docx", docx_bomb(SIZE_BOMB), DOCX))])
    error = assert_error(response, 413, "document_too_large")
    assert "MARA_KB_MAX_DECOMPRESSED_BYTES" in error["message"]


@pytest.mark.integration
def test_upload_with_too_many_paragraphs_is_422(live: str) -> None:
    with httpx.Client(base_url=live, timeout=60) as client:
        response = client.post("/v1/kb/documents", files=[("files", ("bomb.docx", docx_bomb(COUNT_BOMB), DOCX))])
    error = assert_error(response, 422, "document_too_complex")
    assert "MARA_KB_MAX_PARAGRAPHS" in error["message"]


def test_ingestion_runs_off_the_event_loop_and_a_full_queue_gets_503() -> None:
    async def scenario() -> None:
        worker = IngestWorker(max_waiting=0)
        release = threading.Event()
        first = asyncio.ensure_future(worker.run(lambda: release.wait(10)))
        ticks = 0
        while ticks < 5:  # the loop keeps running other work while the job holds the worker
            await asyncio.sleep(0.01)
            ticks += 1
        with pytest.raises(ApiError) as busy:
            await worker.run(lambda: "second")
        assert (busy.value.status_code, busy.value.headers) == (503, {"Retry-After": "5"})
        release.set()
        assert await first is True
        assert await worker.run(lambda: "third") == "third"
        worker.close()

    asyncio.run(scenario())
