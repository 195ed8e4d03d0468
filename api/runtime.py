"""What one app holds: settings, one lazily built assistant, and per-conversation turn locks."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from api.ingest import IngestWorker
from api.metrics import Metrics
from api.shared_state import SharedState
from foundation.events import Event
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings
from tools.context import ToolContext, open_knowledge
from tools.results import ArtifactStore

if TYPE_CHECKING:
    from api.auth import Caller
    from assistant.audit import AuditLog
    from assistant.schedules.service import ScheduleService
    from knowledge.store import KnowledgeBase
    from tools.context import ToolContext


class ChatAssistant(Protocol):
    """What the API needs from an assistant; :class:`assistant.agent.Assistant` is one."""

    mode: str

    def stream(
        self, message: str, conversation_id: str | None = None, *, actor: str = "local",
        scopes: frozenset[str] = ...,
    ) -> Iterator[Event]:
        """Yield the events of one turn, ending with ``done``."""
        ...

    def history(self, conversation_id: str) -> list[Any]:
        """The stored messages of a conversation (empty when unknown)."""
        ...

    def conversations(self, actor: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Stored conversations, most recent first."""
        ...

    def rename_conversation(self, conversation_id: str, title: str, *, actor: str = "local") -> bool:
        """Title a conversation; False when unknown."""
        ...

    def delete_conversation(self, conversation_id: str, *, actor: str = "local") -> bool:
        """Forget a conversation; False when unknown."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...


class TurnLocks:
    """One turn at a time per conversation; turns of different conversations run in parallel.

    With ``shared`` (``MARA_REDIS_URL``) the rule holds across workers too: after the local
    lock, a Redis lease on the conversation is taken (waiting while another worker holds it).
    """

    def __init__(self, shared: SharedState | None = None) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self.shared = shared

    @asynccontextmanager
    async def hold(self, conversation_id: str) -> AsyncIterator[None]:
        """Wait for, then hold, the conversation's lock."""
        lock, users = self._locks.get(conversation_id, (asyncio.Lock(), 0))
        self._locks[conversation_id] = (lock, users + 1)
        try:
            async with lock:
                if self.shared is None:
                    yield
                else:
                    lease = self.shared.lease(f"turn:{conversation_id}")
                    delay = 0.02
                    while not await asyncio.to_thread(lease.try_acquire):
                        await asyncio.sleep(delay)
                        delay = min(0.5, delay * 2)
                    try:
                        yield
                    finally:
                        await asyncio.to_thread(lease.release)
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
        self.shared = SharedState.from_settings(settings)
        self.turn_locks = TurnLocks(self.shared)
        self.artifacts = ArtifactStore.for_settings(settings)
        self.ingest = IngestWorker(settings.kb_ingest_queue)
        self.metrics = Metrics()
        self._assistant = assistant
        self._owned = assistant is None
        self._lock = threading.Lock()
        self._running: dict[str, threading.Event] = {}  # conversation id -> its running turn's stop signal

    @property
    def mode(self) -> Literal["offline", "llm"]:
        """The built assistant's mode, or the configured one before it exists."""
        if self._assistant is not None and self._assistant.mode in ("offline", "llm"):
            return cast(Literal["offline", "llm"], self._assistant.mode)
        return self.settings.resolved_mode

    def _build(self) -> ChatAssistant:
        with self._lock:
            if self._assistant is None:
                # lazy: langgraph, langchain, langchain_core load slowly; only this path needs them
                from assistant.agent import Assistant

                self._assistant = Assistant(self.settings)
            return self._assistant

    async def assistant(self) -> ChatAssistant:
        """The app's assistant, building it off the event loop the first time."""
        if self._assistant is not None:
            return self._assistant
        return await run_in_threadpool(self._build)

    @cached_property
    def tools(self) -> ToolContext:
        """Warehouse, schema profile and artifacts for the data routes (opened lazily)."""
        return ToolContext(self.settings)

    @cached_property
    def knowledge(self) -> KnowledgeBase:
        """The workspace's knowledge base for the kb routes (opened lazily)."""
        return open_knowledge(self.settings)

    # --- ownership: a conversation or artifact belongs to the caller that created it -------

    @cached_property
    def ledger(self) -> AuditLog:
        """The audit database, which also records who owns each conversation and artifact."""
        # lazy: langgraph, langchain, langchain_core load slowly; only this path needs them
        from assistant.audit import open_audit

        return open_audit(self.settings)

    # --- scheduled briefings and alerts -------------------------------------------------------

    @cached_property
    def schedules(self) -> ScheduleService:
        """The schedule store, runner and (started by the app when ``MARA_SCHEDULER``) scheduler.

        Saved questions run on this app's assistant; Slack messages go through the Slack
        adapter's client when Slack is mounted (else ``SLACK_BOT_TOKEN``, if set)."""
        # lazy: apscheduler and sqlalchemy load slowly; only this path needs them
        from assistant.schedules.destinations import slack_client_from_env
        from assistant.schedules.service import ScheduleService

        slack = self.slack_client if self.slack_client is not None else slack_client_from_env()
        return ScheduleService(self.settings, audit=self.ledger, assistant_factory=self._build, slack=slack)

    #: The Slack adapter's Web API client, set by :func:`api.slack.mount_slack`.
    slack_client: Any = None

    def may_write(self, conversation_id: str, caller: Caller) -> bool:
        """Whether ``caller`` may add a turn to the conversation; a new id becomes theirs.

        Only the owner writes, admins included: another key's text would join the owner's
        context (and its model prompt) and the conversation would show up in its list.
        """
        return self.ledger.claim("conversation", conversation_id, caller.actor) == caller.actor

    def may_read(self, kind: str, item_id: str, caller: Caller) -> bool:
        """Whether ``caller`` may read a conversation or artifact (``kind``): its owner, an
        admin key, or anyone on the open local API. Unowned items are nobody's (deny)."""
        if caller.anonymous or "admin" in caller.scopes:
            return True
        return self.ledger.owner(kind, item_id) == caller.actor

    def own_artifact(self, artifact_id: str, caller: Caller) -> None:
        """Record that a table artifact was produced for ``caller``."""
        self.ledger.claim("artifact", artifact_id, caller.actor)

    def stop(self, conversation_id: str) -> bool:
        """Signal the conversation's running turn to stop (this worker's); False when none runs.

        The turn ends at its next step: tools check the signal between steps, the agent loop
        between stream items (:meth:`assistant.agent.Assistant.stream`)."""
        signal = self._running.get(conversation_id)
        if signal is None:  # maybe another worker runs it (MARA_REDIS_URL): it polls for the request
            return self.shared.request_stop(conversation_id) if self.shared is not None else False
        signal.set()
        return True

    def _watch_shared_stop(self, conversation_id: str, signal: threading.Event) -> threading.Event:
        """Poll for a Stop sent to another worker while the turn runs; set the turn's signal then.
        Returns the event that ends the watch (set it when the turn is over)."""
        over = threading.Event()
        shared = self.shared
        if shared is None:
            return over
        shared.take_stop(conversation_id)  # a request left from an earlier turn is not for this one

        def watch() -> None:
            while not over.wait(_STOP_POLL_S):
                if shared.take_stop(conversation_id):
                    signal.set()
                    return

        threading.Thread(target=watch, name="mara-stop-watch", daemon=True).start()
        return over

    def turn(
        self, assistant: ChatAssistant, message: str, conversation_id: str, caller: Caller,
        *, replace_turn: int | None = None,
    ) -> Iterator[Event]:
        """The events of one turn, run as ``caller`` and counted in the metrics.

        Passes ``actor`` (``key:<name>``) and, when the assistant takes it, ``scopes`` (the
        key's scopes) to :meth:`assistant.agent.Assistant.stream`. Closing this generator
        closes the assistant's, so a client that leaves stops the turn.
        """
        kwargs: dict[str, Any] = {}
        accepted = _keywords(assistant)
        if "actor" in accepted:
            kwargs["actor"] = caller.actor
        if "scopes" in accepted:  # every scope is explicit: the open API, admin keys
            full = caller.anonymous or "admin" in caller.scopes
            kwargs["scopes"] = EVERY_SCOPE if full else frozenset(caller.scopes)
        signal = threading.Event()
        if "cancel" in accepted:
            kwargs["cancel"] = signal
        if replace_turn is not None and "replace_turn" in accepted:
            kwargs["replace_turn"] = replace_turn
        self._running[conversation_id] = signal  # turns of one conversation run one at a time
        watch = self._watch_shared_stop(conversation_id, signal)
        events = cast(Any, assistant).stream(message, conversation_id, **kwargs)
        outcome = "error"
        try:
            for event in events:
                if event.type == "table" and event.data.get("artifact_id"):
                    self.own_artifact(str(event.data["artifact_id"]), caller)
                elif event.type == "tool_end":
                    self.metrics.tool_call(
                        str(event.data.get("name") or "tool"), bool(event.data.get("ok", True))
                    )
                elif event.type == "done":
                    outcome = "ok"
                yield event
        except GeneratorExit:
            outcome = "cancelled"
            signal.set()
            raise
        finally:
            watch.set()
            if self._running.get(conversation_id) is signal:
                del self._running[conversation_id]
            close = getattr(events, "close", None)
            if close is not None:
                close()
            self.metrics.turn(self.mode, outcome)

    def close(self) -> None:
        """Close the assistant if this runtime built it (and stop the ingestion worker and the
        scheduler)."""
        self.ingest.close()
        if "schedules" in self.__dict__:
            self.schedules.stop()
        with self._lock:
            if self._assistant is not None and self._owned:
                self._assistant.close()
                self._assistant = None


_STOP_POLL_S = 0.2  # how often a worker looks for a Stop sent to another worker
_KEYWORDS: dict[type, frozenset[str]] = {}


def _keywords(assistant: ChatAssistant) -> frozenset[str]:
    """Keyword arguments ``assistant.stream`` takes (all of ours when it takes ``**kwargs``)."""
    kind = type(assistant)
    if kind not in _KEYWORDS:
        try:
            params = list(inspect.signature(assistant.stream).parameters.values())
        except (TypeError, ValueError):
            params = []
        names = set()
        for p in params:
            if p.kind is inspect.Parameter.VAR_KEYWORD:
                names |= {"actor", "scopes"}
            elif p.kind in (
                inspect.Parameter.KEYWORD_ONLY,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
            ):
                names.add(p.name)
        _KEYWORDS[kind] = frozenset(names)
    return _KEYWORDS[kind]


def get_runtime(request: Request) -> Runtime:
    """FastAPI dependency: the app's :class:`Runtime`."""
    return cast(Runtime, request.app.state.runtime)
