"""One scheduled run: claim it, work out the message, deliver it everywhere, audit it.

:class:`Runner` is used by the scheduler inside ``mara serve`` (:mod:`assistant.schedules.service`),
by ``mara schedule run-now`` and by ``POST /v1/schedules/{id}/run``.

- **Claiming** goes through :meth:`ScheduleStore.claim`: one worker starts a run, others skip it.
  The holder renews the lease on a side thread while it works.
- **The message** is worked out once and stored with the run, so a run resumed after a crash
  sends the same body with the same idempotency key. When the run finishes the body is replaced
  by a masked summary (:func:`~assistant.schedules.store.run_summary`); the delivery records stay,
  so nothing is sent twice. Runs older than ``MARA_SCHEDULE_RUN_MAX_AGE_DAYS`` are deleted.
- **An owner whose power ended** (a revoked key; open mode over for an ``api:local`` schedule)
  stops its schedules: each run checks first and pauses the schedule instead of running
  (:func:`~assistant.schedules.owners.held_back`) until an admin claims it. A saved question is asked as the
  schedule's owner (their scopes) in a new conversation that the owner can continue; a metric
  check reads the metric (:mod:`tools.alerts`), and an alert whose condition does not hold (or
  is cooling down) sends nothing.
- **Personal data**: tables lose personal columns, and names / e-mails / phones from them are
  masked in the text, for every destination kind not in ``MARA_SCHEDULE_PERSONAL_DATA_TO``.
- **Failures**: a destination is retried with backoff on transient errors; when it still fails
  (or fails permanently: a deleted Slack channel), the owner is told (a notice on the schedule,
  a Slack DM when the owner is a Slack user) and the other destinations still get the message.
  A question that no longer answers (the schema changed) or a metric that no longer exists
  pauses the schedule and tells the owner. Every run is in the audit trail.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import secrets
import socket
import threading
import time
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assistant.audit import AuditLog, AuditRecord, now
from assistant.pii import EMAIL, PHONE
from assistant.schedules.cadence import parse_cadence
from assistant.schedules.destinations import (
    DeliveryFailure,
    PermanentFailure,
    TransientFailure,
    kind_of,
    send_email,
    send_slack,
    send_webhook,
)
from assistant.schedules.owners import claim_hint, held_back
from assistant.schedules.store import Run, Schedule, ScheduleStore, run_summary
from foundation.errors import MaraError
from foundation.events import TurnSummary
from foundation.settings import MaraSettings
from tools.alerts import AlertInputError, check_metric, condition_from_dict, series_chart
from tools.context import ToolContext
from tools.schema_profile import PII_NAME

log = logging.getLogger("mara.schedules")


def holder_id() -> str:
    """This worker's name in run leases: host, process and a random part."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(slots=True)
class Outcome:
    """What a run did, for the CLI and the API."""

    run: Run
    state: str
    delivered: dict[str, str]
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**self.run.to_dict(), "state": self.state, "deliveries": self.delivered, "detail": self.detail}


