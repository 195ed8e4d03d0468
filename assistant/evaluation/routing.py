"""Routing accuracy: does each request reach the capability that should answer it?

A routing file lists marketer requests labelled with a capability::

    name: routing_dev
    requests:
      - {id: r-01, request: "revenue by country last quarter", expect: query_data}
      - {id: r-02, request: "draft a win-back SMS for lapsed customers", expect: draft_copy}
      - {id: r-03, follow_up: true, after: r-01, request: "as a pie chart", expect: make_chart}
      - {id: r-04, request: "churn rate by region", expect: query_data, data: subscriptions}
      - {id: r-05, after: "revenue by channel", request: "make that a pie chart", expect: make_chart}

Each request goes through the offline planner in the real agent loop, on the demo workspace
(``mara demo --customers 500``, built once per process into a temporary workspace) or, with
``data: FOLDER``, on the tables of the answer set in that folder beside the routing file (its
``questions.yaml`` names them; loaded once per process with Mara's own loader, the sample brand's
knowledge ingested too), so routing is measured on schemas the demo does not have. The
capability reached is that of the turn's FIRST tool call — with readings that match what a
user sees: ``run_sql`` is a data question (``query_data``), a knowledge lookup that the same
turn follows with ``draft_copy`` (the brand's offer, looked up before drafting) is a copy
request, a turn without a tool whose reply is the help text is ``help``, and an analyst move on the data
(compare periods, explain a change, find anomalies) answers a request expecting ``query_data``. A follow-up
continues the conversation of the request before it (``after`` then names that request's id); ``after`` holding
a request instead of an id makes the entry a follow-up on its own: that earlier turn is sent first in the same
conversation and not scored, so a follow-up stays testable wherever the file's entries are split or reordered.
"""

from __future__ import annotations

import atexit
import datetime as dt
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.evaluation.answers import QuestionSetError, read_entry_file
from assistant.planner.model import HELP_TEXT
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings
from knowledge.sample import sample_brand_path

if TYPE_CHECKING:
    from foundation.settings import MaraSettings

CAPABILITIES = (
    "query_data", "describe_data", "rfm_segments", "cluster_customers", "predict_churn",
    "customer_lifetime_value", "draft_copy", "search_knowledge", "make_chart",
    "recommend_products", "analyze_feedback", "save_audience", "help",
    "compare_periods", "explain_change", "find_anomalies",
)
#: The data path's analyst moves: a request expecting ``query_data`` that one of them answers reached the data.
DATA_MOVES = frozenset({"compare_periods", "explain_change", "find_anomalies"})
DEMO_CUSTOMERS = 500
#: "Today" for requests on the demo workspace: the day its data ends, so "last month" has data whatever
#: the calendar says (answer sets fix theirs with ``today:`` in their questions.yaml).
DEMO_TODAY = dt.date(2026, 10, 31)


@dataclass(frozen=True, slots=True)
class RoutingRequest:
    id: str
    request: str
    expect: str
    follow_up: bool = False
    data: str | None = None  # an answer-set folder beside the routing file; None: the demo workspace
    after: str | None = None  # a turn sent just before in the same conversation, not scored


@dataclass(slots=True)
class RoutingResult:
    id: str
    request: str
    expect: str
    got: str  # the capability reached, or "none" (answered without a tool)
    right: bool
    follow_up: bool = False
    data: str | None = None
    latency_s: float = 0.0
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class RoutingReport:
    name: str
    path: str
    results: list[RoutingResult]

    def totals(self) -> dict[str, Any]:
        right = sum(r.right for r in self.results)
        per: dict[str, dict[str, Any]] = {}
        for capability in sorted({r.expect for r in self.results}):
            mine = [r for r in self.results if r.expect == capability]
            hits = sum(r.right for r in mine)
            per[capability] = {"requests": len(mine), "right": hits,
                               "accuracy": round(100.0 * hits / len(mine), 1),
                               "confused_with": dict(Counter(r.got for r in mine if not r.right))}
        return {"requests": len(self.results), "right": right,
                "accuracy": round(100.0 * right / len(self.results), 1) if self.results else 0.0,
                "per_capability": per}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "file": self.path, "mode": "offline", "totals": self.totals(),
                "results": [asdict(r) for r in self.results]}


