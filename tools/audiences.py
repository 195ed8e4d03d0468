"""Named audiences: a saved rule (RFM segment, cluster, model score, read-only query) + its members.

An audience is ``<home>/audiences/<slug>.json`` (definition, size, refreshed time) and
``<slug>.ids.csv`` (member ids), both written through temp files and atomic renames. Refreshing
re-runs the rule on the current data. Exporting joins members to the customers table, keeps the
chosen columns and, for a channel, only customers who opted in to it (``email_opt_in``,
``sms_opt_in``...); the copy tool reads audiences by name.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from assistant.errors import MaraError, ToolInputError
from tools.model_data import open_source, q, unknown_name
from tools.warehouse import Warehouse

Kind = Literal["rfm_segment", "cluster", "model", "query"]
KINDS = ("rfm_segment", "cluster", "model", "query")


class AudienceNotFoundError(MaraError):
    """No saved audience has this name."""


@dataclass(slots=True)
class Audience:
    name: str
    kind: str
    params: dict[str, Any]
    size: int
    created: str
    refreshed: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def audiences_path(home: Path) -> Path:
    return Path(home) / "audiences"


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")
    if not slug:
        raise ToolInputError(f"Audience name {name!r} needs letters or digits.")
    return slug


def members(source: Any, kind: str, params: dict[str, Any], home: Path) -> list[Any]:
    """Ids selected by the rule ``kind`` with ``params`` on the current data."""
    if kind == "rfm_segment":
        from tools.segments import SEGMENTS, rfm_segments

        wanted = params.get("segments") or []
        bad = [s for s in wanted if s not in SEGMENTS]
        if not wanted or bad:
            raise ToolInputError(
                f"Unknown RFM segment(s): {', '.join(bad) or '(none given)'}.",
                hint=f"Segments: {', '.join(SEGMENTS)}.",
            )
        res = rfm_segments(source, params.get("orders_table", "orders"))
        return res.customers.loc[res.customers["segment"].isin(wanted), "customer_id"].tolist()
    if kind == "cluster":
        from tools.segments import cluster_customers

        clusters = cluster_customers(source, params.get("table", "orders"), params.get("k"))
        a = clusters.assignments
        names = set(a["name"])
        if params.get("cluster") not in names:
            raise ToolInputError(
                f"No cluster named {params.get('cluster')!r}.",
                hint=f"Clusters: {', '.join(sorted(names))}.",
            )
        return a.loc[a["name"] == params["cluster"]].iloc[:, 0].tolist()
    if kind == "model":
        from tools.propensity import models_path, score

        top, threshold = params.get("top"), params.get("threshold")
        if top is None and threshold is None:
            raise ToolInputError("A model audience needs top (N best) or threshold (min score).")
        rows = score(source, models_path(home), params["model_id"], params.get("table"), top)
        return [r["id"] for r in rows if threshold is None or r["score"] >= float(threshold)]
    if kind == "query":
        if not isinstance(source, Warehouse):
            raise ToolInputError("Query audiences need the warehouse (read-only SQL checks).")
        result = source.query(params["sql"], row_cap=10_000_000)
        return [row[0] for row in result.rows]
    raise ToolInputError(f"Unknown audience kind {kind!r}.", hint=f"Kinds: {', '.join(KINDS)}.")


def save_audience(
    source: Any, home: Path, name: str, kind: str, params: dict[str, Any]
) -> Audience:
    """Compute the members now and save the audience (replacing one with the same name)."""
    ids = members(source, kind, params, home)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    slug = _slug(name)
    folder = audiences_path(home)
    old = folder / f"{slug}.json"
    created = json.loads(old.read_text())["created"] if old.exists() else now
    audience = Audience(name, kind, params, len(ids), created, now)
    folder.mkdir(parents=True, exist_ok=True)
    tmp_ids = folder / f".{slug}.ids.tmp"
    pd.DataFrame({"id": ids}).to_csv(tmp_ids, index=False)
    tmp_ids.replace(folder / f"{slug}.ids.csv")
    tmp = folder / f".{slug}.json.tmp"
    tmp.write_text(json.dumps(audience.to_dict(), default=str))
    tmp.replace(old)
    return audience


def load_audience(home: Path, name: str) -> tuple[Audience, list[Any]]:
    folder = audiences_path(home)
    path = folder / f"{_slug(name)}.json"
    if not path.exists():
        known = [a.name for a in list_audiences(home)]
        raise AudienceNotFoundError(
            f"No audience named {name!r}.",
            hint=f"Saved: {', '.join(known)}." if known else "Save one first.",
        )
    audience = Audience(**json.loads(path.read_text()))
    ids = pd.read_csv(folder / f"{_slug(name)}.ids.csv")["id"].tolist()
    return audience, ids


def list_audiences(home: Path) -> list[Audience]:
    folder = audiences_path(home)
    if not folder.exists():
        return []
    return [Audience(**json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))]


def refresh_audience(source: Any, home: Path, name: str) -> Audience:
    audience, _ = load_audience(home, name)
    return save_audience(source, home, audience.name, audience.kind, audience.params)


def export_audience(
    source: Any,
    home: Path,
    name: str,
    path: Path,
    columns: list[str] | None = None,
    channel: str | None = None,
    customers_table: str = "customers",
) -> dict[str, Any]:
    """Write members with ``columns`` from the customers table to CSV; returns counts.

    With ``channel`` (email, sms, ...), only customers whose ``<channel>_opt_in`` is true are
    written; the count left out is reported.
    """
    _, ids = load_audience(home, name)
    with open_source(source) as ds:
        table = ds.columns(customers_table)
        key = next((c for c in ("customer_id", "id") if c in table), None)
        if key is None:
            raise ToolInputError(f"{customers_table} has no customer_id or id column.")
        wanted = columns or [key]
        for col in wanted:
            if col not in table:
                raise unknown_name(f"column in {customers_table}", col, list(table))
        flag = None
        if channel:
            flag = f"{channel.lower()}_opt_in"
            if flag not in table:
                opt = [c for c in table if c.endswith("_opt_in")]
                raise ToolInputError(
                    f"No opt-in column {flag} in {customers_table}.",
                    hint=f"Channels with opt-in flags: {', '.join(o[:-7] for o in opt) or 'none'}.",
                )
        select = list(dict.fromkeys([key, *wanted, *([flag] if flag else [])]))
        frame = ds.df(f"SELECT {', '.join(q(c) for c in select)} FROM {q(customers_table)}")
    frame = frame[frame[key].isin(ids)]
    excluded = 0
    if flag:
        keep = frame[flag].fillna(False).astype(bool)
        excluded = int((~keep).sum())
        frame = frame[keep]
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    frame[wanted].to_csv(tmp, index=False, quoting=csv.QUOTE_MINIMAL)
    tmp.replace(path)
    return {
        "audience": name,
        "path": str(path),
        "rows": int(len(frame)),
        "excluded_no_opt_in": excluded,
        "missing_from_customers": len(ids) - int(len(frame)) - excluded,
    }
