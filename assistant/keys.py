"""API keys: created once, stored only as a salted hash, scoped, revocable.

Keys live in ``keys.sqlite`` in the workspace (``$MARA_HOME``), so every ``mara serve`` worker
and the ``mara keys`` CLI on that workspace see the same keys. A key looks like
``mara_<id>_<secret>``: ``id`` (12 hex digits) finds the row, the secret is checked against
``sha256(salt + key)`` with a per-key random salt; the key itself is never stored and is shown
only by :meth:`KeyStore.create`.

Scopes (:data:`SCOPES`): ``chat`` (chat, conversations, artifacts, the OpenAI-compatible
routes), ``copy`` (copy drafting), ``data:read`` (queries, tables, knowledge search,
audiences), ``data:write`` (data-file uploads and semantic-model edits: they change what every
key's questions are answered from), ``kb:write`` (knowledge uploads and the brand profile) and ``admin`` (everything, plus ``/metrics``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from foundation.errors import MaraError
from foundation.settings import touch_private

KEYS_FILE = "keys.sqlite"
SCOPES: tuple[str, ...] = ("chat", "copy", "data:read", "data:write", "kb:write", "admin")
DEFAULT_SCOPES: tuple[str, ...] = ("chat", "copy", "data:read")
KEY_PREFIX = "mara_"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_KEY_PATTERN = re.compile(r"^mara_([0-9a-f]{12})_([A-Za-z0-9_-]{20,128})$")
#: ``last_used`` is written at most this often per key (seconds), not on every request.
LAST_USED_EVERY_S = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    salt TEXT NOT NULL,
    hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created TEXT NOT NULL,
    last_used TEXT,
    revoked TEXT,
    budget REAL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    expires INTEGER NOT NULL
);
"""


class ApiKeyError(MaraError):
    """Base class of API-key problems."""


class KeyNotFoundError(ApiKeyError):
    """No key has this name or id."""

    http_status = 404
    error_type = "not_found"


