"""The SQLite conversation store: durable across crashes of Mara, without an fsync per checkpoint write."""

from __future__ import annotations

from contextlib import ExitStack

from assistant.conversations import open_checkpointer
from foundation.settings import MaraSettings


def pragma(settings: MaraSettings, name: str) -> object:
    with ExitStack() as stack:
        saver = open_checkpointer(settings, stack)
        return saver.conn.execute(f"PRAGMA {name}").fetchone()[0]


def test_the_store_writes_ahead_to_a_log(settings: MaraSettings) -> None:
    assert pragma(settings, "journal_mode") == "wal"


def test_a_checkpoint_write_is_not_synced_to_disk_one_by_one(settings: MaraSettings) -> None:
    assert pragma(settings, "synchronous") == 1  # NORMAL: synced at WAL checkpoints, safe from corruption
