"""Usage and cost: tokens and USD per conversation, actor and day; daily budgets per actor.

Every turn appends one JSON line to ``usage.jsonl`` in the workspace (see
:meth:`assistant.agent.Assistant.stream`): ``ts``, ``actor``, ``conversation_id``, ``mode``,
``model``, token counts and ``cost_usd``. Prices are USD per 1,000 tokens by model-name
prefix (longest first) from ``prompts/copy_prices.yaml``, overridden entry by entry by
``MARA_PRICE_TABLE``; the offline planner costs nothing. Budgets: ``MARA_BUDGET_USD_PER_DAY``
for every actor, ``MARA_BUDGETS_USD_PER_DAY`` (JSON ``{"key:marketing": 5}``) per actor.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from foundation.errors import BudgetExceeded, MaraError
from foundation.settings import MaraSettings, get_settings

GroupBy = Literal["conversation", "actor", "day", "model"]
GROUP_FIELDS: dict[str, str] = {"conversation": "conversation_id", "actor": "actor", "day": "day", "model": "model"}


def price_table(settings: MaraSettings) -> dict[str, dict[str, float]]:
    """USD per 1k tokens by model-name prefix: the shipped table with the settings' entries on top."""
    # lazy: yaml loads slowly; only this path needs it
    from prompts import load_data

    table: dict[str, dict[str, float]] = {}
    for name, entry in (load_data("copy_prices").get("models") or {}).items():
        table[str(name)] = {"prompt": float(entry.get("prompt", 0)), "completion": float(entry.get("completion", 0))}
    for name, entry in settings.price_table.items():
        table[name] = {"prompt": float(entry.get("prompt", 0)), "completion": float(entry.get("completion", 0))}
    return table


def price_of(model: str | None, settings: MaraSettings) -> dict[str, float] | None:
    """The price entry whose name is the longest prefix of ``model`` (``None``: unknown model)."""
    if not model:
        return None
    table = price_table(settings)
    for name in sorted(table, key=len, reverse=True):
        if model.startswith(name):
            return table[name]
    return None


def cost_usd(model: str | None, prompt_tokens: int, completion_tokens: int, settings: MaraSettings) -> float:
    """What the tokens cost at ``model``'s price (0 for the offline planner and unknown models)."""
    price = price_of(model, settings)
    if price is None:
        return 0.0
    return round((prompt_tokens * price["prompt"] + completion_tokens * price["completion"]) / 1000, 8)


def read_records(path: Path, since: dt.date | dt.datetime | None = None) -> Iterator[dict[str, Any]]:
    """The usage records in ``path`` (oldest first), skipping damaged lines, optionally from ``since`` on."""
    if not path.exists():
        return
    start = _as_datetime(since) if since is not None else None
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash: skip it
            if not isinstance(record, dict) or "ts" not in record:
                continue
            if start is not None:
                try:
                    if _as_datetime(dt.datetime.fromisoformat(str(record["ts"]))) < start:
                        continue
                except ValueError:
                    continue
            yield record


def _as_datetime(value: dt.date | dt.datetime) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass(slots=True)
class UsageRow:
    """Totals of one group (a conversation, an actor, a day or a model)."""

    key: str
    turns: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    models: set[str] = field(default_factory=set)

    def add(self, record: dict[str, Any]) -> None:
        self.turns += 1
        self.prompt_tokens += int(record.get("prompt_tokens") or 0)
        self.completion_tokens += int(record.get("completion_tokens") or 0)
        self.cost_usd += float(record.get("cost_usd") or 0.0)
        if record.get("model"):
            self.models.add(str(record["model"]))

    def to_dict(self, by: str) -> dict[str, Any]:
        return {
            by: self.key,
            "turns": self.turns,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "models": sorted(self.models),
        }


def summarize(records: Iterable[dict[str, Any]], by: str = "day") -> list[UsageRow]:
    """Totals per ``by`` group, sorted by key."""
    if by not in GROUP_FIELDS:
        raise MaraError(f"Cannot group usage by {by!r}.", hint=f"Use one of: {', '.join(GROUP_FIELDS)}.")
    rows: dict[str, UsageRow] = {}
    for record in records:
        key = str(record.get("ts", ""))[:10] if by == "day" else str(record.get(GROUP_FIELDS[by]) or "(unknown)")
        rows.setdefault(key, UsageRow(key)).add(record)
    return [rows[k] for k in sorted(rows)]


def usage_report(settings: MaraSettings, since: dt.date | dt.datetime | None = None, by: str = "day") -> dict[str, Any]:
    """The ``mara usage --json`` document: groups and totals."""
    records = list(read_records(settings.usage_path, since))
    groups = summarize(records, by)
    total = UsageRow("total")
    for record in records:
        total.add(record)
    totals = total.to_dict("total")
    totals.pop("total")
    return {
        "by": by,
        "since": None if since is None else since.isoformat(),
        "groups": [row.to_dict(by) for row in groups],
        "total": totals,
    }


# --- budgets ----------------------------------------------------------------------------------


class _DailySpend:
    """Spend per (actor, UTC day), kept up to date by reading only what was appended since last time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[Path, tuple[int, int, dict[tuple[str, str], float]]] = {}

    def spent(self, path: Path, actor: str, day: str) -> float:
        with self._lock:
            try:
                stat = path.stat()
            except FileNotFoundError:
                return 0.0
            inode, offset, totals = self._files.get(path, (stat.st_ino, 0, {}))
            if inode != stat.st_ino or stat.st_size < offset:  # replaced or truncated: start over
                offset, totals = 0, {}
            if stat.st_size > offset:
                with path.open("rb") as handle:
                    handle.seek(offset)
                    data = handle.read()
                complete = data.rfind(b"\n") + 1  # a half-written last line is read next time
                for line in data[:complete].splitlines():
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(record, dict) and record.get("cost_usd"):
                        key = (str(record.get("actor") or "local"), str(record.get("ts", ""))[:10])
                        totals[key] = totals.get(key, 0.0) + float(record["cost_usd"])
                offset += complete
            self._files[path] = (stat.st_ino, offset, totals)
            return totals.get((actor, day), 0.0)


_SPEND = _DailySpend()


def budget_for(actor: str, settings: MaraSettings) -> float | None:
    """The actor's daily limit in USD (``None``: unlimited)."""
    if actor in settings.budgets_usd_per_day:
        return float(settings.budgets_usd_per_day[actor])
    return settings.budget_usd_per_day


def spent_today(actor: str, settings: MaraSettings, today: dt.date | None = None) -> float:
    """USD the actor spent on the UTC day ``today`` (default: now)."""
    day = (today or dt.datetime.now(dt.UTC).date()).isoformat()
    return _SPEND.spent(settings.usage_path, actor, day)


def check_budget(actor: str, settings: MaraSettings | None = None, *, today: dt.date | None = None) -> None:
    """Raise :class:`BudgetExceeded` when ``actor`` has used up its daily budget; return otherwise."""
    if settings is None:
        settings = get_settings()
    limit = budget_for(actor, settings)
    if limit is None:
        return
    spent = spent_today(actor, settings, today)
    if spent >= limit:
        raise BudgetExceeded(
            f"{actor} has used ${spent:.4f} of its ${limit:.2f} daily LLM budget, so I can't answer more today.",
            hint="The budget resets at midnight UTC; an administrator can raise it with MARA_BUDGET_USD_PER_DAY "
            "or MARA_BUDGETS_USD_PER_DAY.",
        )
