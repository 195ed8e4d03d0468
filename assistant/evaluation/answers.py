"""Answer accuracy: ask a question set through the real agent and score each reply against its SQL truth.

A question set is one YAML file next to its data files (the format is in the README, "Measuring
answer accuracy")::

    name: shopify_orders
    today: 2025-11-15                 # relative periods ("last month") are read against this date
    tables: {orders: orders_export.csv}
    questions:
      - id: shopify-01
        question: How many customers have ordered?
        truth: {sql: 'SELECT COUNT(DISTINCT "Email") FROM orders'}
      - id: shopify-02
        follow_up: true               # same conversation as the previous question
        question: and by country?
        truth: {sql: '... GROUP BY 1 ORDER BY 2 DESC'}     # expect: rows (the first 3 numbers)
      - {id: shopify-03, question: Top country?, truth: {sql: '... LIMIT 1', expect: group}}
      - {id: shopify-04, question: Orders from TikTok ads?, truth: {decline: true}}

How a set runs, and why:

1. The tables are loaded into a throw-away workspace with Mara's own loader (``mara data load``:
   type inference, money text, the generated semantic model), so what is measured is what a
   user who loads these files gets.
2. Every truth runs on a *separate* plain DuckDB database built with DuckDB's own ``read_csv``,
   so Mara's conversions can never change a truth. A truth that does not run, names an unknown
   table or returns no rows makes its entry *invalid* (named, with what is wrong); the run goes on.
3. Each question goes through :class:`assistant.agent.Assistant` — the same loop as ``mara chat``
   — with "today" fixed to the set's date; a ``follow_up`` continues the previous conversation.
4. The reply text is scored by :mod:`assistant.evaluation.scoring`: right, wrong or declined.
"""

from __future__ import annotations

import datetime as dt
import decimal
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from assistant.evaluation.scoring import Expect, score_reply
from foundation.errors import MaraError
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings
from tools.data_load import load_file

if TYPE_CHECKING:
    from foundation.settings import MaraSettings

Mode = Literal["offline", "llm"]
ResultOutcome = Literal["right", "wrong", "declined", "invalid"]
_EXPECTS = ("value", "rows", "group")
_TRUTH_KINDS = ("sql", "value", "decline", "ask")
_ENTRY_KEYS = frozenset({"id", "question", "truth", "follow_up"})
_READERS = {".csv": "read_csv({path}, header=true)", ".tsv": "read_csv({path}, header=true, delim='\\t')",
            ".parquet": "read_parquet({path})"}


class QuestionSetError(MaraError):
    """The question file itself cannot be used (missing, not YAML, no questions)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One question of a set, as written (``problem`` says why it cannot be scored, if so)."""

    id: str
    question: str
    follow_up: bool
    truth: dict[str, Any]
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class QuestionSet:
    name: str
    path: Path
    today: dt.date
    tables: dict[str, Path]
    entries: list[Entry]
    description: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True)
class Truth:
    """What a right reply states: ``numbers`` (value, rows), a ``label`` (group) or a decline."""

    expect: Expect
    numbers: list[float] = field(default_factory=list)
    label: str | None = None
    conventions: list[str] = field(default_factory=list)  # an ask truth: words naming the conventions it leaves open

    def shown(self) -> Any:
        if self.expect == "decline":
            return "decline"
        if self.expect == "ask":
            return "ask: " + " / ".join(self.conventions)
        if self.expect == "group":
            return self.label
        return self.numbers[0] if self.expect == "value" else self.numbers


@dataclass(slots=True)
class QuestionResult:
    id: str
    question: str
    outcome: ResultOutcome
    expected: Any
    figures: list[str] = field(default_factory=list)
    latency_s: float | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    follow_up: bool = False
    reply: str = ""
    why: str = ""


