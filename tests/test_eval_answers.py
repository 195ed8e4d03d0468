"""`mara eval questions`: question sets, SQL truths on plain DuckDB, and the run through the real agent."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from assistant.evaluation.answers import (
    Entry,
    QuestionSetError,
    SetResult,
    compute_truth,
    load_question_set,
    run_question_set,
    truth_database,
)
from foundation.settings import MaraSettings

FIXTURE = Path(__file__).parent / "data" / "answers_fixture" / "tiny_shop.yaml"


@pytest.fixture(scope="module")
def truth_db() -> Iterator[duckdb.DuckDBPyConnection]:
    con, problems = truth_database(load_question_set(FIXTURE))
    assert problems == []
    yield con
    con.close()


def entry(truth: dict[str, object]) -> Entry:
    return Entry("q-1", "How many?", False, truth)


def test_missing_question_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(QuestionSetError, match="nope.yaml does not exist"):
        load_question_set(tmp_path / "nope.yaml")


def test_file_without_questions_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("name: x\ntables: {}\n")
    with pytest.raises(QuestionSetError, match="no 'questions' list"):
        load_question_set(path)


def test_duplicate_id_is_an_entry_problem(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("questions:\n- {id: a, question: q, truth: {value: 1}}\n- {id: a, question: q2, truth: {value: 2}}\n")
    assert load_question_set(path).entries[1].problem == "duplicate id 'a'"


def test_an_ask_truth_keeps_the_conventions_it_names(tmp_path: Path) -> None:
    path = tmp_path / "ask.yaml"
    path.write_text("questions:\n- {id: a, question: 'What were sales last week?', truth: {ask: [gross, net]}}\n")
    assert compute_truth(None, load_question_set(path).entries[0]).conventions == ["gross", "net"]


def test_entry_without_truth_is_an_entry_problem(tmp_path: Path) -> None:
    path = tmp_path / "nt.yaml"
    path.write_text("questions:\n- {id: a, question: How many}\n")
    assert "no truth" in str(load_question_set(path).entries[0].problem)


@pytest.mark.parametrize(("item", "problem"), [
    ("{id: a, question: q, truth: {value: 1}, folow_up: true}",
     "unknown key(s) folow_up (accepted: follow_up, id, question, truth)"),
    ("{id: a, question: q, truth: {value: 1, expects: value}}",
     "unknown truth key(s) expects (accepted: sql, value, decline, ask, expect)"),
    ("{id: a, question: q, truth: {value: 1, decline: true}}",
     "truth needs exactly one of sql, value, decline, ask (got value, decline)"),
    ("{id: a, follow_up: true, question: and in Germany, truth: {value: 1}}",
     "the first question cannot be a follow-up"),
    ("{id: a, question: sales last week, truth: {ask: true}}",
     "truth.ask lists the words naming the conventions the question leaves open, e.g. [gross, net]"),
])
def test_a_malformed_entry_is_an_entry_problem(tmp_path: Path, item: str, problem: str) -> None:
    path = tmp_path / "entry.yaml"
    path.write_text(f"questions:\n- {item}\n")
    assert load_question_set(path).entries[0].problem == problem


def test_count_truth_is_a_value(truth_db: duckdb.DuckDBPyConnection) -> None:
    assert compute_truth(truth_db, entry({"sql": "SELECT COUNT(*) FROM customers"})).numbers == [6.0]


def test_breakdown_truth_keeps_the_first_three_numbers_in_sql_order(truth_db: duckdb.DuckDBPyConnection) -> None:
    truth = compute_truth(truth_db, entry({"sql": "SELECT channel, SUM(total) FROM orders GROUP BY 1 ORDER BY 2"}))
    assert (truth.expect, truth.numbers) == ("rows", [180.4, 260.25, 360.0])


def test_group_truth_is_the_first_label(truth_db: duckdb.DuckDBPyConnection) -> None:
    sql = "SELECT country, COUNT(*) FROM customers GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
    assert compute_truth(truth_db, entry({"sql": sql, "expect": "group"})).label == "Germany"


def test_truth_sql_that_does_not_parse_says_so(truth_db: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(QuestionSetError, match="truth SQL does not run"):
        compute_truth(truth_db, entry({"sql": "SELEC 1"}))


def test_truth_on_unknown_table_names_it(truth_db: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(QuestionSetError, match="unknown table or column.*refunds"):
        compute_truth(truth_db, entry({"sql": "SELECT COUNT(*) FROM refunds"}))


def test_truth_without_rows_says_so(truth_db: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(QuestionSetError, match="returns no rows"):
        compute_truth(truth_db, entry({"sql": "SELECT order_id FROM orders WHERE channel = 'fax'"}))


def test_truth_reads_csv_with_duckdb_not_mara(truth_db: duckdb.DuckDBPyConnection) -> None:
    (kind,) = truth_db.execute("SELECT typeof(order_date) FROM orders LIMIT 1").fetchone() or ("",)
    assert kind == "DATE"


def test_truth_sql_cannot_write_files(truth_db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """A question file may come from someone else: its SQL reads the loaded tables and nothing else."""
    with pytest.raises(QuestionSetError):
        compute_truth(truth_db, entry({"sql": f"COPY (SELECT 1 AS a) TO '{tmp_path / 'x.csv'}'"}))
    assert not (tmp_path / "x.csv").exists()


def test_data_files_outside_the_sets_folder_are_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.csv").write_text("a\n1\n")
    (tmp_path / "set").mkdir()
    path = tmp_path / "set" / "set.yaml"
    path.write_text("tables: {t: ../elsewhere.csv}\nquestions:\n- {id: a, question: q, truth: {value: 1}}\n")
    _, problems = truth_database(load_question_set(path))
    assert problems and "outside the question file's folder" in problems[0]


def test_missing_data_file_is_a_set_problem_naming_the_table(tmp_path: Path) -> None:
    path = tmp_path / "set.yaml"
    path.write_text("tables: {orders: gone.csv}\nquestions:\n- {id: a, question: q, truth: {value: 1}}\n")
    _, problems = truth_database(load_question_set(path))
    assert problems == ["tables.orders: data file gone.csv not found next to set.yaml"]


# --- the real agent ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def offline_run() -> SetResult:
    return run_question_set(FIXTURE, mode="offline", settings=MaraSettings(_env_file=None))  # type: ignore[call-arg]


def outcome(run: SetResult, entry_id: str) -> str:
    return next(r.outcome for r in run.results if r.id == entry_id)


@pytest.mark.integration
def test_offline_count_is_right(offline_run: SetResult) -> None:
    assert outcome(offline_run, "tiny-01") == "right"


@pytest.mark.integration
def test_offline_relative_period_is_read_against_the_sets_today(offline_run: SetResult) -> None:
    assert outcome(offline_run, "tiny-05") == "right"


@pytest.mark.integration
def test_follow_up_continues_the_conversation(offline_run: SetResult) -> None:
    assert outcome(offline_run, "tiny-02b") == "right"


@pytest.mark.integration
def test_unanswerable_question_is_declined_not_answered(offline_run: SetResult) -> None:
    """The parser asks about “TikTok ads” instead of counting every order (a figure would score wrong)."""
    assert outcome(offline_run, "tiny-04") == "right"


@pytest.mark.integration
def test_invalid_entries_are_named_and_the_run_goes_on(offline_run: SetResult) -> None:
    invalid = [r.why for r in offline_run.results if r.outcome == "invalid"]
    assert invalid == [
        'bad-sql: truth SQL does not run: Parser Error: syntax error at or near "SELEC"',
        "bad-table: truth SQL names an unknown table or column: Catalog Error: Table with name refunds does not exist!",
        "bad-empty: truth SQL returns no rows",
    ]


@pytest.mark.integration
def test_totals_leave_invalid_entries_out_of_the_shares(offline_run: SetResult) -> None:
    totals = offline_run.totals()
    assert (totals["scored"], totals["invalid"]) == (7, 3)


@pytest.mark.integration
def test_each_result_records_the_tool_calls(offline_run: SetResult) -> None:
    first = offline_run.results[0]
    assert first.tool_calls[0]["name"] == "query_data"


ONE_QUESTION_SET = """\
name: tiny_one
today: 2025-11-15
tables: {customers: customers.csv, orders: orders.csv}
questions:
  - {id: o-1, question: "How many customers do we have?", truth: {sql: "SELECT COUNT(*) FROM customers"}}
