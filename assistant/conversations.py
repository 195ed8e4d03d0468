"""Conversation persistence: LangGraph's SQLite checkpointer in the workspace, Postgres when configured."""

from __future__ import annotations

import sqlite3
from contextlib import ExitStack
from typing import Any

from foundation.errors import WorkspaceError
from foundation.settings import MaraSettings, touch_private


def open_checkpointer(settings: MaraSettings, stack: ExitStack) -> Any:
    """A checkpointer whose resources close with ``stack``."""
    if settings.checkpoint_url:
        # lazy: langgraph, langchain_core, psycopg load slowly; only this path needs them
        from langgraph.checkpoint.postgres import PostgresSaver

        postgres = stack.enter_context(PostgresSaver.from_conn_string(settings.checkpoint_url))
        postgres.setup()
        return postgres
    # lazy: langgraph, langchain_core, pydantic load slowly; only this path needs them
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = touch_private(settings.conversations_path)  # 0600 (and its WAL too), folder 0700
    try:
        conn = sqlite3.connect(str(path), check_same_thread=False)
        stack.callback(conn.close)
        conn.execute("PRAGMA journal_mode=WAL")
        # a turn commits ~9 checkpoint writes; SQLite's default (FULL) fsyncs each one (~10 ms on a
        # busy disk). With WAL, NORMAL cannot corrupt the store; only a power cut or OS crash may lose
        # the last turn's writes (a crash of Mara itself loses nothing). SQLite recommends it for WAL.
        conn.execute("PRAGMA synchronous=NORMAL")
        saver = SqliteSaver(conn)
        saver.setup()
    except sqlite3.DatabaseError as err:
        raise WorkspaceError(
            f"The conversation store {path} is corrupt or not a SQLite database ({err}).",
            hint=f"Move it aside (mv {path} {path}.bak) to start a fresh history.",
        ) from err
    return saver