@dataclass(slots=True)
class SetResult:
    """The outcome of one question set: per question, and the totals."""

    name: str
    path: str
    mode: str
    today: str
    results: list[QuestionResult]
    problems: list[str] = field(default_factory=list)  # set-level: a data file that did not load

    def totals(self) -> dict[str, Any]:
        """Counts and shares (of the scored questions, i.e. without invalid entries) and latency."""
        counts = {k: sum(1 for r in self.results if r.outcome == k) for k in ("right", "wrong", "declined", "invalid")}
        scored = counts["right"] + counts["wrong"] + counts["declined"]

        def pct(n: int) -> float:
            return round(100.0 * n / scored, 1) if scored else 0.0

        latencies = sorted(r.latency_s for r in self.results if r.latency_s is not None)
        return {
            "questions": len(self.results), "scored": scored, **counts,
            "accuracy": pct(counts["right"]), "wrong_pct": pct(counts["wrong"]), "declined_pct": pct(counts["declined"]),
            "latency_p50_s": _percentile(latencies, 50), "latency_p95_s": _percentile(latencies, 95),
        }

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "file": self.path, "mode": self.mode, "today": self.today,
                "totals": self.totals(), "problems": self.problems, "results": [asdict(r) for r in self.results]}


def _percentile(values: list[float], pct: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 3)
    return round(statistics.quantiles(values, n=100, method="inclusive")[pct - 1], 3)


# --- reading a set -----------------------------------------------------------------------------


def read_entry_file(path: Path, kind: str, key: str, hint: str) -> dict[str, Any]:
    """A YAML mapping with a non-empty ``key`` list (question or routing file), or a
    :class:`QuestionSetError` saying what is wrong with the file as a whole."""
    if not path.is_file():
        raise QuestionSetError(f"{kind} {path} does not exist.", hint=hint)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise QuestionSetError(f"{path.name} is not valid YAML: {err}.") from err
    if not isinstance(raw, dict) or not isinstance(raw.get(key), list) or not raw[key]:
        raise QuestionSetError(f"{path.name} has no '{key}' list.", hint=hint)
    return raw


def load_question_set(path: Path) -> QuestionSet:
    """Read and check a question file; problems of single entries are kept on the entry, not raised."""
    path = Path(path)
    raw = read_entry_file(path, "Question file", "questions",
                          "A question set is a mapping with name, today, tables and questions (see the README).")
    today = raw.get("today")
    if isinstance(today, str):
        try:
            today = dt.date.fromisoformat(today)
        except ValueError as err:
            raise QuestionSetError(f"{path.name}: today {today!r} is not a date (YYYY-MM-DD).") from err
    if today is None:
        today = dt.date.today()
    if not isinstance(today, dt.date):
        raise QuestionSetError(f"{path.name}: today must be a date (YYYY-MM-DD), got {today!r}.")
    tables = raw.get("tables") or {}
    if not isinstance(tables, dict) or not all(isinstance(v, str) for v in tables.values()):
        raise QuestionSetError(f"{path.name}: tables must map table names to data files, e.g. {{orders: orders.csv}}.")
    entries: list[Entry] = []
    seen: set[str] = set()
    for n, item in enumerate(raw["questions"], 1):
        entries.append(_entry(item, n, seen))
    if entries[0].follow_up and entries[0].problem is None:  # nothing before it to follow
        entries[0] = replace(entries[0], problem="the first question cannot be a follow-up")
    return QuestionSet(
        name=str(raw.get("name") or path.stem), path=path, today=today,
        tables={str(k): (path.parent / v) for k, v in tables.items()}, entries=entries,
        description=str(raw.get("description") or ""), source=str(raw.get("source") or ""),
    )


def _entry(item: Any, n: int, seen: set[str]) -> Entry:
    if not isinstance(item, dict):
        return Entry(f"#{n}", "", False, {}, f"entry {n} is not a mapping with id, question and truth")
    entry_id = str(item.get("id") or f"#{n}")
    question = str(item.get("question") or "").strip()
    truth = item.get("truth")
    follow_up = bool(item.get("follow_up", False))
    problem = None
    kinds = [k for k in _TRUTH_KINDS if k in truth] if isinstance(truth, dict) else []
    if entry_id in seen:
        problem = f"duplicate id {entry_id!r}"
    elif unknown := sorted(map(str, set(item) - _ENTRY_KEYS)):
        problem = f"unknown key(s) {', '.join(unknown)} (accepted: {', '.join(sorted(_ENTRY_KEYS))})"
    elif not isinstance(item.get("follow_up", False), bool):
        problem = "follow_up must be true or false"
    elif not question:
        problem = "no question"
    elif not isinstance(truth, dict):
        problem = "no truth (give truth: {sql: ...}, {value: N}, {decline: true} or {ask: [conventions]})"
    elif unknown := sorted(map(str, set(truth) - {*_TRUTH_KINDS, "expect"})):
        problem = f"unknown truth key(s) {', '.join(unknown)} (accepted: sql, value, decline, ask, expect)"
    elif len(kinds) != 1:
        problem = f"truth needs exactly one of sql, value, decline, ask (got {', '.join(kinds) or 'none'})"
    elif "ask" in truth and not (isinstance(truth["ask"], list) and truth["ask"] and all(isinstance(w, str) for w in truth["ask"])):
        problem = "truth.ask lists the words naming the conventions the question leaves open, e.g. [gross, net]"
    elif truth.get("expect") is not None and truth["expect"] not in _EXPECTS:
        problem = f"truth.expect {truth['expect']!r} is not one of {', '.join(_EXPECTS)}"
    seen.add(entry_id)
    return Entry(entry_id, question, follow_up, truth if isinstance(truth, dict) else {}, problem)


