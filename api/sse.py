"""Server-Sent Events: one ``event: <type>`` / ``data: <json>`` frame per assistant event."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import anyio
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from foundation.events import Event

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def format_sse(event: Event) -> bytes:
    """One SSE frame; the JSON is a single line so one ``data:`` field carries it."""
    data = json.dumps(event.data, ensure_ascii=False, default=str, separators=(",", ":"))
    return f"event: {event.type}\ndata: {data}\n\n".encode()


async def events_in_threadpool(events: Iterator[Event]) -> AsyncIterator[Event]:
    """Drive a sync event generator from worker threads, never blocking the event loop.

    When the consumer stops early (client disconnect, cancellation) the generator is
    closed in a worker thread, so the turn stops at its next step.
    """
    try:
        async for event in iterate_in_threadpool(events):
            yield event
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(close)
