"""One background worker for knowledge-base uploads, with a short waiting line.

Ingesting (convert, chunk, embed) is CPU work that holds the knowledge base's lock. Run in
the request's thread pool, a large upload delayed every later upload and search behind it;
here it runs on its own thread, one upload at a time, while the event loop and the thread
pool keep serving other requests. At most ``max_waiting`` uploads queue behind the running
one; more are answered at once with 503 and ``Retry-After`` instead of piling up.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from api.errors import ApiError

T = TypeVar("T")

RETRY_AFTER_S = 5


class IngestWorker:
    """Runs ingestion jobs on one dedicated thread; refuses jobs past the queue length."""

    def __init__(self, max_waiting: int = 4) -> None:
        self.max_waiting = max(0, int(max_waiting))
        self._slots = threading.BoundedSemaphore(self.max_waiting + 1)  # + the running job
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mara-ingest")

    async def run(self, job: Callable[[], T]) -> T:
        """Run ``job`` on the ingestion thread and await its result (503 when the line is full).

        The slot is released when the job finishes, not when the request goes away: a client
        that disconnects does not let another upload jump the line while its job still runs.
        """
        if not self._slots.acquire(blocking=False):
            raise ApiError(
                503,
                "ingest_busy",
                f"The knowledge base is ingesting other uploads ({self.max_waiting} waiting); "
                f"try again in {RETRY_AFTER_S} s (MARA_KB_INGEST_QUEUE sets the queue length).",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        try:
            future: Future[T] = self._executor.submit(job)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        """Stop accepting jobs; a running one finishes."""
        self._executor.shutdown(wait=False, cancel_futures=True)