# --- truths --------------------------------------------------------------------------------------


def truth_database(qset: QuestionSet) -> tuple[Any, list[str]]:
    """A plain in-memory DuckDB with each table read by DuckDB itself; and the files that did not load."""
    # lazy: duckdb loads slowly; only this path needs it
    import duckdb

    con = duckdb.connect(":memory:")
    problems: list[str] = []
    for name, file in qset.tables.items():
        reader = _READERS.get(file.suffix.lower())
        if not file.resolve().is_relative_to(qset.path.parent.resolve()):
            problems.append(f"tables.{name}: {file} is outside the question file's folder; data files must sit beside it")
            continue
        if not file.is_file():
            problems.append(f"tables.{name}: data file {file.name} not found next to {qset.path.name}")
            continue
        if reader is None:
            problems.append(f"tables.{name}: {file.name} is not a .csv, .tsv or .parquet file")
            continue
        try:
            quoted = '"' + name.replace('"', '""') + '"'
            con.execute(f"CREATE TABLE {quoted} AS SELECT * FROM " + reader.format(path=_sql_string(str(file))))
        except duckdb.Error as err:
            problems.append(f"tables.{name}: DuckDB could not read {file.name}: {str(err).splitlines()[0]}")
    # truths are SQL from a file someone else may have written: they read these tables, nothing else
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con, problems


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def compute_truth(con: Any, entry: Entry) -> Truth:
    """The truth of one entry; :class:`QuestionSetError` naming what is wrong when it cannot be had."""
    truth = entry.truth
    if truth.get("decline"):
        return Truth("decline")
    if "ask" in truth:
        return Truth("ask", conventions=[str(w) for w in truth["ask"]])
    expect = truth.get("expect")
    if "value" in truth:
        value = _number(truth["value"])
        if value is None:
            raise QuestionSetError(f"truth.value {truth['value']!r} is not a number")
        return Truth("value", [value])
    sql = str(truth.get("sql") or "").strip()
    if not sql:
        raise QuestionSetError("truth.sql is empty")
    # lazy: duckdb loads slowly; only this path needs it
    import duckdb

    try:
        cursor = con.execute(sql)
        rows = cursor.fetchmany(1000)
        columns = [d[0] for d in cursor.description or []]
    except duckdb.CatalogException as err:
        raise QuestionSetError(f"truth SQL names an unknown table or column: {_first_line(err)}") from err
    except duckdb.Error as err:
        raise QuestionSetError(f"truth SQL does not run: {_first_line(err)}") from err
    if not rows:
        raise QuestionSetError("truth SQL returns no rows")
    if expect == "group" or (expect is None and len(rows) == 1 and len(columns) == 1 and _number(rows[0][0]) is None):
        label = rows[0][0]
        if label is None:
            raise QuestionSetError("truth SQL returns NULL as the group label")
        return Truth("group", label=_label(label))
    if expect == "value" or (expect is None and len(rows) == 1 and len(columns) == 1):
        value = _number(rows[0][-1])
        if value is None:
            raise QuestionSetError(f"truth SQL returns {rows[0][-1]!r}, not a number")
        return Truth("value", [value])
    numbers = []
    for row in rows[:3]:
        value = _number(row[-1])
        if value is None:
            raise QuestionSetError(f"the last column of truth row {row!r} is not a number (rows: label, number)")
        numbers.append(value)
    return Truth("rows", numbers)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float, decimal.Decimal)):
        return float(value)
    return None


def _label(value: Any) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0][:300]


# --- the workspace under test ------------------------------------------------------------------


