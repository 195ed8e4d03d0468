"""The held-out question sets are well-formed: every truth runs on plain DuckDB with the right shape.

These tests check the *sets* (tests/data/answers/heldout/), never the assistant: a truth that errors,
returns nothing or has the wrong shape would silently make the accuracy figures of issues 16/17
meaningless. Truths run exactly as the harness contract says (EVAL_FORMAT): each table is
``CREATE TABLE t AS SELECT * FROM read_csv(file, header=true)``, not Mara's loader.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import importlib.util
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

HELDOUT = Path(__file__).parent / "data" / "answers" / "heldout"
SET_FILES = sorted(HELDOUT.glob("*/questions.yaml"))
CAPABILITIES = {
    "query_data", "describe_data", "rfm_segments", "cluster_customers", "predict_churn",
    "customer_lifetime_value", "draft_copy", "search_knowledge", "make_chart",
}
QUESTION_KEYS = {"id", "question", "truth", "follow_up"}
TRUTH_KEYS = {"sql", "value", "expect", "decline"}


@functools.cache
def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path}: top level must be a mapping"
    return data


@functools.cache
def _database(path: Path) -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB per set, tables created by DuckDB's own CSV auto-detection."""
    con = duckdb.connect()
    for table, file in _load(path)["tables"].items():
        con.execute(f"CREATE TABLE \"{table}\" AS SELECT * FROM read_csv('{path.parent / file}', header=true)")
    return con


def _questions() -> list[tuple[Path, dict[str, Any]]]:
    return [(p, q) for p in SET_FILES for q in _load(p)["questions"]]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)


def test_there_are_at_least_three_sets_and_eighty_questions() -> None:
    assert len(SET_FILES) >= 3
    assert len(_questions()) >= 80


@pytest.mark.parametrize("path", SET_FILES, ids=lambda p: p.parent.name)
def test_set_header_names_source_today_and_existing_tables(path: Path) -> None:
    data = _load(path)
    assert data["name"] == path.parent.name
    assert str(data["description"]).strip() and str(data["source"]).strip()
    assert isinstance(data["today"], dt.date)
    for table, file in data["tables"].items():
        csv_path = path.parent / file
        assert csv_path.is_file(), f"{path}: table {table} -> missing {file}"
        assert csv_path.stat().st_size < 60_000, f"{file} is over 60 KB"
        rows = _database(path).execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()
        assert rows is not None and 60 <= rows[0] <= 400, f"{file}: {rows} rows"


@pytest.mark.parametrize("path", SET_FILES, ids=lambda p: p.parent.name)
def test_set_has_twenty_questions_and_a_follow_up_never_opens_it(path: Path) -> None:
    questions = _load(path)["questions"]
    assert len(questions) >= 20
    assert not questions[0].get("follow_up")
    for q in questions:
        assert set(q) <= QUESTION_KEYS, f"{q['id']}: unknown keys {set(q) - QUESTION_KEYS}"
        assert set(q["truth"]) <= TRUTH_KEYS, f"{q['id']}: unknown truth keys"
        assert str(q["question"]).strip()


def test_question_ids_are_unique_across_all_sets() -> None:
    ids = [q["id"] for _, q in _questions()]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_about_a_tenth_of_questions_must_be_declined() -> None:
    declines = [q for _, q in _questions() if q["truth"].get("decline")]
    assert all("sql" not in q["truth"] and "value" not in q["truth"] for q in declines)
    assert 0.05 <= len(declines) / len(_questions()) <= 0.2


@pytest.mark.parametrize(
    ("path", "question"),
    [(p, q) for p, q in _questions() if "sql" in q["truth"]],
    ids=lambda x: x["id"] if isinstance(x, dict) else x.parent.name,
)
def test_truth_sql_runs_and_returns_rows_of_its_shape(path: Path, question: dict[str, Any]) -> None:
    truth = question["truth"]
    rows = _database(path).execute(truth["sql"]).fetchall()
    assert rows, f"{question['id']}: truth returns no rows"
    expect = truth.get("expect") or ("value" if len(rows) == 1 and len(rows[0]) == 1 else "rows")
    if expect == "value":
        assert len(rows) == 1 and len(rows[0]) == 1
        assert _is_number(rows[0][0]), f"{question['id']}: {rows[0][0]!r} is not a number"
    elif expect == "rows":
        assert all(len(r) == 2 for r in rows), f"{question['id']}: a breakdown has (label, number) rows"
        assert all(r[0] is not None and _is_number(r[1]) for r in rows), rows
    else:
        assert expect == "group", f"{question['id']}: unknown expect {expect!r}"
        assert len(rows) == 1 and 1 <= len(rows[0]) <= 2
        assert isinstance(rows[0][0], str) and rows[0][0].strip()


def test_routing_set_labels_fifty_requests_with_known_capabilities() -> None:
    requests = _load(HELDOUT / "routing.yaml")["requests"]
    assert len(requests) >= 50
    ids = [r["id"] for r in requests]
    assert len(ids) == len(set(ids))
    assert {r["expect"] for r in requests} <= CAPABILITIES
    assert {r["expect"] for r in requests} == CAPABILITIES, "every capability is exercised"


def test_routing_follow_ups_come_right_after_the_data_question_they_chart() -> None:
    requests = _load(HELDOUT / "routing.yaml")["requests"]
    for before, r in zip(requests, requests[1:], strict=False):
        if r.get("follow_up"):
            assert r["after"] == before["id"], r["id"]
            assert before["expect"] == "query_data", r["id"]
    assert all(r.get("follow_up") for r in requests if r["expect"] == "make_chart")


def test_generator_rewrites_the_committed_csv_files_byte_for_byte(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_heldout", HELDOUT / "make_heldout.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generate(tmp_path)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.csv"))
    committed = sorted(p.relative_to(HELDOUT) for p in HELDOUT.rglob("*.csv"))
    assert written == committed
    for rel in written:
        assert (tmp_path / rel).read_bytes() == (HELDOUT / rel).read_bytes(), rel