class Runner:
    """Runs schedules (see the module docs). ``assistant_factory`` builds the assistant for
    saved questions (the API passes its own); ``slack`` is a Slack Web API client or ``None``."""

    def __init__(self, settings: MaraSettings, store: ScheduleStore, *, audit: AuditLog | None = None,
                 assistant_factory: Callable[[], Any] | None = None, slack: Any = None,
                 holder: str | None = None, sleep: Callable[[float], None] = time.sleep,
                 today: dt.date | None = None) -> None:
        self.settings = settings
        self.store = store
        self.audit = audit
        self.assistant_factory = assistant_factory
        self.slack = slack
        self.holder = holder or holder_id()
        self.sleep = sleep
        self.today = today  # fixed "today" for metric periods (tests); default the schedule's local date
        self._tools: ToolContext | None = None
        self._tools_lock = threading.Lock()

    @property
    def tools(self) -> ToolContext:
        with self._tools_lock:
            if self._tools is None:
                self._tools = ToolContext(self.settings)
            return self._tools

    # --- entry points ----------------------------------------------------------------------

    def fire(self, schedule_id: str, at: dt.datetime | None = None) -> Outcome | None:
        """The scheduler's call when a schedule is due: run it once for its latest due time.

        Every worker that gets the call computes the same due time and so the same run key; only
        the first to claim it runs (``None`` for the others). A call long after the due time
        (the server was down) runs once and says it is late."""
        schedule = self.store.find(schedule_id)
        if schedule is None or schedule.paused:
            return None
        at = at or dt.datetime.now(dt.UTC)
        due = parse_cadence(schedule.cron, schedule.timezone).last_due(at + dt.timedelta(seconds=1)) or at
        late = max(0.0, (at - due).total_seconds())
        key = f"{schedule.id}@{due.astimezone(dt.UTC).isoformat(timespec='minutes')}"
        run = self.store.claim(schedule.id, key, self.holder, self.settings.schedule_lease_s,
                               due=due.isoformat(timespec="minutes"), late_s=round(late, 1))
        if run is None:
            return None
        return self._execute(schedule, run)

    def run_now(self, schedule_id: str, actor: str) -> Outcome:
        """Run a schedule at once (also a paused one), as asked by ``actor``."""
        schedule = self.store.get(schedule_id)
        run = self.store.claim(schedule.id, f"manual:{secrets.token_hex(8)}", self.holder,
                               self.settings.schedule_lease_s)
        assert run is not None  # a fresh random key never conflicts
        self._audit(schedule, "run_now", True, {"run_id": run.run_id, "by": actor})
        return self._execute(schedule, run)

    def resume_stale(self) -> list[Outcome]:
        """Take over runs whose worker died mid-run and finish them (same run, same key)."""
        done = []
        for run_id in self.store.stale_runs():
            run = self.store.take_over(run_id, self.holder, self.settings.schedule_lease_s)
            if run is None:
                continue
            schedule = self.store.find(run.schedule_id)
            if schedule is None:
                self.store.finish(run.run_id, "failed", "the schedule was removed")
                continue
            log.warning("resuming scheduled run %s of %s (its worker stopped)", run.run_id, schedule.id)
            done.append(self._execute(schedule, run))
        return done

    # --- one run -----------------------------------------------------------------------------

    def _execute(self, schedule: Schedule, run: Run) -> Outcome:
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(run.run_id, stop), daemon=True, name="mara-run-lease")
        renewer.start()
        try:
            outcome = self._work(schedule, run)
            self.prune()
            return outcome
        except Exception as err:  # a run never takes the scheduler down
            log.exception("scheduled run %s failed", run.run_id)
            detail = f"{type(err).__name__}: {err}"
            self.store.finish(run.run_id, "failed", detail)
            self.store.update(schedule.id, bump=False, last_run=now(), last_status="failed")
            self._audit(schedule, "run", False, {"run_id": run.run_id}, detail=detail)
            return Outcome(run, "failed", {}, detail)
        finally:
            stop.set()

    def _renew(self, run_id: str, stop: threading.Event) -> None:
        every = max(0.5, self.settings.schedule_lease_s / 3)
        while not stop.wait(every):
            try:
                if not self.store.renew(run_id, self.holder, self.settings.schedule_lease_s):
                    return
            except Exception as err:  # keep trying; the lease covers a short outage
                log.warning("renewing the lease of run %s failed: %s", run_id, err)

    def _work(self, schedule: Schedule, run: Run) -> Outcome:
        ended = held_back(self.settings, schedule)  # a revoked key, or open mode over: see .owners
        if ended:
            return self._broken(schedule, run, ended, fix=claim_hint(schedule.id))
        content = run.content
        if content is None:
            try:
                content = self._compose(schedule, run)
            except (AlertInputError, QuestionFailed) as err:
                return self._broken(schedule, run, str(err))
            self.store.save_content(run.run_id, content)
        if not content.get("send", True):
            self.store.finish(run.run_id, "skipped", content.get("reason"), summary=run_summary(content))
            self.store.update(schedule.id, bump=False, last_run=now(), last_status="quiet")
            self._audit(schedule, "run", True, {"run_id": run.run_id, "sent": False, "reason": content.get("reason")},
                        conversation=content.get("conversation_id"))
            return Outcome(run, "skipped", {}, content.get("reason"))
        done = self.store.delivered(run.run_id)
        failures = []
        for destination in schedule.destinations:
            if done.get(destination) == "sent":
                continue  # a resumed run does not send twice
            message = content["safe"] if kind_of(destination) not in self.settings.schedule_personal_data_to else content["full"]
            state, attempts, error = self._deliver(schedule, run, destination, message)
            self.store.record_delivery(run.run_id, destination, state, attempts, error)
            done[destination] = state
            if error:
                failures.append(f"{destination}: {error}")
        state = "done" if not failures else ("partial" if len(failures) < len(schedule.destinations) else "failed")
        detail = "; ".join(failures) or None
        self.store.finish(run.run_id, state, detail, summary=run_summary(content))
        updates: dict[str, Any] = {"last_run": now(), "last_status": state}
        if content.get("alert"):
            updates["last_alert"] = now()
        self.store.update(schedule.id, bump=False, **updates)
        if failures:
            self._tell_owner(schedule, f"Run {run.run_id} of '{schedule.name}' could not be delivered to "
                                       + "; ".join(failures) + ". The other destinations got it.")
        self._audit(schedule, "run", not failures,
                    {"run_id": run.run_id, "run_key": run.run_key, "late_s": run.late_s, "by": self.holder,
                     "destinations": done, "resumed": run.takeovers > 0},
                    detail=detail, conversation=content.get("conversation_id"))
        return Outcome(run, state, done, detail)

    def prune(self) -> None:
        """Delete old runs (``MARA_SCHEDULE_RUN_MAX_AGE_DAYS``); after each run and at start."""
        try:
            removed = self.store.prune_runs(self.settings.schedule_run_max_age_days)
        except Exception as err:  # pruning waits for the next run; the run itself is done
            log.warning("pruning old scheduled runs failed: %s", err)
            return
        if removed:
            log.info("deleted %d scheduled runs older than %s days", removed, self.settings.schedule_run_max_age_days)

    def _deliver(self, schedule: Schedule, run: Run, destination: str, message: dict[str, Any]) -> tuple[str, int, str | None]:
        """Send with retries and exponential backoff (full jitter) on transient failures."""
        attempts = 0
        png = _chart_png(message) if kind_of(destination) in ("slack", "email") else None
        while True:
            attempts += 1
            try:
                kind = kind_of(destination)
                if kind == "slack":
                    send_slack(self.slack, destination, message, png)
                elif kind == "email":
                    send_email(self.settings, destination, message, png, owner_scopes=schedule.scopes,
                               owner=schedule.owner)
                elif kind == "webhook":
                    send_webhook(self.settings, destination, message, schedule.webhook_secret, run.run_id)
                else:
                    raise PermanentFailure(f"unknown destination kind {kind!r}")
                return "sent", attempts, None
            except PermanentFailure as err:
                return "failed", attempts, str(err)
            except TransientFailure as err:
                if attempts > self.settings.delivery_retries:
                    return "failed", attempts, f"{err} (gave up after {attempts} attempts)"
                wait = self.settings.delivery_backoff_s * 2 ** (attempts - 1)
                self.sleep(random.uniform(wait / 2, wait))
            except DeliveryFailure as err:  # pragma: no cover - the two kinds above cover it
                return "failed", attempts, str(err)
            except Exception as err:  # a value this sender cannot take: this destination fails, the others still get it
                log.exception("delivery of run %s to %s failed", run.run_id, kind_of(destination))
                return "failed", attempts, f"{type(err).__name__}: {err}"

    def _broken(self, schedule: Schedule, run: Run, why: str, fix: str | None = None) -> Outcome:
        """The schedule cannot run any more as written: pause it and tell the owner."""
        self.store.finish(run.run_id, "failed", why)
        self.store.update(schedule.id, paused=True, paused_reason=why, last_run=now(), last_status="paused")
        fix = fix or f"Edit it, then resume it (mara schedule resume {schedule.id})."
        self._tell_owner(schedule, f"'{schedule.name}' is paused: {why}" + ("" if fix in why else f" {fix}"))
        self._audit(schedule, "run", False, {"run_id": run.run_id, "paused": True}, detail=why)
        return Outcome(run, "failed", {}, why)

    # --- composing the message ------------------------------------------------------------------

    def _compose(self, schedule: Schedule, run: Run) -> dict[str, Any]:
        zone = zoneinfo.ZoneInfo(schedule.timezone)
        base: dict[str, Any] = {"schedule_id": schedule.id, "run_id": run.run_id, "title": schedule.name,
                                "footer": f"Scheduled by {schedule.owner} · {schedule.cadence} ({schedule.timezone}) · run {run.run_id}"}
        if run.late_s and run.late_s > self.settings.schedule_late_s and run.due:
            due = dt.datetime.fromisoformat(run.due).astimezone(zone)
            base["late"] = (f"This was due at {due:%a %d %b %H:%M} ({schedule.timezone}) and runs "
                            f"{_duration(run.late_s)} late: the server was not running then.")
        if schedule.kind == "metric":
            return self._metric_message(schedule, base, self.today or dt.datetime.now(zone).date())
        return self._question_message(schedule, run, base)

    def _metric_message(self, schedule: Schedule, base: dict[str, Any], today: dt.date) -> dict[str, Any]:
        condition = condition_from_dict(schedule.condition)
        result = check_metric(self.tools, schedule.metric or "", schedule.grain or "day", condition, today)
        message = {**base, "headline": result.headline, "lines": result.lines, "check": result.to_dict(),
                   "subject": result.headline[:120],
                   "chart_spec": None if result.observation.stale else series_chart(result.observation, today)}
        if condition is not None:
            if not result.fired:
                return {"send": False, "reason": f"condition not met: {result.verdict.reason if result.verdict else ''}"}
            if schedule.last_alert and schedule.cooldown_s:
                since = (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(schedule.last_alert)).total_seconds()
                if since < schedule.cooldown_s:
                    return {"send": False, "reason": f"cooling down ({_duration(schedule.cooldown_s - since)} left)"}
            message["title"] = f"Alert: {schedule.name}"
        return {"send": True, "alert": condition is not None, "full": message, "safe": message}

    def _question_message(self, schedule: Schedule, run: Run, base: dict[str, Any]) -> dict[str, Any]:
        if self.assistant_factory is None:
            raise QuestionFailed("saved questions cannot run here (no assistant).")
        assistant = self.assistant_factory()
        conversation = f"sched-{run.run_id}"
        if self.audit is not None:  # the conversation is the owner's: they continue it
            self.audit.claim("conversation", conversation, schedule.owner)
        scopes = frozenset(schedule.scopes)  # ['admin'] for admins; never 'unknown'
        events = list(assistant.stream(schedule.question or "", conversation, actor=schedule.owner, scopes=scopes))
        turn = TurnSummary.from_events(events)
        tools_ok = [e for e in events if e.type == "tool_end" and e.data.get("ok")]
        tables = [e.data for e in events if e.type == "table"]
        charts = [e.data for e in events if e.type == "chart"]
        if turn.error or not tools_ok:
            why = turn.error or (turn.reply.strip().splitlines() or ["no data answer"])[0][:300]
            raise QuestionFailed(f"the question {schedule.question!r} no longer gets a data answer ({why}).")
        table = tables[0] if tables else None
        full = {**base, "headline": _first_paragraph(turn.reply), "lines": [], "text": _rest(turn.reply),
                "subject": _first_paragraph(turn.reply)[:120], "conversation_id": conversation,
                "follow_up": f"Continue this conversation in Mara (conversation {conversation}): "
                             f"mara chat -c {conversation}, or open it in the web chat.",
                "table": _table(table) if table else None,
                "chart_spec": charts[0].get("spec") if charts else None}
        return {"send": True, "alert": False, "conversation_id": conversation, "full": full,
                "safe": self._without_personal_data(full, table)}

    def _without_personal_data(self, message: dict[str, Any], table: dict[str, Any] | None) -> dict[str, Any]:
        """The message with personal columns dropped and their values (and any e-mail or phone)
        masked in the text: what destinations without personal-data permission get."""
        personal_cols = self._personal_columns()
        values: set[str] = set()
        safe = dict(message)
        if table:
            keep = [i for i, c in enumerate(table["columns"]) if not _personal(str(c), personal_cols)]
            for i, _column in enumerate(table["columns"]):
                if i not in keep:
                    values |= {str(r[i]) for r in table["rows"] if r[i] is not None and len(str(r[i])) >= 2}
            if safe.get("table") is not None:
                safe["table"] = {**safe["table"], "columns": [table["columns"][i] for i in keep],
                                 "rows": [[r[i] for i in keep] for r in table["rows"]],
                                 "removed_personal_columns": [c for i, c in enumerate(table["columns"]) if i not in keep]}
            if len(keep) < len(table["columns"]):
                safe["chart_spec"] = None  # a chart of personal values would leak them
        for field in ("headline", "text", "subject"):
            if safe.get(field):
                safe[field] = _mask(str(safe[field]), values)
        return safe

    def _personal_columns(self) -> set[str]:
        try:
            return {c.name.lower() for t in self.tools.profile().tables for c in t.columns if c.pii}
        except MaraError:
            return set()

    # --- owner notices and audit -----------------------------------------------------------------

    def _tell_owner(self, schedule: Schedule, text: str) -> None:
        self.store.notify(schedule.id, text)
        self._audit(schedule, "notice", True, {"notice": text[:300]})
        parts = schedule.owner.split(":")
        if self.slack is not None and parts[0] == "slack" and len(parts) == 3:
            try:
                opened = self.slack.conversations_open(users=parts[2])
                self.slack.chat_postMessage(channel=opened["channel"]["id"], text=f"Mara schedule: {text}")
            except Exception as err:  # the notice is kept on the schedule anyway
                log.warning("could not DM the owner of %s: %s", schedule.id, err)

    def _audit(self, schedule: Schedule, name: str, ok: bool, args: dict[str, Any],
               detail: str | None = None, conversation: str | None = None) -> None:
        if self.audit is None:
            return
        try:
            self.audit.append(AuditRecord(
                ts=now(), actor=schedule.owner, conversation_id=conversation or schedule.id, kind="schedule",
                name=name, args={"schedule_id": schedule.id, "schedule": schedule.name, **args}, ok=ok,
                detail=detail))
        except MaraError as err:
            log.warning("audit of schedule %s failed: %s", schedule.id, err)


