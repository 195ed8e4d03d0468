"""The question sets of tests/data/answers/, read by the harness's own loader, held to the corpus's rules.

`assistant.evaluation.answers.load_question_set` reads a set and keeps each entry's problem on the
entry (a user's file runs as far as it can); the development corpus allows none: here any problem,
a missing `source` or a data file that is not there fails the load. Truths run on the harness's own
plain DuckDB database (DuckDB's read_csv, never Mara's loader), so a truth means the same in both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from assistant.evaluation.answers import (
    Entry,
    QuestionSet,
    QuestionSetError,
    load_question_set,
    truth_database,
)

__all__ = ["ANSWERS_DIR", "AnswerSetError", "discover_sets", "load_answer_set", "run_truth", "truth_connection"]

ANSWERS_DIR = Path(__file__).resolve().parent / "data" / "answers"
AnswerSetError = QuestionSetError


def discover_sets(root: Path = ANSWERS_DIR, *, heldout: bool = False) -> list[Path]:
    """The questions.yaml files of the development sets (or, with heldout=True, of the held-out ones)."""
    base = root / "heldout" if heldout else root
    if not base.is_dir():
        return []
    return sorted(p for p in base.glob("*/questions.yaml") if heldout or p.parent.name != "heldout")


def load_answer_set(path: Path) -> QuestionSet:
    """`load_question_set`, raising on the first problem instead of keeping it on the entry."""
    qset = load_question_set(path)
    problems = [f"{e.id}: {e.problem}" for e in qset.entries if e.problem]
    problems += [f"table {name!r} names {file.name}, which does not exist next to the YAML"
                 for name, file in qset.tables.items() if not file.is_file()]
    if not qset.source.strip():
        problems.append("missing or empty 'source' (where the format comes from)")
    if problems:
        raise AnswerSetError(f"{path}: {problems[0]}", hint="The development corpus must load without problems.")
    return qset


def truth_connection(qset: QuestionSet) -> duckdb.DuckDBPyConnection:
    """The harness's truth database for ``qset``; raises when a data file does not load."""
    con, problems = truth_database(qset)
    if problems:
        con.close()
        raise AnswerSetError(f"{qset.path}: {problems[0]}")
    return con  # type: ignore[no-any-return]


def run_truth(con: duckdb.DuckDBPyConnection, entry: Entry, sql: str | None = None) -> list[tuple[Any, ...]]:
    """The raw rows of an entry's truth SQL (or of ``sql``); an AnswerSetError naming the entry if it fails."""
    query = sql if sql is not None else entry.truth.get("sql")
    if not query:
        raise AnswerSetError(f"{entry.id}: has no SQL truth")
    try:
        return con.execute(query).fetchall()
    except duckdb.Error as exc:
        raise AnswerSetError(f"{entry.id}: truth SQL fails: {exc}", hint="Quote headers with spaces or capitals.") from exc
