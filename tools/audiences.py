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

from foundation.errors import NotFoundError, ToolInputError
from foundation.settings import open_private, private_dir, write_private
from tools.csv_safety import safe_frame
from tools.model_data import open_source, q, unknown_name
from tools.propensity import models_path
from tools.propensity_scoring import score, score_frame
from tools.recommendations import get_recommender, latest_recommender, likely_buyers, top_picks
from tools.segments import SEGMENTS, cluster_customers, rfm_segments
from tools.warehouse import Warehouse

Kind = Literal["rfm_segment", "cluster", "model", "query", "likely_buyers"]
KINDS = ("rfm_segment", "cluster", "model", "query", "likely_buyers")
RECOMMENDED_PRODUCT = "recommended_product"  # a merge/export column computed by the recommender


class AudienceNotFoundError(NotFoundError):
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
        clusters = cluster_customers(source, params.get("table", "orders"), params.get("k"))
        a = clusters.assignments
        wanted = str(params.get("cluster", "")).strip()
        if wanted.isdigit() and int(wanted) in set(a["cluster"]):
            return a.loc[a["cluster"] == int(wanted)].iloc[:, 0].tolist()
        by_name = {str(n).lower(): n for n in a["name"].unique()}
        if wanted.lower() not in by_name:
            shown = ", ".join(f"{c.cluster} = {c.name}" for c in clusters.clusters)
            raise ToolInputError(
                f"No cluster named {params.get('cluster')!r} among the {clusters.k} clusters "
                f"of {params.get('table', 'orders')}.",
                hint=f"Give a cluster number or name: {shown}.",
            )
        return a.loc[a["name"] == by_name[wanted.lower()]].iloc[:, 0].tolist()
    if kind == "model":
        top, threshold = params.get("top"), params.get("threshold")
        if top is None and threshold is None:
            raise ToolInputError("A model audience needs top (N best) or threshold (min score).")
        if top is not None and int(top) < 1:
            raise ToolInputError(f"top must be at least 1 (got {top}).")
        if threshold is not None and not 0 <= float(threshold) <= 1:
            raise ToolInputError(f"threshold is a score between 0 and 1 (got {threshold}).")
        active_days = params.get("active_days")
        if active_days is not None:
            # the answer's headline counts active customers (ordered in the last N days): the
            # audience it offers is exactly that band
            if int(active_days) < 1:
                raise ToolInputError(f"active_days must be at least 1 (got {active_days}).")
            frame = score_frame(source, models_path(home), params["model_id"], params.get("table"))
            if "recency_days" in frame:
                frame = frame[frame["recency_days"] < int(active_days)]
            frame = frame.head(int(top)) if top is not None else frame
            return [i.item() if hasattr(i, "item") else i for i, s in zip(frame["id"], frame["score"], strict=True)
                    if threshold is None or float(s) >= float(threshold)]
        rows = score(source, models_path(home), params["model_id"], params.get("table"), top)
        return [r["id"] for r in rows if threshold is None or r["score"] >= float(threshold)]
    if kind == "query":
        if not isinstance(source, Warehouse):
            raise ToolInputError("Query audiences need the warehouse (read-only SQL checks).")
        if not str(params.get("sql") or "").strip():
            raise ToolInputError(
                "A query audience needs sql: a SELECT whose first column is the id."
            )
        result = source.query(params["sql"], row_cap=10_000_000)
        return list(dict.fromkeys(row[0] for row in result.rows if row[0] is not None))
    if kind == "likely_buyers":  # the customers most likely to buy a product (tools.recommendations)
        model = get_recommender(source, home, params["interactions"])
        return [r["customer"] for r in likely_buyers(model, params["item"], int(params.get("top") or 100))["rows"]]
    raise ToolInputError(f"Unknown audience kind {kind!r}.", hint=f"Kinds: {', '.join(KINDS)}.")