def load_routing_set(path: Path) -> tuple[str, list[RoutingRequest]]:
    """The requests of a routing file; :class:`QuestionSetError` naming the entry when one is malformed."""
    path = Path(path)
    raw = read_entry_file(path, "Routing file", "requests", "A routing file has a 'requests' list: [{id, request, expect}].")
    requests: list[RoutingRequest] = []
    seen: set[str] = set()
    for n, item in enumerate(raw["requests"], 1):
        entry_id = str(item.get("id") if isinstance(item, dict) else f"#{n}")
        if not isinstance(item, dict) or not str(item.get("request") or "").strip():
            raise QuestionSetError(f"{path.name}: entry {entry_id} has no request.")
        expect = str(item.get("expect") or "")
        if expect not in CAPABILITIES:
            raise QuestionSetError(f"{path.name}: entry {entry_id} expects {expect!r}, not a capability.",
                                   hint=f"Use one of: {', '.join(CAPABILITIES)}.")
        if entry_id in seen:
            raise QuestionSetError(f"{path.name}: duplicate id {entry_id!r}.")
        seen.add(entry_id)
        data = item.get("data")
        if data is not None:
            data = str(data)
            folder = (path.parent / data).resolve()
            if not folder.is_relative_to(path.parent.resolve()) or not (folder / "questions.yaml").is_file():
                raise QuestionSetError(f"{path.name}: entry {entry_id} names data {data!r}, which is no answer-set "
                                       f"folder beside the file.",
                                       hint="Give the name of a folder next to the routing file that holds a questions.yaml.")
        after = str(item.get("after") or "").strip() or None
        if after is not None and (after in seen or not re.search(r"\s", after)):
            if after not in seen:
                raise QuestionSetError(f"{path.name}: entry {entry_id} comes after {after!r}, which is no earlier entry.",
                                       hint="Give the id of an earlier entry (with follow_up: true) or the earlier request itself.")
            after = None  # an earlier entry's id: follow_up says the conversation continues
        requests.append(RoutingRequest(entry_id, str(item["request"]).strip(), expect,
                                       bool(item.get("follow_up")), data, after))
    return str(raw.get("name") or path.stem), requests


def reached(tool_calls: list[dict[str, Any]], reply: str = "") -> str:
    """The capability a turn reached: its first tool call, read as the module docstring says."""
    if not tool_calls:
        return "help" if HELP_TEXT.splitlines()[0] in reply else "none"
    first = str(tool_calls[0]["name"])
    if first == "run_sql":
        return "query_data"
    if first == "search_knowledge" and any(c["name"] == "draft_copy" for c in tool_calls[1:]):
        return "draft_copy"
    return first


def is_right(expect: str, got: str) -> bool:
    """Whether reaching ``got`` answers a request labelled ``expect`` (an analyst move answers a data question)."""
    return got == expect or (expect == "query_data" and got in DATA_MOVES)


# --- the demo workspace, built once per process --------------------------------------------------

_DEMO: dict[int, Path] = {}
_DEMO_LOCK = threading.Lock()


def demo_workspace(customers: int = DEMO_CUSTOMERS) -> Path:
    """A demo workspace (data, semantic model, brand knowledge) in a temporary folder, reused by the process."""
    with _DEMO_LOCK:
        if customers in _DEMO and (_DEMO[customers] / "warehouse.duckdb").exists():
            return _DEMO[customers]
        # lazy: duckdb, numpy, sqlglot load slowly; only this path needs them
        from assistant.demo_data import TABLE_DESCRIPTIONS, build_demo_data
        from knowledge.brand import write_demo_brand
        from tools.context import open_knowledge
        from tools.semantic_model import refresh_workspace_model

        home = Path(tempfile.mkdtemp(prefix="mara-routing-demo-"))
        atexit.register(shutil.rmtree, home, True)
        settings = MaraSettings(home=home, mode="offline", _env_file=None)  # type: ignore[call-arg]
        summary = build_demo_data(settings.duckdb_path, customers=customers, as_of=DEMO_TODAY)
        refresh_workspace_model(settings, changed=list(summary.tables), descriptions=TABLE_DESCRIPTIONS)
        open_knowledge(settings).ingest([sample_brand_path()])
        write_demo_brand(home)
        _DEMO[customers] = home
        return home


