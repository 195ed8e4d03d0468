"""What one app holds: settings, one lazily built assistant, and per-conversation turn locks."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any, Literal, Protocol, cast

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from assistant.events import Event
from assistant.settings import MaraSettings
from tools.results import ArtifactStore


class ChatAssistant(Protocol):
    """What the API needs from an assistant; :class:`assistant.agent.Assistant` is one."""

    mode: str

    def stream(self, message: str, conversation_id: str | None = None) -> Iterator[Event]:
        """Yield the events of one turn, ending with ``done``."""
        ...

    def history(self, conversation_id: str) -> list[Any]:
        """The stored messages of a conversation (empty when unknown)."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...


class TurnLocks:
    """One turn at a time per conversation; turns of different conversations run in parallel."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, conversation_id: str) -> AsyncIterator[None]:
        """Wait for, then hold, the conversation's lock."""
        lock, users = self._locks.get(conversation_id, (asyncio.Lock(), 0))
        self._locks[conversation_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[conversation_id]
            if users <= 1:
                del self._locks[conversation_id]
            else:
                self._locks[conversation_id] = (lock, users - 1)


class Runtime:
    """Per-app state. The assistant is built on first use (in a worker thread) and closed once.

    An assistant passed in by the caller is used as is and left for the caller to close.
    """

    def __init__(self, settings: MaraSettings, assistant: ChatAssistant | None = None) -> None:
        self.settings = settings
        self.turn_locks = TurnLocks()
        self.artifacts = ArtifactStore(settings.artifacts_path)
        self._assistant = assistant
        self._owned = assistant is None
        self._lock = threading.Lock()

    @property
    def mode(self) -> Literal["offline", "llm"]:
        """The built assistant's mode, or the configured one before it exists."""
        if self._assistant is not None and self._assistant.mode in ("offline", "llm"):
            return cast(Literal["offline", "llm"], self._assistant.mode)
        return self.settings.resolved_mode

    def _build(self) -> ChatAssistant:
        with self._lock:
            if self._assistant is None:
                from assistant.agent import Assistant

                self._assistant = Assistant(self.settings)
            return self._assistant

    async def assistant(self) -> ChatAssistant:
        """The app's assistant, building it off the event loop the first time."""
        if self._assistant is not None:
            return self._assistant
        return await run_in_threadpool(self._build)

    def close(self) -> None:
        """Close the assistant if this runtime built it."""
        with self._lock:
            if self._assistant is not None and self._owned:
                self._assistant.close()
                self._assistant = None


def get_runtime(request: Request) -> Runtime:
    """FastAPI dependency: the app's :class:`Runtime`."""
    return cast(Runtime, request.app.state.runtime)