"""


@pytest.mark.integration
def test_cli_json_is_one_document(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MARA_", "OPENAI_"))}
    env["MARA_HOME"] = str(tmp_path / "ws")
    shutil.copytree(FIXTURE.parent, tmp_path / "set")
    one_question = tmp_path / "set" / "one.yaml"  # the JSON's shape, not the set, is what is checked
    one_question.write_text(ONE_QUESTION_SET)
    run = subprocess.run([sys.executable, "-m", "assistant.cli", "eval", "questions", str(one_question), "--json"],
                         capture_output=True, text=True, env=env, timeout=240, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert set(doc["totals"]) >= {"accuracy", "wrong", "declined", "latency_p50_s", "latency_p95_s"}
    assert [r["outcome"] for r in doc["results"]] == ["right"]


# --- LLM mode: the same file against an OpenAI-compatible endpoint (the scripted server) --------


LLM_SET = """\
name: tiny_llm
today: 2025-11-15
tables: {customers: customers.csv, orders: orders.csv}
questions:
  - {id: l-1, question: "How many customers do we have?", truth: {sql: "SELECT COUNT(*) FROM customers"}}
  - {id: l-2, follow_up: true, question: "and in Germany?", truth: {sql: "SELECT COUNT(*) FROM customers WHERE country = 'Germany'"}}
  - {id: l-3, question: "How many orders came from TikTok ads?", truth: {decline: true}}