class KeyInputError(ApiKeyError):
    """A key name or scope that is not accepted."""


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What is stored about a key (never the key itself)."""

    id: str
    name: str
    scopes: tuple[str, ...]
    created: str
    last_used: str | None = None
    revoked: str | None = None
    budget: float | None = None

    @property
    def active(self) -> bool:
        return self.revoked is None

    def allows(self, scope: str) -> bool:
        """True when the key has ``scope`` (``admin`` has every scope)."""
        return scope in self.scopes or "admin" in self.scopes

    @property
    def effective_scopes(self) -> tuple[str, ...]:
        """Every scope the key grants (``admin`` expands to all)."""
        return SCOPES if "admin" in self.scopes else self.scopes

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "scopes": list(self.scopes),
            "created": self.created,
            "last_used": self.last_used,
            "revoked": self.revoked,
            "active": self.active,
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _digest(salt: str, key: str) -> str:
    return hashlib.sha256((salt + key).encode()).hexdigest()


def normalize_scopes(scopes: Iterable[str] | None) -> tuple[str, ...]:
    """Validated scopes in canonical order; ``None`` or empty gives :data:`DEFAULT_SCOPES`.

    Accepts comma-separated items too (``["chat,copy"]``).
    """
    wanted: list[str] = []
    for item in scopes or ():
        wanted.extend(s.strip() for s in str(item).split(",") if s.strip())
    if not wanted:
        return DEFAULT_SCOPES
    unknown = sorted(set(wanted) - set(SCOPES))
    if unknown:
        raise KeyInputError(
            f"Unknown scope(s): {', '.join(unknown)}.", hint=f"Scopes: {', '.join(SCOPES)}."
        )
    return tuple(s for s in SCOPES if s in wanted)


class KeyStore:
    """The workspace's API keys in ``keys.sqlite``; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._last_written: dict[str, float] = {}
        self._ready = False

    @classmethod
    def for_home(cls, home: Path) -> KeyStore:
        return cls(Path(home) / KEYS_FILE)

    @contextmanager
    def _connect(self, create: bool = False) -> Iterator[sqlite3.Connection | None]:
        if not self.path.exists() and not create:
            yield None
            return
        if create:
            touch_private(self.path)  # holds the session secret: 0600, folder 0700
        con = sqlite3.connect(self.path, timeout=10)
        try:
            if not self._ready or create:
                con.executescript(_SCHEMA)
                self._ready = True
            yield con
        finally:
            con.close()

    @staticmethod
    def _row(row: tuple[Any, ...]) -> KeyInfo:
        return KeyInfo(
            id=row[0],
            name=row[1],
            scopes=tuple(json.loads(row[2])),
            created=row[3],
            last_used=row[4],
            revoked=row[5],
            budget=row[6],
        )

    _COLUMNS = "id, name, scopes, created, last_used, revoked, budget"

    # --- management -----------------------------------------------------------------

    def create(self, name: str, scopes: Iterable[str] | None = None) -> tuple[KeyInfo, str]:
        """Create a key; returns its info and the key, which is not stored and not shown again."""
        name = name.strip()
        if not NAME_PATTERN.match(name):
            raise KeyInputError(
                f"Invalid key name {name!r}.",
                hint="Use 1-64 letters, digits, '_', '.', '@' or '-', starting with a letter or digit.",
            )
        granted = normalize_scopes(scopes)
        key_id = secrets.token_hex(6)
        key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        salt = secrets.token_hex(16)
        info = KeyInfo(id=key_id, name=name, scopes=granted, created=_now())
        with self._lock, self._connect(create=True) as con:
            assert con is not None
            try:
                with con:
                    con.execute(
                        "INSERT INTO api_keys (id, name, salt, hash, scopes, created) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            key_id,
                            name,
                            salt,
                            _digest(salt, key),
                            json.dumps(list(granted)),
                            info.created,
                        ),
                    )
            except sqlite3.IntegrityError:
                raise KeyInputError(
                    f"A key named {name!r} already exists.",
                    hint="Pick another name, or revoke it first with 'mara keys revoke NAME'.",
                ) from None
        return info, key

    def list(self) -> list[KeyInfo]:
        """Every key, revoked ones included, oldest first."""
        with self._lock, self._connect() as con:
            if con is None:
                return []
            rows = con.execute(
                f"SELECT {self._COLUMNS} FROM api_keys ORDER BY created, name"
            ).fetchall()
        return [self._row(r) for r in rows]

    def get(self, name_or_id: str) -> KeyInfo:
        """The key with this name or id; :class:`KeyNotFoundError` otherwise."""
        with self._lock, self._connect() as con:
            row = None
            if con is not None:
                row = con.execute(
                    f"SELECT {self._COLUMNS} FROM api_keys WHERE name = ? OR id = ? "
                    "ORDER BY name = ? DESC LIMIT 1",
                    (name_or_id, name_or_id, name_or_id),
                ).fetchone()
        if row is None:
            raise KeyNotFoundError(
                f"No API key named {name_or_id!r}.", hint="List them with 'mara keys list'."
            )
        return self._row(row)

    def revoke(self, name_or_id: str) -> KeyInfo:
        """Revoke a key (idempotent); it stops working at once, for every worker."""
        info = self.get(name_or_id)
        if info.revoked is not None:
            return info
        revoked = _now()
        with self._lock, self._connect() as con:
            assert con is not None
            with con:
                con.execute("UPDATE api_keys SET revoked = ? WHERE id = ?", (revoked, info.id))
        return KeyInfo(**{**_asdict(info), "revoked": revoked})

    def has_keys(self) -> bool:
        """True once any key was created in this workspace (revoked keys count)."""
        if not self.path.exists():
            return False
        with self._lock, self._connect() as con:
            if con is None:
                return False
            return con.execute("SELECT 1 FROM api_keys LIMIT 1").fetchone() is not None

    # --- verification ------------------------------------------------------------------

    def verify(self, key: str) -> KeyInfo | None:
        """The active key matching ``key``, or ``None`` (unknown, malformed or revoked)."""
        match = _KEY_PATTERN.match(key.strip())
        if match is None:
            return None
        key_id = match.group(1)
        with self._lock, self._connect() as con:
            if con is None:
                return None
            row = con.execute(
                f"SELECT {self._COLUMNS}, salt, hash FROM api_keys WHERE id = ?", (key_id,)
            ).fetchone()
        if row is None or not hmac.compare_digest(_digest(row[7], key.strip()), row[8]):
            return None
        info = self._row(row[:7])
        if not info.active:
            return None
        self.touch(info.id)
        return info

    def by_id(self, key_id: str) -> KeyInfo | None:
        """The active key with this id (session cookies carry the id), else ``None``."""
        with self._lock, self._connect() as con:
            if con is None:
                return None
            row = con.execute(
                f"SELECT {self._COLUMNS} FROM api_keys WHERE id = ?", (key_id,)
            ).fetchone()
        if row is None:
            return None
        info = self._row(row)
        if not info.active:
            return None
        self.touch(info.id)
        return info

    def touch(self, key_id: str) -> None:
        """Record use (at most every :data:`LAST_USED_EVERY_S` seconds per key)."""
        now = time.monotonic()
        last = self._last_written.get(key_id)
        if last is not None and now - last < LAST_USED_EVERY_S:
            return
        self._last_written[key_id] = now
        with self._lock, self._connect() as con:
            if con is None:
                return
            with con:
                con.execute("UPDATE api_keys SET last_used = ? WHERE id = ?", (_now(), key_id))

    # --- web-chat sessions (server side, so that signing out ends one for good) ----------

    def open_session(self, key_id: str, expires: int) -> str:
        """Record a new sign-in session of ``key_id`` until ``expires`` (epoch s); its id."""
        session_id = secrets.token_urlsafe(18)
        with self._lock, self._connect(create=True) as con:
            assert con is not None
            with con:
                con.execute("DELETE FROM sessions WHERE expires < ?", (int(time.time()),))
                con.execute(
                    "INSERT INTO sessions (id, key_id, expires) VALUES (?, ?, ?)",
                    (session_id, key_id, int(expires)),
                )
        return session_id

    def session_active(self, session_id: str, key_id: str) -> bool:
        """True while the session exists (not signed out), belongs to ``key_id`` and is unexpired."""
        with self._lock, self._connect() as con:
            if con is None:
                return False
            row = con.execute(
                "SELECT 1 FROM sessions WHERE id = ? AND key_id = ? AND expires >= ?",
                (session_id, key_id, int(time.time())),
            ).fetchone()
        return row is not None

    def close_session(self, session_id: str) -> None:
        """End a session (sign-out); its cookie stops working at once, for every worker."""
        with self._lock, self._connect() as con:
            if con is None:
                return
            with con:
                con.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def secret(self, name: str) -> bytes:
        """A random per-workspace secret (created on first use), e.g. to sign session cookies."""
        with self._lock, self._connect(create=True) as con:
            assert con is not None
            with con:
                row = con.execute("SELECT value FROM meta WHERE key = ?", (name,)).fetchone()
                if row is None:
                    value = secrets.token_hex(32)
                    con.execute(
                        "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (name, value)
                    )
                    row = con.execute("SELECT value FROM meta WHERE key = ?", (name,)).fetchone()
        return bytes.fromhex(row[0])


def _asdict(info: KeyInfo) -> dict[str, Any]:
    return {name: getattr(info, name) for name in KeyInfo.__slots__}
