"""Schedules, their runs and deliveries: one SQLite file in the workspace (``schedules.sqlite``,
owner-only) or PostgreSQL when ``MARA_AUDIT_URL`` / ``MARA_CHECKPOINT_URL`` point there, so
every API worker sees the same schedules and the same run leases.

**Exactly one start per run.** A run has a key (``schedule id @ due time``, or ``manual:…``)
that is unique in ``runs``: the worker whose insert succeeds runs it, others see the conflict
and stop. The holder renews ``lease_until`` while it works; when a holder dies mid-run its lease
expires and the next worker to look (:meth:`ScheduleStore.take_over`) resumes the same run —
same run id, same idempotency key, only the destinations not yet delivered.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from foundation.errors import NotFoundError, WorkspaceError
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings, touch_private

FILE_NAME = "schedules.sqlite"

metadata = sa.MetaData()
schedules = sa.Table(
    "mara_schedules", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # 'question' or 'metric'
    sa.Column("question", sa.Text),
    sa.Column("metric", sa.String(200)),
    sa.Column("grain", sa.String(20)),
    sa.Column("condition", sa.Text),  # JSON or NULL (a briefing)
    sa.Column("cooldown_s", sa.Float, nullable=False, default=0.0),
    sa.Column("cron", sa.String(200), nullable=False),
    sa.Column("timezone", sa.String(80), nullable=False),
    sa.Column("cadence", sa.String(300), nullable=False),
    sa.Column("destinations", sa.Text, nullable=False),  # JSON list of "slack:#c", "email:a@b", "webhook:https://…"
    sa.Column("scopes", sa.Text),  # JSON list of the owner's scopes (NULL: all)
    sa.Column("webhook_secret", sa.String(100), nullable=False),
    sa.Column("paused", sa.Integer, nullable=False, default=0),
    sa.Column("paused_reason", sa.Text),
    sa.Column("created", sa.String(40), nullable=False),
    sa.Column("updated", sa.String(40), nullable=False),
    sa.Column("version", sa.Integer, nullable=False, default=1),
    sa.Column("last_alert", sa.String(40)),  # when an alert last fired (cool-down)
    sa.Column("last_run", sa.String(40)),
    sa.Column("last_status", sa.String(40)),
    sa.Column("notices", sa.Text),  # JSON list of messages for the owner
)
runs = sa.Table(
    "mara_schedule_runs", metadata,
    sa.Column("run_id", sa.String(40), primary_key=True),
    sa.Column("schedule_id", sa.String(40), nullable=False, index=True),
    sa.Column("run_key", sa.String(200), nullable=False, unique=True),
    sa.Column("due", sa.String(40)),
    sa.Column("late_s", sa.Float),
    sa.Column("state", sa.String(20), nullable=False),  # running, done, failed, skipped
    sa.Column("holder", sa.String(80), nullable=False),
    sa.Column("lease_until", sa.Float, nullable=False),
    sa.Column("takeovers", sa.Integer, nullable=False, default=0),
    sa.Column("started", sa.String(40), nullable=False),
    sa.Column("finished", sa.String(40)),
    sa.Column("content", sa.Text),  # JSON message while running (a resumed run sends the same body); a masked summary once finished
    sa.Column("detail", sa.Text),
)
deliveries = sa.Table(
    "mara_schedule_deliveries", metadata,
    sa.Column("run_id", sa.String(40), primary_key=True),
    sa.Column("destination", sa.String(600), primary_key=True),
    sa.Column("state", sa.String(20), nullable=False),  # sent, failed
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("error", sa.Text),
    sa.Column("at", sa.String(40), nullable=False),
)


def _scopes_json(scopes: Any) -> str:
    """The owner's scopes as stored: always a JSON list. ``None`` is refused (``TypeError``), so no
    new row can hold NULL, which older versions wrote for "every scope" (see :func:`_stored_scopes`)."""
    if scopes is None or isinstance(scopes, str):
        raise TypeError("a schedule's scopes are a list of scope names (EVERY_SCOPE for admins), not " + repr(scopes))
    return json.dumps(sorted(scopes))


def _stored_scopes(text: str | None) -> list[str]:
    """Scopes read back. NULL comes only from rows written before scopes were always stored (then
    NULL meant every scope: admin keys, the CLI, open mode), so it keeps meaning that."""
    return sorted(EVERY_SCOPE) if text is None else list(json.loads(text))


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(slots=True)
class Schedule:
    """A stored schedule (see the module docs of :mod:`assistant.schedules`)."""

    id: str
    owner: str
    name: str
    kind: str
    cron: str
    timezone: str
    cadence: str
    destinations: list[str]
    webhook_secret: str
    question: str | None = None
    metric: str | None = None
    grain: str | None = None
    condition: dict[str, Any] | None = None
    cooldown_s: float = 0.0
    scopes: list[str] = field(default_factory=list)  # the owner's; ['admin']: every scope
    paused: bool = False
    paused_reason: str | None = None
    created: str = ""
    updated: str = ""
    version: int = 1
    last_alert: str | None = None
    last_run: str | None = None
    last_status: str | None = None
    notices: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        """What list/show answers: everything but the webhook secret."""
        data = asdict(self)
        data.pop("webhook_secret")
        return data

    @classmethod
    def from_row(cls, row: Any) -> Schedule:
        m = row._mapping
        return cls(
            id=m["id"], owner=m["owner"], name=m["name"], kind=m["kind"], cron=m["cron"],
            timezone=m["timezone"], cadence=m["cadence"], destinations=json.loads(m["destinations"]),
            webhook_secret=m["webhook_secret"], question=m["question"], metric=m["metric"],
            grain=m["grain"], condition=json.loads(m["condition"]) if m["condition"] else None,
            cooldown_s=float(m["cooldown_s"] or 0), scopes=_stored_scopes(m["scopes"]),
            paused=bool(m["paused"]), paused_reason=m["paused_reason"], created=m["created"],
            updated=m["updated"], version=int(m["version"]), last_alert=m["last_alert"],
            last_run=m["last_run"], last_status=m["last_status"],
            notices=json.loads(m["notices"]) if m["notices"] else [],
        )


@dataclass(slots=True)
class Run:
    run_id: str
    schedule_id: str
    run_key: str
    due: str | None
    late_s: float | None
    state: str
    holder: str
    takeovers: int = 0
    content: dict[str, Any] | None = None
    detail: str | None = None
    started: str = ""
    finished: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Run:
        m = row._mapping
        return cls(m["run_id"], m["schedule_id"], m["run_key"], m["due"], m["late_s"], m["state"],
                   m["holder"], int(m["takeovers"] or 0), json.loads(m["content"]) if m["content"] else None,
                   m["detail"], m["started"], m["finished"])

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("content")
        return data


SUMMARY_CHARS = 200


def run_summary(content: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a finished run keeps of its message: whether it sent, why not, its conversation and
    the start of the headline *as sent to destinations without personal data* (``safe``) —
    never the tables, the text or the unmasked (``full``) message."""
    if content is None:
        return None
    safe = content.get("safe") or {}
    summary: dict[str, Any] = {"pruned": True, "send": bool(content.get("send", True))}
    for key in ("alert", "reason", "conversation_id"):
        if content.get(key) is not None:
            summary[key] = content[key]
    if safe.get("headline"):
        summary["headline"] = str(safe["headline"])[:SUMMARY_CHARS]
    return summary