"""


@pytest.fixture
def llm_set(tmp_path: Path) -> Path:
    for csv in FIXTURE.parent.glob("*.csv"):
        shutil.copy(csv, tmp_path / csv.name)
    path = tmp_path / "tiny_llm.yaml"
    path.write_text(LLM_SET)
    return path


@pytest.mark.integration
def test_llm_mode_runs_the_set_through_the_endpoint(llm_set: Path) -> None:
    from assistant.chat_models import reset_breakers
    from assistant.testing import ScriptedOpenAIServer, ScriptedReply, ScriptedToolCall

    reset_breakers()
    script = [
        ScriptedReply(tool_calls=[ScriptedToolCall("run_sql", {"sql": "SELECT COUNT(*) AS n FROM customers"})]),
        ScriptedReply(content="You have **6** customers."),
        ScriptedReply(tool_calls=[ScriptedToolCall("run_sql", {"sql": "SELECT COUNT(*) AS n FROM customers WHERE country = 'Germany'"})]),
        ScriptedReply(content="3 of them are in Germany."),
        ScriptedReply(content="Your data doesn't record which ad an order came from, so I can't count TikTok orders."),
    ]
    with ScriptedOpenAIServer(script) as server:
        settings = MaraSettings(_env_file=None, llm_base_url=server.base_url, llm_model="scripted-model",  # type: ignore[call-arg]
                                llm_max_retries=0, llm_fallback_offline=False)
        run = run_question_set(llm_set, mode="llm", settings=settings)
        requests = server.requests
    assert [r.outcome for r in run.results] == ["right", "right", "right"]
    assert "Today is 2025-11-15" in requests[0]["messages"][0]["content"]
    assert any("**6** customers" in str(m.get("content")) for m in requests[2]["messages"])  # the follow-up saw the first turn
    assert not any("**6** customers" in str(m.get("content")) for m in requests[4]["messages"])  # a new question starts afresh


def test_llm_mode_without_an_endpoint_says_what_to_set(llm_set: Path) -> None:
    from foundation.errors import MaraError

    with pytest.raises(MaraError, match="--mode llm needs an OpenAI-compatible endpoint"):
        run_question_set(llm_set, mode="llm", settings=MaraSettings(_env_file=None))  # type: ignore[call-arg]
