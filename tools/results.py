"""The one renderer of tool results, and the artifact store behind tables and charts.

A tool returns a :class:`ToolOutput`: ``text`` for the model (cut to a token
budget by the agent) and artifacts for front ends (full tables as CSV on disk,
charts, citations). Front ends render artifacts; the model reads text.
"""

from __future__ import annotations

import csv
import json
import math
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.warehouse import QueryResult, _jsonable

PREVIEW_ROWS = 20


@dataclass(slots=True)
class ToolOutput:
    """What a tool produced: text for the model, artifacts and citations for people."""

    text: str
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # structured facts the offline planner reads

    def to_artifact(self) -> dict[str, Any]:
        return {"artifacts": self.artifacts, "citations": self.citations, "data": self.data}


class ArtifactStore:
    """Full results kept in the workspace, by id, for download and rendering."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def save_table(self, result: QueryResult, title: str = "") -> str:
        """Write the result as CSV plus metadata; return its id."""
        self.root.mkdir(parents=True, exist_ok=True)
        artifact_id = uuid.uuid4().hex[:12]
        tmp = self.root / f"{artifact_id}.csv.tmp"
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(result.columns)
            for row in result.rows:
                writer.writerow([_jsonable(v) for v in row])
        tmp.replace(self.root / f"{artifact_id}.csv")
        meta = {"id": artifact_id, "kind": "table", "title": title, "sql": result.sql,
                "columns": result.columns, "row_count": result.row_count, "truncated": result.truncated}
        (self.root / f"{artifact_id}.json").write_text(json.dumps(meta))
        return artifact_id

    def csv_path(self, artifact_id: str) -> Path:
        """Path of a stored table; raises ``KeyError`` for unknown or malformed ids."""
        if not artifact_id.isalnum():
            raise KeyError(artifact_id)
        path = self.root / f"{artifact_id}.csv"
        if not path.exists():
            raise KeyError(artifact_id)
        return path


def render_table(result: QueryResult, *, max_rows: int = PREVIEW_ROWS) -> str:
    """A compact text rendering for the model: size, a Markdown preview and numeric summaries."""
    n = result.row_count
    lines = [f"{n}{'+' if result.truncated else ''} row{'s' if n != 1 else ''} × {len(result.columns)} columns."]
    if n == 1 and len(result.columns) <= 6:
        pairs = ", ".join(f"{c} = {_fmt(v)}" for c, v in zip(result.columns, result.rows[0], strict=True))
        lines.append(pairs)
        return "\n".join(lines)
    lines.append("| " + " | ".join(result.columns) + " |")
    lines.append("|" + "---|" * len(result.columns))
    for row in result.rows[:max_rows]:
        lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
    if n > max_rows:
        lines.append(f"(first {max_rows} of {n} rows shown; the full table is attached for the user)")
    stats = _numeric_summary(result)
    if stats and n > max_rows:
        lines.append("Column summaries over all returned rows: " + "; ".join(stats))
    if result.truncated:
        lines.append(f"Note: the row cap stopped the result at {n} rows; more rows exist.")
    return "\n".join(lines)


def _numeric_summary(result: QueryResult) -> list[str]:
    out = []
    for index, column in enumerate(result.columns):
        values = [_jsonable(row[index]) for row in result.rows]
        numbers = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(numbers) == len(values) and numbers:
            total = sum(numbers)
            out.append(f"{column}: min {_fmt(min(numbers))}, max {_fmt(max(numbers))}, sum {_fmt(total)}, mean {_fmt(total / len(numbers))}")
    return out


def _fmt(value: Any) -> str:
    value = _jsonable(value)
    if value is None:
        return "∅"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return f"{value:,.2f}" if abs(value) < 1e15 else f"{value:.3g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def table_artifact(result: QueryResult, artifact_id: str, title: str = "") -> dict[str, Any]:
    """The ``table`` event payload front ends render."""
    return {
        "kind": "table",
        "artifact_id": artifact_id,
        "title": title,
        "columns": result.columns,
        "rows": [[_jsonable(v) for v in row] for row in result.rows[:200]],
        "row_count": result.row_count,
        "truncated": result.truncated,
        "sql": result.sql,
    }
