"""Routing accuracy: does each request reach the capability that should answer it?

A routing file lists marketer requests labelled with a capability::

    name: routing_dev
    requests:
      - {id: r-01, request: "revenue by country last quarter", expect: query_data}
      - {id: r-02, request: "draft a win-back SMS for lapsed customers", expect: draft_copy}
      - {id: r-03, follow_up: true, after: r-01, request: "as a pie chart", expect: make_chart}

Each request goes through the offline planner in the real agent loop, on the demo workspace
(``mara demo --customers 500``, built once per process into a temporary workspace), and the
capability it reached is that of the turn's FIRST tool call — with two readings that match
what a user sees: ``run_sql`` is a data question (``query_data``), and a knowledge lookup that
the same turn follows with ``draft_copy`` (the brand's offer, looked up before drafting) is a
copy request. A follow-up continues the conversation of the request before it.
"""

from __future__ import annotations

import atexit
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
from foundation.settings import MaraSettings
from knowledge.sample import sample_brand_path

if TYPE_CHECKING:
    from foundation.settings import MaraSettings

CAPABILITIES = (
    "query_data", "describe_data", "rfm_segments", "cluster_customers", "predict_churn",
    "customer_lifetime_value", "draft_copy", "search_knowledge", "make_chart",
)
DEMO_CUSTOMERS = 500


@dataclass(frozen=True, slots=True)
class RoutingRequest:
    id: str
    request: str
    expect: str
    follow_up: bool = False


@dataclass(slots=True)
class RoutingResult:
    id: str
    request: str
    expect: str
    got: str  # the capability reached, or "none" (answered without a tool)
    right: bool
    follow_up: bool = False
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
        requests.append(RoutingRequest(entry_id, str(item["request"]).strip(), expect, bool(item.get("follow_up"))))
    return str(raw.get("name") or path.stem), requests


def reached(tool_calls: list[dict[str, Any]]) -> str:
    """The capability a turn reached: its first tool call, read as the module docstring says."""
    if not tool_calls:
        return "none"
    first = str(tool_calls[0]["name"])
    if first == "run_sql":
        return "query_data"
    if first == "search_knowledge" and any(c["name"] == "draft_copy" for c in tool_calls[1:]):
        return "draft_copy"
    return first


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
        summary = build_demo_data(settings.duckdb_path, customers=customers)
        refresh_workspace_model(settings, changed=list(summary.tables), descriptions=TABLE_DESCRIPTIONS)
        open_knowledge(settings).ingest([sample_brand_path()])
        write_demo_brand(home)
        _DEMO[customers] = home
        return home


def run_routing_set(
    path: Path, *, home: Path | None = None, progress: Callable[[RoutingResult], None] | None = None,
    settings: MaraSettings | None = None,
) -> RoutingReport:
    """Send every request through the offline planner's agent loop and compare the capability reached."""
    # lazy: langgraph, langchain, langchain_core load slowly; only this path needs them
    from assistant.agent import Assistant

    name, requests = load_routing_set(path)
    workspace = home or demo_workspace()
    base = settings or MaraSettings(_env_file=None)  # type: ignore[call-arg]
    run_settings = base.model_copy(update={
        "home": workspace, "mode": "offline", "warehouse_url": None, "checkpoint_url": None, "audit_url": None,
        "chroma_host": None,
    })
    results: list[RoutingResult] = []
    conversation = uuid.uuid4().hex
    with Assistant(run_settings) as assistant:
        for request in requests:
            if not request.follow_up:
                conversation = uuid.uuid4().hex
            start = time.perf_counter()
            turn = assistant.run(request.request, conversation, actor="eval")
            calls = [{"name": c["name"], "args": c["args"]} for c in turn.tool_calls]
            got = reached(calls)
            result = RoutingResult(request.id, request.request, request.expect, got, got == request.expect,
                                   request.follow_up, round(time.perf_counter() - start, 3), calls)
            results.append(result)
            if progress is not None:
                progress(result)
    return RoutingReport(name, str(path), results)
