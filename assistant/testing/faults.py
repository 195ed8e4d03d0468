"""Fault injection for the scripted OpenAI-compatible server.

:class:`FaultInjector` is a script for :class:`~assistant.testing.ScriptedOpenAIServer`: it
answers each chat-completions request with the next injected fault, if one is scheduled,
and otherwise with a small deterministic "model" (:func:`analyst`) that looks customers up
with ``run_sql`` and answers from the tool result. :func:`fault` builds the faults by name:

=====================  ===============================================================
``timeout``            no answer before the client's timeout (``delay_s``)
``slow_stream``        a stream whose chunks come slower than the client's read timeout
``rate_limit``         HTTP 429 with ``Retry-After``
``server_error``       HTTP 500
``bad_gateway``        HTTP 502 with an HTML body
``connection_drop``    the connection closes without an answer
``truncated_stream``   a stream cut off half-way (no ``[DONE]``)
``invalid_json``       a tool call whose arguments are not JSON
``wrong_types``        a tool call whose arguments have the wrong types
``hallucinated_tool``  a call to a tool that does not exist
=====================  ===============================================================
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from assistant.testing.openai_server import ScriptedReply, ScriptedToolCall

__all__ = ["FAULT_KINDS", "FaultInjector", "analyst", "fault", "leaked_values", "make_analyst"]

FAULT_KINDS = (
    "timeout", "slow_stream", "rate_limit", "server_error", "bad_gateway", "connection_drop",
    "truncated_stream", "invalid_json", "wrong_types", "hallucinated_tool",
)

#: The query the scripted analyst runs: personal data on purpose, to prove it is masked.
ANALYST_SQL = "SELECT customer_id, first_name, last_name, email, phone, city FROM customers ORDER BY customer_id LIMIT 5"


def fault(kind: str, *, timeout_s: float = 0.5, retry_after: float = 0.1) -> ScriptedReply:
    """The scripted reply that injects ``kind`` (one of :data:`FAULT_KINDS`).

    ``timeout_s`` is the client's timeout the fault must exceed; ``retry_after`` the
    ``Retry-After`` seconds of a 429.
    """
    if kind == "timeout":
        return ScriptedReply(content="too late", delay_s=timeout_s * 3)
    if kind == "slow_stream":
        return ScriptedReply(content="this answer trickles in far too slowly", chunk_delay_s=timeout_s * 3)
    if kind == "rate_limit":
        return ScriptedReply(status=429, retry_after=retry_after)
    if kind == "server_error":
        return ScriptedReply(status=500)
    if kind == "bad_gateway":
        return ScriptedReply(status=502, raw_body="<html><body>502 Bad Gateway</body></html>")
    if kind == "connection_drop":
        return ScriptedReply(drop_connection=True)
    if kind == "truncated_stream":
        return ScriptedReply(content="Here is the partial answer that never finishes because", truncate_stream=True)
    if kind == "invalid_json":
        return ScriptedReply(tool_calls=[ScriptedToolCall("run_sql", '{"sql": "SELECT count(*) FROM customers')])
    if kind == "wrong_types":
        return ScriptedReply(tool_calls=[ScriptedToolCall("query_data", {"table": 42, "dimensions": "country"})])
    if kind == "hallucinated_tool":
        return ScriptedReply(tool_calls=[ScriptedToolCall("export_all_customers", {"format": "csv"})])
    raise ValueError(f"unknown fault {kind!r}; use one of: {', '.join(FAULT_KINDS)}")


def _since_user(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages = [m for m in body.get("messages", []) if isinstance(m, dict)]
    last = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    return messages[last + 1:]


def make_analyst(sql: str = ANALYST_SQL) -> Callable[[dict[str, Any]], ScriptedReply]:
    """A tiny deterministic model: look the customers up with ``sql``, then answer from the result.

    Placeholders it sees (``<EMAIL_1>``) are repeated in its answer, as a real model would.
    A tool error (a corrective message) makes it call ``run_sql`` again, correctly; after
    four errors it answers with the last one.
    """

    def analyst(body: dict[str, Any]) -> ScriptedReply:
        results = [m for m in _since_user(body) if m.get("role") == "tool"]
        good = [m for m in results if not str(m.get("content", "")).startswith("Error")]
        errors = len(results) - len(good)
        if not good and errors < 4:
            return ScriptedReply(tool_calls=[ScriptedToolCall("run_sql", {"sql": sql})])
        if not good:
            return ScriptedReply(content=f"I could not look that up: {str(results[-1].get('content'))[:200]}")
        seen = str(good[-1].get("content", ""))
        first = re.search(r"<FIRST_NAME_\d+>|<EMAIL_\d+>", seen)
        who = first.group(0) if first else "your first customer"
        note = f" (after {errors} corrected tool call{'s' if errors != 1 else ''})" if errors else ""
        return ScriptedReply(content=f"I looked up your customers{note}: the first one is {who}.")

    return analyst


#: The default analyst (its query needs ``phone``: the demo workspace has it).
analyst = make_analyst()


class FaultInjector:
    """A server script: the next scheduled fault for each request, else ``brain(body)``.

    ``schedule`` lists, per request in order, a fault name (see :func:`fault`), a
    :class:`ScriptedReply`, or ``None`` for a normal answer. Faults may be queued at any
    time with :meth:`inject`.
    """

    def __init__(self, schedule: Iterable[str | ScriptedReply | None] = (), *,
                 brain: Callable[[dict[str, Any]], ScriptedReply] = analyst,
                 timeout_s: float = 0.5, retry_after: float = 0.1) -> None:
        self.brain = brain
        self.timeout_s = timeout_s
        self.retry_after = retry_after
        self._queue: deque[str | ScriptedReply | None] = deque(schedule)
        self._lock = threading.Lock()
        self.injected: list[str] = []

    def inject(self, *items: str | ScriptedReply | None) -> None:
        with self._lock:
            self._queue.extend(items)

    def __call__(self, body: dict[str, Any]) -> ScriptedReply:
        with self._lock:
            item = self._queue.popleft() if self._queue else None
            if item is not None:
                self.injected.append(item if isinstance(item, str) else "scripted")
        if item is None:
            return self.brain(body)
        if isinstance(item, ScriptedReply):
            return item
        return fault(item, timeout_s=self.timeout_s, retry_after=self.retry_after)


def leaked_values(requests: list[dict[str, Any]], values: Iterable[str]) -> list[str]:
    """The ``values`` (e-mails, phones...) that appear verbatim in any request body sent to the server."""
    sent = json.dumps(requests, ensure_ascii=False)
    return sorted({v for v in values if v and v in sent})
