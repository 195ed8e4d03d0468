"""Audit trail: every turn and tool call, appended to ``audit.sqlite`` in the workspace
(or a PostgreSQL table when ``MARA_AUDIT_URL`` is set).

Who (the caller: CLI user, API key name, Slack user), when, which tool with which
arguments, how many rows, how long, how many tokens. E-mail addresses and phone
numbers are redacted before anything is written; secrets never reach it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import sqlite3
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.pii import EMAIL, PHONE
from foundation.errors import WorkspaceError
from foundation.settings import touch_private

if TYPE_CHECKING:
    from foundation.settings import MaraSettings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts TEXT NOT NULL,
    actor TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    kind TEXT NOT NULL,            -- 'turn', 'tool', 'refusal' or 'conversation' (rename/delete)
    name TEXT NOT NULL,            -- the tool, or the mode for a turn
    args TEXT NOT NULL,            -- JSON, redacted
    ok INTEGER NOT NULL,
    rows INTEGER,
    duration_ms REAL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS audit_ts ON audit (ts);
CREATE INDEX IF NOT EXISTS audit_conversation ON audit (conversation_id, id);
CREATE TABLE IF NOT EXISTS owners (
    kind TEXT NOT NULL,            -- 'conversation' or 'artifact'
    id TEXT NOT NULL,
    owner TEXT NOT NULL,           -- the actor that created it: 'key:NAME', 'api:local', 'slack:TEAM:USER'
    ts TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
"""
_PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id BIGSERIAL PRIMARY KEY, ts TEXT NOT NULL, actor TEXT NOT NULL, conversation_id TEXT NOT NULL,
    kind TEXT NOT NULL, name TEXT NOT NULL, args TEXT NOT NULL, ok INTEGER NOT NULL, rows INTEGER,
    duration_ms DOUBLE PRECISION, prompt_tokens INTEGER, completion_tokens INTEGER, detail TEXT
);
CREATE INDEX IF NOT EXISTS audit_ts ON audit (ts);
CREATE INDEX IF NOT EXISTS audit_conversation ON audit (conversation_id, id);
CREATE TABLE IF NOT EXISTS owners (
    kind TEXT NOT NULL, id TEXT NOT NULL, owner TEXT NOT NULL, ts TEXT NOT NULL, PRIMARY KEY (kind, id)
);
"""


#: API keys and tokens a user might paste: OpenAI/Anthropic ``sk-…``, Slack ``xox?-…``/``xapp-…``,
#: bearer tokens, and ``key=value`` pairs whose name says secret.
SECRET = re.compile(
    r"\b(?:sk-[A-Za-z0-9_\-]{16,}|xox[abprs]-[A-Za-z0-9\-]{10,}|xapp-[A-Za-z0-9\-]{10,}|gh[pousr]_[A-Za-z0-9]{20,})"
    r"|(?i:\bbearer\s+[A-Za-z0-9._\-]{16,})"
    r"|(?i:\b(?:api[_-]?key|secret|password|passwd|token)\s*[=:]\s*)\S{6,}"
)


#: Mara's own API keys (``mara_<12 hex>_<secret>``), pasted into a chat by mistake.
MARA_KEY = re.compile(r"\bmara_[0-9a-f]{12}_[A-Za-z0-9_\-]{8,}")


def redact_keys(text: str) -> str:
    """``text`` with pasted Mara API keys replaced by ``mara_[redacted]``."""
    return MARA_KEY.sub("mara_[redacted]", text) if "mara_" in text else text


def redact(value: Any) -> Any:
    """``value`` with secrets, e-mail addresses and phone numbers replaced by ``[secret]`` / ``[email]`` / ``[phone]``
    (Mara keys by ``mara_[redacted]``)."""
    if isinstance(value, str):
        return PHONE.sub("[phone]", EMAIL.sub("[email]", SECRET.sub("[secret]", redact_keys(value))))
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    return value


@dataclass(slots=True)
class AuditRecord:
    ts: str
    actor: str
    conversation_id: str
    kind: str
    name: str
    args: dict[str, Any]
    ok: bool
    rows: int | None = None
    duration_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class AuditLog:
    """Append-only audit table: a SQLite file in the workspace, or PostgreSQL (``MARA_AUDIT_URL``).

    The same SQL (named parameters) runs on both; PostgreSQL keeps the trail of every API
    worker in one place when the API is scaled out.
    """

    def __init__(self, target: Path | str) -> None:
        self.url = str(target) if str(target).startswith(("postgresql", "postgres://")) else None
        self.path = Path(target) if self.url is None else None
        self._lock = threading.Lock()
        self._engine: Any = None
        try:
            if self.path is not None:
                touch_private(self.path)  # 0600, folder 0700
                with sqlite3.connect(str(self.path), timeout=10) as con:
                    con.executescript(_SCHEMA)
            else:
                self._execute(_PG_SCHEMA)
        except sqlite3.DatabaseError as err:
            raise WorkspaceError(
                f"The audit log {self.path} is corrupt or not a SQLite database ({err}).",
                hint=f"Move it aside (mv {self.path} {self.path}.bak); a new one is started.",
            ) from err

    def _execute(self, sql: str, params: dict[str, Any] | None = None, *, fetch: bool = False) -> list[tuple[Any, ...]]:
        if self.path is not None:
            with self._lock if not fetch else contextlib.nullcontext(), sqlite3.connect(str(self.path), timeout=10) as con:
                cursor = con.execute(sql, params or {})
                return [tuple(r) for r in cursor.fetchall()] if fetch else []
        # lazy: sqlalchemy loads slowly; only this path needs it
        import sqlalchemy as sa

        if self._engine is None:
            url = self.url or ""
            if url.startswith(("postgres://", "postgresql://")):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            self._engine = sa.create_engine(url, pool_pre_ping=True)
        try:
            with self._engine.begin() as con:
                if params is None and ";" in sql:
                    for statement in filter(str.strip, sql.split(";")):
                        con.exec_driver_sql(statement)
                    return []
                result = con.execute(sa.text(sql), params or {})
                return [tuple(r) for r in result.fetchall()] if fetch else []
        except sa.exc.OperationalError as err:
            raise WorkspaceError(f"The audit database at MARA_AUDIT_URL is unreachable ({str(err.orig).strip()}).",
                                 hint="Start it or fix MARA_AUDIT_URL.") from err

    def append(self, record: AuditRecord) -> None:
        """Write one record (arguments and details redacted)."""
        row = record.to_dict()
        row["args"] = json.dumps(redact(row["args"]), default=str)
        row["detail"] = redact(row["detail"]) if row["detail"] else None
        row["ok"] = int(record.ok)
        self._execute(f"INSERT INTO audit ({', '.join(row)}) VALUES ({', '.join(':' + k for k in row)})", row)

    def query(self, since: dt.datetime | None = None, conversation_id: str | None = None, limit: int = 1000,
              kinds: tuple[str, ...] = ()) -> list[AuditRecord]:
        """Records, oldest first, optionally since a time, for one conversation or of some kinds."""
        sql = "SELECT ts, actor, conversation_id, kind, name, args, ok, rows, duration_ms, prompt_tokens, completion_tokens, detail FROM audit WHERE 1=1"
        params: dict[str, Any] = {"limit": limit}
        if kinds:
            sql += " AND kind IN (" + ", ".join(f":kind{i}" for i in range(len(kinds))) + ")"
            params |= {f"kind{i}": kind for i, kind in enumerate(kinds)}
        if since is not None:
            sql += " AND ts >= :since"
            params["since"] = since.isoformat(timespec="seconds")
        if conversation_id:
            sql += " AND conversation_id = :conversation"
            params["conversation"] = conversation_id
        sql += " ORDER BY id LIMIT :limit"
        return [
            AuditRecord(ts, actor, conv, kind, name, json.loads(args), bool(ok), rows_, dur, pt, ct, detail)
            for ts, actor, conv, kind, name, args, ok, rows_, dur, pt, ct, detail in self._execute(sql, params, fetch=True)
        ]

    def owner(self, kind: str, item_id: str) -> str | None:
        """Who owns a conversation or artifact (``kind``), ``None`` when nobody does.

        A conversation started before owners were recorded belongs to the actor of its first
        audit record."""
        rows = self._execute("SELECT owner FROM owners WHERE kind = :kind AND id = :id",
                             {"kind": kind, "id": item_id}, fetch=True)
        if rows:
            return str(rows[0][0])
        if kind == "conversation":
            first = self._execute("SELECT actor FROM audit WHERE conversation_id = :id ORDER BY id LIMIT 1",
                                  {"id": item_id}, fetch=True)
            if first:
                return str(first[0][0])
        return None

    def claim(self, kind: str, item_id: str, owner: str) -> str:
        """The owner of ``kind``/``item_id``; when nobody owns it yet, ``owner`` becomes it.

        The first claim wins, also between API workers sharing the database (one insert that
        does nothing on conflict), so a caller compares the result with itself."""
        current = self.owner(kind, item_id) or owner
        self._execute("INSERT INTO owners (kind, id, owner, ts) VALUES (:kind, :id, :owner, :ts) "
                      "ON CONFLICT (kind, id) DO NOTHING",
                      {"kind": kind, "id": item_id, "owner": current, "ts": now()})
        rows = self._execute("SELECT owner FROM owners WHERE kind = :kind AND id = :id",
                             {"kind": kind, "id": item_id}, fetch=True)
        return str(rows[0][0]) if rows else current

    def conversations(self, actor: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Conversations with at least one turn and not deleted since, most recent first:
        ``{"conversation_id","title","started","updated","turns","actor"}``. The title is the last
        rename, else the first message (redacted, 80 characters)."""
        last_turn = "max(CASE WHEN kind = 'turn' THEN id END)"
        deleted = "max(CASE WHEN kind = 'conversation' AND name = 'delete' THEN id END)"
        sql = """
            SELECT conversation_id, min(ts), max(ts), sum(CASE WHEN kind = 'turn' THEN 1 ELSE 0 END), min(actor),
                   (SELECT args FROM audit f WHERE f.conversation_id = a.conversation_id AND f.kind = 'turn' ORDER BY id LIMIT 1),
                   (SELECT args FROM audit r WHERE r.conversation_id = a.conversation_id AND r.kind = 'conversation'
                      AND r.name = 'rename' ORDER BY id DESC LIMIT 1)
            FROM audit a WHERE 1 = 1"""
        params: dict[str, Any] = {"limit": limit}
        if actor is not None:  # the actor's own records, in conversations nobody else owns
            sql += """ AND actor = :actor AND NOT EXISTS (SELECT 1 FROM owners o WHERE o.kind = 'conversation'
                       AND o.id = a.conversation_id AND o.owner <> :actor)"""
            params["actor"] = actor
        sql += f""" GROUP BY conversation_id
            HAVING {last_turn} IS NOT NULL AND ({deleted} IS NULL OR {deleted} < {last_turn})
            ORDER BY max(id) DESC LIMIT :limit"""
        out = []
        for conv, started, updated, turns, who, first, renamed in self._execute(sql, params, fetch=True):
            title = json.loads(renamed).get("title") if renamed else None
            if not title and first:
                title = " ".join(str(json.loads(first).get("message") or "").split())[:80]
            out.append({"conversation_id": conv, "title": title or "Conversation", "started": started,
                        "updated": updated, "turns": int(turns or 0), "actor": who})
        return out


def open_audit(settings: MaraSettings) -> AuditLog:
    """The audit log the settings point at: ``MARA_AUDIT_URL`` (PostgreSQL) or ``audit.sqlite`` in the workspace."""
    return AuditLog(settings.audit_url or settings.home / "audit.sqlite")


def now() -> str:
    """UTC timestamp as stored in the audit table."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
