"""``mara schedule add|list|pause|resume|claim|remove|run-now``: scheduled briefings and alerts.

Schedules made here belong to the OS user (``cli:<user>``) and run inside ``mara serve`` (which
picks up changes within ``MARA_SCHEDULE_POLL_S``); ``run-now`` runs one in this process.
``add --json`` prints the schedule with its webhook secret, shown once.
"""

from __future__ import annotations

import getpass
import json
import sys
from typing import Annotated, Any

import typer

from foundation.scopes import EVERY_SCOPE

schedule_app = typer.Typer(help="Scheduled briefings and alerts (Slack, e-mail, webhooks).", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def _emit(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _parts() -> tuple[Any, Any, Any]:
    # lazy: apscheduler, sqlalchemy load slowly; only this path needs them
    from assistant.audit import open_audit
    from assistant.schedules.store import ScheduleStore
    from foundation.settings import get_settings

    settings = get_settings()
    return settings, ScheduleStore(settings), open_audit(settings)


def _duration(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    try:
        if text and text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except ValueError as err:
        # lazy: only on bad input
        from assistant.schedules.cadence import ScheduleInputError

        raise ScheduleInputError(f"Cool-down {text!r} is not a duration.", hint="Use e.g. 30m, 6h, 1d or seconds.") from err


def _line(schedule: Any, blocked: str | None = None) -> str:
    what = schedule.question or f"{schedule.metric} ({schedule.grain})"
    state = "paused" if schedule.paused else "blocked" if blocked else "active"
    return f"{schedule.id}  {state:6}  {schedule.cadence} [{schedule.timezone}]  {what}  → {', '.join(schedule.destinations)}"


@schedule_app.command("add")
def schedule_add(
    to: Annotated[list[str], typer.Option("--to", help="Destination (repeat): slack:#channel, slack:@U…, email:…, webhook:https://…")],
    every: Annotated[str | None, typer.Option("--every", help="Words: 'every Monday at 9:00', 'every day at 7am'.")] = None,
    cron: Annotated[str | None, typer.Option("--cron", help="Five-field cron: '0 9 * * mon'.")] = None,
    tz: Annotated[str, typer.Option("--tz", help="IANA time zone, e.g. Europe/Berlin.")] = "UTC",
    question: Annotated[str | None, typer.Option("--question", help="A question Mara answers each time.")] = None,
    metric: Annotated[str | None, typer.Option("--metric", help="A metric to check (orders, revenue…).")] = None,
    period: Annotated[str, typer.Option("--period", help="day, week or month (the last complete one).")] = "day",
    above: Annotated[float | None, typer.Option("--above", help="Alert when the metric is above this.")] = None,
    below: Annotated[float | None, typer.Option("--below", help="Alert when the metric is below this.")] = None,
    change_pct: Annotated[float | None, typer.Option("--change-pct", help="Alert on a change of at least this %.")] = None,
    direction: Annotated[str, typer.Option("--direction", help="up, down or either (with --change-pct).")] = "either",
    baseline: Annotated[str, typer.Option("--baseline", help="previous (period) or normal (recent median).")] = "previous",
    anomaly: Annotated[bool, typer.Option("--anomaly", help="Alert when the anomaly detector flags the period.")] = False,
    cooldown: Annotated[str, typer.Option("--cooldown", help="Quiet time after an alert: 30m, 6h, 1d.")] = "0",
    name: Annotated[str | None, typer.Option("--name", help="A name shown in messages.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a schedule: a question or a metric check, a cadence, destinations."""
    # lazy: apscheduler loads slowly; only this path needs it
    from assistant.schedules import ScheduleInputError, new_schedule
    from assistant.schedules.runner import audit_change

    if bool(every) == bool(cron):
        raise ScheduleInputError("Give the cadence once: --every WORDS or --cron EXPR.")
    conditions = [c for c in (
        {"kind": "threshold", "op": "above", "value": above} if above is not None else None,
        {"kind": "threshold", "op": "below", "value": below} if below is not None else None,
        {"kind": "change", "pct": change_pct, "direction": direction, "baseline": baseline} if change_pct is not None else None,
        {"kind": "anomaly"} if anomaly else None,
    ) if c]
    if len(conditions) > 1:
        raise ScheduleInputError("Give one condition: --above, --below, --change-pct or --anomaly.")
    if conditions and not metric:
        raise ScheduleInputError("A condition needs --metric.")
    settings, store, audit = _parts()
    schedule = new_schedule(settings, owner=_actor(), cadence=cron or every or "", timezone=tz, destinations=to,
                            name=name, question=question, metric=metric, period=period,
                            condition=conditions[0] if conditions else None, cooldown_s=_duration(cooldown),
                            scopes=EVERY_SCOPE)  # the machine's user: every scope
    store.add(schedule)
    audit_change(audit, _actor(), schedule, "create")
    if as_json:
        _emit({**schedule.public(), "webhook_secret": schedule.webhook_secret})
        return
    print(_line(schedule))
    if any(d.startswith("webhook:") for d in schedule.destinations):
        print(f"Webhook secret (shown once; verify X-Mara-Signature with it): {schedule.webhook_secret}")


@schedule_app.command("list")
def schedule_list(as_json: JsonFlag = False) -> None:
    """List schedules (all of the workspace's: the CLI is the machine's admin)."""
    # lazy: apscheduler loads slowly; only this path needs it
    from assistant.schedules.owners import held_back

    settings, store, _ = _parts()
    found = [(s, held_back(settings, s)) for s in store.list()]
    if as_json:
        _emit({"schedules": [{**s.public(), "blocked": why, "needs_claim": why is not None} for s, why in found]})
        return
    for schedule, why in found:
        print(_line(schedule, why))
        if why:
            print(f"    ! not running: {why}")
        for notice in schedule.notices[-3:]:
            print(f"    ! {notice}")
    if not found:
        sys.stderr.write("No schedules yet: add one with 'mara schedule add'.\n")


def _set_paused(schedule_id: str, paused: bool, as_json: bool) -> None:
    # lazy: apscheduler loads slowly; only this path needs it
    from assistant.schedules.owners import check_may_resume
    from assistant.schedules.runner import audit_change

    settings, store, audit = _parts()
    found = store.get(schedule_id)
    if not paused:  # it would only be paused again at its next run
        check_may_resume(settings, found)
    schedule = store.update(schedule_id, paused=paused, paused_reason=f"paused by {_actor()}" if paused else None)
    audit_change(audit, _actor(), schedule, "pause" if paused else "resume")
    if as_json:
        _emit(schedule.public())
    else:
        print(_line(schedule))


@schedule_app.command("pause")
def schedule_pause(schedule_id: str, as_json: JsonFlag = False) -> None:
    """Pause a schedule (it keeps its settings)."""
    _set_paused(schedule_id, True, as_json)


@schedule_app.command("resume")
def schedule_resume(schedule_id: str, as_json: JsonFlag = False) -> None:
    """Resume a paused schedule."""
    _set_paused(schedule_id, False, as_json)


@schedule_app.command("claim")
def schedule_claim(schedule_id: str, as_json: JsonFlag = False) -> None:
    """Take over a schedule its owner may no longer run (made in open mode before the first API
    key, or by a revoked key): it becomes yours (the CLI's user) and a pause for that is lifted."""
    # lazy: apscheduler loads slowly; only this path needs it
    from assistant.schedules.owners import claim
    from assistant.schedules.runner import audit_change

    settings, store, audit = _parts()
    before = store.get(schedule_id)
    schedule = claim(settings, store, schedule_id, _actor())
    audit_change(audit, _actor(), schedule, "claim", previous_owner=before.owner)
    if as_json:
        _emit(schedule.public())
    else:
        print(f"Claimed from {before.owner}: {_line(schedule)}")


@schedule_app.command("remove")
def schedule_remove(schedule_id: str, as_json: JsonFlag = False) -> None:
    """Remove a schedule (its runs stay in the audit trail)."""
    # lazy: apscheduler loads slowly; only this path needs it
    from assistant.schedules.runner import audit_change

    _, store, audit = _parts()
    schedule = store.get(schedule_id)
    store.remove(schedule_id)
    audit_change(audit, _actor(), schedule, "remove")
    if as_json:
        _emit({"removed": schedule_id})
    else:
        print(f"Removed {schedule_id}.")


@schedule_app.command("run-now")
def schedule_run_now(schedule_id: str, as_json: JsonFlag = False) -> None:
    """Run a schedule once, now, in this process (paused ones too)."""
    # lazy: langgraph, apscheduler load slowly; only this path needs them
    from assistant.agent import Assistant
    from assistant.schedules.destinations import slack_client_from_env
    from assistant.schedules.runner import Runner

    settings, store, audit = _parts()
    built: list[Any] = []

    def assistant() -> Any:
        if not built:
            built.append(Assistant(settings))
        return built[0]

    try:
        outcome = Runner(settings, store, audit=audit, assistant_factory=assistant,
                         slack=slack_client_from_env()).run_now(schedule_id, _actor())
    finally:
        for made in built:
            made.close()
    if as_json:
        _emit(outcome.to_dict())
        return
    print(f"{outcome.run.run_id}: {outcome.state}" + (f" — {outcome.detail}" if outcome.detail else ""))
    for destination, state in outcome.delivered.items():
        print(f"  {destination}: {state}")
