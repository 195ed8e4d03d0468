"""The one renderer of tool results, and the artifact store behind tables and charts.

A tool returns a :class:`ToolOutput`: ``text`` for the model (cut to a token
budget by the agent) and artifacts for front ends (full tables as CSV on disk,
charts, citations). Front ends render artifacts; the model reads text.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import re
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from foundation.errors import QueryError
from foundation.settings import open_private, private_dir, write_private
from tools.csv_safety import safe_row
from tools.warehouse import QueryResult, _jsonable, cell_bytes

if TYPE_CHECKING:
    from foundation.settings import MaraSettings

PREVIEW_ROWS = 20
_PRUNE_EVERY_S = 60.0  # retention runs at most this often on writes (and always at start)


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
    """Full results kept in the workspace, by id, for download and rendering.

    Files are owner-only (0600, folder 0700); a table is written row by row and stops at
    ``max_bytes`` (marked truncated, reason ``"bytes"``); text cells that a spreadsheet would
    run as formulas are neutralised (:mod:`tools.csv_safety`). Retention: artifacts older than
    ``max_age_days`` go, then the oldest until the folder is under ``max_total_bytes``.
    """

    def __init__(
        self,
        root: Path,
        *,
        max_bytes: int | None = None,
        max_age_days: float = 0.0,
        max_total_bytes: int = 0,
    ) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.max_age_days = max_age_days
        self.max_total_bytes = max_total_bytes
        self._pruned_at = 0.0

    @classmethod
    def for_settings(cls, settings: MaraSettings) -> ArtifactStore:
        """The workspace's artifact store with the byte cap and retention of ``settings``."""
        return cls(
            settings.artifacts_path,
            max_bytes=settings.max_result_bytes,
            max_age_days=settings.artifact_max_age_days,
            max_total_bytes=int(settings.artifact_max_total_mb * 1024 * 1024),
        )

    def save_table(self, result: QueryResult, title: str = "", *, deadline: float | None = None) -> str:
        """Write the result as CSV plus metadata; return its id.

        Stops at the store's byte cap (the metadata then says ``truncated`` with reason
        ``"bytes"``); past ``deadline`` (``time.monotonic()``) nothing is kept and
        :class:`QueryError` says the query took too long.
        """
        private_dir(self.root)
        artifact_id = uuid.uuid4().hex[:12]
        tmp = self.root / f"{artifact_id}.csv.tmp"
        written, size, reason = 0, 0, result.truncated_reason if result.truncated else None
        try:
            with open_private(tmp, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(safe_row(result.columns))
                for row in result.rows:
                    cells = [_jsonable(v) for v in row]
                    size += sum(cell_bytes(v) for v in cells)
                    if self.max_bytes is not None and size > self.max_bytes:
                        reason = "bytes"
                        break
                    if deadline is not None and written % 256 == 0 and time.monotonic() > deadline:
                        raise QueryError(
                            "Writing the result took longer than the query timeout; nothing was kept.",
                            hint="Aggregate more (GROUP BY) or filter to fewer rows.",
                        )
                    writer.writerow(safe_row(cells))
                    written += 1
            tmp.replace(self.root / f"{artifact_id}.csv")
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        meta = {"id": artifact_id, "kind": "table", "title": title, "sql": result.sql,
                "columns": result.columns, "row_count": written,
                "truncated": reason is not None, "truncated_reason": reason}
        write_private(self.root / f"{artifact_id}.json", json.dumps(meta))
        self.prune(keep=artifact_id, force=False)
        return artifact_id

    def metadata(self, artifact_id: str) -> dict[str, Any]:
        """The stored metadata of a table (``truncated``, ``truncated_reason``, ``row_count``...)."""
        path = self.csv_path(artifact_id).with_suffix(".json")
        return dict(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else {}

    def prune(self, *, keep: str | None = None, force: bool = True) -> list[str]:
        """Apply retention (age, then total size, oldest first); return the ids removed.

        ``keep`` is never removed (the artifact just written). Without ``force`` it runs at
        most once a minute, so frequent writes do not list the folder every time.
        """
        now = time.time()
        if not self.root.is_dir() or (not force and now - self._pruned_at < _PRUNE_EVERY_S):
            return []
        self._pruned_at = now
        groups: dict[str, list[Path]] = {}
        for path in self.root.iterdir():
            if path.is_file():
                groups.setdefault(path.name.split(".", 1)[0], []).append(path)
        entries = []
        for artifact_id, paths in groups.items():
            with contextlib.suppress(OSError):
                stats = [p.stat() for p in paths]
                entries.append((max(s.st_mtime for s in stats), sum(s.st_size for s in stats), artifact_id))
        entries.sort()  # oldest first
        total = sum(size for _, size, _ in entries)
        removed = []
        for mtime, size, artifact_id in entries:
            too_old = self.max_age_days > 0 and now - mtime > self.max_age_days * 86_400
            too_big = self.max_total_bytes > 0 and total > self.max_total_bytes
            if artifact_id == keep or not (too_old or too_big):
                continue
            for path in groups[artifact_id]:
                path.unlink(missing_ok=True)
            total -= size
            removed.append(artifact_id)
        return removed

    def csv_path(self, artifact_id: str) -> Path:
        """Path of a stored table; raises ``KeyError`` for unknown or malformed ids."""
        if not artifact_id.isalnum():
            raise KeyError(artifact_id)
        path = self.root / f"{artifact_id}.csv"
        if not path.exists():
            raise KeyError(artifact_id)
        return path


_NAME_CHARS = re.compile(r"[^a-z0-9]+")


def download_name(title: str, fallback: str, suffix: str = ".csv") -> str:
    """A file name for a result named ``title`` ("Revenue by country" → ``revenue-by-country.csv``).

    Only ASCII letters, digits and single dashes survive (at most 80), so a hostile title cannot
    reach a path, a header or another extension; an empty result falls back to ``fallback``."""
    words = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    stem = _NAME_CHARS.sub("-", words).strip("-")[:80].strip("-")
    return f"{stem or fallback}{suffix}"


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
    if result.truncated and result.truncated_reason == "bytes":
        lines.append(f"Note: the result size cap (MARA_MAX_RESULT_BYTES) stopped the result at {n} rows; more rows exist.")
    elif result.truncated:
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


# --- number formats: how each column of a result reads to a marketer ----------------------------
#
# One place decides what a column's numbers are (money in a currency, a percentage, a share of
# 0..1, a count, an id); the ``table`` event carries it as ``formats`` and :func:`format_value`
# writes a value with it for text (the offline planner's headline sentence). The web chat's
# table renderer applies the same format objects to cells.

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$"}
_SHARE = re.compile(r"(^|_)(share|rate|ratio|fraction|probability|p_alive|churn_probability)$")
_PERCENT = re.compile(r"(_pct|_percent|_percentage|^pct|^percent)$")
_ID = re.compile(r"(^|_)(id|key|code|zip|postcode|postal_code|phone)$")


def infer_format(column: str, values: list[Any] | None = None) -> dict[str, Any] | None:
    """The format a column's name says when nothing better is known: ``*_pct`` is a percentage
    (0–100), ``share``/``*_rate`` with values within 0..1 a share, ``*_id`` an id (no separators)."""
    name = column.lower()
    numbers = [v for v in values or [] if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if _ID.search(name):
        return {"kind": "id"}
    if _PERCENT.search(name):
        return {"kind": "percent"}
    if _SHARE.search(name) and numbers and all(0 <= v <= 1 for v in numbers):
        return {"kind": "share"}
    return None


def format_value(value: Any, fmt: dict[str, Any] | None) -> str:
    """``value`` as a marketer reads it under ``fmt``: ``$1,138,474`` (money of 1,000 or more in a known
    currency without cents), ``$84.20``, ``1,005.50`` (money, currency unknown), ``74.3%`` (percent 0–100), ``43%`` (share 0..1), ``1,675`` (count),
    ``13552`` (id). Without a format: thousands separators, two decimals for fractions."""
    value = _jsonable(value)
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    kind = (fmt or {}).get("kind")
    number = float(value)
    if kind == "id":
        return str(int(number)) if number.is_integer() else str(value)
    if kind == "percent":
        return f"{number:,.1f}%"
    if kind == "share":
        return f"{number * 100:,.1f}%".replace(".0%", "%")
    if kind == "money":
        code = str((fmt or {}).get("currency") or "")
        digits = 0 if abs(number) >= 1000 and code else 2  # no currency known: the cents stay
        amount = f"{abs(number):,.{digits}f}"
        sign = "-" if number < 0 else ""
        symbol = _SYMBOLS.get(code)
        if symbol:
            return f"{sign}{symbol}{amount}"
        return f"{sign}{amount} {code}".rstrip()
    if kind == "count" or isinstance(value, int) or number.is_integer() and abs(number) >= 1000:
        return f"{number:,.0f}"
    return f"{number:,.2f}"


def table_artifact(
    result: QueryResult, artifact_id: str, title: str = "", formats: list[dict[str, Any] | None] | None = None,
) -> dict[str, Any]:
    """The ``table`` event payload front ends render; ``formats`` (one per column, ``None`` =
    plain) say how its numbers read (see :func:`format_value`), inferred from names when not given."""
    rows = [[_jsonable(v) for v in row] for row in result.rows[:200]]
    if formats is None or len(formats) != len(result.columns):
        formats = [None] * len(result.columns)
    formats = [f if f is not None else infer_format(c, [r[i] for r in rows])
               for i, (c, f) in enumerate(zip(result.columns, formats, strict=True))]
    return {
        "kind": "table",
        "artifact_id": artifact_id,
        "title": title,
        "columns": result.columns,
        "rows": rows,
        "formats": formats,
        "row_count": result.row_count,
        "truncated": result.truncated,
        "truncated_reason": result.truncated_reason,
        "sql": result.sql,
    }
