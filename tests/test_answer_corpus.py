"""The development question corpus (tests/data/answers/) is well-formed and every truth runs.

Each set's truth SQL runs on plain DuckDB tables (read_csv auto-detection, as the format says) and
must return the shape its `expect` promises; a truth that fails, returns nothing or the wrong
shape would make the accuracy harness score answers against garbage.
"""

from __future__ import annotations

import hashlib
import math
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from assistant.evaluation.answers import Entry as Question
from assistant.evaluation.answers import QuestionSet as AnswerSet
from tests.answer_sets import (
    ANSWERS_DIR,
    AnswerSetError,
    discover_sets,
    load_answer_set,
    run_truth,
    truth_connection,
)

SET_FILES = discover_sets()
SETS = [load_answer_set(p) for p in SET_FILES]
MIN_SETS, MIN_QUESTIONS = 8, 220


def _cases() -> Iterator[tuple[AnswerSet, Question]]:
    for answer_set in SETS:
        for question in answer_set.entries:
            if question.truth.get("sql") is not None:
                yield answer_set, question


@pytest.fixture(scope="module")
def connections() -> Iterator[dict[str, duckdb.DuckDBPyConnection]]:
    cons = {s.name: truth_connection(s) for s in SETS}
    yield cons
    for con in cons.values():
        con.close()


def _is_number(v: object) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, Decimal):
        return v.is_finite()
    return isinstance(v, (int, float)) and math.isfinite(v)


@pytest.mark.parametrize(("answer_set", "question"), list(_cases()), ids=lambda x: getattr(x, "id", ""))
def test_truth_sql_runs_and_has_the_promised_shape(
    answer_set: AnswerSet, question: Question, connections: dict[str, duckdb.DuckDBPyConnection]
) -> None:
    rows = run_truth(connections[answer_set.name], question)
    assert rows, f"{question.id}: truth returns no rows"
    width = len(rows[0])
    if question.truth.get("expect") == "group":
        assert len(rows) == 1 and width in (1, 2), f"{question.id}: a group truth is one row (label[, number])"
        assert rows[0][0] is not None, f"{question.id}: the group label is empty"
    elif len(rows) == 1 and width == 1:
        assert _is_number(rows[0][0]), f"{question.id}: single value {rows[0][0]!r} is not a number"
    else:
        assert width == 2, f"{question.id}: a breakdown is label, number (got {width} columns)"
        assert all(r[0] is not None for r in rows), f"{question.id}: a breakdown row has no label"
        assert all(_is_number(r[1]) for r in rows), f"{question.id}: a breakdown row has no number"


@pytest.mark.parametrize(
    ("answer_set", "question"),
    [(s, q) for s, q in _cases() if q.truth.get("expect") == "group"],
    ids=lambda x: getattr(x, "id", ""),
)
def test_a_group_truth_has_no_tie_for_first_place(
    answer_set: AnswerSet, question: Question, connections: dict[str, duckdb.DuckDBPyConnection]
) -> None:
    """'Which country sells most?' has one right answer only if the runner-up scores less."""
    sql = str(question.truth["sql"]).rstrip()
    assert sql.upper().endswith("LIMIT 1")
    rows = run_truth(connections[answer_set.name], question, sql[: -len("1")] + "2")
    if len(rows) == 2 and len(rows[0]) == 2:
        assert rows[0][1] != rows[1][1], f"{question.id}: {rows[0][0]} and {rows[1][0]} tie"


def test_corpus_has_enough_sets_and_questions() -> None:
    assert len(SETS) >= MIN_SETS
    assert sum(len(s.entries) for s in SETS) >= MIN_QUESTIONS


def test_question_ids_are_unique_across_sets() -> None:
    ids = [q.id for s in SETS for q in s.entries]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("answer_set", SETS, ids=lambda s: s.name)
def test_each_set_names_its_format_source(answer_set: AnswerSet) -> None:
    assert answer_set.source


@pytest.mark.parametrize("answer_set", SETS, ids=lambda s: s.name)
def test_each_set_has_questions_to_decline(answer_set: AnswerSet) -> None:
    declines = sum(bool(q.truth.get("decline")) for q in answer_set.entries)
    assert declines >= 2, f"{answer_set.name}: only {declines} question(s) the data cannot answer"


@pytest.mark.parametrize("answer_set", SETS, ids=lambda s: s.name)
def test_set_name_matches_its_folder(answer_set: AnswerSet) -> None:
    assert answer_set.name == answer_set.path.parent.name


@pytest.mark.parametrize("answer_set", SETS, ids=lambda s: s.name)
def test_data_files_stay_small(answer_set: AnswerSet) -> None:
    for file in answer_set.tables.values():
        assert file.stat().st_size < 60_000, file.name


def test_generator_rewrites_the_csv_files_byte_identically(tmp_path: Path) -> None:
    csvs = sorted(p for p in ANSWERS_DIR.glob("*/*.csv") if "heldout" not in p.parts)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in csvs}
    script = ANSWERS_DIR / "make_sets.py"
    subprocess.run([sys.executable, str(script)], check=True, capture_output=True, timeout=60)
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in csvs}
    assert after == before


def test_a_truth_that_cannot_run_names_its_question(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (tmp_path / "questions.yaml").write_text(
        "name: t\nsource: test\ntoday: 2025-11-15\ntables: {t: t.csv}\n"
        "questions:\n  - {id: t-01, question: Total revenue, truth: {sql: 'SELECT SUM(nope) FROM t'}}\n",
        encoding="utf-8",
    )
    broken = load_answer_set(tmp_path / "questions.yaml")
    with pytest.raises(AnswerSetError, match="t-01"):
        run_truth(truth_connection(broken), broken.entries[0])


def test_a_table_file_that_does_not_exist_is_named(tmp_path: Path) -> None:
    (tmp_path / "questions.yaml").write_text(
        "name: t\nsource: test\ntoday: 2025-11-15\ntables: {t: missing.csv}\n"
        "questions:\n  - {id: t-01, question: Total revenue, truth: {decline: true}}\n",
        encoding="utf-8",
    )
    with pytest.raises(AnswerSetError, match="missing.csv"):
        load_answer_set(tmp_path / "questions.yaml")


def test_a_truth_with_two_kinds_is_refused(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a\n1\n", encoding="utf-8")
    (tmp_path / "questions.yaml").write_text(
        "name: t\nsource: test\ntoday: 2025-11-15\ntables: {t: t.csv}\n"
        "questions:\n  - {id: t-01, question: Total revenue, truth: {value: 3, decline: true}}\n",
        encoding="utf-8",
    )
    with pytest.raises(AnswerSetError, match="exactly one"):
        load_answer_set(tmp_path / "questions.yaml")