def build_workspace(qset: QuestionSet, settings: MaraSettings) -> list[str]:
    """Load the set's tables into ``settings.home`` with Mara's loader (as ``mara data load`` does)."""
    # lazy: sqlglot loads slowly; only this path needs it
    from tools.semantic_model import refresh_workspace_model

    problems: list[str] = []
    loaded: list[str] = []
    money: dict[str, list[str]] = {}
    settings.home.mkdir(parents=True, exist_ok=True)
    for name, file in qset.tables.items():
        if not file.is_file():
            continue  # already reported by the truth database
        try:
            report = load_file(settings.duckdb_path, file, name)
        except MaraError as err:
            problems.append(f"tables.{name}: Mara could not load {file.name}: {err.message}")
            continue
        loaded.append(report.table)
        money[report.table] = report.money_columns
    if loaded:
        refresh_workspace_model(settings, changed=loaded, money=money)
    return problems


def eval_settings(base: MaraSettings, home: Path, mode: Mode) -> MaraSettings:
    """``base`` pointed at a throw-away workspace: its own warehouse, conversations and audit trail."""
    if mode == "llm" and not (base.llm_base_url or base.llm_api_key):
        raise MaraError("--mode llm needs an OpenAI-compatible endpoint.",
                        hint="Set MARA_LLM_BASE_URL (and MARA_LLM_API_KEY / MARA_LLM_MODEL if it needs them).")
    return base.model_copy(update={
        "home": home, "mode": mode, "warehouse_url": None, "checkpoint_url": None, "audit_url": None,
        "budget_usd_per_day": None, "budgets_usd_per_day": {},
    })


# --- running ------------------------------------------------------------------------------------

Progress = Callable[[QuestionResult], None]


def run_question_set(
    path: Path,
    *,
    mode: Mode = "offline",
    settings: MaraSettings | None = None,
    progress: Progress | None = None,
) -> SetResult:
    """Ask every question of the set at ``path`` and score the replies (see the module docstring).

    ``settings`` supplies the LLM endpoint for ``mode="llm"`` (default: the environment's).
    """
    qset = load_question_set(path)
    base = settings if settings is not None else MaraSettings()
    con, problems = truth_database(qset)
    truths: dict[int, Truth | str] = {}
    for i, entry in enumerate(qset.entries):
        if entry.problem:
            truths[i] = entry.problem
            continue
        try:
            truths[i] = compute_truth(con, entry)
        except QuestionSetError as err:
            truths[i] = err.message
    con.close()
    with tempfile.TemporaryDirectory(prefix="mara-eval-") as tmp:
        run_settings = eval_settings(base, Path(tmp) / "workspace", mode)
        problems += build_workspace(qset, run_settings)
        results = _ask_all(qset, truths, run_settings, progress)
    return SetResult(qset.name, str(qset.path), mode, qset.today.isoformat(), results, problems)


def _ask_all(
    qset: QuestionSet, truths: dict[int, Truth | str], settings: MaraSettings, progress: Progress | None
) -> list[QuestionResult]:
    # lazy: langgraph, langchain, langchain_core load slowly; only this path needs them
    from assistant.agent import Assistant

    results: list[QuestionResult] = []
    conversation: str | None = None
    with Assistant(settings, today=qset.today) as assistant:
        for i, entry in enumerate(qset.entries):
            truth = truths[i]
            if not entry.follow_up:
                conversation = uuid.uuid4().hex
            next_follows = i + 1 < len(qset.entries) and qset.entries[i + 1].follow_up
            if isinstance(truth, str):
                result = QuestionResult(entry.id, entry.question, "invalid", None, follow_up=entry.follow_up,
                                        why=f"{entry.id}: {truth}")
                if next_follows and entry.question:  # the follow-up needs this turn in its conversation
                    assistant.run(entry.question, conversation, actor="eval", scopes=EVERY_SCOPE)
            else:
                start = time.perf_counter()
                turn = assistant.run(entry.question, conversation, actor="eval", scopes=EVERY_SCOPE)
                latency = time.perf_counter() - start
                score = score_reply(turn.reply, truth.expect, truth.numbers, truth.label, truth.conventions)
                result = QuestionResult(
                    entry.id, entry.question, score.outcome, truth.shown(), score.figures, round(latency, 3),
                    [{"name": c["name"], "args": c["args"]} for c in turn.tool_calls], entry.follow_up,
                    turn.reply, score.why,
                )
            results.append(result)
            if progress is not None:
                progress(result)
    return results
