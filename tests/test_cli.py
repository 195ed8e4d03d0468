"""The `mara` command as a user runs it: real processes, JSON on stdout, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.integration

MARA = [sys.executable, "-m", "assistant.cli"]


def rows_in(workspace: Path, table: str) -> int:
    """Read the warehouse directly (no `mara` start-up) to see what a command left behind."""
    with duckdb.connect(str(workspace / "warehouse.duckdb"), read_only=True) as con:
        found = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert found is not None
    return int(found[0])


def mara(*args: str, home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("MARA_", "OPENAI_"))}
    environment.update({"MARA_HOME": str(home), **(env or {})})
    return subprocess.run([*MARA, *args], capture_output=True, text=True, env=environment, timeout=120, cwd=home.parent)


def test_query_prints_one_json_document(workspace: Path) -> None:
    run = mara("query", "--sql", "SELECT country, count(*) AS n FROM customers GROUP BY 1 ORDER BY n DESC, 1", "--json", home=workspace)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["columns"] == ["country", "n"]
    assert doc["rows"][0] == ["Germany", 2]
    assert doc["row_count"] == 4 and doc["truncated"] is False


def test_non_read_only_sql_exits_non_zero_with_a_clear_message(workspace: Path) -> None:
    run = mara("query", "--sql", "DROP TABLE customers", "--json", home=workspace)
    assert run.returncode != 0
    assert run.stdout == ""
    assert run.stderr.strip().startswith("Error: DROP statements are refused")
    assert len(run.stderr.strip().splitlines()) == 1
    assert rows_in(workspace, "customers") == 6  # the table is still there


def test_chat_json_contract(workspace: Path) -> None:
    run = mara("chat", "How many customers do we have?", "--json", home=workspace)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert set(doc) == {"reply", "tool_calls", "mode", "conversation_id"}
    assert "**6** customers" in doc["reply"]
    assert doc["tool_calls"][0]["name"] == "query_data"
    assert doc["mode"] == "offline"
    follow = json.loads(mara("chat", "and in Germany?", "--conversation", doc["conversation_id"], "--json", home=workspace).stdout)
    assert "**2** customers" in follow["reply"]


def test_offline_chat_says_how_to_enable_the_llm_once_not_in_the_reply(workspace: Path) -> None:
    run = mara("chat", "How many customers do we have?", home=workspace)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("Set OPENAI_API_KEY or MARA_LLM_BASE_URL") == 1
    assert "OPENAI_API_KEY" not in run.stdout


def test_data_tables_json(workspace: Path) -> None:
    doc = json.loads(mara("data", "tables", "--json", home=workspace).stdout)
    assert {t["name"]: t["rows"] for t in doc} == {"customers": 6, "orders": 8}
    assert {"name": "total", "type": "DECIMAL(10,2)"} in doc[1]["columns"]


def test_data_load_refuses_collisions_and_replaces_atomically(workspace: Path, tmp_path: Path) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text("order_id,customer_id,order_date,total,channel\n1,1,2025-01-01,10.5,web\n")
    clash = mara("data", "load", str(csv), "--json", home=workspace)
    assert clash.returncode != 0 and "already exists" in clash.stderr and "--replace" in clash.stderr
    ok = mara("data", "load", str(csv), "--replace", "--json", home=workspace)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["rows"] == 1
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3,4,5,6\n")
    bad = mara("data", "load", str(ragged), "--table", "orders", "--replace", home=workspace)
    assert bad.returncode != 0 and "ragged.csv: line 3 has 4 fields but the header has 2" in bad.stderr
    assert rows_in(workspace, "orders") == 1  # the failed load left the table as it was


def test_empty_file_is_refused(workspace: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    run = mara("data", "load", str(empty), home=workspace)
    assert run.returncode != 0 and "empty" in run.stderr


def test_missing_workspace(tmp_path: Path) -> None:
    run = mara("chat", "hi", "--json", home=tmp_path / "nowhere")
    assert run.returncode != 0
    assert "No Mara workspace" in run.stderr and "mara demo" in run.stderr


def test_corrupt_warehouse_file(workspace: Path) -> None:
    (workspace / "warehouse.duckdb").write_bytes(b"this is not a database" * 100)
    run = mara("query", "--sql", "SELECT 1", "--json", home=workspace)
    assert run.returncode != 0
    assert "Error:" in run.stderr and "mara demo" in run.stderr and "Traceback" not in run.stderr


def test_corrupt_conversation_store(workspace: Path) -> None:
    (workspace / "conversations.sqlite").write_bytes(b"garbage" * 1000)
    run = mara("chat", "hi", "--json", home=workspace)
    assert run.returncode != 0
    assert "conversation store" in run.stderr and "Traceback" not in run.stderr


def test_unknown_option_is_a_usage_error(workspace: Path) -> None:
    run = mara("query", "--sqll", "SELECT 1", home=workspace)
    assert run.returncode == 2
    assert "No such option: --sqll" in run.stderr


def test_llm_endpoint_down_degrades_to_offline_with_a_notice(workspace: Path) -> None:
    run = mara("chat", "How many customers?", "--json", home=workspace,
               env={"MARA_LLM_BASE_URL": "http://127.0.0.1:9/v1", "MARA_LLM_MAX_RETRIES": "0"})
    assert run.returncode == 0, run.stderr
    reply = json.loads(run.stdout)["reply"]
    assert "language model is unavailable" in reply and "**6** customers" in reply


def test_llm_endpoint_down_without_fallback_is_one_line_and_non_zero(workspace: Path) -> None:
    run = mara("chat", "How many customers?", "--json", home=workspace,
               env={"MARA_LLM_BASE_URL": "http://127.0.0.1:9/v1", "MARA_LLM_MAX_RETRIES": "0",
                    "MARA_LLM_FALLBACK_OFFLINE": "false"})
    assert run.returncode != 0 and run.stdout == ""
    errors = [line for line in run.stderr.strip().splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "LLM endpoint" in errors[0] and "MARA_LLM_BASE_URL" in errors[0]


def test_invalid_setting_is_one_line(workspace: Path) -> None:
    run = mara("chat", "hi", home=workspace, env={"MARA_MODE": "turbo"})
    assert run.returncode != 0
    assert run.stderr.strip().splitlines() == [
        "Error: Invalid setting MARA_MODE='turbo': Input should be 'offline' or 'llm'. Fix it in the environment or .env."
    ]
