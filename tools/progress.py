"""Progress of long tool work, reported to whoever runs the turn (CLI, API stream, web chat).

A tool calls :func:`report_progress` between the steps of long work (training a model,
fitting CLV); the agent loop turns each report into a ``progress`` event. Outside an agent
turn (a direct call, a test, the ``mara`` commands with their own progress bars) reporting
does nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from foundation.errors import TurnCancelled

__all__ = ["CANCEL_KEY", "PROGRESS_KEY", "StepProgress", "check_cancelled", "quiet", "report_progress", "running_tool"]

#: ``progress(message, done, total)``: how capability functions report their steps
#: (``done``/``total`` are None when a step has no count). :func:`report_progress` is one.
StepProgress = Callable[[str, int | None, int | None], None]


def quiet(message: str, done: int | None = None, total: int | None = None) -> None:
    """A :data:`StepProgress` that reports nothing."""

#: Key of a progress report in LangGraph's ``custom`` stream.
PROGRESS_KEY = "mara_progress"
#: Key of the turn's stop signal (a ``threading.Event``) in the run's ``configurable``.
CANCEL_KEY = "mara_cancel"

_TOOL: ContextVar[str | None] = ContextVar("mara_running_tool", default=None)


@contextmanager
def running_tool(name: str) -> Iterator[None]:
    """Mark ``name`` as the tool whose progress is reported inside the block."""
    token = _TOOL.set(name)
    try:
        yield
    finally:
        _TOOL.reset(token)


def check_cancelled() -> None:
    """Raise :class:`TurnCancelled` when the user stopped the running turn (Stop in the web chat,
    ``POST /v1/conversations/{id}/stop``). Long tool work calls it between steps (every
    :func:`report_progress` does), so Stop frees the server within a step, not at the tool's end."""
    if "langgraph.config" not in sys.modules:  # no agent turn runs without it: not inside one (and
        return  # importing it here, 1-2 s, would slow the first query of every direct model call)
    try:
        # lazy: optional dependency (its ImportError is handled here)
        from langgraph.config import get_config

        signal = (get_config().get("configurable") or {}).get(CANCEL_KEY)
    except (ImportError, RuntimeError):  # not inside an agent turn
        return
    if signal is not None and signal.is_set():
        raise TurnCancelled("The turn was stopped.", hint="Ask again when you are ready.")


def report_progress(message: str, done: int | None = None, total: int | None = None) -> None:
    """Report how the running tool is getting on: ``message``, optionally ``done`` of ``total``.

    Also the tool's chance to stop: raises :class:`TurnCancelled` once the user pressed Stop."""
    check_cancelled()
    if "langgraph.config" not in sys.modules:  # not inside an agent turn (see check_cancelled)
        return
    try:
        # lazy: optional dependency (its ImportError is handled here)
        from langgraph.config import get_stream_writer

        writer = get_stream_writer()
    except (ImportError, RuntimeError):  # not inside an agent turn
        return
    report: dict[str, Any] = {"name": _TOOL.get(), "message": message}
    if done is not None:
        report["done"] = int(done)
    if total is not None:
        report["total"] = int(total)
    writer({PROGRESS_KEY: report})
