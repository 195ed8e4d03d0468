"""The schema profile follows the warehouse while the process runs (an upload is seen by the next
question) and a chat turn never waits for someone else's profiling of a new table."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb

from foundation.settings import MaraSettings
from tools import schema_profile
from tools.context import ToolContext
from tools.data_load import load_file_staged


def test_a_table_loaded_while_running_is_in_the_next_profile(settings: MaraSettings, tmp_path: Path) -> None:
    ctx = ToolContext(settings)
    assert ctx.profile().table("leads") is None
    csv = tmp_path / "leads.csv"
    csv.write_text("lead_id,score\n1,0.5\n2,0.9\n")
    load_file_staged(settings.duckdb_path, csv)
    found = ctx.profile().table("leads")
    assert found is not None and found.rows == 2


def test_while_another_thread_profiles_a_turn_keeps_the_profile_it_had(
    settings: MaraSettings, tmp_path: Path
) -> None:
    ctx = ToolContext(settings)
    before = ctx.profile()
    con = duckdb.connect(str(settings.duckdb_path))
    con.execute("CREATE TABLE visits AS SELECT 1 AS visit_id")
    con.close()
    cache = str(settings.home / "schema_profile.json")
    lock = schema_profile._PROFILING.setdefault(cache, threading.Lock())
    with lock:  # an upload is profiling
        assert ctx.profile() is before
    assert ctx.profile().table("visits") is not None  # and afterwards the new table is there


def test_a_staged_load_keeps_the_warehouse_readable_and_leaves_no_scratch(settings: MaraSettings, tmp_path: Path) -> None:
    csv = tmp_path / "events.csv"
    csv.write_text("id\n1\n2\n3\n")
    report = load_file_staged(settings.duckdb_path, csv)
    assert report.rows == 3 and report.replaced is False
    assert list((settings.home / ".loading").iterdir()) == []
    assert (settings.home / ".loading").stat().st_mode & 0o077 == 0
