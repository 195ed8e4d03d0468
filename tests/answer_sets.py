"""Load the question sets of tests/data/answers/ (format: docs in EVAL_FORMAT, one questions.yaml per set).

A set is a folder with export-shaped CSV files and a questions.yaml naming them. Truths are SQL
run on a plain DuckDB database built with DuckDB's own CSV auto-detection, never through Mara's
loader, so Mara's type inference cannot change a truth. The accuracy harness builds on this.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import yaml

from foundation.errors import MaraError

ANSWERS_DIR = Path(__file__).resolve().parent / "data" / "answers"
EXPECTS = ("value", "rows", "group")
_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class AnswerSetError(MaraError):
    """A question file that does not follow the question-set format."""


@dataclass(frozen=True)
class Question:
    """One question and its truth: exactly one of `sql`, `value` or `decline`."""

    id: str
    question: str
    follow_up: bool = False
    sql: str | None = None
    value: float | None = None
    decline: bool = False
    expect: str = "rows"


@dataclass(frozen=True)
class AnswerSet:
    """A data set, the files of its tables and its questions, in file order."""

    name: str
    description: str
    source: str
    today: dt.date
    tables: dict[str, Path]
    questions: tuple[Question, ...]
    path: Path


def discover_sets(root: Path = ANSWERS_DIR, *, heldout: bool = False) -> list[Path]:
    """The questions.yaml files of the development sets (or, with heldout=True, of the held-out ones)."""
    base = root / "heldout" if heldout else root
    if not base.is_dir():
        return []
    return sorted(p for p in base.glob("*/questions.yaml") if heldout or p.parent.name != "heldout")


def _question(raw: object, where: str) -> Question:
    if not isinstance(raw, dict):
        raise AnswerSetError(f"{where}: a question must be a mapping", hint="Give id, question and truth.")
    unknown = set(raw) - {"id", "question", "truth", "follow_up"}
    if unknown:
        raise AnswerSetError(f"{where}: unknown key(s) {sorted(unknown)}", hint="Accepted: id, question, truth, follow_up.")
    qid, text, truth = raw.get("id"), raw.get("question"), raw.get("truth")
    if not isinstance(qid, str) or not qid.strip():
        raise AnswerSetError(f"{where}: missing id", hint="Every question needs a unique string id.")
    where = f"{where} ({qid})"
    if not isinstance(text, str) or not text.strip():
        raise AnswerSetError(f"{where}: missing question text", hint="Write the question as a marketer asks it.")
    if not isinstance(truth, dict):
        raise AnswerSetError(f"{where}: missing truth", hint="Use truth: {sql: ...}, {value: ...} or {decline: true}.")
    kinds = [k for k in ("sql", "value", "decline") if k in truth]
    if len(kinds) != 1:
        raise AnswerSetError(f"{where}: truth needs exactly one of sql, value, decline (got {kinds or 'none'})")
    unknown = set(truth) - {"sql", "value", "decline", "expect"}
    if unknown:
        raise AnswerSetError(f"{where}: unknown truth key(s) {sorted(unknown)}", hint="Accepted: sql, value, decline, expect.")
    expect = truth.get("expect", "value" if "value" in truth else "rows")
    if expect not in EXPECTS:
        raise AnswerSetError(f"{where}: expect {expect!r} is not one of {EXPECTS}")
    if "decline" in truth and truth["decline"] is not True:
        raise AnswerSetError(f"{where}: decline must be true", hint="Leave it out when the question can be answered.")
    if "sql" in truth and (not isinstance(truth["sql"], str) or not truth["sql"].strip()):
        raise AnswerSetError(f"{where}: sql must be a non-empty string")
    value = truth.get("value")
    if "value" in truth and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise AnswerSetError(f"{where}: value must be a number, got {value!r}")
    follow_up = raw.get("follow_up", False)
    if not isinstance(follow_up, bool):
        raise AnswerSetError(f"{where}: follow_up must be true or false")
    return Question(
        id=qid, question=text.strip(), follow_up=follow_up, sql=truth.get("sql"),
        value=float(value) if value is not None else None, decline="decline" in truth, expect=expect,
    )


def load_answer_set(path: Path) -> AnswerSet:
    """Read and check one questions.yaml; table files are resolved next to it and must exist."""
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise AnswerSetError(f"{path}: cannot read ({exc})", hint="A question file is YAML with name, tables, questions.") from exc
    if not isinstance(raw, dict):
        raise AnswerSetError(f"{path}: not a mapping", hint="Top-level keys: name, description, source, today, tables, questions.")
    for key in ("name", "source", "today", "tables", "questions"):
        if not raw.get(key):
            raise AnswerSetError(f"{path}: missing or empty {key!r}")
    today = raw["today"]
    if not isinstance(today, dt.date):
        raise AnswerSetError(f"{path}: today must be a date like 2025-11-15, got {today!r}")
    if not isinstance(raw["tables"], dict):
        raise AnswerSetError(f"{path}: tables must map a table name to a file")
    tables: dict[str, Path] = {}
    for table, file in raw["tables"].items():
        if not isinstance(table, str) or not _TABLE_NAME.match(table):
            raise AnswerSetError(f"{path}: table name {table!r} is not a plain lower-case SQL name")
        target = (path.parent / str(file)).resolve()
        if not target.is_file():
            raise AnswerSetError(f"{path}: table {table!r} names {file!r}, which does not exist next to the YAML")
        tables[table] = target
    if not isinstance(raw["questions"], list):
        raise AnswerSetError(f"{path}: questions must be a list")
    questions = tuple(_question(q, f"{path.name} question {i + 1}") for i, q in enumerate(raw["questions"]))
    seen: set[str] = set()
    for q in questions:
        if q.id in seen:
            raise AnswerSetError(f"{path}: duplicate question id {q.id!r}")
        seen.add(q.id)
    if questions[0].follow_up:
        raise AnswerSetError(f"{path}: the first question ({questions[0].id}) cannot be a follow-up")
    return AnswerSet(
        name=str(raw["name"]), description=str(raw.get("description", "")), source=str(raw["source"]).strip(),
        today=today, tables=tables, questions=questions, path=path,
    )


def truth_connection(answer_set: AnswerSet) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with each table created by plain read_csv auto-detection, as truths expect."""
    con = duckdb.connect(":memory:")
    for table, file in answer_set.tables.items():
        literal = str(file).replace("'", "''")
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv('{literal}', header=true)")
    return con


def run_truth(con: duckdb.DuckDBPyConnection, question: Question) -> list[tuple[Any, ...]]:
    """The rows of a question's truth SQL; an AnswerSetError naming the question if it cannot run."""
    if question.sql is None:
        raise AnswerSetError(f"{question.id}: has no SQL truth")
    try:
        return con.execute(question.sql).fetchall()
    except duckdb.Error as exc:
        raise AnswerSetError(f"{question.id}: truth SQL fails: {exc}", hint="Quote headers with spaces or capitals.") from exc