def save_audience(
    source: Any, home: Path, name: str, kind: str, params: dict[str, Any]
) -> Audience:
    """Compute the members now and save the audience (replacing one with the same name).

    A rule that selects nobody is an error and nothing is written (a saved audience with the
    same name is left as it was).
    """
    slug = _slug(name)
    ids = members(source, kind, params, home)
    if not ids:
        raise ToolInputError(
            f"Audience {name!r} would be empty: the {kind.replace('_', ' ')} rule "
            f"{json.dumps(params, default=str)} matches 0 customers; nothing was saved.",
            hint="Loosen the rule (another segment, a lower threshold, a larger top N).",
        )
    now = datetime.now(UTC).isoformat(timespec="seconds")
    folder = audiences_path(home)
    old = folder / f"{slug}.json"
    created = json.loads(old.read_text())["created"] if old.exists() else now
    audience = Audience(name, kind, params, len(ids), created, now)
    private_dir(folder)
    tmp_ids = folder / f".{slug}.ids.tmp"
    tmp = folder / f".{slug}.json.tmp"
    try:  # both files are complete before either replaces the saved audience
        with open_private(tmp_ids, "w", newline="", encoding="utf-8") as handle:
            pd.DataFrame({"id": ids}).to_csv(handle, index=False)  # internal: read back as is
        write_private(tmp, json.dumps(audience.to_dict(), default=str))
    except BaseException:
        tmp_ids.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
        raise
    tmp_ids.replace(folder / f"{slug}.ids.csv")
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


def delete_audience(home: Path, name: str) -> Audience:
    """Remove a saved audience (definition and members)."""
    audience, _ = load_audience(home, name)
    folder = audiences_path(home)
    (folder / f"{_slug(name)}.json").unlink()
    (folder / f"{_slug(name)}.ids.csv").unlink(missing_ok=True)
    return audience


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
    raw: bool = False,
) -> dict[str, Any]:
    """Write members with ``columns`` from the customers table to CSV; returns counts.

    With ``channel`` (email, sms, ...), only customers whose ``<channel>_opt_in`` is true are
    written; the count left out is reported. The file is owner-only (it holds PII) and text
    cells a spreadsheet would run as formulas are neutralised, unless ``raw`` (for a
    machine-to-machine export).
    """
    _, ids = load_audience(home, name)
    with open_source(source) as ds:
        table = ds.columns(customers_table)
        key = next((c for c in ("customer_id", "id") if c in table), None)
        if key is None:
            raise ToolInputError(f"{customers_table} has no customer_id or id column.")
        wanted = columns or [key]
        for col in wanted:
            if col == RECOMMENDED_PRODUCT and col not in table:
                continue  # each member's top pick, added below
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
        picked = [c for c in wanted if c in table]
        select = list(dict.fromkeys([key, *picked, *([flag] if flag else [])]))
        frame = ds.df(f"SELECT {', '.join(q(c) for c in select)} FROM {q(customers_table)}")
    frame = frame[frame[key].isin(ids)]
    excluded = 0
    if flag:
        keep = frame[flag].fillna(False).astype(bool)
        excluded = int((~keep).sum())
        frame = frame[keep]
    if frame.empty:
        why = (
            f"none of its {len(ids):,} members opted in to {channel} ({excluded:,} did not)"
            if flag and excluded
            else f"none of its {len(ids):,} members are in {customers_table}"
        )
        raise ToolInputError(
            f"Nothing to export for audience {name!r}: {why}; no file was written.",
            hint="Choose another channel or refresh the audience.",
        )
    path = Path(path)
    if not path.parent.is_dir():
        raise ToolInputError(f"Cannot write {path}: folder {path.parent} does not exist.")
    if RECOMMENDED_PRODUCT in wanted and RECOMMENDED_PRODUCT not in frame.columns:
        frame = frame.assign(**{RECOMMENDED_PRODUCT: recommended_products(source, home, frame[key].tolist())})
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open_private(tmp, "w", newline="", encoding="utf-8") as handle:
            safe_frame(frame[wanted], raw=raw).to_csv(handle, index=False, quoting=csv.QUOTE_MINIMAL)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return {
        "audience": name,
        "path": str(path),
        "rows": int(len(frame)),
        "excluded_no_opt_in": excluded,
        "missing_from_customers": len(ids) - int(len(frame)) - excluded,
    }


def recommended_products(source: Any, home: Path, ids: list[Any]) -> list[str | None]:
    """Each customer's top pick from the newest saved recommender (None: no model, or no pick).

    Without a saved recommender there is no top pick, and merge fields fall back
    (``{{recommended_product|our bestsellers}}``); train one with ``mara recommend``.
    """
    model = latest_recommender(home)
    if model is None:
        return [None] * len(ids)
    picks = top_picks(model, ids, home=home)
    return [picks.get(i) for i in ids]