_DATA: dict[Path, tuple[Path, dt.date]] = {}


def data_workspace(folder: Path) -> tuple[Path, dt.date]:
    """A workspace holding the answer set in ``folder`` (its tables, loaded as ``mara data load`` does, and the
    sample brand's knowledge), in a temporary folder reused by the process; and the set's "today"."""
    folder = folder.resolve()
    with _DEMO_LOCK:
        if folder in _DATA and _DATA[folder][0].exists():
            return _DATA[folder]
        # lazy: duckdb, sqlglot, chromadb load slowly; only this path needs them
        from assistant.evaluation.answers import build_workspace, load_question_set
        from tools.context import open_knowledge

        home = Path(tempfile.mkdtemp(prefix=f"mara-routing-{folder.name}-"))
        atexit.register(shutil.rmtree, home, True)
        settings = MaraSettings(home=home, mode="offline", _env_file=None)  # type: ignore[call-arg]
        qset = load_question_set(folder / "questions.yaml")
        problems = build_workspace(qset, settings)
        if problems:
            raise QuestionSetError(f"The answer set in {folder.name} did not load: {'; '.join(problems)}.")
        open_knowledge(settings).ingest([sample_brand_path()])
        _DATA[folder] = (home, qset.today)
        return _DATA[folder]


def run_routing_set(
    path: Path, *, home: Path | None = None, progress: Callable[[RoutingResult], None] | None = None,
    settings: MaraSettings | None = None,
) -> RoutingReport:
    """Send every request through the offline planner's agent loop and compare the capability reached."""
    # lazy: langgraph, langchain, langchain_core load slowly; only this path needs them
    from assistant.agent import Assistant

    name, requests = load_routing_set(path)
    base = settings or MaraSettings(_env_file=None)  # type: ignore[call-arg]
    results: dict[str, RoutingResult] = {}
    # one assistant per workspace; a follow-up stays with the request before it (same workspace)
    groups: dict[str | None, list[list[RoutingRequest]]] = {}
    thread: list[RoutingRequest] | None = None
    for request in requests:
        if request.follow_up and thread is not None:
            thread.append(request)
            continue
        thread = [request]
        groups.setdefault(request.data, []).append(thread)
    for data, threads in groups.items():
        today: dt.date | None
        if data is not None:
            workspace, today = data_workspace(Path(path).parent / data)
        else:
            workspace, today = (home, None) if home is not None else (demo_workspace(), DEMO_TODAY)
        run_settings = base.model_copy(update={
            "home": workspace, "mode": "offline", "warehouse_url": None, "checkpoint_url": None, "audit_url": None,
            "chroma_host": None,
        })
        with Assistant(run_settings, today=today) as assistant:
            for thread in threads:
                conversation = uuid.uuid4().hex
                for request in thread:
                    if request.after is not None:  # the turn the follow-up refers to, not scored
                        assistant.run(request.after, conversation, actor="eval", scopes=EVERY_SCOPE)
                    start = time.perf_counter()
                    turn = assistant.run(request.request, conversation, actor="eval", scopes=EVERY_SCOPE)
                    calls = [{"name": c["name"], "args": c["args"]} for c in turn.tool_calls]
                    got = reached(calls, turn.reply)
                    result = RoutingResult(request.id, request.request, request.expect, got, is_right(request.expect, got),
                                           request.follow_up, request.data, round(time.perf_counter() - start, 3), calls)
                    results[request.id] = result
                    if progress is not None:
                        progress(result)
    return RoutingReport(name, str(path), [results[r.id] for r in requests])