def store_url(settings: MaraSettings) -> str:
    """PostgreSQL when the audit trail or the conversations live there, else the workspace file."""
    for url in (settings.audit_url, settings.checkpoint_url):
        if url and url.startswith(("postgresql", "postgres://")):
            return "postgresql+psycopg://" + url.split("://", 1)[1]
    return f"sqlite:///{settings.home / FILE_NAME}"


def make_engine(url: str) -> sa.Engine:
    """An engine for the store and APScheduler's job store (same database, other tables)."""
    if url.startswith("sqlite:///"):
        touch_private(Path(url.removeprefix("sqlite:///")))  # 0600, folder 0700
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(con: Any, _record: Any) -> None:  # WAL: readers do not wait for a writer
            cursor = con.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA secure_delete=ON")  # a pruned run body is overwritten, not left in free pages
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


class ScheduleStore:
    """CRUD over schedules and the run / delivery ledger (see the module docs)."""

    def __init__(self, settings: MaraSettings, engine: sa.Engine | None = None) -> None:
        self.settings = settings
        self.url = store_url(settings)
        self.engine = engine or make_engine(self.url)
        self._lock = threading.Lock()  # SQLite: one writer per process at a time
        try:
            metadata.create_all(self.engine)
        except sa.exc.OperationalError as err:
            raise WorkspaceError(f"The schedule store ({_safe(self.url)}) cannot be opened: {err.orig}.",
                                 hint="Check MARA_HOME, or that the PostgreSQL at MARA_AUDIT_URL is up.") from err
        if self.url.startswith("sqlite:///"):
            for suffix in ("", "-wal", "-shm"):
                path = Path(self.url.removeprefix("sqlite:///") + suffix)
                if path.exists():
                    path.chmod(0o600)

    def _write(self) -> Any:
        return self._lock if self.url.startswith("sqlite") else _nolock

    # --- schedules ---------------------------------------------------------------------

    def add(self, schedule: Schedule) -> Schedule:
        stamp = now_iso()
        schedule.created = schedule.created or stamp
        schedule.updated = stamp
        row = asdict(schedule)
        row.update(destinations=json.dumps(schedule.destinations),
                   condition=json.dumps(schedule.condition) if schedule.condition else None,
                   scopes=_scopes_json(schedule.scopes),
                   notices=json.dumps(schedule.notices), paused=int(schedule.paused))
        with self._write(), self.engine.begin() as con:
            con.execute(schedules.insert().values(**row))
        return schedule

    def get(self, schedule_id: str) -> Schedule:
        with self.engine.connect() as con:
            row = con.execute(schedules.select().where(schedules.c.id == schedule_id)).first()
        if row is None:
            raise NotFoundError(f"No schedule with id '{schedule_id}'.", hint="List them with 'mara schedule list'.")
        return Schedule.from_row(row)

    def find(self, schedule_id: str) -> Schedule | None:
        try:
            return self.get(schedule_id)
        except NotFoundError:
            return None

    def list(self, owner: str | None = None) -> builtins.list[Schedule]:
        query = schedules.select().order_by(schedules.c.created, schedules.c.id)
        if owner is not None:
            query = query.where(schedules.c.owner == owner)
        with self.engine.connect() as con:
            return [Schedule.from_row(r) for r in con.execute(query)]

    def update(self, schedule_id: str, *, bump: bool = True, **values: Any) -> Schedule:
        values["updated"] = now_iso()
        if "notices" in values:
            values["notices"] = json.dumps(values["notices"][-20:])
        if "paused" in values:
            values["paused"] = int(values["paused"])
        if "scopes" in values:
            values["scopes"] = _scopes_json(values["scopes"])
        if bump:
            values["version"] = schedules.c.version + 1
        with self._write(), self.engine.begin() as con:
            done = con.execute(schedules.update().where(schedules.c.id == schedule_id).values(**values))
        if done.rowcount == 0:
            raise NotFoundError(f"No schedule with id '{schedule_id}'.", hint="List them with 'mara schedule list'.")
        return self.get(schedule_id)

    def notify(self, schedule_id: str, message: str) -> None:
        """Keep a message for the owner on the schedule (shown by list / show / the API)."""
        found = self.find(schedule_id)
        if found is not None:
            self.update(schedule_id, bump=False, notices=[*found.notices, f"{now_iso()} {message}"])

    def remove(self, schedule_id: str) -> None:
        with self._write(), self.engine.begin() as con:
            done = con.execute(schedules.delete().where(schedules.c.id == schedule_id))
        if done.rowcount == 0:
            raise NotFoundError(f"No schedule with id '{schedule_id}'.", hint="List them with 'mara schedule list'.")

    # --- runs: claim, renew, take over, finish ---------------------------------------------

    def claim(self, schedule_id: str, run_key: str, holder: str, lease_s: float,
              due: str | None = None, late_s: float | None = None) -> Run | None:
        """Start the run ``run_key`` as ``holder``; ``None`` when another worker already did."""
        run = Run(run_id="run_" + secrets.token_hex(8), schedule_id=schedule_id, run_key=run_key, due=due,
                  late_s=late_s, state="running", holder=holder, started=now_iso())
        try:
            with self._write(), self.engine.begin() as con:
                con.execute(runs.insert().values(
                    run_id=run.run_id, schedule_id=schedule_id, run_key=run_key, due=due, late_s=late_s,
                    state="running", holder=holder, lease_until=time.time() + lease_s, takeovers=0,
                    started=run.started))
        except sa.exc.IntegrityError:
            return None
        return run

    def take_over(self, run_id: str, holder: str, lease_s: float) -> Run | None:
        """Resume a run whose holder stopped renewing its lease (died); ``None`` if still held."""
        with self._write(), self.engine.begin() as con:
            done = con.execute(runs.update().where(
                runs.c.run_id == run_id, runs.c.state == "running", runs.c.lease_until < time.time(),
            ).values(holder=holder, lease_until=time.time() + lease_s, takeovers=runs.c.takeovers + 1))
        return self.run(run_id) if done.rowcount == 1 else None

    def stale_runs(self) -> builtins.list[str]:
        """Runs still marked running whose lease expired (their worker died)."""
        with self.engine.connect() as con:
            rows = con.execute(sa.select(runs.c.run_id).where(
                runs.c.state == "running", runs.c.lease_until < time.time()))
            return [r[0] for r in rows]

    def renew(self, run_id: str, holder: str, lease_s: float) -> bool:
        with self._write(), self.engine.begin() as con:
            done = con.execute(runs.update().where(runs.c.run_id == run_id, runs.c.holder == holder,
                                                   runs.c.state == "running")
                               .values(lease_until=time.time() + lease_s))
        return done.rowcount == 1

    def save_content(self, run_id: str, content: dict[str, Any]) -> None:
        with self._write(), self.engine.begin() as con:
            con.execute(runs.update().where(runs.c.run_id == run_id).values(content=json.dumps(content, default=str)))

    def finish(self, run_id: str, state: str, detail: str | None = None,
               summary: dict[str, Any] | None = None) -> None:
        """End the run; its message body is replaced by ``summary`` (masked, see
        :func:`run_summary`) in the same statement, so no finished run keeps a body. The run id,
        run key and delivery records stay: they are what stops a second send."""
        with self._write(), self.engine.begin() as con:
            con.execute(runs.update().where(runs.c.run_id == run_id)
                        .values(state=state, detail=detail, finished=now_iso(), lease_until=0,
                                content=json.dumps(summary, default=str) if summary is not None else None))

    def prune_runs(self, max_age_days: float) -> int:
        """Delete runs that finished more than ``max_age_days`` ago, with their deliveries
        (``MARA_SCHEDULE_RUN_MAX_AGE_DAYS``; 0 keeps them). Running runs are never deleted. A
        finished run still holding a body (stored before bodies were pruned) loses it."""
        with self._write(), self.engine.begin() as con:  # bodies of runs finished before bodies were pruned
            con.execute(runs.update().where(runs.c.state != "running", runs.c.content.is_not(None),
                                            runs.c.content.not_like('{"pruned": true%')).values(content=None))
        if max_age_days <= 0:
            return 0
        cutoff = (dt.datetime.now(dt.UTC) - dt.timedelta(days=max_age_days)).isoformat(timespec="seconds")
        old = sa.select(runs.c.run_id).where(runs.c.state != "running", runs.c.finished.is_not(None),
                                             runs.c.finished < cutoff)
        with self._write(), self.engine.begin() as con:
            con.execute(deliveries.delete().where(deliveries.c.run_id.in_(old)))
            done = con.execute(runs.delete().where(runs.c.run_id.in_(old)))
        return int(done.rowcount or 0)

    def run(self, run_id: str) -> Run | None:
        with self.engine.connect() as con:
            row = con.execute(runs.select().where(runs.c.run_id == run_id)).first()
        return Run.from_row(row) if row is not None else None

    def runs_of(self, schedule_id: str | None = None, limit: int = 50) -> builtins.list[Run]:
        query = runs.select().order_by(runs.c.started.desc(), runs.c.run_id).limit(limit)
        if schedule_id is not None:
            query = query.where(runs.c.schedule_id == schedule_id)
        with self.engine.connect() as con:
            return [Run.from_row(r) for r in con.execute(query)]

    # --- deliveries ------------------------------------------------------------------------

    def delivered(self, run_id: str) -> dict[str, str]:
        """``destination -> state`` of the run's finished deliveries."""
        with self.engine.connect() as con:
            rows = con.execute(sa.select(deliveries.c.destination, deliveries.c.state)
                               .where(deliveries.c.run_id == run_id))
            return {r[0]: r[1] for r in rows}

    def record_delivery(self, run_id: str, destination: str, state: str, attempts: int, error: str | None) -> None:
        with self._write(), self.engine.begin() as con:
            con.execute(deliveries.delete().where(deliveries.c.run_id == run_id,
                                                  deliveries.c.destination == destination))
            con.execute(deliveries.insert().values(run_id=run_id, destination=destination, state=state,
                                                   attempts=attempts, error=error, at=now_iso()))

    def close(self) -> None:
        self.engine.dispose()


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_nolock = _NoLock()


def _safe(url: str) -> str:
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