class QuestionFailed(MaraError):
    """A saved question that no longer gets a data answer (the schedule pauses)."""


def audit_change(audit: AuditLog | None, actor: str, schedule: Schedule, action: str, **args: Any) -> None:
    """Record a create / pause / resume / remove of a schedule (who did what)."""
    if audit is None:
        return
    audit.append(AuditRecord(ts=now(), actor=actor, conversation_id=schedule.id, kind="schedule", name=action,
                             args={"schedule_id": schedule.id, "schedule": schedule.name, "owner": schedule.owner,
                                   "destinations": schedule.destinations, **args}, ok=True))


def _personal(column: str, declared: set[str]) -> bool:
    return column.lower() in declared or bool(PII_NAME.search(column))


def _mask(text: str, values: set[str]) -> str:
    text = PHONE.sub("[phone]", EMAIL.sub("[email]", text))
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, "[personal data removed]")
    return text


def _table(data: dict[str, Any]) -> dict[str, Any]:
    return {"columns": list(data.get("columns") or []), "rows": [list(r) for r in (data.get("rows") or [])[:50]],
            "row_count": data.get("row_count"), "title": data.get("title")}


def _first_paragraph(text: str) -> str:
    return (text or "").strip().split("\n\n", 1)[0].strip()


def _rest(text: str) -> str:
    parts = (text or "").strip().split("\n\n", 1)
    return parts[1].strip() if len(parts) > 1 else ""


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _chart_png(message: dict[str, Any]) -> bytes | None:
    spec = message.get("chart_spec")
    if not spec:
        return None
    try:
        # lazy: vl_convert loads slowly; only messages with a chart need it
        from tools.charts import render_png

        return render_png(spec)
    except Exception as err:  # a message without its image beats no message
        log.warning("chart not rendered for a scheduled message: %s", err)
        return None
